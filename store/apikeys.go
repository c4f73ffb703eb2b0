package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

const apiKeyCols = `k.id, k.integration_id, k.prefix, k.hash, k.created_at, k.expires_at, k.revoked_at, k.last_used_at, k.replaced_by, k.last_used_from, k.last_used_agent`

// keyTimes are the lifetime columns every kind of key has, in this order:
// created_at, expires_at, revoked_at, last_used_at.
type keyTimes struct {
	created, expires int64
	revoked, used    sql.NullInt64
}

// fill sets a key's lifetime fields from the scanned columns.
func (t *keyTimes) fill(created, expires *time.Time, revoked, used **time.Time) {
	*created, *expires = fromMS(t.created), fromMS(t.expires)
	*revoked, *used = fromOptMS(t.revoked), fromOptMS(t.used)
}

// apiKeyRow holds the scanned columns of apiKeyCols.
type apiKeyRow struct {
	k          keyplane.APIKey
	times      keyTimes
	replacedBy sql.NullInt64
	from, ua   sql.NullString
}

func (r *apiKeyRow) dest() []any {
	// One literal, not an append: a key read on authentication allocates once.
	return []any{&r.k.ID, &r.k.IntegrationID, &r.k.Prefix, &r.k.Hash, &r.times.created, &r.times.expires, &r.times.revoked, &r.times.used,
		&r.replacedBy, &r.from, &r.ua}
}

func (r *apiKeyRow) value() keyplane.APIKey {
	r.times.fill(&r.k.CreatedAt, &r.k.ExpiresAt, &r.k.RevokedAt, &r.k.LastUsedAt)
	r.k.ReplacedBy, r.k.LastUsedFrom, r.k.LastUsedAgent = r.replacedBy.Int64, r.from.String, r.ua.String
	return r.k
}

// InsertAPIKey implements control.Tx.
func (t *txn) InsertAPIKey(k *keyplane.APIKey) error {
	return t.queryRow(`INSERT INTO api_keys (integration_id, prefix, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		k.IntegrationID, k.Prefix, k.Hash, ms(k.CreatedAt), ms(k.ExpiresAt)).Scan(&k.ID)
}

// APIKeys implements control.Tx.
func (t *txn) APIKeys(integrationID int64) ([]keyplane.APIKey, error) {
	rows, err := t.query(`SELECT `+apiKeyCols+` FROM api_keys k WHERE k.integration_id = $1 ORDER BY k.id`, integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.APIKey
	for rows.Next() {
		var r apiKeyRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		out = append(out, r.value())
	}
	return out, rows.Err()
}

// APIKey implements control.Tx.
func (t *txn) APIKey(id int64) (keyplane.APIKey, keyplane.Integration, error) {
	return t.apiKeyWhere(`k.id = $1`, id)
}

// APIKeyByHash implements control.Tx.
func (t *txn) APIKeyByHash(hash []byte) (keyplane.APIKey, keyplane.Integration, error) {
	return t.apiKeyWhere(`k.hash = $1`, hash)
}

// Credential implements control.Tx: one statement, since authentication
// runs it on every request whose key is not cached.
func (t *txn) Credential(hash []byte) (keyplane.APIKey, keyplane.Integration, keyplane.Account, error) {
	var kr apiKeyRow
	var ir integrationRow
	var ar accountRow
	dest := append(append(kr.dest(), ir.dest()...), ar.dest()...)
	err := t.queryRow(`SELECT `+apiKeyCols+`, `+integrationCols+`, a.id, a.name, a.created_at, a.partner, a.disabled_at
		FROM api_keys k JOIN integrations i ON i.id = k.integration_id JOIN accounts a ON a.id = i.account_id WHERE k.hash = $1`, hash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.APIKey{}, keyplane.Integration{}, keyplane.Account{}, keyplane.Errorf(keyplane.CodeNotFound, "API key: not found")
	}
	if err != nil {
		return keyplane.APIKey{}, keyplane.Integration{}, keyplane.Account{}, err
	}
	i, err := ir.value()
	return kr.value(), i, ar.value(), err
}

func (t *txn) apiKeyWhere(cond string, arg any) (keyplane.APIKey, keyplane.Integration, error) {
	var kr apiKeyRow
	var ir integrationRow
	err := t.queryRow(`SELECT `+apiKeyCols+`, `+integrationCols+`
		FROM api_keys k JOIN integrations i ON i.id = k.integration_id WHERE `+cond, arg).Scan(append(kr.dest(), ir.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.APIKey{}, keyplane.Integration{}, keyplane.Errorf(keyplane.CodeNotFound, "API key: not found")
	}
	if err != nil {
		return keyplane.APIKey{}, keyplane.Integration{}, err
	}
	i, err := ir.value()
	return kr.value(), i, err
}

// RevokeAPIKey implements control.Tx.
func (t *txn) RevokeAPIKey(id int64, at time.Time) error {
	_, err := t.exec(`UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ms(at), id)
	return err
}

// RollAPIKey implements control.Tx.
func (t *txn) RollAPIKey(id, replacedBy int64, until time.Time) error {
	_, err := t.exec(`UPDATE api_keys SET replaced_by = $1, expires_at = $2 WHERE id = $3`, replacedBy, ms(until), id)
	return err
}

// TouchAPIKey implements control.Tx.
func (t *txn) TouchAPIKey(keyID, integrationID int64, at time.Time, from, agent string) error {
	if _, err := t.exec(`UPDATE api_keys SET last_used_at = $1, last_used_from = $2, last_used_agent = $3 WHERE id = $4`,
		ms(at), sql.NullString{String: from, Valid: from != ""}, sql.NullString{String: agent, Valid: agent != ""}, keyID); err != nil {
		return err
	}
	_, err := t.exec(`UPDATE integrations SET last_used_at = $1 WHERE id = $2`, ms(at), integrationID)
	return err
}
