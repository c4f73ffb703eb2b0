package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// BackupOptions adjusts Backup.
type BackupOptions struct {
	// Force replaces a file that already exists at the path. The old file
	// stays in place until the new snapshot is complete.
	Force bool
}

// ErrNoPostgresBackup is why Backup refuses a PostgreSQL database.
var ErrNoPostgresBackup = errors.New("only a SQLite database can be backed up this way; back up PostgreSQL with pg_dump -Fc -d URL -f FILE, and restore with pg_restore --clean -d URL FILE")

// Backup writes a consistent snapshot of a SQLite database to a new file at
// path, with VACUUM INTO on a read connection: it runs while servers read
// and write (they are never blocked) and sees one instant of the database.
// The snapshot is a complete database that Open takes. A file already at
// path is refused (wrapping fs.ErrExist) unless opts.Force; the database's
// own files always are.
func (db *DB) Backup(ctx context.Context, path string, opts BackupOptions) (err error) {
	if db.engine.name != "sqlite" {
		return fmt.Errorf("backup of %s: %w", db.name, ErrNoPostgresBackup)
	}
	if path == "" {
		return errors.New("backup: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if own, err := filepath.Abs(db.name); err == nil {
		for _, f := range []string{own, own + "-wal", own + "-shm", own + "-journal"} {
			if sameFile(f, abs) {
				return fmt.Errorf("backup to %s: that is a file of the database %s itself", path, db.name)
			}
		}
	}
	fi, err := os.Stat(abs)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("backup to %s: is a directory; name a file", path)
	case err == nil && !opts.Force:
		return fmt.Errorf("backup to %s: %w", path, fs.ErrExist)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("backup to %s: %w", path, err)
	}

	// VACUUM INTO writes into an empty file next to the destination, which
	// takes its place once complete: a failed backup leaves nothing behind,
	// and a forced one never leaves the destination half-written.
	dir := filepath.Dir(abs)
	tmpf, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	tmp := tmpf.Name()
	tmpf.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup of %s: %w", db.name, err)
	}
	// An absolute path never starts with "file:", so SQLite takes it as a
	// plain file name, never as a URI.
	_, err = conn.ExecContext(ctx, `VACUUM INTO $1`, tmp)
	conn.Close()
	if err != nil {
		return fmt.Errorf("backup of %s: %w", db.name, err)
	}
	if err = syncFile(tmp); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if opts.Force {
		err = os.Rename(tmp, abs)
	} else if err = os.Link(tmp, abs); err == nil {
		// Linked without replacing a file that appeared meanwhile.
		os.Remove(tmp)
	} else if errors.Is(err, fs.ErrExist) {
		err = fs.ErrExist
	} else {
		err = os.Rename(tmp, abs) // a file system without hard links
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	syncFile(dir) // best effort: not every system syncs a directory
	return nil
}

// syncFile flushes a file, or a directory's entries, to stable storage.
func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
