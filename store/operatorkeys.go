package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

const operatorKeyCols = `id, name, prefix, hash, created_at, expires_at, revoked_at, last_used_at`

// operatorKeyRow holds the scanned columns of operatorKeyCols.
type operatorKeyRow struct {
	k     keyplane.OperatorKey
	times keyTimes
}

func (r *operatorKeyRow) dest() []any {
	// One literal: a key read on authentication allocates once.
	return []any{&r.k.ID, &r.k.Name, &r.k.Prefix, &r.k.Hash, &r.times.created, &r.times.expires, &r.times.revoked, &r.times.used}
}

func (r *operatorKeyRow) value() keyplane.OperatorKey {
	r.times.fill(&r.k.CreatedAt, &r.k.ExpiresAt, &r.k.RevokedAt, &r.k.LastUsedAt)
	return r.k
}

// InsertOperatorKey implements control.Tx.
func (t *txn) InsertOperatorKey(k *keyplane.OperatorKey) error {
	return t.queryRow(`INSERT INTO operator_keys (name, prefix, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		k.Name, k.Prefix, k.Hash, ms(k.CreatedAt), ms(k.ExpiresAt)).Scan(&k.ID)
}

// ListOperatorKeys implements control.Tx.
func (t *txn) ListOperatorKeys() ([]keyplane.OperatorKey, error) {
	rows, err := t.query(`SELECT ` + operatorKeyCols + ` FROM operator_keys ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.OperatorKey
	for rows.Next() {
		var r operatorKeyRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		out = append(out, r.value())
	}
	return out, rows.Err()
}

// OperatorKey implements control.Tx.
func (t *txn) OperatorKey(id int64) (keyplane.OperatorKey, error) {
	return t.operatorKeyWhere(`id = $1`, id)
}

// OperatorKeyByHash implements control.Tx.
func (t *txn) OperatorKeyByHash(hash []byte) (keyplane.OperatorKey, error) {
	return t.operatorKeyWhere(`hash = $1`, hash)
}

func (t *txn) operatorKeyWhere(cond string, arg any) (keyplane.OperatorKey, error) {
	var r operatorKeyRow
	err := t.queryRow(`SELECT `+operatorKeyCols+` FROM operator_keys WHERE `+cond, arg).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.OperatorKey{}, keyplane.Errorf(keyplane.CodeNotFound, "operator key: not found")
	}
	if err != nil {
		return keyplane.OperatorKey{}, err
	}
	return r.value(), nil
}

// RevokeOperatorKey implements control.Tx.
func (t *txn) RevokeOperatorKey(id int64, at time.Time) error {
	_, err := t.exec(`UPDATE operator_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ms(at), id)
	return err
}

// TouchOperatorKey implements control.Tx.
func (t *txn) TouchOperatorKey(id int64, at time.Time) error {
	_, err := t.exec(`UPDATE operator_keys SET last_used_at = $1 WHERE id = $2`, ms(at), id)
	return err
}
