package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

//go:embed migrations
var migrations embed.FS

// SchemaVersion is the number of the newest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrationVersion is the number a migration file's name starts with.
func migrationVersion(name string) (int, error) {
	v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
	if err != nil {
		return 0, fmt.Errorf("migration %s: name must start with a number", name)
	}
	return v, nil
}

// NewestSchema is the number of the newest migration this release holds:
// the SchemaVersion of a database it has just opened. Both engines have the
// same numbers.
func NewestSchema() int {
	files, _ := fs.Glob(migrations, "migrations/sqlite/*.sql")
	newest := 0
	for _, f := range files {
		if v, err := migrationVersion(path.Base(f)); err == nil {
			newest = max(newest, v)
		}
	}
	return newest
}

// migrationSteps are the parts of migrations that SQL cannot do on both
// engines, run in Go right after the file of the same number, in the same
// transaction: a migration is applied whole, with its record in
// schema_migrations, or not at all, so a step runs exactly once.
var migrationSteps = map[int]func(context.Context, *sql.Tx) error{
	11: relinkAuditChains,
}

// migrate applies the embedded migrations not yet applied and creates the
// first account if there is none, all in one write transaction: replicas
// starting together take turns, and the second finds nothing left to do.
func (db *DB) migrate(ctx context.Context, now time.Time) error {
	files, err := fs.Glob(migrations, "migrations/"+db.engine.name+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	return db.inTx(ctx, db.write, nil, func(tx *sql.Tx) error {
		if db.lockWrites != "" {
			if _, err := tx.ExecContext(ctx, db.lockWrites); err != nil {
				return fmt.Errorf("migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		if err := refuseNewer(ctx, tx, files); err != nil {
			return err
		}
		for _, f := range files {
			name := path.Base(f)
			version, err := migrationVersion(name)
			if err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if n > 0 {
				continue
			}
			body, err := migrations.ReadFile(f)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if step := migrationSteps[version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("migration %s: %w", name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, now.UnixMilli()); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil || n > 0 {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (name, created_at) VALUES ($1, $2)`, keyplane.DefaultAccountName, now.UnixMilli())
		return err
	})
}

// refuseNewer refuses a database that a newer release migrated: a
// migration this release does not hold has been applied, so its code would
// misread the schema (an older release writing to an upgraded database
// broke audit chains and memberships). The way back is the newer release,
// or the backup taken before the upgrade.
func refuseNewer(ctx context.Context, tx *sql.Tx, files []string) error {
	known := map[int]bool{}
	for _, f := range files {
		if v, err := migrationVersion(path.Base(f)); err == nil {
			known[v] = true
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		if !known[v] {
			return fmt.Errorf("database: migration %04d was applied by a newer Keyplane release than this one, which knows migrations up to %04d; run that release (or restore the backup taken before upgrading)", v, NewestSchema())
		}
	}
	return rows.Err()
}
