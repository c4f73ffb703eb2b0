package store

import (
	"context"
	"database/sql"
)

// pgVersion numbers PostgreSQL's transaction snapshots. A snapshot names
// the next transaction id to be assigned and the ids still in progress; a
// transaction that writes takes an id, and one that commits leaves the
// in-progress list. So two equal snapshots mean nothing was committed
// between them — by any replica, or anyone else on the cluster — and a
// new snapshot gets a new number. No table, no trigger and no statement
// in the writers: like SQLite's data_version, it sees every commit.
//
// A commit elsewhere on the cluster (another database) also changes the
// snapshot: that costs a cache miss, never a stale answer.
type pgVersion struct {
	pool *sql.DB

	// Only the goroutine running reads uses these.
	conn *sql.Conn
	stmt *sql.Stmt
	last string // the snapshot of the last read
	n    uint64 // its number
}

// current: PostgreSQL offers nothing to read without a round trip.
func (c *pgVersion) current() (uint64, bool) { return 0, false }

func (c *pgVersion) read() (uint64, error) {
	// Not a request's context: the read serves many requests.
	ctx := context.Background()
	if c.conn == nil {
		// A connection of its own: reads must not queue behind requests
		// for the pool, and the statement stays prepared.
		conn, err := c.pool.Conn(ctx)
		if err != nil {
			return 0, err
		}
		stmt, err := conn.PrepareContext(ctx, `SELECT pg_current_snapshot()::text`)
		if err != nil {
			conn.Close()
			return 0, err
		}
		c.conn, c.stmt = conn, stmt
	}
	var snap string
	if err := c.stmt.QueryRowContext(ctx).Scan(&snap); err != nil {
		c.close()
		return 0, err
	}
	if snap != c.last {
		c.last = snap
		c.n++
	}
	return c.n, nil
}

func (c *pgVersion) close() {
	if c.conn != nil {
		c.stmt.Close()
		c.conn.Close()
		c.conn, c.stmt = nil, nil
	}
}
