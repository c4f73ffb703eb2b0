package e2e

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/store"
)

// At most 3 active keys per integration, even when ten admin processes race
// to add one: each goroutine has its own store on the file, as separate
// `keyplane admin create-key` runs would.
func TestActiveAPIKeyLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, in, first := e.integration("racer", "account:app:read")

	const racers = 10
	svcs := make([]*control.Service, racers)
	for i := range svcs {
		db, err := store.Open(ctx, e.dbPath, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		svcs[i] = control.New(db, control.Options{Now: e.clock.Now})
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	keys := make([]control.NewKey, racers)
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = svcs[i].CreateAPIKey(ctx, keyplane.Operator(e.account), in.ID, e.clock.Now().Add(24*time.Hour))
		})
	}
	close(start)
	wg.Wait()

	var made []control.NewKey
	for i, err := range errs {
		switch {
		case err == nil:
			made = append(made, keys[i])
			e.remember(keys[i].Key)
		case keyplane.ErrorCode(err) != keyplane.CodeConflict:
			t.Errorf("racer %d: %v (code %s), want success or Conflict", i, err, keyplane.ErrorCode(err))
		}
	}
	if len(made) != 2 {
		t.Fatalf("%d racers made a key, want exactly 2 (1 + 2 = the limit of 3)", len(made))
	}
	for _, k := range made {
		e.do("GET", "/v2/apps", nil, as(k.Key)).want(200)
	}
	// A fourth is refused…
	_, err := e.svc.CreateAPIKey(ctx, keyplane.Operator(e.account), in.ID, e.clock.Now().Add(time.Hour))
	if keyplane.ErrorCode(err) != keyplane.CodeConflict {
		t.Errorf("fourth key: %v, want Conflict", err)
	}
	// …until one is revoked…
	if _, _, err := e.svc.RevokeAPIKey(ctx, keyplane.Operator(1), strconv.FormatInt(first.ID, 10)); err != nil {
		t.Fatal(err)
	}
	short, err := e.svc.CreateAPIKey(ctx, keyplane.Operator(e.account), in.ID, e.clock.Now().Add(2*time.Minute))
	if err != nil {
		t.Fatalf("key after a revocation: %v", err)
	}
	e.remember(short.Key)
	if _, err := e.svc.CreateAPIKey(ctx, keyplane.Operator(e.account), in.ID, e.clock.Now().Add(time.Hour)); keyplane.ErrorCode(err) != keyplane.CodeConflict {
		t.Errorf("key beyond the limit after refilling: %v, want Conflict", err)
	}
	// …or expires.
	e.clock.Advance(3 * time.Minute)
	e.do("GET", "/v2/apps", nil, as(short.Key)).wantError(401, "Authorization: API key expired")
	last, err := e.svc.CreateAPIKey(ctx, keyplane.Operator(e.account), in.ID, e.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("key after one expired: %v", err)
	}
	e.remember(last.Key)
	e.do("GET", "/v2/apps", nil, as(last.Key)).want(200)

	list, err := e.svc.ListIntegrations(ctx, keyplane.Operator(e.account))
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, li := range list {
		if li.ID != in.ID {
			continue
		}
		for _, k := range li.Keys {
			if k.Active(e.clock.Now()) {
				active++
			}
		}
	}
	if active != 3 {
		t.Errorf("%d active keys stored, want 3", active)
	}
}

// "Last used" is recorded with one-minute precision.
func TestAPIKeyLastUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	key, in, _ := e.integration("user", "account:app:read")
	lastUsed := func() (keyAt, integrationAt *time.Time) {
		t.Helper()
		list, err := e.svc.ListIntegrations(ctx, keyplane.Operator(e.account))
		if err != nil {
			t.Fatal(err)
		}
		for _, li := range list {
			if li.ID == in.ID {
				return li.Keys[0].LastUsedAt, li.LastUsedAt
			}
		}
		t.Fatalf("integration %d not listed", in.ID)
		return nil, nil
	}
	if k, i := lastUsed(); k != nil || i != nil {
		t.Errorf("unused key: last used %v %v, want never", k, i)
	}
	same := func(got *time.Time, want time.Time) bool {
		return got != nil && got.UnixMilli() == want.UnixMilli()
	}
	first := e.clock.Now()
	e.do("GET", "/v2/apps", nil, as(key)).want(200)
	if k, i := lastUsed(); !same(k, first) || !same(i, first) {
		t.Errorf("after a request: last used %v %v, want %v", k, i, first)
	}
	e.clock.Advance(30 * time.Second)
	e.do("GET", "/v2/apps", nil, as(key)).want(200)
	if k, _ := lastUsed(); !same(k, first) {
		t.Errorf("30 s later: last used %v, want still %v", k, first)
	}
	e.clock.Advance(31 * time.Second)
	e.do("GET", "/v2/apps", nil, as(key)).want(200)
	if k, i := lastUsed(); !same(k, e.clock.Now()) || !same(i, e.clock.Now()) {
		t.Errorf("61 s later: last used %v %v, want %v", k, i, e.clock.Now())
	}
	// A refused key is not "used".
	if _, _, err := e.svc.RevokeAPIKey(ctx, keyplane.Operator(1), key); err != nil {
		t.Fatal(err)
	}
	before, _ := lastUsed()
	e.clock.Advance(2 * time.Minute)
	e.do("GET", "/v2/apps", nil, as(key)).want(401)
	if k, _ := lastUsed(); !same(k, *before) {
		t.Errorf("a revoked key's use was recorded: %v, want %v", k, before)
	}
}
