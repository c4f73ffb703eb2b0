package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

// SignInPolicy implements control.Tx: nothing required for an account
// without a row.
func (t *txn) SignInPolicy(accountID int64) (keyplane.SignInPolicy, error) {
	p := keyplane.SignInPolicy{AccountID: accountID}
	var req, idle, life int64
	err := t.queryRow(`SELECT require_two_factors, idle_minutes, lifetime_minutes FROM signin_policies WHERE account_id = $1`, accountID).Scan(&req, &idle, &life)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	p.RequireTwoFactors = req == 1
	p.IdleTimeout, p.Lifetime = time.Duration(idle)*time.Minute, time.Duration(life)*time.Minute
	return p, err
}

// PutSignInPolicy implements control.Tx.
func (t *txn) PutSignInPolicy(p keyplane.SignInPolicy) error {
	_, err := t.exec(`INSERT INTO signin_policies (account_id, require_two_factors, idle_minutes, lifetime_minutes) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id) DO UPDATE SET require_two_factors = excluded.require_two_factors,
		idle_minutes = excluded.idle_minutes, lifetime_minutes = excluded.lifetime_minutes`,
		p.AccountID, boolInt(p.RequireTwoFactors), int64(p.IdleTimeout/time.Minute), int64(p.Lifetime/time.Minute))
	return err
}

// RequiresTwoFactors implements control.Tx: whether any account the
// person belongs to requires two factors.
func (t *txn) RequiresTwoFactors(userID int64) (bool, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM memberships m JOIN signin_policies p ON p.account_id = m.account_id
		WHERE m.user_id = $1 AND p.require_two_factors = 1`, userID).Scan(&n)
	return n > 0, err
}

// EnrolledMembers implements control.Tx: the members of the account with a
// second factor (a confirmed authenticator or a passkey).
func (t *txn) EnrolledMembers(accountID int64) (map[int64]bool, error) {
	rows, err := t.query(`SELECT m.user_id FROM memberships m WHERE m.account_id = $1 AND (
		EXISTS (SELECT 1 FROM totp_secrets s WHERE s.user_id = m.user_id AND s.confirmed_at IS NOT NULL)
		OR EXISTS (SELECT 1 FROM passkeys k WHERE k.user_id = m.user_id))`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// EndEnrolment implements control.Tx: the person's sessions that were
// waiting for them to enrol open everything their roles allow.
func (t *txn) EndEnrolment(userID int64) error {
	_, err := t.exec(`UPDATE sessions SET enrol = 0 WHERE user_id = $1 AND enrol = 1`, userID)
	return err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
