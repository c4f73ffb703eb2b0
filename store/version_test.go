package store

import (
	"context"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// Requests share reads of the version, but never one that began before
// they did: while others keep asking, every ask made after a commit (by
// another handle on the database, as another process or replica would)
// sees a new version.
func TestVersionSeesEveryCommitBeforeTheAsk(t *testing.T) {
	for _, e := range []struct {
		name string
		dsn  func(*testing.T) string
	}{{"sqlite", sqliteDSN}, {"postgres", postgresDSN}} {
		t.Run(e.name, func(t *testing.T) {
			dsn := e.dsn(t)
			db, other := openDB(t, dsn), openDB(t, dsn)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range 4 { // keep reads running all the time
				wg.Go(func() {
					for ctx.Err() == nil {
						db.Version(ctx)
					}
				})
			}
			defer func() { cancel(); wg.Wait() }()
			for i := range 50 {
				before := mustVersion(t, db)
				insertApp(t, other)
				var asks sync.WaitGroup
				for range 8 {
					asks.Go(func() {
						after, _, err := db.Version(context.Background())
						if err != nil || after == before {
							t.Errorf("round %d: version %d after a commit, as before it (%v)", i, after, err)
						}
					})
				}
				asks.Wait()
			}
		})
	}
}

// insertApp commits one write through db.
func insertApp(t *testing.T, db *DB) {
	t.Helper()
	if err := db.Write(context.Background(), func(tx control.Tx) error {
		a := keyplane.App{AccountID: 1, Name: "a", CreatedAt: t0, UpdatedAt: t0}
		return tx.InsertApp(&a)
	}); err != nil {
		t.Fatal(err)
	}
}

// mustVersion asks db for its version.
func mustVersion(t *testing.T, db *DB) uint64 {
	t.Helper()
	v, ok, err := db.Version(context.Background())
	if err != nil || !ok {
		t.Fatalf("Version: %v %v", ok, err)
	}
	return v
}

// While nothing is committed, asks are answered from the WAL index header
// without reading; the first commit anywhere ends that, and the next ask
// reads the new version.
func TestVersionReadsNothingUntilACommit(t *testing.T) {
	path := sqliteDSN(t)
	db, other := openDB(t, path), openDB(t, path)
	mustVersion(t, db) // maps the index
	v := mustVersion(t, db)
	for range 3 {
		if got, ok := db.version.src.current(); !ok || got != v {
			t.Fatalf("nothing committed: current() = %d %v, want %d true", got, ok, v)
		}
		insertApp(t, other)
		if _, ok := db.version.src.current(); ok {
			t.Fatal("after a commit, the header still vouches for the old version")
		}
		after := mustVersion(t, db)
		if after == v {
			t.Fatal("after a commit, the same version")
		}
		v = after
	}
}

// A commit made by another process, through its own mapping of the WAL
// index, is seen by the next ask.
func TestVersionSeesCommitsOfAnotherProcess(t *testing.T) {
	if path := os.Getenv("KEYPLANE_TEST_COMMIT_TO"); path != "" {
		db, err := Open(context.Background(), path, t0)
		if err != nil {
			t.Fatal(err)
		}
		insertApp(t, db)
		db.Close()
		return
	}
	path := sqliteDSN(t)
	db := openDB(t, path)
	mustVersion(t, db)
	for range 3 {
		before := mustVersion(t, db)
		cmd := osexec.Command(os.Args[0], "-test.run=^TestVersionSeesCommitsOfAnotherProcess$")
		cmd.Env = append(os.Environ(), "KEYPLANE_TEST_COMMIT_TO="+path)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("committing process: %v\n%s", err, out)
		}
		if after := mustVersion(t, db); after == before {
			t.Fatal("a commit by another process: the same version after it")
		}
	}
}

// Where the WAL index does not follow the database (faked here by a
// mapping of a frozen copy), the first read after trustFor finds the
// version changed under an unchanged header, and from then on every ask
// reads.
func TestVersionStopsTrustingAnIndexThatDoesNotChange(t *testing.T) {
	path := sqliteDSN(t)
	db, other := openDB(t, path), openDB(t, path)
	c := db.version.src.(*sqliteVersion)
	c.trustFor = 50 * time.Millisecond
	mustVersion(t, db)
	frozen := filepath.Join(t.TempDir(), "frozen.db")
	shm, err := os.ReadFile(path + "-shm")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(frozen+"-shm", shm, 0o600); err != nil {
		t.Fatal(err)
	}
	fake, err := openWALIndex(frozen)
	if err != nil {
		t.Fatal(err)
	}
	c.index.close() // nothing asks meanwhile
	c.index = fake
	c.seen.Store(nil)
	v := mustVersion(t, db) // kept under the frozen header
	insertApp(t, other)
	time.Sleep(2 * c.trustFor)
	if after := mustVersion(t, db); after == v {
		t.Fatal("the version read after trustFor is the old one")
	}
	if !c.noIndex.Load() {
		t.Fatal("an index that stayed the same across a commit is still trusted")
	}
	before := mustVersion(t, db)
	insertApp(t, other)
	if after := mustVersion(t, db); after == before {
		t.Fatal("without the index, a commit went unseen")
	}
}

// The version's PostgreSQL connection dropped (a restart, a proxy, an
// administrator ending sessions): the ask that finds it broken fails, the
// ones after it read on a new connection.
func TestPostgresVersionSurvivesItsConnection(t *testing.T) {
	dsn := postgresDSN(t)
	db, other := openDB(t, dsn), openDB(t, dsn)
	before := mustVersion(t, db)
	var ended int
	if err := other.read.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&ended); err != nil || ended == 0 {
		t.Fatalf("ending the other sessions: %d ended, %v", ended, err)
	}
	// The asks that find a cut connection fail (idle ones of the pool
	// may be cut too), until one reads on a live one.
	for i := 0; ; i++ {
		if _, _, err := db.Version(context.Background()); err == nil {
			break
		} else if i == 20 {
			t.Fatalf("still failing after the sessions ended: %v", err)
		}
	}
	insertApp(t, other)
	for range 3 {
		if after := mustVersion(t, db); after == before {
			t.Fatal("after a commit, the same version")
		}
	}
}
