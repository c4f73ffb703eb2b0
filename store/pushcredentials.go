package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

// pushPrefix is what a push credential's seal is bound to beside its
// keyset (the secret keys' prefix in theirs): moved to another keyset or
// kind, it no longer opens.
func pushPrefix(kind keyplane.PushKind) string { return "push:" + string(kind) }

// SetPushCredential implements control.Tx.
func (t *txn) SetPushCredential(keysetID int64, kind keyplane.PushKind, content []byte, at time.Time) error {
	stored := string(content)
	if t.seal != nil {
		var err error
		if stored, err = t.seal.seal(keysetID, pushPrefix(kind), stored); err != nil {
			return err
		}
	}
	_, err := t.exec(`INSERT INTO push_credentials (keyset_id, kind, content, uploaded_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (keyset_id, kind) DO UPDATE SET content = excluded.content, uploaded_at = excluded.uploaded_at`,
		keysetID, string(kind), stored, ms(at))
	return err
}

// PushCredential returns a keyset's credential file of kind as uploaded,
// for whatever sends the keyset's push notifications; the API never
// answers it.
func (db *DB) PushCredential(keysetID int64, kind keyplane.PushKind) (content []byte, err error) {
	var stored string
	err = db.read.QueryRow(`SELECT content FROM push_credentials WHERE keyset_id = $1 AND kind = $2`, keysetID, string(kind)).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(string(kind)+" credentials of keyset", keysetID)
	}
	if err != nil {
		return nil, err
	}
	plain, err := db.seal.Load().open(keysetID, pushPrefix(kind), stored)
	return []byte(plain), err
}
