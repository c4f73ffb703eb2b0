package store

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// sqliteVersion reads SQLite's data_version on a connection of its own,
// which changes whenever any other connection commits.
//
// Most asks read nothing: while the WAL index header (walIndex) is as it
// was before the last read, nothing has been committed since, and that
// read's value still holds.
type sqliteVersion struct {
	pool *sql.DB // one read-only connection, closed with the source
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

func newSQLiteVersion(pool *sql.DB, path string) *sqliteVersion {
	return &sqliteVersion{pool: pool, path: path, trustFor: time.Second}
}

// current returns the last version read if nothing has been committed
// since.
func (c *sqliteVersion) current() (uint64, bool) {
	s := c.seen.Load()
	if s == nil || time.Since(s.at) > c.trustFor {
		return 0, false
	}
	h, ok := s.index.header()
	return s.v, ok && h == s.header
}

func (c *sqliteVersion) read() (uint64, error) {
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
		c.release()
		return 0, err
	}
	v := c.epoch<<40 | dv
	switch {
	case c.noIndex.Load():
	case c.index == nil:
		// Mapped only now that conn has read: from here until conn is
		// closed, no process can remove or reset the file. Nothing was
		// seen before this read, so there is nothing to keep yet. If it
		// cannot be mapped now, it will not be later: stop trying.
		var err error
		if c.index, err = openWALIndex(c.path); err != nil {
			c.noIndex.Store(true)
		}
	case hok:
		after, _ := c.header()
		c.verify(before, after, v)
	}
	return v, nil
}

// header reads the WAL index header, if it is mapped.
func (c *sqliteVersion) header() (walHeader, bool) {
	if c.index == nil {
		return walHeader{}, false
	}
	return c.index.header()
}

// verify keeps version v, read between the headers before and after, for
// asks that read nothing — unless the headers show that the WAL index does
// not follow the database here: unchanged since the last read although
// the version changed. Then it is never used again, and every ask reads.
func (c *sqliteVersion) verify(before, after walHeader, v uint64) {
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

// release drops the connection and what depends on it.
func (c *sqliteVersion) release() {
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
}

func (c *sqliteVersion) close() {
	c.release()
	c.pool.Close()
}
