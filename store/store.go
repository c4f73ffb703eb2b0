// Package store keeps Keyplane's data in SQL: an embedded SQLite file by
// default. It implements control.Store; it knows nothing of HTTP.
//
// This file opens and closes a database; migrate.go brings its schema up
// to date, tx.go runs transactions (group.go batches the writes),
// stmtcache.go keeps prepared statements, version*.go tell whether the
// database changed, and each entity has its file: accounts, apps, keysets
// (with their configuration), secretkeys, integrations, apikeys, users
// (people, memberships, sessions, sign-in attempts), auditlog, usage, oem,
// idempotency; seal.go seals secrets, copy.go and backup.go move whole
// installs.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// engine is what differs between the database engines Keyplane runs on.
type engine struct {
	name string // "sqlite" or "postgres": also the migrations folder
	// lockWrites is run first in every write transaction. SQLite needs
	// nothing (its single writer connection and BEGIN IMMEDIATE serialize
	// writers); PostgreSQL takes a transaction-scoped advisory lock, so
	// writers on every replica queue the same way.
	lockWrites string
	readOpts   *sql.TxOptions
}

// DB is an open database: a pool that writes and a pool that reads (the
// same pool on PostgreSQL).
type DB struct {
	engine
	write *sql.DB
	read  *sql.DB
	name  string // what error messages call the database: a path or host/dbname, never a password
	// seal seals secret keys once SealSecrets has run; before, they are
	// written in plain text (tests, and commands that write none).
	seal atomic.Pointer[sealer]

	// Group commit (group.go): writes queue here for the goroutine that
	// runs them in batches.
	writes chan writeReq
	// Prepared statements of each pool, on SQLite (nil on PostgreSQL, whose
	// driver keeps its own cache).
	readStmts, writeStmts *stmtCache
	// readSlots and writeSlots bound the transactions open at once on each
	// SQLite pool to one fewer than its connections (nil: no bound).
	readSlots, writeSlots chan struct{}
	// version numbers what the database has committed.
	version         *versionCheck
	closed, stopped chan struct{}
	// queued wakes the webhook worker (DeliveriesQueued).
	queued    chan struct{}
	closeOnce sync.Once
}

var _ control.Store = (*DB)(nil)

// Open opens the database named by dsn: a PostgreSQL URL
// (postgres://… or postgresql://…) or else the path of a SQLite file,
// created if needed. It brings the schema up to date and makes sure the
// database holds at least one account.
func Open(ctx context.Context, dsn string, now time.Time) (*DB, error) {
	var db *DB
	var err error
	if IsPostgres(dsn) {
		db, err = openPostgres(ctx, dsn)
	} else {
		db, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	db.startWrites()
	if err := db.migrate(ctx, now); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", db.name, err)
	}
	return db, nil
}

// Name is how logs and messages may name the database: its path, or its
// host, port and name; never a password.
func (db *DB) Name() string { return db.name }

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.engine.name }

// Close closes the database.
func (db *DB) Close() error {
	db.stopWrites()
	db.readStmts.close()
	db.writeStmts.close()
	db.version.close()
	if db.read == db.write {
		return db.write.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func optMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromOptMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func notFound(what string, id any) error {
	return keyplane.Errorf(keyplane.CodeNotFound, "%s %v: not found", what, id)
}

// unavailable turns a failure to reach the database into a domain error
// the API answers with 503: the request changed nothing (its transaction
// never committed) and may be retried once the database is back; database/sql
// replaces broken connections by itself.
func unavailable(err error) error {
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var liteErr *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &liteErr):
		// SQLITE_BUSY, SQLITE_LOCKED: another process held the write lock
		// past busy_timeout (a long admin command, a backup).
		if c := liteErr.Code() & 0xff; c != 5 && c != 6 {
			return err
		}
	case errors.As(err, &connErr):
		// Whatever refused the connection (the database is being dropped,
		// takes no connections, the role may not log in now), nothing ran.
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01–57P03: the server is shutting down or starting.
		if !strings.HasPrefix(pgErr.Code, "08") && !strings.HasPrefix(pgErr.Code, "57P0") {
			return err
		}
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), pgconn.SafeToRetry(err):
	default:
		return err
	}
	return &unavailableError{cause: err}
}

// unavailableError is a keyplane ServiceUnavailable error that keeps its
// cause for the log.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string { return "database unavailable: " + e.cause.Error() }
func (e *unavailableError) Unwrap() []error {
	return []error{keyplane.Errorf(keyplane.CodeUnavailable, "database: unavailable; the request changed nothing, try again"), e.cause}
}
