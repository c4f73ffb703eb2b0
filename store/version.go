package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// versionCheck reads SQLite's data_version on a connection of its own. The
// value changes whenever any other connection commits — this process's
// writer, or another process on the same file (an admin command revoking
// a key) — which is what lets control keep what it read until then.
type versionCheck struct {
	pool *sql.DB // one read-only connection
	mu   sync.Mutex
	conn *sql.Conn
	// epoch counts the connections used: data_version counts per
	// connection, so a new connection's values must not match an old one's.
	epoch uint64
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
	defer c.mu.Unlock()
	if c.conn == nil {
		if c.conn, err = c.pool.Conn(ctx); err != nil {
			return 0, false, unavailable(err)
		}
		c.epoch++
	}
	var dv uint64
	if err := c.conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&dv); err != nil {
		// Start again on a new connection next time, with a new epoch.
		c.conn.Close()
		c.conn = nil
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return 0, false, err
		}
		return 0, false, unavailable(err)
	}
	return c.epoch<<40 | dv, true, nil
}

func (c *versionCheck) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	c.mu.Unlock()
	return c.pool.Close()
}
