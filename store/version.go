package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// versionCheck reads SQLite's data_version on a connection of its own. The
// value changes whenever any other connection commits — this process's
// writer, or another process on the same file (an admin command revoking
// a key) — which is what lets control keep what it read until then.
//
// Requests arriving together share one read: a request joins the next
// read to start, never one already running (which may have begun before
// the request, and so miss a commit the request's client has seen). Under
// load that is one read per read's duration, however many requests.
type versionCheck struct {
	pool *sql.DB // one read-only connection

	mu      sync.Mutex
	running bool   // a read is in progress
	next    *round // the read the requests arriving now wait for
	closed  bool

	// Only the goroutine running reads uses these.
	conn *sql.Conn
	stmt *sql.Stmt
	// epoch counts the connections used: data_version counts per
	// connection, so a new connection's values must not match an old one's.
	epoch uint64
}

// round is one read of data_version and the requests waiting for it.
type round struct {
	done chan struct{}
	v    uint64
	err  error
}

// Version implements control.Versioned: a number that changes whenever
// the database does, or ok false where the engine cannot tell cheaply
// (PostgreSQL).
func (db *DB) Version(ctx context.Context) (v uint64, ok bool, err error) {
	c := db.version
	if c == nil {
		return 0, false, nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, false, errClosed
	}
	if c.next == nil {
		c.next = &round{done: make(chan struct{})}
	}
	r := c.next
	if !c.running {
		// Nobody reads: this request does, itself (no hand-off to wait
		// for), and passes on any round that gathers meanwhile.
		c.running = true
		c.next = nil
		c.mu.Unlock()
		c.runOne(r)
		if next := c.handOff(); next != nil {
			go c.run(next)
		}
	} else {
		c.mu.Unlock()
	}
	select {
	case <-r.done:
		if r.err != nil {
			return 0, false, unavailable(r.err)
		}
		return r.v, true, nil
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
}

// run reads data_version for r, then for the rounds that gather
// meanwhile, until none does.
func (c *versionCheck) run(r *round) {
	for ; r != nil; r = c.handOff() {
		c.runOne(r)
	}
}

func (c *versionCheck) runOne(r *round) {
	r.v, r.err = c.read()
	close(r.done)
}

// handOff returns the round that gathered during a read, which the reader
// goes on with, or nil, and then nobody reads.
func (c *versionCheck) handOff() *round {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.next
	c.next = nil
	c.running = r != nil
	return r
}

func (c *versionCheck) read() (uint64, error) {
	// Not a request's context: the read serves many requests.
	ctx := context.Background()
	if c.conn == nil {
		conn, err := c.pool.Conn(ctx)
		if err != nil {
			return 0, err
		}
		stmt, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
		if err != nil {
			conn.Close()
			return 0, err
		}
		c.conn, c.stmt = conn, stmt
		c.epoch++
	}
	var dv uint64
	if err := c.stmt.QueryRowContext(ctx).Scan(&dv); err != nil {
		// Start again on a new connection next time, with a new epoch.
		c.stmt.Close()
		c.conn.Close()
		c.conn, c.stmt = nil, nil
		return 0, err
	}
	return c.epoch<<40 | dv, nil
}

// close waits for the read in progress, if any, and closes the pool.
func (c *versionCheck) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	c.closed = true
	for c.running { // a read takes microseconds: wait it out
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
		c.mu.Lock()
	}
	if c.conn != nil {
		c.stmt.Close()
		c.conn.Close()
		c.conn, c.stmt = nil, nil
	}
	c.mu.Unlock()
	return c.pool.Close()
}
