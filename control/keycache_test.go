package control_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"
)

// Authentication keeps the keys it read while the store's version holds,
// so a revocation committed anywhere — by this Service, or by another
// process on the same database (here another store handle, as an admin
// command or another replica would be) — is refused on the very next
// request.
func TestCachedKeysAreRefusedOnceRevokedAnywhere(t *testing.T) {
	ctx := context.Background()
	server, admin, _ := twoHandles(t)
	g, _ := keyplane.ParseGrant("account:app:read")
	newKey := func() string {
		_, k, err := admin.CreateIntegration(ctx, keyplane.Operator(1), "ci", []keyplane.Grant{g}, wallclock.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return k.Key
	}
	for _, by := range []struct {
		name string
		svc  *control.Service
	}{{"another process", admin}, {"the server itself", server}} {
		key := newKey()
		for range 3 { // read, then served from the cache
			if _, err := server.Authenticate(ctx, key, keyplane.Origin{}); err != nil {
				t.Fatalf("%s: a fresh key: %v", by.name, err)
			}
		}
		if _, _, err := by.svc.RevokeAPIKey(ctx, keyplane.Operator(1), key); err != nil {
			t.Fatal(err)
		}
		if _, err := server.Authenticate(ctx, key, keyplane.Origin{}); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
			t.Errorf("revoked by %s: the next request got %v, want 401", by.name, err)
		}
	}
}

// twoHandles opens two Services on one database (SQLite, or PostgreSQL
// under KEYPLANE_TEST_ENGINE): a server, and an admin standing for another
// process or replica; and grants that manage the whole account.
func twoHandles(t *testing.T) (server, admin *control.Service, grants []keyplane.Grant) {
	t.Helper()
	dsn := testdb.DSN(t)
	var svcs []*control.Service
	for range 2 {
		db, err := store.Open(context.Background(), dsn, wallclock.Now())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		svcs = append(svcs, control.New(db, control.Options{}))
	}
	for _, s := range []string{"account:app:rw", "account:keyset:rw", "account:secret-key:rw"} {
		g, _ := keyplane.ParseGrant(s)
		grants = append(grants, g)
	}
	return svcs[0], svcs[1], grants
}

// A keyset kept by GetKeyset is read again once anything changed it —
// here a rename through another store handle on the same file — and a
// principal of another account is not answered from it.
func TestCachedKeysetsFollowChanges(t *testing.T) {
	ctx := context.Background()
	server, admin, grants := twoHandles(t)
	p := keyplane.Principal{AccountID: 1, Grants: grants}
	k := newKeyset(t, admin, p)
	for range 2 {
		if got, err := server.GetKeyset(ctx, p, k.ID); err != nil || got.Name != k.Name {
			t.Fatalf("GetKeyset: %q %v", got.Name, err)
		}
	}
	name := "renamed elsewhere"
	if _, err := admin.UpdateKeyset(ctx, p, k.ID, &name, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := server.GetKeyset(ctx, p, k.ID); err != nil || got.Name != name {
		t.Errorf("after a rename by another process: %q %v, want %q", got.Name, err, name)
	}
	other := keyplane.Principal{AccountID: 2, Grants: grants}
	if _, err := server.GetKeyset(ctx, other, k.ID); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("another account's principal: %v, want not found", err)
	}
}

// A page of an account's keysets kept by ListKeysets is read again once
// anything changed (a keyset made or renamed through another handle, as
// another process or replica would); principals of another account, or
// who see only some apps, are never answered from it; and what a caller
// does to the slice it got does not reach the next caller.
func TestCachedKeysetPagesFollowChanges(t *testing.T) {
	ctx := context.Background()
	server, admin, grants := twoHandles(t)
	p := keyplane.Principal{AccountID: 1, Grants: grants}
	first := newKeyset(t, admin, p)
	page := keyplane.Page{Page: 1, Limit: 100}
	// list returns the page as "id:name" strings, then spoils the slice
	// it got.
	list := func(svc *control.Service, p keyplane.Principal) ([]string, int) {
		t.Helper()
		ks, total, err := svc.ListKeysets(ctx, p, page)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := range ks {
			out = append(out, fmt.Sprintf("%d:%s", ks[i].ID, ks[i].Name))
			ks[i].Name = "changed by a caller"
		}
		return out, total
	}
	entry := func(k keyplane.Keyset) string { return fmt.Sprintf("%d:%s", k.ID, k.Name) }
	for range 3 {
		if got, total := list(server, p); !slices.Equal(got, []string{entry(first)}) || total != 1 {
			t.Fatalf("page: %q (total %d), want [%s]", got, total, entry(first))
		}
	}
	second := newKeyset(t, admin, p)
	if got, total := list(server, p); !slices.Equal(got, []string{entry(first), entry(second)}) || total != 2 {
		t.Errorf("after a create elsewhere: %q (total %d), want both keysets", got, total)
	}
	name := "renamed elsewhere"
	if _, err := admin.UpdateKeyset(ctx, p, first.ID, &name, nil); err != nil {
		t.Fatal(err)
	}
	first.Name = name
	if got, _ := list(server, p); !slices.Equal(got, []string{entry(first), entry(second)}) {
		t.Errorf("after a rename elsewhere: %q, want %q first", got, entry(first))
	}
	if got, total := list(server, keyplane.Principal{AccountID: 2, Grants: grants}); len(got) != 0 || total != 0 {
		t.Errorf("another account's principal: %q (total %d), want nothing", got, total)
	}
	g, _ := keyplane.ParseGrant(fmt.Sprintf("app/%d:keyset:read", second.AppID))
	if got, _ := list(server, keyplane.Principal{AccountID: 1, Grants: []keyplane.Grant{g}}); !slices.Equal(got, []string{entry(second)}) {
		t.Errorf("a principal of one app: %q, want only [%s]", got, entry(second))
	}
}

// Within one request the database's version is looked at once, but a write
// in the request makes its next read look again: a request sees its own
// writes.
func TestARequestSeesItsOwnWrites(t *testing.T) {
	svc, p, _ := setup(t)
	k := newKeyset(t, svc, p)
	ctx := svc.ForRequest(context.Background())
	if _, err := svc.GetKeyset(ctx, p, k.ID); err != nil {
		t.Fatal(err)
	}
	name := "renamed in the request"
	if _, err := svc.UpdateKeyset(ctx, p, k.ID, &name, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.GetKeyset(ctx, p, k.ID); err != nil || got.Name != name {
		t.Errorf("read after the request's own write: %q %v, want %q", got.Name, err, name)
	}
}
