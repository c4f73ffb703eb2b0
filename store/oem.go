package store

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

const customerCols = `c.id, c.account_id, c.external_id, c.name, c.created_at, c.updated_at`

func scanCustomer(s interface{ Scan(...any) error }, extra ...any) (keyplane.Customer, error) {
	var c keyplane.Customer
	var cr, up int64
	err := s.Scan(append([]any{&c.ID, &c.AccountID, &c.ExternalID, &c.Name, &cr, &up}, extra...)...)
	c.CreatedAt, c.UpdatedAt = fromMS(cr), fromMS(up)
	return c, err
}

// InsertCustomer implements control.Tx.
func (t *txn) InsertCustomer(c *keyplane.Customer) error {
	return t.queryRow(`INSERT INTO oem_customers (account_id, external_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		c.AccountID, c.ExternalID, c.Name, ms(c.CreatedAt), ms(c.UpdatedAt)).Scan(&c.ID)
}

// UpdateCustomer implements control.Tx: only the name and the time of the
// change; externalId never changes.
func (t *txn) UpdateCustomer(c keyplane.Customer) error {
	_, err := t.exec(`UPDATE oem_customers SET name = $1, updated_at = $2 WHERE id = $3`, c.Name, ms(c.UpdatedAt), c.ID)
	return err
}

// Customer implements control.Tx: the customer with its keysets.
func (t *txn) Customer(accountID, id int64) (keyplane.Customer, error) {
	c, err := scanCustomer(t.queryRow(`SELECT `+customerCols+` FROM oem_customers c WHERE c.account_id = $1 AND c.id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("customer", id)
	}
	if err != nil {
		return c, err
	}
	rows, err := t.query(`SELECT a.keyset_id, k.app_id, a.assigned_at FROM oem_customer_keysets a JOIN keysets k ON k.id = a.keyset_id
		WHERE a.customer_id = $1 ORDER BY a.keyset_id`, id)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	c.Keysets = []keyplane.CustomerKeyset{}
	for rows.Next() {
		var k keyplane.CustomerKeyset
		var at int64
		if err := rows.Scan(&k.KeysetID, &k.AppID, &at); err != nil {
			return c, err
		}
		k.AssignedAt = fromMS(at)
		c.Keysets = append(c.Keysets, k)
	}
	return c, rows.Err()
}

// CustomerByExternalID implements control.Tx (without keysets).
func (t *txn) CustomerByExternalID(accountID int64, externalID string) (keyplane.Customer, error) {
	c, err := scanCustomer(t.queryRow(`SELECT `+customerCols+` FROM oem_customers c WHERE c.account_id = $1 AND c.external_id = $2`, accountID, externalID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("customer with externalId", strconv.Quote(externalID))
	}
	return c, err
}

// ListCustomers implements control.Tx: the account's customers by id with
// counts of their keysets and of the apps holding them; appID, when not 0,
// keeps the customers with a keyset in that app.
func (t *txn) ListCustomers(accountID, appID int64) ([]keyplane.CustomerSummary, error) {
	q := `SELECT ` + customerCols + `,
		(SELECT count(*) FROM oem_customer_keysets a WHERE a.customer_id = c.id),
		(SELECT count(DISTINCT k.app_id) FROM oem_customer_keysets a JOIN keysets k ON k.id = a.keyset_id WHERE a.customer_id = c.id)
		FROM oem_customers c WHERE c.account_id = $1`
	args := []any{accountID}
	if appID != 0 {
		q += ` AND EXISTS (SELECT 1 FROM oem_customer_keysets a JOIN keysets k ON k.id = a.keyset_id WHERE a.customer_id = c.id AND k.app_id = $2)`
		args = append(args, appID)
	}
	rows, err := t.query(q+` ORDER BY c.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []keyplane.CustomerSummary{}
	for rows.Next() {
		var s keyplane.CustomerSummary
		var err error
		if s.Customer, err = scanCustomer(rows, &s.KeysetCount, &s.AppCount); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// KeysetOwners implements control.Tx: the customer each of ids is assigned
// to, for those assigned.
func (t *txn) KeysetOwners(ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	marks := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err := t.query(`SELECT keyset_id, customer_id FROM oem_customer_keysets WHERE keyset_id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, c int64
		if err := rows.Scan(&k, &c); err != nil {
			return nil, err
		}
		out[k] = c
	}
	return out, rows.Err()
}

// AssignKeyset implements control.Tx.
func (t *txn) AssignKeyset(customerID, keysetID int64, at time.Time) error {
	_, err := t.exec(`INSERT INTO oem_customer_keysets (keyset_id, customer_id, assigned_at) VALUES ($1, $2, $3)`, keysetID, customerID, ms(at))
	return err
}

// CustomerOfKeyset implements control.Tx: the customer keysetID of the
// account is assigned to (without its keysets).
func (t *txn) CustomerOfKeyset(accountID, keysetID int64) (keyplane.Customer, error) {
	c, err := scanCustomer(t.queryRow(`SELECT `+customerCols+` FROM oem_customers c JOIN oem_customer_keysets a ON a.customer_id = c.id
		WHERE c.account_id = $1 AND a.keyset_id = $2`, accountID, keysetID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, keyplane.Errorf(keyplane.CodeNotFound, "keyset %d: not assigned to a customer", keysetID)
	}
	return c, err
}
