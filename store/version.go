package store

import (
	"context"
	"sync"
	"time"
)

// versionCheck answers Version: a number that changes whenever anything
// is committed to the database — by this process's writer, by another
// replica, or by another process on the same file (an admin command
// revoking a key) — which is what lets control keep what it read until
// then. Its source reads the number from the engine.
//
// Requests arriving together share one read: a request joins the next
// read to start, never one already running (which may have begun before
// the request, and so miss a commit the request's client has seen). Under
// load that is one read per read's duration, however many requests.
type versionCheck struct {
	src versionSource

	mu      sync.Mutex
	running bool   // a read is in progress
	next    *round // the read the requests arriving now wait for
	closed  bool
}

// versionSource reads an engine's version number.
type versionSource interface {
	// current is the version without reading the database, if the
	// source can vouch for it; any goroutine may call it at any time.
	current() (uint64, bool)
	// read reads the version; one goroutine at a time calls it.
	read() (uint64, error)
	// close releases what read holds; called once, with no read running.
	close()
}

// round is one read of the version and the requests waiting for it.
type round struct {
	done chan struct{}
	v    uint64
	err  error
}

// Version implements control.Versioned: a number that changes whenever
// the database does, from any process.
func (db *DB) Version(ctx context.Context) (v uint64, ok bool, err error) {
	c := db.version
	if v, ok := c.src.current(); ok {
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

// run reads the version for r, then for the rounds that gather meanwhile,
// until none does.
func (c *versionCheck) run(r *round) {
	for ; r != nil; r = c.handOff() {
		c.runOne(r)
	}
}

func (c *versionCheck) runOne(r *round) {
	r.v, r.err = c.src.read()
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

// close waits for the read in progress, if any, and closes the source.
func (c *versionCheck) close() {
	c.mu.Lock()
	c.closed = true
	for c.running { // a read takes microseconds: wait it out
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
		c.mu.Lock()
	}
	c.src.close()
	c.mu.Unlock()
}
