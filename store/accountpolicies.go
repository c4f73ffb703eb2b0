package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

// AccountPolicy implements control.Tx: the defaults for an account that
// has no row.
func (t *txn) AccountPolicy(accountID int64) (keyplane.AccountPolicy, error) {
	var maxLife sql.NullInt64
	var days string
	err := t.queryRow(`SELECT max_key_lifetime, notice_days FROM account_policies WHERE account_id = $1`, accountID).Scan(&maxLife, &days)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.DefaultAccountPolicy(accountID), nil
	}
	if err != nil {
		return keyplane.AccountPolicy{}, err
	}
	p := keyplane.AccountPolicy{AccountID: accountID, MaxKeyLifetime: time.Duration(maxLife.Int64) * time.Millisecond}
	p.NoticeDays, err = keyplane.ParseNoticeDays(days)
	return p, err
}

// PutAccountPolicy implements control.Tx.
func (t *txn) PutAccountPolicy(p keyplane.AccountPolicy) error {
	maxLife := sql.NullInt64{Int64: p.MaxKeyLifetime.Milliseconds(), Valid: p.MaxKeyLifetime > 0}
	_, err := t.exec(`INSERT INTO account_policies (account_id, max_key_lifetime, notice_days) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET max_key_lifetime = excluded.max_key_lifetime, notice_days = excluded.notice_days`,
		p.AccountID, maxLife, keyplane.FormatNoticeDays(p.NoticeDays))
	return err
}
