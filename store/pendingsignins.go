package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

// InsertPendingSignIn implements control.Tx, forgetting expired ones on
// the way so abandoned sign-ins do not pile up.
func (t *txn) InsertPendingSignIn(hash []byte, userID int64, created, expires time.Time) error {
	if _, err := t.exec(`DELETE FROM pending_signins WHERE expires_at <= $1`, ms(created)); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO pending_signins (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, userID, ms(created), ms(expires))
	return err
}

// PendingSignIn implements control.Tx.
func (t *txn) PendingSignIn(hash []byte) (userID int64, expires time.Time, err error) {
	var e int64
	err = t.queryRow(`SELECT user_id, expires_at FROM pending_signins WHERE token_hash = $1`, hash).Scan(&userID, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, keyplane.Errorf(keyplane.CodeNotFound, "sign-in: not found")
	}
	return userID, fromMS(e), err
}

// DeletePendingSignIn implements control.Tx.
func (t *txn) DeletePendingSignIn(hash []byte) error {
	_, err := t.exec(`DELETE FROM pending_signins WHERE token_hash = $1`, hash)
	return err
}
