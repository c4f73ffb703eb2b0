package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/pgtest"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// engines are the databases every store test runs on: one suite, two
// engines. PostgreSQL comes from KEYPLANE_TEST_POSTGRES (scripts/test
// starts a throwaway cluster); without it that half skips, except in CI.
var engines = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "k.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// each runs test once per engine with a fresh database.
func each(t *testing.T, test func(t *testing.T, db *DB, dsn string)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			dsn := e.dsn(t)
			db, err := Open(context.Background(), dsn, t0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if db.Engine() != e.name {
				t.Fatalf("opened %s, want %s", db.Engine(), e.name)
			}
			test(t, db, dsn)
		})
	}
}

func write(t *testing.T, db *DB, fn func(control.Tx) error) {
	t.Helper()
	if err := db.Write(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMigratesOnceAndMakesOneAccount(t *testing.T) { each(t, testOpenMigratesOnce) }

func testOpenMigratesOnce(t *testing.T, db *DB, dsn string) {
	db.Close()
	// Opening again must neither re-run migrations nor add an account.
	db2, err := Open(context.Background(), dsn, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var as []keyplane.Account
	db2.Read(context.Background(), func(tx control.Tx) (err error) { as, err = tx.Accounts(); return err })
	if len(as) != 1 || as[0].ID != 1 || !as[0].CreatedAt.Equal(t0) {
		t.Fatalf("accounts after two opens: %+v", as)
	}
	if err := db2.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenFailsClearly(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "k.db"), t0)
	if err == nil {
		t.Fatal("opening in a missing directory succeeded")
	}
}

func TestAppsAndVisibility(t *testing.T) { each(t, testAppsAndVisibility) }

func testAppsAndVisibility(t *testing.T, db *DB, _ string) {
	var ids []int64
	write(t, db, func(tx control.Tx) error {
		for i := range 7 {
			a := keyplane.App{AccountID: 1, Name: "app", CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(i) * time.Millisecond)}
			if err := tx.InsertApp(&a); err != nil {
				return err
			}
			ids = append(ids, a.ID)
		}
		return nil
	})
	for _, c := range []struct {
		v     keyplane.Visibility
		p     keyplane.Page
		want  []int64
		total int
	}{
		{keyplane.Visibility{All: true}, keyplane.Page{Page: 1, Limit: 3}, ids[:3], 7},
		{keyplane.Visibility{All: true}, keyplane.Page{Page: 3, Limit: 3}, ids[6:], 7},
		{keyplane.Visibility{All: true}, keyplane.Page{Page: 4, Limit: 3}, nil, 7},
		{keyplane.Visibility{AppIDs: []int64{ids[1], ids[4], 999}}, keyplane.Page{Page: 1, Limit: 10}, []int64{ids[1], ids[4]}, 2},
		{keyplane.Visibility{KeysetIDs: []int64{ids[0]}}, keyplane.Page{Page: 1, Limit: 10}, nil, 0}, // keyset rows show no apps
		{keyplane.Visibility{}, keyplane.Page{Page: 1, Limit: 10}, nil, 0},
	} {
		var got []keyplane.App
		var total int
		db.Read(context.Background(), func(tx control.Tx) (err error) {
			got, total, err = tx.ListApps(1, c.v, c.p)
			return err
		})
		var gotIDs []int64
		for _, a := range got {
			gotIDs = append(gotIDs, a.ID)
		}
		if !slices.Equal(gotIDs, c.want) || total != c.total {
			t.Errorf("%+v %+v: got %v total %d, want %v total %d", c.v, c.p, gotIDs, total, c.want, c.total)
		}
	}
	// Another account sees none of them.
	db.Read(context.Background(), func(tx control.Tx) error {
		if _, err := tx.App(2, ids[0]); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			t.Errorf("app of account 1 read as account 2: %v", err)
		}
		return nil
	})
}

func TestKeysetsConfigAndSecretKeys(t *testing.T) { each(t, testKeysetsConfigAndSecretKeys) }

func testKeysetsConfigAndSecretKeys(t *testing.T, db *DB, _ string) {
	cfg := keyplane.DefaultConfig()
	cfg.Presence.Interval = 42
	var k keyplane.Keyset
	exp := t0.Add(time.Hour)
	write(t, db, func(tx control.Tx) error {
		a := keyplane.App{AccountID: 1, Name: "a", CreatedAt: t0, UpdatedAt: t0}
		if err := tx.InsertApp(&a); err != nil {
			return err
		}
		k = keyplane.Keyset{AccountID: 1, AppID: a.ID, Name: "k", Type: keyplane.KeysetTesting, PublishKey: "pub-c-1", SubscribeKey: "sub-c-1", CreatedAt: t0, UpdatedAt: t0}
		if err := tx.InsertKeyset(&k, cfg); err != nil {
			return err
		}
		for _, s := range []keyplane.SecretKey{
			{KeysetID: k.ID, Secret: "sec-c-AAAAArotated1", ExpiresAt: &exp, CreatedAt: t0},
			{KeysetID: k.ID, Secret: "sec-c-BBBBBmain", CreatedAt: t0},
		} {
			if err := tx.InsertSecretKey(s); err != nil {
				return err
			}
		}
		return nil
	})
	db.Read(context.Background(), func(tx control.Tx) error {
		got, err := tx.Keyset(1, k.ID)
		if err != nil || got != k {
			t.Errorf("keyset round trip: %+v %v, want %+v", got, err, k)
		}
		c, err := tx.Config(k.ID)
		if err != nil || c.Presence.Interval != 42 {
			t.Errorf("config round trip: %+v %v", c.Presence, err)
		}
		keys, err := tx.SecretKeys(k.ID)
		if err != nil || len(keys) != 2 || !keys[0].Main() || keys[1].ExpiresAt == nil || !keys[1].ExpiresAt.Equal(exp) {
			t.Errorf("secret keys (main first): %+v %v", keys, err)
		}
		return nil
	})
	// A keyset goes only into an app of its own account.
	for _, k := range []keyplane.Keyset{
		{AccountID: 2, AppID: k.AppID, Name: "other account", Type: keyplane.KeysetTesting, PublishKey: "pub-c-2", SubscribeKey: "sub-c-2", CreatedAt: t0, UpdatedAt: t0},
		{AccountID: 1, AppID: 999999, Name: "no app", Type: keyplane.KeysetTesting, PublishKey: "pub-c-3", SubscribeKey: "sub-c-3", CreatedAt: t0, UpdatedAt: t0},
	} {
		err := db.Write(context.Background(), func(tx control.Tx) error { return tx.InsertKeyset(&k, cfg) })
		if keyplane.ErrorCode(err) != keyplane.CodeNotFound || k.ID != 0 {
			t.Errorf("keyset %q: %v (id %d), want NotFound and nothing stored", k.Name, err, k.ID)
		}
	}
	// A second main key is refused by the schema itself.
	err := db.Write(context.Background(), func(tx control.Tx) error {
		return tx.InsertSecretKey(keyplane.SecretKey{KeysetID: k.ID, Secret: "sec-c-CCCCCmain2", CreatedAt: t0})
	})
	if err == nil {
		t.Error("a second main secret key was stored")
	}
	// Deleting the keyset takes its secret keys along.
	write(t, db, func(tx control.Tx) error { return tx.DeleteKeyset(k.ID) })
	db.Read(context.Background(), func(tx control.Tx) error {
		keys, err := tx.SecretKeys(k.ID)
		if err != nil || len(keys) != 0 {
			t.Errorf("secret keys of a deleted keyset: %v %v", keys, err)
		}
		return nil
	})
}

func TestWriteRollsBackOnError(t *testing.T) { each(t, testWriteRollsBackOnError) }

func testWriteRollsBackOnError(t *testing.T, db *DB, _ string) {
	boom := keyplane.Errorf(keyplane.CodeInvalid, "no")
	err := db.Write(context.Background(), func(tx control.Tx) error {
		a := keyplane.App{AccountID: 1, Name: "a", CreatedAt: t0, UpdatedAt: t0}
		if err := tx.InsertApp(&a); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Write returned %v", err)
	}
	db.Read(context.Background(), func(tx control.Tx) error {
		_, n, err := tx.ListApps(1, keyplane.Visibility{All: true}, keyplane.Page{Page: 1, Limit: 10})
		if err != nil || n != 0 {
			t.Errorf("after a failed transaction: %d apps, %v", n, err)
		}
		return nil
	})
}

func TestIntegrationsKeysAndAudit(t *testing.T) { each(t, testIntegrationsKeysAndAudit) }

func TestKeyLifecycleColumns(t *testing.T) { each(t, testKeyLifecycleColumns) }

// What the key lifecycle stores reads back as written: suspension,
// networks, a roll, the account's policy, and notices claimed once.
func testKeyLifecycleColumns(t *testing.T, db *DB, _ string) {
	g, _ := keyplane.ParseGrant("account:app:read")
	nets, err := keyplane.ParseNetworks("allowCidr", []string{"10.0.0.0/8", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	in := keyplane.Integration{AccountID: 1, Name: "ci", Grants: []keyplane.Grant{g}, CreatedAt: t0, Networks: nets}
	k1 := keyplane.APIKey{Prefix: "si_11111111", Hash: hashOf("k1"), CreatedAt: t0, ExpiresAt: t0.Add(48 * time.Hour)}
	k2 := keyplane.APIKey{Prefix: "si_22222222", Hash: hashOf("k2"), CreatedAt: t0, ExpiresAt: t0.Add(72 * time.Hour)}
	write(t, db, func(tx control.Tx) error {
		if err := tx.InsertIntegration(&in); err != nil {
			return err
		}
		k1.IntegrationID, k2.IntegrationID = in.ID, in.ID
		if err := tx.InsertAPIKey(&k1); err != nil {
			return err
		}
		return tx.InsertAPIKey(&k2)
	})
	read := func() (keyplane.APIKey, keyplane.Integration, keyplane.Account) {
		t.Helper()
		var k keyplane.APIKey
		var i keyplane.Integration
		var a keyplane.Account
		if err := db.Read(context.Background(), func(tx control.Tx) (err error) {
			k, i, a, err = tx.Credential(hashOf("k1"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return k, i, a
	}
	if _, i, _ := read(); !slices.Equal(i.Networks, nets) || i.Suspended() {
		t.Errorf("new integration: networks %v suspended %v, want %v and not", i.Networks, i.SuspendedAt, nets)
	}
	at := t0.Add(time.Hour)
	write(t, db, func(tx control.Tx) error {
		if err := tx.SetIntegrationSuspended(1, in.ID, &at); err != nil {
			return err
		}
		if err := tx.SetIntegrationNetworks(1, in.ID, nil); err != nil {
			return err
		}
		if err := tx.SetIntegrationSuspended(2, in.ID, &at); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			t.Errorf("suspending another account's integration: %v, want NotFound", err)
		}
		return tx.RollAPIKey(k1.ID, k2.ID, t0.Add(2*time.Hour))
	})
	k, i, _ := read()
	if !i.Suspended() || !i.SuspendedAt.Equal(at) || i.Networks != nil {
		t.Errorf("after suspending and clearing networks: %+v", i)
	}
	if k.ReplacedBy != k2.ID || !k.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("rolled key: replaced by %d, expires %v; want %d and %v", k.ReplacedBy, k.ExpiresAt, k2.ID, t0.Add(2*time.Hour))
	}

	db.Read(context.Background(), func(tx control.Tx) error {
		p, err := tx.AccountPolicy(1)
		if err != nil || p.MaxKeyLifetime != 0 || !slices.Equal(p.NoticeDays, keyplane.DefaultNoticeDays) {
			t.Errorf("default policy: %+v %v", p, err)
		}
		return nil
	})
	for _, want := range []keyplane.AccountPolicy{
		{AccountID: 1, MaxKeyLifetime: 90 * 24 * time.Hour, NoticeDays: []int{7, 1}},
		{AccountID: 1, NoticeDays: []int{30}},
	} {
		write(t, db, func(tx control.Tx) error { return tx.PutAccountPolicy(want) })
		db.Read(context.Background(), func(tx control.Tx) error {
			p, err := tx.AccountPolicy(1)
			if err != nil || p.MaxKeyLifetime != want.MaxKeyLifetime || !slices.Equal(p.NoticeDays, want.NoticeDays) {
				t.Errorf("policy %+v read back as %+v (%v)", want, p, err)
			}
			return nil
		})
	}

	n := keyplane.KeyNotice{Kind: keyplane.NoticeExpiry, Threshold: 3, Basis: k2.ExpiresAt}
	for i, want := range []bool{true, false} {
		write(t, db, func(tx control.Tx) error {
			claimed, err := tx.ClaimKeyNotice(k2.ID, n, at)
			if claimed != want {
				t.Errorf("claim %d: %v, want %v", i, claimed, want)
			}
			return err
		})
	}
	write(t, db, func(tx control.Tx) error {
		n.Basis = n.Basis.Add(time.Hour) // another expiry: another notice
		claimed, err := tx.ClaimKeyNotice(k2.ID, n, at)
		if !claimed {
			t.Errorf("a notice of another basis was not claimed")
		}
		keys, err2 := tx.ActiveAPIKeys(t0.Add(2*time.Hour + time.Minute))
		if len(keys) != 1 || keys[0].Key.ID != k2.ID || keys[0].Integration.ID != in.ID {
			t.Errorf("active keys past k1's overlap: %+v (%v)", keys, err2)
		}
		return err
	})
	// Deleting the integration takes its notices along.
	write(t, db, func(tx control.Tx) error { return tx.DeleteIntegration(1, in.ID) })
	if n := count(t, db, "key_notices"); n != 0 {
		t.Errorf("%d key notices left after their integration was deleted", n)
	}
}

func testIntegrationsKeysAndAudit(t *testing.T, db *DB, _ string) {
	g, _ := keyplane.ParseGrant("app/3:keyset:rw")
	in := keyplane.Integration{AccountID: 1, Name: "ci", Grants: []keyplane.Grant{g}, CreatedAt: t0}
	k := keyplane.APIKey{Prefix: "si_abcdefgh", Hash: hashOf("x"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	write(t, db, func(tx control.Tx) error {
		if err := tx.InsertIntegration(&in); err != nil {
			return err
		}
		k.IntegrationID = in.ID
		if err := tx.InsertAPIKey(&k); err != nil {
			return err
		}
		for i := range 3 {
			e := keyplane.AuditEvent{AccountID: 1, At: t0, Type: "T", Actor: keyplane.OperatorActor, TargetType: "app", TargetID: int64(i), After: []byte(`{}`)}
			if err := tx.AppendAudit(&e); err != nil {
				return err
			}
		}
		return tx.TouchAPIKey(k.ID, in.ID, t0.Add(time.Minute), "2001:db8::7", "curl/8.5.0")
	})
	db.Read(context.Background(), func(tx control.Tx) error {
		gk, gi, err := tx.APIKeyByHash(hashOf("x"))
		if err != nil || gk.ID != k.ID || gi.Name != "ci" || !slices.Equal(gi.Grants, in.Grants) || gk.LastUsedAt == nil || gi.LastUsedAt == nil {
			t.Errorf("by hash: %+v %+v %v", gk, gi, err)
		}
		if gk.LastUsedFrom != "2001:db8::7" || gk.LastUsedAgent != "curl/8.5.0" {
			t.Errorf("last use from %q with %q, want 2001:db8::7 and curl/8.5.0", gk.LastUsedFrom, gk.LastUsedAgent)
		}
		if _, _, err := tx.APIKeyByHash(hashOf("y")); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			t.Errorf("unknown hash: %v", err)
		}
		byID, _, err := tx.APIKey(k.ID)
		if err != nil || byID.Prefix != k.Prefix {
			t.Errorf("by id: %+v %v", byID, err)
		}
		return nil
	})
	write(t, db, func(tx control.Tx) error { return tx.RevokeAPIKey(k.ID, t0.Add(2*time.Minute)) })
	db.Read(context.Background(), func(tx control.Tx) error {
		keys, err := tx.APIKeys(in.ID)
		if err != nil || len(keys) != 1 || keys[0].RevokedAt == nil || keys[0].Active(t0.Add(3*time.Minute)) {
			t.Errorf("revoked key: %+v %v", keys, err)
		}
		return nil
	})
	// The audit chain links each event to the one before.
	rows, err := db.read.Query(`SELECT id, prev_hash, hash FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev []byte = []byte{}
	n := 0
	for rows.Next() {
		var id int64
		var p, h []byte
		if err := rows.Scan(&id, &p, &h); err != nil {
			t.Fatal(err)
		}
		if string(p) != string(prev) || len(h) != 32 {
			t.Errorf("event %d: prev %x, want %x", id, p, prev)
		}
		prev = h
		n++
	}
	if n != 3 {
		t.Errorf("%d audit events, want 3", n)
	}
}

func TestKeysetTotalsAndDeepPages(t *testing.T) { each(t, testKeysetTotals) }

// The total of a keyset list comes from counts kept by triggers for a whole
// account, and from a count for a narrower view: both agree with the rows
// through inserts and deletes in two accounts, and any page, however deep,
// holds the right keysets in id order.
func testKeysetTotals(t *testing.T, db *DB, dsn string) {
	ctx := context.Background()
	var account2 int64
	if err := db.writeTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO accounts (name, created_at) VALUES ('second', 0) RETURNING id`).Scan(&account2)
	}); err != nil {
		t.Fatal(err)
	}
	var ids []int64 // account 1's keysets
	var app1 int64
	write(t, db, func(tx control.Tx) error {
		for _, account := range []int64{1, account2} {
			a := keyplane.App{AccountID: account, Name: "a", CreatedAt: t0, UpdatedAt: t0}
			if err := tx.InsertApp(&a); err != nil {
				return err
			}
			if account == 1 {
				app1 = a.ID
			}
			for i := range 25 {
				k := keyplane.Keyset{AccountID: account, AppID: a.ID, Name: "k", Type: keyplane.KeysetTesting,
					PublishKey: fmt.Sprintf("pub-c-%d-%d", account, i), SubscribeKey: fmt.Sprintf("sub-c-%d-%d", account, i), CreatedAt: t0, UpdatedAt: t0}
				if err := tx.InsertKeyset(&k, keyplane.DefaultConfig()); err != nil {
					return err
				}
				if account == 1 {
					ids = append(ids, k.ID)
				}
			}
		}
		return nil
	})
	write(t, db, func(tx control.Tx) error {
		for _, id := range []int64{ids[0], ids[7], ids[24]} {
			if err := tx.DeleteKeyset(id); err != nil {
				return err
			}
		}
		return nil
	})
	left := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == ids[0] || id == ids[7] || id == ids[24] })
	for _, v := range []keyplane.Visibility{{All: true}, {AppIDs: []int64{app1}}} {
		for page := 1; page <= 4; page++ {
			db.Read(ctx, func(tx control.Tx) error {
				got, total, err := tx.ListKeysets(1, v, keyplane.Page{Page: page, Limit: 7})
				if err != nil || total != len(left) {
					t.Errorf("%+v: total %d (%v), want %d", v, total, err, len(left))
				}
				want := left[min((page-1)*7, len(left)):min(page*7, len(left))]
				var gotIDs []int64
				for _, k := range got {
					gotIDs = append(gotIDs, k.ID)
				}
				if !slices.Equal(gotIDs, want) {
					t.Errorf("%+v page %d: %v, want %v", v, page, gotIDs, want)
				}
				return nil
			})
		}
	}
}

// hashOf is the stored hash of key.
func hashOf(key string) []byte {
	h := keyplane.HashAPIKey(key)
	return h[:]
}

func TestKeysetsInApp(t *testing.T) { each(t, testKeysetsInApp) }

// Visibility.InApp narrows a keyset list to one app on top of what the
// rows show: never a keyset the rows do not show, never another account's.
func testKeysetsInApp(t *testing.T, db *DB, _ string) {
	var apps []int64
	byApp := map[int64][]int64{}
	write(t, db, func(tx control.Tx) error {
		for range 2 {
			a := keyplane.App{AccountID: 1, Name: "a", CreatedAt: t0, UpdatedAt: t0}
			if err := tx.InsertApp(&a); err != nil {
				return err
			}
			apps = append(apps, a.ID)
		}
		for i := range 5 {
			app := apps[i%2]
			k := keyplane.Keyset{AccountID: 1, AppID: app, Name: "k", Type: keyplane.KeysetTesting,
				PublishKey: fmt.Sprintf("pub-c-in-%d", i), SubscribeKey: fmt.Sprintf("sub-c-in-%d", i), CreatedAt: t0, UpdatedAt: t0}
			if err := tx.InsertKeyset(&k, keyplane.DefaultConfig()); err != nil {
				return err
			}
			byApp[app] = append(byApp[app], k.ID)
		}
		return nil
	})
	a, b := apps[0], apps[1]
	for _, c := range []struct {
		name    string
		account int64
		v       keyplane.Visibility
		p       keyplane.Page
		want    []int64
		total   int
	}{
		{"whole account, one app", 1, keyplane.Visibility{All: true, InApp: a}, keyplane.Page{Page: 1, Limit: 10}, byApp[a], 3},
		{"a page of one app", 1, keyplane.Visibility{All: true, InApp: a}, keyplane.Page{Page: 2, Limit: 2}, byApp[a][2:], 3},
		{"app rows, that app", 1, keyplane.Visibility{AppIDs: []int64{b}, InApp: b}, keyplane.Page{Page: 1, Limit: 10}, byApp[b], 2},
		{"app rows, another app", 1, keyplane.Visibility{AppIDs: []int64{b}, InApp: a}, keyplane.Page{Page: 1, Limit: 10}, nil, 0},
		{"a keyset row in the app", 1, keyplane.Visibility{KeysetIDs: []int64{byApp[a][1], byApp[b][0]}, InApp: a}, keyplane.Page{Page: 1, Limit: 10}, byApp[a][1:2], 1},
		{"a missing app", 1, keyplane.Visibility{All: true, InApp: 999}, keyplane.Page{Page: 1, Limit: 10}, nil, 0},
		{"another account's app", 2, keyplane.Visibility{All: true, InApp: a}, keyplane.Page{Page: 1, Limit: 10}, nil, 0},
	} {
		var got []keyplane.Keyset
		var total int
		if err := db.Read(context.Background(), func(tx control.Tx) (err error) {
			got, total, err = tx.ListKeysets(c.account, c.v, c.p)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var gotIDs []int64
		for _, k := range got {
			gotIDs = append(gotIDs, k.ID)
		}
		if !slices.Equal(gotIDs, c.want) || total != c.total {
			t.Errorf("%s: got %v total %d, want %v total %d", c.name, gotIDs, total, c.want, c.total)
		}
	}
}
