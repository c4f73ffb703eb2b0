package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// versionCheck reads SQLite's data_version on a connection of its own. The
// value changes whenever any other connection commits — this process's
// writer, or another process on the same file (an admin command revoking
// a key) — which is what lets control keep what it read until then.
//
// Most asks read nothing: while the WAL index header (walIndex) is as it
// was before the last read, nothing has been committed since, and that
// read's value still holds. Otherwise requests arriving together share
// one read: a request joins the next read to start, never one already
// running (which may have begun before the request, and so miss a commit
// the request's client has seen). Under load that is one read per read's
// duration, however many requests.
type versionCheck struct {
	pool *sql.DB // one read-only connection
	path string  // the database file, beside which is its WAL index

	// seen is the last read and the header before it, for asks that read
	// nothing; nil while there is none to trust.
	seen atomic.Pointer[seenVersion]
	// noIndex, once set, stops mapping the WAL index: it was seen to stay
	// the same across a commit, so this SQLite does not keep it there.
	noIndex atomic.Bool
	// trustFor is how long a version is taken from an unchanged header
	// before it is read again: the read after it checks that the header
	// does change with the database (verify), at the cost of one read a
	// period. A second, but tests shorten it.
	trustFor time.Duration

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
	index *walIndex // mapped while conn is open
}

// seenVersion is a version read, and the WAL index header read before it.
type seenVersion struct {
	index  *walIndex
	header walHeader
	v      uint64
	at     time.Time
}

// current returns the last version read if nothing has been committed
// since.
func (c *versionCheck) current() (uint64, bool) {
	s := c.seen.Load()
	if s == nil || time.Since(s.at) > c.trustFor {
		return 0, false
	}
	h, ok := s.index.header()
	return s.v, ok && h == s.header
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
	if v, ok := c.current(); ok {
		return v, true, nil
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
	before, hok := c.header()
	var dv uint64
	if err := c.stmt.QueryRowContext(ctx).Scan(&dv); err != nil {
		// Start again on a new connection next time, with a new epoch.
		c.seen.Store(nil)
		if c.index != nil {
			c.index.close()
			c.index = nil
		}
		c.stmt.Close()
		c.conn.Close()
		c.conn, c.stmt = nil, nil
		return 0, err
	}
	v := c.epoch<<40 | dv
	switch {
	case c.noIndex.Load():
	case c.index == nil:
		// Mapped only now that conn has read: from here until conn is
		// closed, no process can remove or reset the file. Nothing was
		// seen before this read, so there is nothing to keep yet.
		c.index, _ = openWALIndex(c.path)
	case hok:
		after, _ := c.header()
		c.verify(before, after, v)
	}
	return v, nil
}

// header reads the WAL index header, if it is mapped.
func (c *versionCheck) header() (walHeader, bool) {
	if c.index == nil {
		return walHeader{}, false
	}
	return c.index.header()
}

// verify keeps version v, read between the headers before and after, for
// asks that read nothing — unless the headers show that the WAL index does
// not follow the database here: unchanged since the last read although
// the version changed. Then it is never used again, and every ask reads.
func (c *versionCheck) verify(before, after walHeader, v uint64) {
	last := c.seen.Load()
	if last != nil && last.index == c.index && before == last.header && after == before && v != last.v {
		c.noIndex.Store(true)
		c.seen.Store(nil)
		c.index.close() // an ask still reading it faults, recovers, and reads
		c.index = nil
		return
	}
	c.seen.Store(&seenVersion{index: c.index, header: before, v: v, at: time.Now()})
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
	c.seen.Store(nil)
	if c.index != nil {
		c.index.close()
		c.index = nil
	}
	if c.conn != nil {
		c.stmt.Close()
		c.conn.Close()
		c.conn, c.stmt = nil, nil
	}
	c.mu.Unlock()
	return c.pool.Close()
}
