package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"
)

// pgVersion numbers PostgreSQL's transaction snapshots. A snapshot holds
// the bound past the newest finished transaction id and the ids below it
// still in progress; a transaction that writes takes an id, and when it
// commits it either raises the bound or leaves the in-progress list. So
// two equal snapshots mean nothing was committed between them — by any
// replica, or anyone else on the cluster — and a new snapshot gets a new
// number. No table, no trigger and no statement
// in the writers: like SQLite's data_version, it sees every commit.
//
// A commit elsewhere on the cluster (another database) also changes the
// snapshot: that costs a cache miss, never a stale answer.
type pgVersion struct {
	pool *sql.DB

	// Only the goroutine running reads uses these.
	conn *sql.Conn
	last []byte // the snapshot of the last read
	n    uint64 // its number
}

// current: PostgreSQL offers nothing to read without a round trip.
func (c *pgVersion) current() (uint64, bool) { return 0, false }

// pgVersionStmt is the prepared statement's name on the version's
// connection.
const pgVersionStmt = "keyplane_version"

func (c *pgVersion) read() (uint64, error) {
	// Not a request's context: the read serves many requests. Bounded, so
	// that a database that stops answering fails the requests waiting
	// rather than holding them, and the reads after it, for ever.
	ctx, cancel := context.WithTimeout(context.Background(), pgConnectTimeout)
	defer cancel()
	if c.conn == nil {
		// A connection of its own: reads must not queue behind requests
		// for the pool, and the statement stays prepared.
		conn, err := c.pool.Conn(ctx)
		if err != nil {
			return 0, err
		}
		if err := conn.Raw(func(dc any) error {
			_, err := dc.(*stdlib.Conn).Conn().PgConn().Prepare(ctx, pgVersionStmt, `SELECT pg_current_snapshot()::text`, nil)
			return discard(err)
		}); err != nil {
			conn.Close()
			return 0, err
		}
		c.conn = conn
	}
	// The read runs many times a second under load: straight on the wire
	// protocol, with no row decoded into a new string unless it changed.
	err := c.conn.Raw(func(dc any) error {
		rr := dc.(*stdlib.Conn).Conn().PgConn().ExecPrepared(ctx, pgVersionStmt, nil, nil, nil)
		for rr.NextRow() {
			if snap := rr.Values()[0]; !bytes.Equal(snap, c.last) {
				c.last = append(c.last[:0], snap...)
				c.n++
			}
		}
		_, err := rr.Close()
		return discard(err)
	})
	if err != nil {
		c.close()
		return 0, err
	}
	return c.n, nil
}

// discard makes database/sql close the connection err happened on rather
// than pool it: it holds the prepared statement, which a later Prepare on
// the same connection would find already there.
func discard(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (%w)", err, driver.ErrBadConn)
}

func (c *pgVersion) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
