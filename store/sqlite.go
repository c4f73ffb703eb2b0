package store

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteReaders is how many read transactions run at once.
const sqliteReaders = 8

// openSQLite opens the SQLite file at path. SQLite allows one writer at a
// time, so writes go through a single connection (writers queue in Go
// rather than spin on SQLITE_BUSY) while reads use a pool of read-only
// connections on WAL snapshots.
func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("database: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("database %s: cannot open: directory %s does not exist", path, dir)
		}
	}
	// The database holds password hashes, the audit log and usage: a new
	// one is made readable by its owner only, and SQLite gives its WAL and
	// shared-memory files the same mode.
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	// Pragmas go in the DSN so every pooled connection gets them.
	// synchronous(FULL): an acknowledged write survives power loss.
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	// The path goes into a SQLite URI: escape what a URI would read as
	// syntax, so "a#1.db" or "what?.db" name the file they say.
	dsn := "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path) + "?" + q.Encode()
	// The writer keeps its temporary files in memory: each write of a
	// group commit runs in a savepoint, whose sub-journal (the pages'
	// contents before the write, for ROLLBACK TO) spilled to a file once a
	// write touched more than 64 KiB (a keyset's create does), a write
	// system call per page: 15% of the CPU of creating keysets. The
	// sub-journal is never needed after a crash (the WAL is what makes a
	// commit durable), and it holds one write's pages at a time.
	w, err := sql.Open("sqlite", dsn+"&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	// One write transaction at a time (writeSlots), on a pool of two
	// connections: the spare one prepares statements for the cache
	// (stmtCache) while the other is inside a transaction.
	w.SetMaxOpenConns(2)
	r, err := sql.Open("sqlite", dsn+"&mode=ro")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	r.SetMaxOpenConns(sqliteReaders + 1) // the spare one prepares, as above
	// All of them stay open when idle. database/sql keeps two by default
	// and closes the others as they come back: a third concurrent reader
	// then opened a connection at every request (parsing the schema,
	// preparing its statements again), 7% of a server busy with four
	// clients listing keysets.
	r.SetMaxIdleConns(sqliteReaders + 1)
	v, err := sql.Open("sqlite", dsn+"&mode=ro")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	v.SetMaxOpenConns(1)
	return &DB{
		version: &versionCheck{src: newSQLiteVersion(v, path)},
		engine:  engine{name: "sqlite"}, write: w, read: r, name: path,
		readSlots: make(chan struct{}, sqliteReaders), writeSlots: make(chan struct{}, 1),
		readStmts: newStmtCache(r), writeStmts: newStmtCache(w),
	}, nil
}

// ExposedFiles lists the files of a SQLite database that users other than
// its owner may read or write (the database, its WAL and shared-memory
// files), each with its mode; none on PostgreSQL. serve warns of them.
func (db *DB) ExposedFiles() []string {
	if db.engine.name != "sqlite" {
		return nil
	}
	var out []string
	for _, f := range []string{db.name, db.name + "-wal", db.name + "-shm"} {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
			out = append(out, fmt.Sprintf("%s (%v)", f, fi.Mode().Perm()))
		}
	}
	return out
}
