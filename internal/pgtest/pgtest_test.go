package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
)

// dbName is the database a DSN names.
func dbName(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("DSN %q: %v", dsn, err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// open connects to dsn and closes the pool when the test ends.
func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// exists reports whether the cluster has a database of that name.
func exists(t *testing.T, name string) bool {
	t.Helper()
	db, err := admin(os.Getenv(EnvVar))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestDSNGivesAnEmptyWorkingDatabase(t *testing.T) {
	t.Parallel()
	dsn := DSN(t)
	name := dbName(t, dsn)
	if !strings.HasPrefix(name, "kp_") {
		t.Errorf("database name %q, want the kp_ prefix", name)
	}
	db := open(t, dsn)
	ctx := context.Background()

	var current, encoding string
	if err := db.QueryRowContext(ctx, "SELECT current_database(), pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()").Scan(&current, &encoding); err != nil {
		t.Fatal(err)
	}
	if current != name {
		t.Errorf("connected to %q, want %q", current, name)
	}
	if encoding != "UTF8" && os.Getenv("CI") == "true" {
		t.Errorf("encoding %s, want UTF8 (scripts/test runs initdb -E UTF8)", encoding)
	}

	var relations int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`).Scan(&relations); err != nil {
		t.Fatal(err)
	}
	if relations != 0 {
		t.Errorf("new database has %d relations, want none", relations)
	}

	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id int PRIMARY KEY, s text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1, 'ä')"); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := db.QueryRowContext(ctx, "SELECT s FROM t WHERE id = 1").Scan(&s); err != nil {
		t.Fatal(err)
	}
	if s != "ä" {
		t.Errorf("read back %q, want %q", s, "ä")
	}
}

func TestDSNGivesDifferentDatabases(t *testing.T) {
	t.Parallel()
	a, b := DSN(t), DSN(t)
	if dbName(t, a) == dbName(t, b) {
		t.Fatalf("two calls gave the same database %q", dbName(t, a))
	}
	// What one test writes, the other doesn't see.
	if _, err := open(t, a).Exec("CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := open(t, b).QueryRow("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a table made in one database shows in the other")
	}
}

func TestDatabaseGoneAfterTest(t *testing.T) {
	t.Parallel()
	var name string
	var leftOpen *sql.DB
	t.Run("inner", func(t *testing.T) {
		dsn := DSN(t)
		name = dbName(t, dsn)
		if !exists(t, name) {
			t.Fatalf("database %s missing during the test", name)
		}
		// A connection still open when the test ends must not stop the drop.
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		leftOpen = db
	})
	if leftOpen != nil {
		defer leftOpen.Close()
	}
	if name == "" { // inner skipped or failed before DSN returned
		if !t.Failed() {
			t.Skip("inner test skipped")
		}
		return
	}
	if exists(t, name) {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

// TestDSNParallel makes many databases at once, as a package full of
// parallel tests would; run it with -race.
func TestDSNParallel(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		names = map[string]bool{}
	)
	for i := range 12 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			dsn := DSN(t)
			var one int
			if err := open(t, dsn).QueryRow("SELECT 1").Scan(&one); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if names[dsn] {
				t.Errorf("database handed out twice: %s", dsn)
			}
			names[dsn] = true
		})
	}
}

func TestWithDatabase(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/kp_1?sslmode=disable"},
		{"postgresql://u:p%40ss@h/", "postgresql://u:p%40ss@h/kp_1"},
		{"postgres://h:1", "postgres://h:1/kp_1"},
		{"postgres://h/db?dbname=db&sslmode=disable", "postgres://h/kp_1?sslmode=disable"},
	} {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := withDatabase(u, "kp_1"); got != c.want {
			t.Errorf("withDatabase(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
