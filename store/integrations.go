package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/keyplane/keyplane"
)

// InsertIntegration implements control.Tx.
func (t *txn) InsertIntegration(i *keyplane.Integration) error {
	g, err := json.Marshal(i.Grants)
	if err != nil {
		return err
	}
	ns, err := networksText(i.Networks)
	if err != nil {
		return err
	}
	return t.queryRow(`INSERT INTO integrations (account_id, name, grants, created_at, suspended_at, networks) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		i.AccountID, i.Name, string(g), ms(i.CreatedAt), optMS(i.SuspendedAt), ns).Scan(&i.ID)
}

const integrationCols = `i.id, i.account_id, i.name, i.grants, i.created_at, i.last_used_at, i.suspended_at, i.networks`

// integrationRow holds the scanned columns of integrationCols.
type integrationRow struct {
	i                   keyplane.Integration
	grants              string
	created             int64
	lastUsed, suspended sql.NullInt64
	networks            sql.NullString
}

func (r *integrationRow) dest() []any {
	return []any{&r.i.ID, &r.i.AccountID, &r.i.Name, &r.grants, &r.created, &r.lastUsed, &r.suspended, &r.networks}
}

func (r *integrationRow) value() (keyplane.Integration, error) {
	r.i.CreatedAt, r.i.LastUsedAt, r.i.SuspendedAt = fromMS(r.created), fromOptMS(r.lastUsed), fromOptMS(r.suspended)
	var err error
	if r.i.Grants, err = parsedGrants.get(r.grants); err != nil {
		return r.i, err
	}
	if r.networks.Valid {
		r.i.Networks, err = parsedNetworks.get(r.networks.String)
	}
	return r.i, err
}

// networksText is how an integration's networks are stored: a JSON array
// of CIDRs, or NULL for none.
func networksText(ns []netip.Prefix) (sql.NullString, error) {
	if len(ns) == 0 {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(ns)
	return sql.NullString{String: string(b), Valid: err == nil}, err
}

// SetIntegrationSuspended implements control.Tx.
func (t *txn) SetIntegrationSuspended(accountID, id int64, at *time.Time) error {
	return t.updateIntegration(`UPDATE integrations SET suspended_at = $1 WHERE account_id = $2 AND id = $3`, optMS(at), accountID, id)
}

// SetIntegrationNetworks implements control.Tx.
func (t *txn) SetIntegrationNetworks(accountID, id int64, ns []netip.Prefix) error {
	text, err := networksText(ns)
	if err != nil {
		return err
	}
	return t.updateIntegration(`UPDATE integrations SET networks = $1 WHERE account_id = $2 AND id = $3`, text, accountID, id)
}

// updateIntegration runs an UPDATE of one integration, NotFound when there is none.
func (t *txn) updateIntegration(q string, v any, accountID, id int64) error {
	res, err := t.exec(q, v, accountID, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = notFound("integration", id)
		}
		return err
	}
	return nil
}

// parsedNetworks keeps the networks of the integrations seen, by their
// stored text, for the same reason as parsedGrants: every request of an
// integration with networks reads them.
var parsedNetworks = parseCache[netip.Prefix]{m: map[string][]netip.Prefix{}}

// parsedGrants keeps the grants of the integrations seen, by their stored
// JSON text. Every request reads its integration's grants, which never
// change: decoding and parsing them each time cost allocations that grew
// with their number.
var parsedGrants = parseCache[keyplane.Grant]{m: map[string][]keyplane.Grant{}}

// maxGrantSets bounds parsedGrants; past it, grants are parsed each time.
const maxGrantSets = 4096

// parseCache keeps JSON arrays decoded, by their text.
type parseCache[T any] struct {
	mu sync.RWMutex
	m  map[string][]T
}

// get returns the values stored as text. The slice is shared: callers
// only read it (its capacity is its length, so an append copies).
func (c *parseCache[T]) get(text string) ([]T, error) {
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
