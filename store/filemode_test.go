package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A new SQLite database, its WAL and shared-memory files, and its backups
// are readable by their owner only, whatever the umask; a database others
// can read is named by ExposedFiles, which serve warns with.
func TestDatabaseFilesAreTheOwners(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, under which files were 0644
	defer syscall.Umask(old)
	dsn := sqliteDSN(t)
	db := openDB(t, dsn)
	exec(t, db, `CREATE TABLE t (x INTEGER)`) // the WAL and shared memory exist once written
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(context.Background(), backup, BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{dsn, dsn + "-wal", dsn + "-shm", backup} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), perm)
		}
	}
	if got := db.ExposedFiles(); len(got) != 0 {
		t.Errorf("ExposedFiles() = %v, want none", got)
	}
	if err := os.Chmod(dsn, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := db.ExposedFiles(); len(got) != 1 || !strings.Contains(got[0], dsn) || !strings.Contains(got[0], "-rw-r--r--") {
		t.Errorf("ExposedFiles() = %v, want the database, 0644", got)
	}
}
