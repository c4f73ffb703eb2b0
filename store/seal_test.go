package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// secretsOf reads every secret key of the keysets through the operations.
func secretsOf(t *testing.T, svc *control.Service, p keyplane.Principal, ids ...int64) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		keys, err := svc.ListSecretKeys(context.Background(), p, id, false)
		if err != nil {
			t.Fatalf("ListSecretKeys(%d): %v", id, err)
		}
		for _, k := range keys {
			out = append(out, k.Secret)
		}
	}
	return out
}

// Secret keys are sealed at rest: those written before sealing was turned
// on at the next start, new ones at once; they read back the same; the
// stored values (and, on SQLite, the database files) hold no secret; a
// wrong or missing key-encryption key stops the start; a sealed value moved
// to another row no longer opens.
func TestSealSecrets(t *testing.T) {
	for _, engine := range []struct {
		name string
		dsn  func(*testing.T) string
	}{{"sqlite", sqliteDSN}, {"postgres", postgresDSN}} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := engine.dsn(t)
			db := openDB(t, dsn)
			svc := control.New(db, control.Options{Now: func() time.Time { return t0 }})
			p := keyplane.Principal{AccountID: 1, Grants: mustGrants(t, "account:app:rw", "account:keyset:rw", "account:secret-key:rw")}
			app, err := svc.CreateApp(ctx, p, "A")
			if err != nil {
				t.Fatal(err)
			}
			before, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: app.ID})
			if err != nil {
				t.Fatal(err)
			}
			plain := secretsOf(t, svc, p, before.ID)

			dir := t.TempDir()
			kek := filepath.Join(dir, "kek")
			created, err := db.SealSecrets(ctx, kek)
			if err != nil || !created {
				t.Fatalf("SealSecrets: created %v, %v", created, err)
			}
			if fi, err := os.Stat(kek); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("KEK file mode %v (%v), want 0600", fi.Mode().Perm(), err)
			}
			after, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: app.ID})
			if err != nil {
				t.Fatal(err)
			}
			at := t0.AddDate(0, 0, 2)
			if _, err := svc.RotateSecretKey(ctx, p, after.ID, &at); err != nil {
				t.Fatal(err)
			}
			if got := secretsOf(t, svc, p, before.ID); strings.Join(got, ",") != strings.Join(plain, ",") {
				t.Errorf("a secret sealed at start reads %v, was %v", got, plain)
			}
			all := secretsOf(t, svc, p, before.ID, after.ID)
			if len(all) != 3 {
				t.Fatalf("%d secret keys, want 3", len(all))
			}
			rows, err := db.read.Query(`SELECT secret FROM secret_keys`)
			if err != nil {
				t.Fatal(err)
			}
			var stored []string
			for rows.Next() {
				var s string
				rows.Scan(&s)
				stored = append(stored, s)
			}
			rows.Close()
			for _, s := range stored {
				if !strings.HasPrefix(s, sealedPrefix) {
					t.Errorf("a stored secret is not sealed: %.12s…", s)
				}
				for _, secret := range all {
					if strings.Contains(s, secret) || strings.Contains(s, secret[len(secret)-20:]) {
						t.Errorf("a stored value holds a secret key")
					}
				}
			}
			if engine.name == "sqlite" {
				exec(t, db, `PRAGMA wal_checkpoint(TRUNCATE)`)
				for _, f := range []string{dsn, dsn + "-wal"} {
					b, _ := os.ReadFile(f)
					for _, secret := range all[1:] { // the first was on disk in plain text before sealing
						if bytes.Contains(b, []byte(secret)) {
							t.Errorf("%s holds a secret key written after sealing", filepath.Base(f))
						}
					}
				}
			}

			// Another process on the same database: the same file works, and
			// nothing else does.
			again := openDB(t, dsn)
			if created, err := again.SealSecrets(ctx, kek); err != nil || created {
				t.Fatalf("SealSecrets again: created %v, %v", created, err)
			}
			if got := secretsOf(t, control.New(again, control.Options{Now: func() time.Time { return t0 }}), p, before.ID, after.ID); strings.Join(got, ",") != strings.Join(all, ",") {
				t.Errorf("another process reads %v, want %v", got, all)
			}
			missing := filepath.Join(dir, "missing")
			if _, err := openDB(t, dsn).SealSecrets(ctx, missing); err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "give the file") {
				t.Errorf("a missing KEK file: %v", err)
			}
			if _, err := os.Stat(missing); err == nil {
				t.Error("a KEK file was made for a database sealed with another")
			}
			other := filepath.Join(dir, "other")
			os.WriteFile(other, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
			if _, err := openDB(t, dsn).SealSecrets(ctx, other); err == nil || !strings.Contains(err.Error(), "give the right file") {
				t.Errorf("another KEK: %v", err)
			}
			os.WriteFile(other, []byte("not hex"), 0o600)
			if _, err := openDB(t, dsn).SealSecrets(ctx, other); err == nil || !strings.Contains(err.Error(), "want 64 hex digits") {
				t.Errorf("a malformed KEK file: %v", err)
			}

			// A sealed value copied onto another row does not open there.
			exec(t, db, `UPDATE secret_keys SET secret = (SELECT secret FROM secret_keys WHERE keyset_id = `+strconv.FormatInt(before.ID, 10)+` LIMIT 1) WHERE keyset_id = `+strconv.FormatInt(after.ID, 10))
			if _, err := svc.ListSecretKeys(ctx, p, after.ID, false); err == nil || keyplane.ErrorCode(err) != keyplane.CodeInternal {
				t.Errorf("a moved sealed secret: %v, want an internal error", err)
			}
		})
	}
}
