package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keyplane/keyplane"
)

// CountKeysets implements control.Tx.
func (t *txn) CountKeysets(appID int64) (int, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM keysets WHERE app_id = $1`, appID).Scan(&n)
	return n, err
}

const keysetCols = `id, account_id, app_id, name, type, publish_key, subscribe_key, created_at, updated_at, version`

// keysetScanner reads rows of keysetCols. One serves a whole list: Scan
// takes pointers, which would otherwise move every row's destinations to
// the heap, three allocations a keyset that a page of 100 would pay 100
// times over.
type keysetScanner struct {
	k    keyplane.Keyset
	typ  string // a plain string: Scan fills *string without reflection
	c, u int64
	dest []any
}

func (s *keysetScanner) scan(r interface{ Scan(...any) error }) (keyplane.Keyset, error) {
	if s.dest == nil {
		s.dest = []any{&s.k.ID, &s.k.AccountID, &s.k.AppID, &s.k.Name, &s.typ, &s.k.PublishKey, &s.k.SubscribeKey, &s.c, &s.u, &s.k.Version}
	}
	err := r.Scan(s.dest...)
	k := s.k
	k.Type, k.CreatedAt, k.UpdatedAt = keyplane.KeysetType(s.typ), fromMS(s.c), fromMS(s.u)
	return k, err
}

func scanKeyset(r interface{ Scan(...any) error }) (keyplane.Keyset, error) {
	var s keysetScanner
	return s.scan(r)
}

// Keyset implements control.Tx.
func (t *txn) Keyset(accountID, id int64) (keyplane.Keyset, error) {
	k, err := scanKeyset(t.queryRow(`SELECT `+keysetCols+` FROM keysets WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("keyset", id)
	}
	return k, err
}

// keysetBucketWidth is how many ids one row of keyset_buckets covers
// (migration 0009 writes id / 4096; the two must agree). A deep page costs
// one bucket row added up per 4096 ids below it, then fewer than 4096
// index entries skipped in the bucket found. On the embedded SQLite, with
// a million keysets, a bucket row in the window sum costs ~1 µs and an
// index entry skipped ~0.05 µs: 4096 gives ≤ 0.3 ms + ≤ 0.2 ms, where
// 1024 gave ~0.9 ms + 0.05 ms, and OFFSET alone 70 ms. Ids are global, so
// an account among others has fewer keysets per bucket, not more buckets
// than its id range divided by 4096.
const keysetBucketWidth = 4096

// deepPageFrom is the first offset whose page is found through the
// buckets: before it, OFFSET skips no more than a bucket's search would.
// A variable so that a test can send every page through the buckets.
var deepPageFrom = keysetBucketWidth

// ListKeysets implements control.Tx.
func (t *txn) ListKeysets(accountID int64, v keyplane.Visibility, p keyplane.Page) ([]keyplane.Keyset, int, error) {
	where, args := visibilityFilter(v, "app_id", "id", []any{accountID})
	var total int
	// The whole account's total is kept by triggers (keyset_counts); a
	// narrower view (or one app's keysets) counts the keysets it names.
	whole := v.All && v.InApp == 0
	count := `SELECT count(*) FROM keysets WHERE account_id = $1` + where
	if whole {
		count = `SELECT COALESCE((SELECT n FROM keyset_counts WHERE account_id = $1), 0)`
	}
	if err := t.queryRow(count, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	// The page's ids come from the (account_id, id) index alone; only the
	// rows of the page are read.
	from, offset := int64(0), p.Offset()
	if whole && offset >= deepPageFrom {
		// A deep page of the whole account starts in the one bucket whose
		// running count passes the offset while the count before it does
		// not (an empty bucket has no row): the page then skips only that
		// bucket's keysets before it. Saying so, rather than ORDER BY,
		// spares a sort, and LIMIT 1 stops the running sum there. This
		// runs in the same transaction (one snapshot) as the count and the
		// page. A narrower view (some apps or keysets) keeps the plain
		// OFFSET: buckets count whole accounts, and its keysets are those
		// its grants name.
		var before int
		err := t.queryRow(`SELECT bucket, running - n FROM (
				SELECT bucket, n, sum(n) OVER (ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
				FROM keyset_buckets WHERE account_id = $1
			) AS b WHERE running - n <= $2 AND running > $2 LIMIT 1`, accountID, offset).Scan(&from, &before)
		if errors.Is(err, sql.ErrNoRows) {
			return []keyplane.Keyset{}, total, nil // past the last keyset
		}
		if err != nil {
			return nil, 0, err
		}
		from, offset = from*keysetBucketWidth, offset-before
	}
	n := len(args)
	rows, err := t.query(fmt.Sprintf(`SELECT %s FROM keysets WHERE id IN (
			SELECT id FROM keysets WHERE account_id = $1%s AND id >= $%d ORDER BY id LIMIT $%d OFFSET $%d
		) ORDER BY id`, keysetCols, where, n+1, n+2, n+3),
		append(args, from, p.Limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := make([]keyplane.Keyset, 0, max(0, min(p.Limit, total-p.Offset())))
	var s keysetScanner
	for rows.Next() {
		k, err := s.scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, k)
	}
	return out, total, rows.Err()
}

// InsertKeyset implements control.Tx.
func (t *txn) InsertKeyset(k *keyplane.Keyset, c keyplane.Config) error {
	cfg, err := json.Marshal(c)
	if err != nil {
		return err
	}
	k.Version = 1
	// The app is checked in the same statement: one round trip less for
	// the most frequent create.
	err = t.queryRow(`INSERT INTO keysets (account_id, app_id, name, type, publish_key, subscribe_key, config, created_at, updated_at, version)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM apps WHERE account_id = $1 AND id = $2 RETURNING id`,
		k.AccountID, k.AppID, k.Name, k.Type, k.PublishKey, k.SubscribeKey, string(cfg), ms(k.CreatedAt), ms(k.UpdatedAt), k.Version).Scan(&k.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("app", k.AppID)
	}
	return err
}

// UpdateKeyset implements control.Tx.
func (t *txn) UpdateKeyset(k keyplane.Keyset) error {
	_, err := t.exec(`UPDATE keysets SET name = $1, type = $2, updated_at = $3, version = $4 WHERE id = $5`, k.Name, k.Type, ms(k.UpdatedAt), k.Version, k.ID)
	return err
}

// DeleteKeyset implements control.Tx.
func (t *txn) DeleteKeyset(id int64) error {
	_, err := t.exec(`DELETE FROM keysets WHERE id = $1`, id)
	return err
}

// Config implements control.Tx.
func (t *txn) Config(keysetID int64) (keyplane.Config, error) {
	var raw string
	if err := t.queryRow(`SELECT config FROM keysets WHERE id = $1`, keysetID).Scan(&raw); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return keyplane.Config{}, notFound("keyset", keysetID)
		}
		return keyplane.Config{}, err
	}
	return keyplane.ParseStoredConfig([]byte(raw))
}

// UpdateConfig implements control.Tx.
func (t *txn) UpdateConfig(keysetID int64, config json.RawMessage, at time.Time) error {
	_, err := t.exec(`UPDATE keysets SET config = $1, updated_at = $2, version = version + 1 WHERE id = $3`, string(config), ms(at), keysetID)
	return err
}
