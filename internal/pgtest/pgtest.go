// Package pgtest gives tests their own PostgreSQL database.
//
// The cluster comes from the environment variable KEYPLANE_TEST_POSTGRES, a
// postgres:// URL of a role allowed to create databases; scripts/test starts a
// throwaway cluster and sets it. Each call of DSN creates a new, empty database
// on that cluster and drops it when the test ends, so tests may run in parallel
// without seeing each other's data.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvVar names the environment variable holding the admin URL of the test cluster.
const EnvVar = "KEYPLANE_TEST_POSTGRES"

// timeout bounds each CREATE DATABASE and DROP DATABASE.
const timeout = 60 * time.Second

var (
	adminMu sync.Mutex
	admins  = map[string]*sql.DB{} // admin URL → its pool, one per process
)

// DSN returns the URL of a new, empty PostgreSQL database for this test, dropped when the test ends.
// Without KEYPLANE_TEST_POSTGRES it skips the test, except under CI=true, where it fails it.
func DSN(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(EnvVar)
	if raw == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %s is not set; the PostgreSQL tests are mandatory under CI=true (run scripts/test)", EnvVar)
		}
		t.Skipf("pgtest: %s is not set; skipping the PostgreSQL test (scripts/test sets it)", EnvVar)
	}

	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Not printing raw: it may hold a password.
		t.Fatalf("pgtest: %s must be a postgres:// URL", EnvVar)
	}
	db, err := admin(raw)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}

	name, err := newName()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// template0 is empty and never connected to, so concurrent creations
	// cannot fail with "source database is being accessed by other users".
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		// FORCE ends the connections the test left open (PostgreSQL 13+).
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})

	return withDatabase(u, name)
}

// withDatabase returns u naming the database name instead of its own.
func withDatabase(u *url.URL, name string) string {
	v := *u
	v.Path = "/" + name
	v.RawPath = ""
	q := v.Query()
	if q.Has("dbname") { // it would override the path
		q.Del("dbname")
		v.RawQuery = q.Encode()
	}
	return v.String()
}

// admin returns the process-wide pool connected to the admin URL.
func admin(raw string) (*sql.DB, error) {
	adminMu.Lock()
	defer adminMu.Unlock()
	if db, ok := admins[raw]; ok {
		return db, nil
	}
	db, err := sql.Open("pgx", raw)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %v", EnvVar, err)
	}
	// Only CREATE and DROP DATABASE run here; a few connections are enough,
	// and idle ones go away so they don't outlive a burst of tests for long.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(30 * time.Second)
	admins[raw] = db
	return db, nil
}

// newName returns a fresh database name: lowercase, so it needs no quoting.
func newName() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random database name: %v", err)
	}
	return "kp_" + hex.EncodeToString(b), nil
}
