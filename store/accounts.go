package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

const accountCols = `id, name, created_at, partner, disabled_at`

// Accounts implements control.Tx.
func (t *txn) Accounts() ([]keyplane.Account, error) {
	rows, err := t.query(`SELECT ` + accountCols + ` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// accountRow is an account as stored, scanned with accountCols.
type accountRow struct {
	a          keyplane.Account
	c, partner int64
	disabled   sql.NullInt64
}

func (r *accountRow) dest() []any { return []any{&r.a.ID, &r.a.Name, &r.c, &r.partner, &r.disabled} }

func (r *accountRow) value() keyplane.Account {
	a := r.a
	a.CreatedAt, a.Partner, a.DisabledAt = fromMS(r.c), r.partner != 0, fromOptMS(r.disabled)
	return a
}

func scanAccount(s interface{ Scan(...any) error }) (keyplane.Account, error) {
	var r accountRow
	err := s.Scan(r.dest()...)
	return r.value(), err
}

// InsertAccount implements control.Tx.
func (t *txn) InsertAccount(a *keyplane.Account) error {
	return t.queryRow(`INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id`, a.Name, ms(a.CreatedAt)).Scan(&a.ID)
}

// RenameAccount implements control.Tx.
func (t *txn) RenameAccount(id int64, name string) error {
	return t.updateAccount(`UPDATE accounts SET name = $1 WHERE id = $2`, name, id)
}

// SetAccountDisabled implements control.Tx.
func (t *txn) SetAccountDisabled(id int64, at *time.Time) error {
	return t.updateAccount(`UPDATE accounts SET disabled_at = $1 WHERE id = $2`, optMS(at), id)
}

// updateAccount runs an UPDATE of one account, NotFound when there is none.
func (t *txn) updateAccount(q string, v any, id int64) error {
	res, err := t.exec(q, v, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = notFound("account", id)
		}
		return err
	}
	return nil
}

// Account implements control.Tx.
func (t *txn) Account(id int64) (keyplane.Account, error) {
	a, err := scanAccount(t.queryRow(`SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("account", id)
	}
	return a, err
}

// SetPartner implements control.Tx.
func (t *txn) SetPartner(accountID int64, partner bool) error {
	v := 0
	if partner {
		v = 1
	}
	_, err := t.exec(`UPDATE accounts SET partner = $1 WHERE id = $2`, v, accountID)
	return err
}
