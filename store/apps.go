package store

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/keyplane/keyplane"
)

const appCols = `id, account_id, name, created_at, updated_at`

func scanApp(s interface{ Scan(...any) error }) (keyplane.App, error) {
	var a keyplane.App
	var c, u int64
	err := s.Scan(&a.ID, &a.AccountID, &a.Name, &c, &u)
	a.CreatedAt, a.UpdatedAt = fromMS(c), fromMS(u)
	return a, err
}

// App implements control.Tx.
func (t *txn) App(accountID, id int64) (keyplane.App, error) {
	a, err := scanApp(t.queryRow(`SELECT `+appCols+` FROM apps WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("app", id)
	}
	return a, err
}

// ListApps implements control.Tx.
func (t *txn) ListApps(accountID int64, v keyplane.Visibility, p keyplane.Page) ([]keyplane.App, int, error) {
	where, args := visibilityFilter(v, "id", "", []any{accountID})
	var total int
	if err := t.queryRow(`SELECT count(*) FROM apps WHERE account_id = $1`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	n := len(args)
	rows, err := t.query(fmt.Sprintf(`SELECT %s FROM apps WHERE account_id = $1%s ORDER BY id LIMIT $%d OFFSET $%d`, appCols, where, n+1, n+2),
		append(args, p.Limit, p.Offset())...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []keyplane.App{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, rows.Err()
}

// InsertApp implements control.Tx.
func (t *txn) InsertApp(a *keyplane.App) error {
	return t.queryRow(`INSERT INTO apps (account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		a.AccountID, a.Name, ms(a.CreatedAt), ms(a.UpdatedAt)).Scan(&a.ID)
}

// UpdateApp implements control.Tx.
func (t *txn) UpdateApp(a keyplane.App) error {
	_, err := t.exec(`UPDATE apps SET name = $1, updated_at = $2 WHERE id = $3`, a.Name, ms(a.UpdatedAt), a.ID)
	return err
}

// DeleteApp implements control.Tx.
func (t *txn) DeleteApp(accountID, id int64) error {
	_, err := t.exec(`DELETE FROM apps WHERE account_id = $1 AND id = $2`, accountID, id)
	return err
}
