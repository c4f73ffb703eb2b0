package store

import (
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// ClaimKeyNotice implements control.Tx: the notice's row is inserted
// unless it is there, and only the insert claims it, so of two replicas
// giving the same notice one does.
func (t *txn) ClaimKeyNotice(keyID int64, n keyplane.KeyNotice, at time.Time) (bool, error) {
	res, err := t.exec(`INSERT INTO key_notices (key_id, kind, threshold, basis, at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (key_id, kind, threshold, basis) DO NOTHING`, keyID, string(n.Kind), n.Threshold, ms(n.Basis), ms(at))
	if err != nil {
		return false, err
	}
	rows, err := res.RowsAffected()
	return rows == 1, err
}

// ActiveAPIKeys implements control.Tx.
func (t *txn) ActiveAPIKeys(now time.Time) ([]control.KeyOf, error) {
	rows, err := t.query(`SELECT `+apiKeyCols+`, `+integrationCols+`
		FROM api_keys k JOIN integrations i ON i.id = k.integration_id
		WHERE k.revoked_at IS NULL AND k.expires_at > $1 ORDER BY i.account_id, k.id`, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []control.KeyOf
	for rows.Next() {
		var kr apiKeyRow
		var ir integrationRow
		if err := rows.Scan(append(kr.dest(), ir.dest()...)...); err != nil {
			return nil, err
		}
		in, err := ir.value()
		if err != nil {
			return nil, err
		}
		out = append(out, control.KeyOf{Key: kr.value(), Integration: in})
	}
	return out, rows.Err()
}
