package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

func TestKeysetPagesMatchOffset(t *testing.T) { each(t, testKeysetPagesMatchOffset) }

// Every page of an account's keyset list, found through keyset_buckets,
// holds exactly what the plain OFFSET query answers: three accounts take
// keysets in turns (so each one's ids are sparse), keysets are deleted at
// random (holes, emptied buckets), and the id sequence jumps now and then
// (buckets far apart). Pages are checked at every bucket boundary, at
// random, and past the end; the bucket counts must equal a recount.
func testKeysetPagesMatchOffset(t *testing.T, db *DB, dsn string) {
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(8, uint64(len(db.engine.name))))
	accounts := []int64{1}
	for _, name := range []string{"second", "third"} {
		var id int64
		if err := db.writeTx(ctx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `INSERT INTO accounts (name, created_at) VALUES ($1, 0) RETURNING id`, name).Scan(&id)
		}); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, id)
	}
	apps := map[int64]int64{}
	write(t, db, func(tx control.Tx) error {
		for _, account := range accounts {
			a := keyplane.App{AccountID: account, Name: "a", CreatedAt: t0, UpdatedAt: t0}
			if err := tx.InsertApp(&a); err != nil {
				return err
			}
			apps[account] = a.ID
		}
		return nil
	})
	var live []int64 // every keyset's id
	made := 0
	for round := range 10 {
		write(t, db, func(tx control.Tx) error {
			for range 1000 + rnd.IntN(1000) {
				// Account 1 takes most keysets, as a busy account beside
				// quiet ones; the others still pass 1024 keysets, so their
				// deep pages go through the buckets too.
				account := accounts[max(rnd.IntN(6)-3, 0)]
				made++
				k := keyplane.Keyset{AccountID: account, AppID: apps[account], Name: "k", Type: keyplane.KeysetTesting,
					PublishKey: fmt.Sprintf("pub-c-%d", made), SubscribeKey: fmt.Sprintf("sub-c-%d", made), CreatedAt: t0, UpdatedAt: t0}
				if err := tx.InsertKeyset(&k, keyplane.DefaultConfig()); err != nil {
					return err
				}
				live = append(live, k.ID)
			}
			return nil
		})
		// Delete a share of them, at random, in runs now and then so
		// that whole buckets empty.
		var gone []int64
		rnd.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		gone, live = live[:len(live)/10], live[len(live)/10:]
		slices.Sort(live)
		if round == 3 && len(live) > 1500 {
			gone = append(gone, live[200:1400]...)
			live = append(live[:200], live[1400:]...)
		}
		write(t, db, func(tx control.Tx) error {
			for _, id := range gone {
				if err := tx.DeleteKeyset(id); err != nil {
					return err
				}
			}
			return nil
		})
		if round%2 == 1 {
			jumpKeysetIDs(t, db, keysetBucketWidth/2+rnd.IntN(3*keysetBucketWidth))
		}
	}
	checkBuckets(t, db)
	for _, from := range []int{deepPageFrom, 0} {
		// Then again with every page found through the buckets, page 1
		// and the small accounts' pages included.
		defer func(was int) { deepPageFrom = was }(deepPageFrom)
		deepPageFrom = from
		for _, account := range accounts {
			checkKeysetPages(t, db, account, rnd)
		}
		// An account with no keysets at all: every page is empty.
		checkKeysetPages(t, db, accounts[len(accounts)-1]+1, rnd)
	}
}

// jumpKeysetIDs makes the next keyset id n higher than it would be, as
// many keysets made and deleted, or other accounts' keysets, would.
func jumpKeysetIDs(t *testing.T, db *DB, n int) {
	t.Helper()
	ctx := context.Background()
	q := `UPDATE sqlite_sequence SET seq = seq + $1 WHERE name = 'keysets'`
	if db.engine.name == "postgres" {
		q = `SELECT setval(pg_get_serial_sequence('keysets', 'id'), nextval(pg_get_serial_sequence('keysets', 'id')) + $1)`
	}
	if err := db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q, n)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// checkBuckets fails t unless keyset_buckets holds exactly a recount of
// the keysets: no bucket missing, none wrong, no empty one left behind.
func checkBuckets(t *testing.T, db *DB) {
	t.Helper()
	read := func(q string) [][3]int64 {
		t.Helper()
		rows, err := db.read.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][3]int64
		for rows.Next() {
			var r [3]int64
			if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	kept := read(`SELECT account_id, bucket, n FROM keyset_buckets ORDER BY account_id, bucket`)
	recount := read(fmt.Sprintf(`SELECT account_id, id / %d, count(*) FROM keysets GROUP BY account_id, id / %[1]d ORDER BY 1, 2`, keysetBucketWidth))
	if !slices.Equal(kept, recount) {
		t.Errorf("keyset_buckets (account, bucket, n):\n%v\nwant a recount:\n%v", kept, recount)
	}
	if len(recount) < 4 {
		t.Errorf("only %d buckets: the test data no longer spans several", len(recount))
	}
}

// checkKeysetPages fails t unless every page of account's keysets listed
// by the store equals the plain OFFSET query's, for pages at every bucket
// boundary, some at random, the last, and past the end.
func checkKeysetPages(t *testing.T, db *DB, account int64, rnd *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM keysets WHERE account_id = $1 ORDER BY id`, account)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	// Offsets worth a page: either side of each bucket boundary.
	var edges []int
	for i := 1; i < len(ids); i++ {
		if ids[i]/keysetBucketWidth != ids[i-1]/keysetBucketWidth {
			edges = append(edges, i-1, i, i+1)
		}
	}
	offset := func(limit, offset int) []int64 {
		t.Helper()
		rows, err := db.read.QueryContext(ctx, `SELECT id FROM keysets WHERE account_id = $1 ORDER BY id LIMIT $2 OFFSET $3`, account, limit, offset)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := []int64{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
	}
	checked := 0
	for _, limit := range []int{1, 7, 100} {
		last := len(ids)/limit + 1 // the last page, partial or empty
		pages := []int{1, 2, last, last + 1, last + 1000}
		for range 30 {
			pages = append(pages, 1+rnd.IntN(last+1))
		}
		for _, e := range edges {
			pages = append(pages, e/limit+1)
		}
		slices.Sort(pages)
		pages = slices.Compact(pages)
		for _, page := range pages {
			p := keyplane.Page{Page: page, Limit: limit}
			var got []keyplane.Keyset
			var total int
			if err := db.Read(ctx, func(tx control.Tx) (err error) {
				got, total, err = tx.ListKeysets(account, keyplane.Visibility{All: true}, p)
				return err
			}); err != nil {
				t.Fatalf("account %d %+v: %v", account, p, err)
			}
			gotIDs := []int64{}
			for _, k := range got {
				gotIDs = append(gotIDs, k.ID)
				if k.AccountID != account {
					t.Fatalf("account %d %+v: keyset %d of account %d", account, p, k.ID, k.AccountID)
				}
			}
			if want := offset(limit, p.Offset()); !slices.Equal(gotIDs, want) || total != len(ids) {
				t.Fatalf("account %d %+v: %v (total %d), OFFSET answers %v (total %d)", account, p, gotIDs, total, want, len(ids))
			}
			checked++
		}
	}
	if len(ids) > 0 && len(edges) == 0 {
		t.Errorf("account %d: its %d keysets lie in one bucket: the test checks no boundary", account, len(ids))
	}
	t.Logf("account %d: %d keysets, %d bucket boundaries, %d pages equal to OFFSET", account, len(ids), len(edges)/3, checked)
}

// A database made before migration 0009, with keysets of three accounts in
// runs of ids with holes and a gap, gets keyset_buckets filled by the
// migration: the counts equal a recount, every page equals OFFSET's, and
// the triggers keep the counts from then on.
func TestMigration0009FillsKeysetBuckets(t *testing.T) {
	for _, eng := range migrationEngines {
		t.Run(eng.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := eng.dsn(t)
			raw := schemaBefore(t, eng.name, eng.driver, dsn, 9)
			run := func(q string, args ...any) {
				t.Helper()
				if _, err := raw.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			for _, name := range []string{"Default account", "second", "third"} {
				run(`INSERT INTO accounts (name, created_at) VALUES ($1, 0)`, name)
			}
			for account := 1; account <= 3; account++ {
				run(`INSERT INTO apps (account_id, name, created_at, updated_at) VALUES ($1, 'a', 0, 0)`, account)
			}
			// Keysets in turns: three of five to account 1, one each to
			// the others (app i is account i's).
			insert := func(batch, n int) {
				t.Helper()
				run(fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
					INSERT INTO keysets (account_id, app_id, name, type, publish_key, subscribe_key, config, created_at, updated_at)
					SELECT a, a, 'k', 'testing', 'pub-c-%[2]d-' || i, 'sub-c-%[2]d-' || i, '{}', 0, 0
					FROM (SELECT i, CASE WHEN i %% 5 < 3 THEN 1 WHEN i %% 5 = 3 THEN 2 ELSE 3 END AS a FROM s) AS t ORDER BY i`, n, batch))
			}
			insert(1, 14000) // buckets 0 to 3
			if eng.name == "postgres" {
				run(`SELECT setval(pg_get_serial_sequence('keysets', 'id'), $1)`, 5*keysetBucketWidth)
			} else {
				run(`UPDATE sqlite_sequence SET seq = $1 WHERE name = 'keysets'`, 5*keysetBucketWidth)
			}
			insert(2, 3000)
			run(`DELETE FROM keysets WHERE id % 7 = 0 OR id BETWEEN $1 AND $2`, keysetBucketWidth, 2*keysetBucketWidth-1) // bucket 1 empty
			raw.Close()

			db := openDB(t, dsn)
			if v, err := db.SchemaVersion(ctx); err != nil || v < 9 {
				t.Fatalf("schema version %d, %v", v, err)
			}
			checkBuckets(t, db)
			rnd := rand.New(rand.NewPCG(9, 9))
			for _, from := range []int{deepPageFrom, 0} {
				defer func(was int) { deepPageFrom = was }(deepPageFrom)
				deepPageFrom = from
				for account := int64(1); account <= 3; account++ {
					checkKeysetPages(t, db, account, rnd)
				}
			}
			// The triggers keep the counts from here on.
			write(t, db, func(tx control.Tx) error {
				for i := range 50 {
					k := keyplane.Keyset{AccountID: 2, AppID: 2, Name: "k", Type: keyplane.KeysetTesting,
						PublishKey: fmt.Sprintf("pub-c-new-%d", i), SubscribeKey: fmt.Sprintf("sub-c-new-%d", i), CreatedAt: t0, UpdatedAt: t0}
					if err := tx.InsertKeyset(&k, keyplane.DefaultConfig()); err != nil {
						return err
					}
				}
				for id := int64(5*keysetBucketWidth + 1); id < 5*keysetBucketWidth+200; id++ {
					if err := tx.DeleteKeyset(id); err != nil {
						return err
					}
				}
				return nil
			})
			checkBuckets(t, db)
		})
	}
}
