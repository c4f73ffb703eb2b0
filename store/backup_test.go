package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// checkSnapshot opens a backup as a database and checks it is sound: it
// passes SQLite's integrity check and its audit chain links up.
func checkSnapshot(t *testing.T, path string) *DB {
	t.Helper()
	db := openDB(t, path)
	var res string
	if err := db.read.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check of %s: %q %v", path, res, err)
	}
	if len(auditChain(t, db)) == 0 {
		t.Fatalf("%s holds no audit events", path)
	}
	return db
}

// A backup taken while apps are being created is a consistent database,
// and one taken at rest holds exactly the source's data.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	src := openDB(t, sqliteDSN(t))
	pop := populate(t, src)
	svc := control.New(src, control.Options{Now: (&tick{t: t0.Add(time.Hour)}).now})
	p, err := svc.Authenticate(ctx, pop.key, keyplane.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	before := count(t, src, "apps")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var created int
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := svc.CreateApp(ctx, p, fmt.Sprintf("during %d", i)); err != nil {
				werr = err
				return
			}
			created++
		}
	}()
	dir := t.TempDir()
	var snaps []string
	for i := range 3 {
		time.Sleep(20 * time.Millisecond)
		path := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		if err := src.Backup(ctx, path, BackupOptions{}); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		snaps = append(snaps, path)
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatalf("writing during the backups: %v", werr)
	}
	if created == 0 {
		t.Fatal("no app was created during the backups")
	}
	last := before
	for _, path := range snaps {
		snap := checkSnapshot(t, path)
		n := count(t, snap, "apps")
		// Each snapshot is one instant: every app created has its audit
		// event, and later snapshots hold at least as much.
		var events int64
		if err := snap.read.QueryRow(`SELECT count(*) FROM audit_events WHERE type = 'AppCreated' AND after LIKE '%during%'`).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if n < last || n > before+int64(created) || events != n-before {
			t.Errorf("%s: %d apps (%d events for apps created during the backups); before %d, previous snapshot %d", path, n, events, before, last)
		}
		last = n
	}
	t.Logf("%d apps created during the backups; snapshots hold %d", created, last-before)

	final := filepath.Join(dir, "final.db")
	if err := src.Backup(ctx, final, BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	sameData(t, src, checkSnapshot(t, final))
	if entries, _ := os.ReadDir(dir); len(entries) != len(snaps)+1+countSidecars(entries) {
		t.Errorf("backups left other files behind: %v", entries)
	}
}

// countSidecars counts the -wal and -shm files that opening a snapshot makes.
func countSidecars(entries []os.DirEntry) int {
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "-wal") || strings.HasSuffix(e.Name(), "-shm") {
			n++
		}
	}
	return n
}

func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	dsn := sqliteDSN(t)
	src := openDB(t, dsn)
	populate(t, src)
	dir := t.TempDir()

	t.Run("existing file", func(t *testing.T) {
		path := filepath.Join(dir, "exists.db")
		if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := src.Backup(ctx, path, BackupOptions{})
		if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
			t.Fatalf("backup over an existing file: %v, want fs.ErrExist naming it", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "keep me" {
			t.Fatalf("the existing file was changed: %q", b)
		}
		// Forced, it is replaced by a whole snapshot.
		if err := src.Backup(ctx, path, BackupOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		sameData(t, src, checkSnapshot(t, path))
	})
	t.Run("the database itself", func(t *testing.T) {
		for _, path := range []string{dsn, dsn + "-wal", filepath.Join(filepath.Dir(dsn), ".", filepath.Base(dsn))} {
			err := src.Backup(ctx, path, BackupOptions{Force: true})
			if err == nil || !strings.Contains(err.Error(), "of the database") {
				t.Errorf("backup onto %s: %v", path, err)
			}
		}
		if count(t, src, "apps") != 2 {
			t.Error("the database changed")
		}
	})
	t.Run("a directory", func(t *testing.T) {
		if err := src.Backup(ctx, dir, BackupOptions{Force: true}); err == nil || !strings.Contains(err.Error(), "directory") {
			t.Errorf("backup onto a directory: %v", err)
		}
	})
	t.Run("a missing directory", func(t *testing.T) {
		if err := src.Backup(ctx, filepath.Join(dir, "no", "such.db"), BackupOptions{}); err == nil {
			t.Error("backup into a missing directory succeeded")
		}
	})
	t.Run("postgres", func(t *testing.T) {
		pg := openDB(t, postgresDSN(t))
		path := filepath.Join(dir, "pg.db")
		err := pg.Backup(ctx, path, BackupOptions{})
		if !errors.Is(err, ErrNoPostgresBackup) {
			t.Fatalf("backup of PostgreSQL: %v", err)
		}
		for _, want := range []string{"pg_dump -Fc", "pg_restore", pg.Name()} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %q does not say %q", err, want)
			}
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a refused backup left %s: %v", path, err)
		}
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 1+countSidecars(entries) {
		t.Errorf("backups left other files behind: %v", entries)
	}
}
