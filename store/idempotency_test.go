package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyplane/keyplane/control"
)

// A stored answer may carry a secret key: under a KEK it is kept sealed,
// bound to its caller and key, and opens back byte for byte.
func TestIdempotencyAnswersSealed(t *testing.T) {
	for _, engine := range []struct {
		name string
		dsn  func(*testing.T) string
	}{{"sqlite", sqliteDSN}, {"postgres", postgresDSN}} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openDB(t, engine.dsn(t))
			if _, err := db.SealSecrets(ctx, filepath.Join(t.TempDir(), "kek")); err != nil {
				t.Fatal(err)
			}
			secret := []byte(`{"secretKey":"sec-c-ZmFrZXNlY3JldGtleWZvcnRlc3Rpbmc"}`)
			answer := control.StoredResponse{Status: 201, Header: map[string]string{"Content-Type": "application/json"}, Body: secret}
			rec := control.IdempotencyRecord{Scope: "integration/1", Key: "k", Fingerprint: []byte{1, 2}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Response: &answer}
			if err := db.Write(ctx, func(tx control.Tx) error { return tx.InsertIdempotencyRecord(rec) }); err != nil {
				t.Fatal(err)
			}
			var raw []byte
			if err := db.read.QueryRow(`SELECT response FROM idempotency_keys`).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte("sec-c-")) || raw[0] != answerSealed {
				t.Errorf("stored answer is not sealed: %q", raw)
			}
			var got control.IdempotencyRecord
			err := db.Read(ctx, func(tx control.Tx) (err error) { got, err = tx.IdempotencyRecord("integration/1", "k", t0); return err })
			if err != nil || got.Response == nil || !bytes.Equal(got.Response.Body, secret) || got.Response.Status != 201 {
				t.Errorf("read back %+v, %v", got, err)
			}
			// Moved to another caller's row, it does not open.
			if _, err := db.write.Exec(`UPDATE idempotency_keys SET scope = 'integration/2'`); err != nil {
				t.Fatal(err)
			}
			err = db.Read(ctx, func(tx control.Tx) error { _, err := tx.IdempotencyRecord("integration/2", "k", t0); return err })
			if err == nil {
				t.Errorf("an answer moved to another caller opened")
			}
			// Expired records are gone for reads, and deleted by the next insert.
			err = db.Read(ctx, func(tx control.Tx) error {
				_, err := tx.IdempotencyRecord("integration/2", "k", t0.Add(time.Hour))
				return err
			})
			if err == nil {
				t.Errorf("an expired record was found")
			}
			later := control.IdempotencyRecord{Scope: "integration/3", Key: "k", Fingerprint: []byte{3}, CreatedAt: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}
			if err := db.Write(ctx, func(tx control.Tx) error { return tx.InsertIdempotencyRecord(later) }); err != nil {
				t.Fatal(err)
			}
			var n int
			db.read.QueryRow(`SELECT count(*) FROM idempotency_keys`).Scan(&n)
			if n != 1 {
				t.Errorf("%d records after an insert past the first one's expiry, want 1", n)
			}
		})
	}
}
