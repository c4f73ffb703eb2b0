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

// Every kind of secret a process without a key-encryption key wrote in
// plain text is sealed when a KEK is set up, and reads back the same:
// secret keys, push credentials (keyed by keyset and kind), both columns
// of a webhook's signing secrets, TOTP secrets and SSO client secrets (an
// empty one, a public client, stays empty).
func TestSealSecretsWrittenWithoutKEK(t *testing.T) {
	for _, engine := range []struct {
		name string
		dsn  func(*testing.T) string
	}{{"sqlite", sqliteDSN}, {"postgres", postgresDSN}} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openDB(t, engine.dsn(t))
			svc := control.New(db, control.Options{Now: func() time.Time { return t0 }})
			p := keyplane.Principal{AccountID: 1, Grants: mustGrants(t, "account:app:rw", "account:keyset:rw", "account:secret-key:rw")}
			app, err := svc.CreateApp(ctx, p, "A")
			if err != nil {
				t.Fatal(err)
			}
			ks, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: app.ID})
			if err != nil {
				t.Fatal(err)
			}
			keys := secretsOf(t, svc, p, ks.ID)
			apns, fcm := "-----BEGIN PRIVATE KEY----- apns-plain", `{"private_key": "fcm-plain"}`
			var hook keyplane.Webhook
			var user keyplane.User
			var public keyplane.Account
			until := t0.Add(time.Hour)
			err = db.Write(ctx, func(ctl control.Tx) error {
				tx := ctl.(*txn)
				if err := tx.SetPushCredential(ks.ID, keyplane.PushAPNs, []byte(apns), t0); err != nil {
					return err
				}
				if err := tx.SetPushCredential(ks.ID, keyplane.PushFCM, []byte(fcm), t0); err != nil {
					return err
				}
				hook = keyplane.Webhook{AccountID: 1, URL: "https://hooks.example.com/", Events: []string{"*"}, Secret: "whsec_firstplain", CreatedAt: t0, UpdatedAt: t0}
				if err := tx.InsertWebhook(&hook); err != nil {
					return err
				}
				if err := tx.SetWebhookSecret(1, hook.ID, "whsec_secondplain", &until, t0); err != nil {
					return err
				}
				user = keyplane.User{AccountID: 1, Email: "owner@example.com", Role: keyplane.RoleOwner, CreatedAt: t0}
				if err := tx.InsertUser(&user); err != nil {
					return err
				}
				if err := tx.PutTOTP(user.ID, "TOTPPLAINSECRET", t0); err != nil {
					return err
				}
				if err := tx.PutOIDCConfig(keyplane.OIDCConfig{AccountID: 1, Issuer: "https://idp.example.com", ClientID: "c", ClientSecret: "oidc-plain", UpdatedAt: t0}); err != nil {
					return err
				}
				public = keyplane.Account{Name: "Public client", CreatedAt: t0}
				if err := tx.InsertAccount(&public); err != nil {
					return err
				}
				return tx.PutOIDCConfig(keyplane.OIDCConfig{AccountID: public.ID, Issuer: "https://idp.example.com", ClientID: "p", UpdatedAt: t0})
			})
			if err != nil {
				t.Fatal(err)
			}

			if _, err := db.SealSecrets(ctx, filepath.Join(t.TempDir(), "kek")); err != nil {
				t.Fatal(err)
			}

			plain := append([]string{apns, fcm, "whsec_firstplain", "whsec_secondplain", "TOTPPLAINSECRET", "oidc-plain"}, keys...)
			for _, q := range []string{
				`SELECT secret FROM secret_keys`,
				`SELECT content FROM push_credentials`,
				`SELECT secret FROM webhooks`,
				`SELECT previous_secret FROM webhooks`,
				`SELECT secret FROM totp_secrets`,
				`SELECT client_secret FROM oidc_configs WHERE account_id = 1`,
			} {
				rows, err := db.read.Query(q)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for rows.Next() {
					var s string
					if err := rows.Scan(&s); err != nil {
						t.Fatal(err)
					}
					n++
					if !strings.HasPrefix(s, sealedPrefix) {
						t.Errorf("%s: a value is not sealed: %.16s…", q, s)
					}
					for _, secret := range plain {
						if strings.Contains(s, secret) {
							t.Errorf("%s: a stored value holds a secret", q)
						}
					}
				}
				rows.Close()
				if n == 0 {
					t.Errorf("%s: no rows", q)
				}
			}

			// They read back the same, each from its own row.
			if got := secretsOf(t, svc, p, ks.ID); strings.Join(got, ",") != strings.Join(keys, ",") {
				t.Errorf("secret keys read %v, were %v", got, keys)
			}
			for kind, want := range map[keyplane.PushKind]string{keyplane.PushAPNs: apns, keyplane.PushFCM: fcm} {
				if got, err := db.PushCredential(ks.ID, kind); err != nil || string(got) != want {
					t.Errorf("%s credentials read %q, %v; want %q", kind, got, err, want)
				}
			}
			err = db.Read(ctx, func(ctl control.Tx) error {
				tx := ctl.(*txn)
				var secret, previous string
				if err := tx.queryRow(`SELECT secret, previous_secret FROM webhooks WHERE id = $1`, hook.ID).Scan(&secret, &previous); err != nil {
					return err
				}
				for stored, want := range map[string][2]string{secret: {"secret", "whsec_secondplain"}, previous: {"previous_secret", "whsec_firstplain"}} {
					if got, err := tx.openWebhookSecret(hook.ID, want[0], stored); err != nil || got != want[1] {
						t.Errorf("webhook %s reads %q, %v; want %q", want[0], got, err, want[1])
					}
				}
				if s, err := tx.TOTP(user.ID); err != nil || s.Secret != "TOTPPLAINSECRET" {
					t.Errorf("TOTP secret reads %q, %v", s.Secret, err)
				}
				if c, err := tx.OIDCConfig(1); err != nil || c.ClientSecret != "oidc-plain" {
					t.Errorf("SSO client secret reads %q, %v", c.ClientSecret, err)
				}
				if c, err := tx.OIDCConfig(public.ID); err != nil || c.ClientSecret != "" {
					t.Errorf("a public client's secret reads %q, %v; want it empty", c.ClientSecret, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
