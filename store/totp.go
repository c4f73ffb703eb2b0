package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane/control"
)

// totpPrefix is what a TOTP secret's seal is bound to beside the person's
// id (a secret key's prefix in its own): moved to another person's row, it
// no longer opens.
const totpPrefix = "totp"

// TOTP implements control.Tx.
func (t *txn) TOTP(userID int64) (control.TOTPSecret, error) {
	var s control.TOTPSecret
	var created int64
	var confirmed sql.NullInt64
	err := t.queryRow(`SELECT secret, created_at, confirmed_at, last_step FROM totp_secrets WHERE user_id = $1`, userID).
		Scan(&s.Secret, &created, &confirmed, &s.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return s, notFound("authenticator of user", userID)
	}
	if err != nil {
		return s, err
	}
	s.CreatedAt, s.ConfirmedAt = fromMS(created), fromOptMS(confirmed)
	s.Secret, err = t.seal.open(userID, totpPrefix, s.Secret)
	return s, err
}

// PutTOTP implements control.Tx: a new, unconfirmed secret in place of
// any the person had.
func (t *txn) PutTOTP(userID int64, secret string, at time.Time) error {
	stored := secret
	if t.seal != nil {
		var err error
		if stored, err = t.seal.seal(userID, totpPrefix, secret); err != nil {
			return err
		}
	}
	_, err := t.exec(`INSERT INTO totp_secrets (user_id, secret, created_at, confirmed_at, last_step) VALUES ($1, $2, $3, NULL, 0)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, confirmed_at = NULL, last_step = 0`,
		userID, stored, ms(at))
	return err
}

// AcceptTOTPStep implements control.Tx.
func (t *txn) AcceptTOTPStep(userID, step int64, confirmed *time.Time) error {
	if confirmed != nil {
		_, err := t.exec(`UPDATE totp_secrets SET last_step = $1, confirmed_at = $2 WHERE user_id = $3`, step, ms(*confirmed), userID)
		return err
	}
	_, err := t.exec(`UPDATE totp_secrets SET last_step = $1 WHERE user_id = $2`, step, userID)
	return err
}

// DeleteTOTP implements control.Tx.
func (t *txn) DeleteTOTP(userID int64) error {
	_, err := t.exec(`DELETE FROM totp_secrets WHERE user_id = $1`, userID)
	return err
}

// secondFactorTables hold a person's second factors and waiting sign-ins.
var secondFactorTables = []string{"totp_secrets", "recovery_codes", "pending_signins", "passkeys", "webauthn_ceremonies"}

// deleteSecondFactors deletes them with the person's last membership.
func (t *txn) deleteSecondFactors(userID int64) error {
	for _, table := range secondFactorTables {
		if _, err := t.exec(`DELETE FROM `+table+` WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)`, userID); err != nil {
			return err
		}
	}
	return nil
}
