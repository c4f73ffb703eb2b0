package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"sync"

	"github.com/keyplane/keyplane"
)

// InsertIntegration implements control.Tx.
func (t *txn) InsertIntegration(i *keyplane.Integration) error {
	g, err := json.Marshal(i.Grants)
	if err != nil {
		return err
	}
	return t.queryRow(`INSERT INTO integrations (account_id, name, grants, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		i.AccountID, i.Name, string(g), ms(i.CreatedAt)).Scan(&i.ID)
}

const integrationCols = `i.id, i.account_id, i.name, i.grants, i.created_at, i.last_used_at`

// integrationRow holds the scanned columns of integrationCols.
type integrationRow struct {
	i        keyplane.Integration
	grants   string
	created  int64
	lastUsed sql.NullInt64
}

func (r *integrationRow) dest() []any {
	return []any{&r.i.ID, &r.i.AccountID, &r.i.Name, &r.grants, &r.created, &r.lastUsed}
}

func (r *integrationRow) value() (keyplane.Integration, error) {
	r.i.CreatedAt, r.i.LastUsedAt = fromMS(r.created), fromOptMS(r.lastUsed)
	var err error
	r.i.Grants, err = parsedGrants.get(r.grants)
	return r.i, err
}

// parsedGrants keeps the grants of the integrations seen, by their stored
// JSON text. Every request reads its integration's grants, which never
// change: decoding and parsing them each time cost allocations that grew
// with their number.
var parsedGrants = grantCache{m: map[string][]keyplane.Grant{}}

// maxGrantSets bounds parsedGrants; past it, grants are parsed each time.
const maxGrantSets = 4096

type grantCache struct {
	mu sync.RWMutex
	m  map[string][]keyplane.Grant
}

// get returns the grants stored as text. The slice is shared: callers
// only read it (its capacity is its length, so an append copies).
func (c *grantCache) get(text string) ([]keyplane.Grant, error) {
	c.mu.RLock()
	g, ok := c.m[text]
	c.mu.RUnlock()
	if ok {
		return g, nil
	}
	if err := json.Unmarshal([]byte(text), &g); err != nil {
		return nil, err
	}
	g = slices.Clip(g)
	c.mu.Lock()
	if len(c.m) < maxGrantSets {
		c.m[text] = g
	}
	c.mu.Unlock()
	return g, nil
}

// Integration implements control.Tx.
func (t *txn) Integration(accountID, id int64) (keyplane.Integration, error) {
	var r integrationRow
	err := t.queryRow(`SELECT `+integrationCols+` FROM integrations i WHERE i.account_id = $1 AND i.id = $2`, accountID, id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.Integration{}, notFound("integration", id)
	}
	if err != nil {
		return keyplane.Integration{}, err
	}
	return r.value()
}

// Integrations implements control.Tx.
func (t *txn) Integrations(accountID int64) ([]keyplane.Integration, error) {
	rows, err := t.query(`SELECT `+integrationCols+` FROM integrations i WHERE i.account_id = $1 ORDER BY i.id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.Integration
	for rows.Next() {
		var r integrationRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		i, err := r.value()
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}
