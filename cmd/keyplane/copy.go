package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"
)

// mustExist refuses a SQLite path with no file behind it, which store.Open
// would create: a mistyped source must not be copied or backed up as an
// empty database.
func mustExist(flag, dsn string) error {
	if store.IsPostgres(dsn) {
		return nil
	}
	if _, err := os.Stat(dsn); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s %s: no such database file", flag, dsn)
		}
		return fmt.Errorf("%s %s: %w", flag, dsn, err)
	}
	return nil
}

// refuseFlags refuses admin-wide flags a command has no use for, rather
// than quietly ignoring them.
func refuseFlags(cmd *cobra.Command, why string, names ...string) error {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return fmt.Errorf("--%s does not apply: %s", n, why)
		}
	}
	return nil
}

func (a *admin) copyCmd() *cobra.Command {
	var from, to string
	var force bool
	cmd := &cobra.Command{
		Use:   "copy --from SRC --to DST [--force]",
		Short: "Copy a whole install (every table, audit chain included) into an empty database, and verify it",
		Long: `Copy a whole install into an empty database: every account, app, keyset,
secret key, integration, API key and audit event, with their ids, in one
transaction, from one consistent snapshot of the source. Afterwards the rows
of each table are counted and compared on both sides, and so is the end of the
audit chain. SRC and DST are SQLite files or PostgreSQL URLs, at the same
schema version (both are migrated first); the usual move is an embedded
install onto PostgreSQL:

  keyplane admin copy --from ./keyplane.db --to postgres://user:password@host:5432/keyplane

Stop the server first: writes made to the source during the copy are not in
it. A target that already holds data is refused (nothing is changed) unless
--force, which deletes its contents in the same transaction. Re-running after
a failure is safe: a failed copy changes nothing.

Prints one line per table (rows in the source → rows in the target), the
hash the audit chain ends with on each side, then "copied, verified".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := refuseFlags(cmd, "copy takes --from and --to, and copies every account", "database", "account"); err != nil {
				return err
			}
			if err := mustExist("--from", from); err != nil {
				return err
			}
			ctx := cmd.Context()
			now := wallclock.Now()
			src, err := store.Open(ctx, from, now)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := store.Open(ctx, to, now)
			if err != nil {
				return err
			}
			defer dst.Close()
			fmt.Fprintf(a.stderr, "copying %s (%s) to %s (%s)\n", src.Name(), src.Engine(), dst.Name(), dst.Engine())
			rep, err := store.Copy(ctx, src, dst, store.CopyOptions{Force: force})
			for _, tc := range rep.Tables {
				fmt.Fprintf(a.stdout, "%s %d → %d\n", tc.Table, tc.Source, tc.Target)
			}
			if rep.Tables != nil {
				fmt.Fprintf(a.stdout, "audit chain head %s → %s\n", hexOrNone(rep.SourceAuditHead), hexOrNone(rep.TargetAuditHead))
			}
			if errors.Is(err, store.ErrTargetNotEmpty) {
				return fmt.Errorf("%w; copy into an empty database, or give --force to delete what it holds first", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "copied, verified")
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the database to copy: a SQLite file or a PostgreSQL URL")
	cmd.Flags().StringVar(&to, "to", "", "the database to copy into, which must hold no data: a SQLite file (created if missing) or a PostgreSQL URL")
	cmd.Flags().BoolVar(&force, "force", false, "delete what the target holds first (in the same transaction)")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("to")
	return cmd
}

func hexOrNone(b []byte) string {
	if len(b) == 0 {
		return "none"
	}
	return fmt.Sprintf("%x", b)
}

func (a *admin) backupCmd() *cobra.Command {
	var to string
	var force bool
	cmd := &cobra.Command{
		Use:   "backup --to FILE [--force]",
		Short: "Write a consistent snapshot of a SQLite database to a new file, also while a server runs on it",
		Long: `Write a consistent snapshot of the SQLite database named by --database to FILE
(SQLite's VACUUM INTO). It may run while a server uses the database: the server
keeps reading and writing, and the snapshot is the database at one instant.
FILE is a complete database; to restore, stop the server and put FILE in place
of the database file (removing its -wal and -shm files).

An existing FILE is refused unless --force, which replaces it once the new
snapshot is complete. PostgreSQL databases are backed up with pg_dump -Fc and
restored with pg_restore.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := refuseFlags(cmd, "a backup holds every account", "account"); err != nil {
				return err
			}
			if store.IsPostgres(a.database) {
				return fmt.Errorf("backup: %w", store.ErrNoPostgresBackup)
			}
			if err := mustExist("--database", a.database); err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := store.Open(ctx, a.database, wallclock.Now())
			if err != nil {
				return err
			}
			defer db.Close()
			start := time.Now()
			err = db.Backup(ctx, to, store.BackupOptions{Force: force})
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%w; choose another file, or give --force to replace it", err)
			}
			if err != nil {
				return err
			}
			size := "?"
			if fi, err := os.Stat(to); err == nil {
				size = fmt.Sprint(fi.Size())
			}
			fmt.Fprintf(a.stdout, "backed up %s to %s (%s bytes, %d ms)\n", db.Name(), to, size, time.Since(start).Milliseconds())
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the file to write the snapshot to; must not exist unless --force")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	cmd.MarkFlagRequired("to")
	return cmd
}
