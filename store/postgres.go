package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// writeLockKey is the advisory lock every write transaction takes on
// PostgreSQL. One key for all writes keeps every guarantee of the embedded
// engine across replicas (limits checked then acted on, merges, the audit
// chain) without a lock per rule; reads, the bulk of the traffic, take none.
const writeLockKey = 0x6b6579706c616e // "keyplan"

// Pool defaults for PostgreSQL, per replica.
const (
	pgMaxOpenConns   = 16
	pgConnectTimeout = 5 * time.Second
)

// IsPostgres tells a PostgreSQL URL from a SQLite path, as Open does.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPostgres connects to the PostgreSQL database at url, failing within
// pgConnectTimeout (unless the URL sets connect_timeout) with an error that
// names the host and database, never the password.
func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: say less.
		return nil, fmt.Errorf("database: not a valid PostgreSQL URL (postgres://user:password@host:port/dbname)")
	}
	name := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(pgMaxOpenConns)
	pool.SetMaxIdleConns(pgMaxOpenConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+time.Second)
	defer cancel()
	if err := pool.PingContext(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s: cannot connect: %w", name, err)
	}
	return &DB{
		engine: engine{
			name:       "postgres",
			lockWrites: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", writeLockKey),
			// Lists count and page in one snapshot.
			readOpts: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		},
		write: pool, read: pool, name: name,
		version: &versionCheck{src: &pgVersion{pool: pool}},
	}, nil
}
