package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

// InsertPasswordReset implements control.Tx. Expired resets go first, so
// the table holds only links that may still work.
func (t *txn) InsertPasswordReset(hash []byte, userID int64, created, expires time.Time) error {
	if _, err := t.exec(`DELETE FROM password_resets WHERE expires_at <= $1`, ms(created)); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, userID, ms(created), ms(expires))
	return err
}

// PasswordReset implements control.Tx.
func (t *txn) PasswordReset(hash []byte) (userID int64, expires time.Time, err error) {
	var e int64
	err = t.queryRow(`SELECT user_id, expires_at FROM password_resets WHERE token_hash = $1`, hash).Scan(&userID, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, notFound("password reset", "link")
	}
	return userID, fromMS(e), err
}

// DeletePasswordResets implements control.Tx.
func (t *txn) DeletePasswordResets(userID int64) error {
	_, err := t.exec(`DELETE FROM password_resets WHERE user_id = $1`, userID)
	return err
}

// Person implements control.Tx: the person with this id, as a member of
// their first account.
func (t *txn) Person(id int64) (keyplane.User, error) {
	return t.userWhere("user", id, `u.id = $1 ORDER BY m.account_id LIMIT 1`, id)
}

// SetPassword implements control.Tx: a person's password, whatever their accounts.
func (t *txn) SetPassword(userID int64, hash string) error {
	_, err := t.exec(`UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
	return err
}

// InsertSignup implements control.Tx, deleting expired sign-ups first.
func (t *txn) InsertSignup(hash []byte, email string, created, expires time.Time) error {
	if _, err := t.exec(`DELETE FROM signups WHERE expires_at <= $1`, ms(created)); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO signups (token_hash, email, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, email, ms(created), ms(expires))
	return err
}

// Signup implements control.Tx.
func (t *txn) Signup(hash []byte) (email string, expires time.Time, err error) {
	var e int64
	err = t.queryRow(`SELECT email, expires_at FROM signups WHERE token_hash = $1`, hash).Scan(&email, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, notFound("sign-up", "link")
	}
	return email, fromMS(e), err
}

// DeleteSignups implements control.Tx: every sign-up link of an address.
func (t *txn) DeleteSignups(email string) error {
	_, err := t.exec(`DELETE FROM signups WHERE email = $1`, email)
	return err
}
