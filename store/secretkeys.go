package store

import (
	"database/sql"
	"time"

	"github.com/keyplane/keyplane"
)

// SecretKeys implements control.Tx: the main key first, then rotated keys
// by expiry.
func (t *txn) SecretKeys(keysetID int64) ([]keyplane.SecretKey, error) {
	rows, err := t.query(`SELECT prefix, secret, expires_at, created_at FROM secret_keys WHERE keyset_id = $1
		ORDER BY expires_at IS NOT NULL, expires_at, prefix`, keysetID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []keyplane.SecretKey{}
	for rows.Next() {
		s := keyplane.SecretKey{KeysetID: keysetID}
		var exp sql.NullInt64
		var c int64
		var prefix string
		if err := rows.Scan(&prefix, &s.Secret, &exp, &c); err != nil {
			return nil, err
		}
		if s.Secret, err = t.seal.open(keysetID, prefix, s.Secret); err != nil {
			return nil, err
		}
		s.ExpiresAt, s.CreatedAt = fromOptMS(exp), fromMS(c)
		out = append(out, s)
	}
	return out, rows.Err()
}

// InsertSecretKey implements control.Tx.
func (t *txn) InsertSecretKey(s keyplane.SecretKey) error {
	stored := s.Secret
	if t.seal != nil {
		var err error
		if stored, err = t.seal.seal(s.KeysetID, s.Prefix(), s.Secret); err != nil {
			return err
		}
	}
	_, err := t.exec(`INSERT INTO secret_keys (keyset_id, prefix, secret, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		s.KeysetID, s.Prefix(), stored, optMS(s.ExpiresAt), ms(s.CreatedAt))
	return err
}

// SetSecretKeyExpiry implements control.Tx.
func (t *txn) SetSecretKeyExpiry(keysetID int64, prefix string, at *time.Time) error {
	_, err := t.exec(`UPDATE secret_keys SET expires_at = $1 WHERE keyset_id = $2 AND prefix = $3`, optMS(at), keysetID, prefix)
	return err
}

// DeleteSecretKey implements control.Tx.
func (t *txn) DeleteSecretKey(keysetID int64, prefix string) error {
	_, err := t.exec(`DELETE FROM secret_keys WHERE keyset_id = $1 AND prefix = $2`, keysetID, prefix)
	return err
}
