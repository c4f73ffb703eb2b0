// Package testdb gives a test a fresh, empty database on the engine the run
// is for: SQLite by default, PostgreSQL when KEYPLANE_TEST_ENGINE=postgres
// (scripts/test runs the packages that use it once per engine).
package testdb

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/keyplane/keyplane/internal/pgtest"
)

// Engine is the engine of this run: "sqlite" or "postgres".
func Engine() string {
	if os.Getenv("KEYPLANE_TEST_ENGINE") == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// DSN returns what store.Open takes for a new database of this run's
// engine: a file in t's temporary folder, or a new PostgreSQL database.
func DSN(t testing.TB) string {
	t.Helper()
	if Engine() == "postgres" {
		return pgtest.DSN(t)
	}
	return filepath.Join(t.TempDir(), "k.db")
}

// OpenSQL opens dsn (as DSN returned it) with plain database/sql, for tests
// that look at stored rows directly; it is closed when t ends.
func OpenSQL(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	return open(t, dsn, "mode=ro")
}

// OpenWritableSQL is OpenSQL for tests that write rows no operation
// writes, such as a second account.
func OpenWritableSQL(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	return open(t, dsn, "_pragma=busy_timeout(10000)")
}

func open(t testing.TB, dsn, sqliteParams string) *sql.DB {
	t.Helper()
	driver, source := "sqlite", "file:"+dsn+"?"+sqliteParams
	if strings.HasPrefix(dsn, "postgres") {
		driver, source = "pgx", dsn
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
