package control_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/store"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(t testing.TB) (*control.Service, keyplane.Principal, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	db, err := store.Open(context.Background(), testdb.DSN(t), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := control.New(db, control.Options{Now: clk.Now})
	var grants []keyplane.Grant
	for _, s := range []string{"account:app:rw", "account:keyset:rw", "account:secret-key:rw"} {
		g, _ := keyplane.ParseGrant(s)
		grants = append(grants, g)
	}
	return svc, keyplane.Principal{AccountID: 1, IntegrationID: 1, IntegrationName: "test", KeyID: 1, Grants: grants}, clk
}

func newKeyset(t *testing.T, svc *control.Service, p keyplane.Principal) keyplane.Keyset {
	t.Helper()
	ctx := context.Background()
	a, err := svc.CreateApp(ctx, p, "app")
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRotatedKeyLimitCountsOnlyLiveKeys(t *testing.T) {
	svc, p, clk := setup(t)
	ctx := context.Background()
	k := newKeyset(t, svc, p)
	rotate := func(in time.Duration) error {
		at := clk.Now().Add(in)
		_, err := svc.RotateSecretKey(ctx, p, k.ID, &at)
		return err
	}
	for i := range keyplane.MaxRotatedSecretKeys {
		if err := rotate(time.Duration(i+1) * time.Hour); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
	}
	if err := rotate(10 * time.Hour); keyplane.ErrorCode(err) != keyplane.CodeConflict {
		t.Fatalf("rotation beyond the limit: %v, want Conflict", err)
	}
	// Once the oldest rotated key has expired, rotating again is allowed, and
	// the expired key is dropped so the store never holds more than the limit.
	clk.Advance(time.Hour + time.Second)
	if err := rotate(10 * time.Hour); err != nil {
		t.Fatalf("rotation after one expired: %v", err)
	}
	keys, err := svc.ListSecretKeys(ctx, p, k.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	rotated := 0
	for _, s := range keys {
		if !s.Main() {
			rotated++
			if !s.Active(clk.Now()) {
				t.Errorf("expired key %s kept although the limit was reached", s.Prefix())
			}
		}
	}
	if rotated != keyplane.MaxRotatedSecretKeys || len(keys) != keyplane.MaxRotatedSecretKeys+1 {
		t.Errorf("%d keys, %d rotated; want one main and %d rotated", len(keys), rotated, keyplane.MaxRotatedSecretKeys)
	}
	// A rotation without expiry replaces the main key and keeps rotated ones.
	before := keys[0].Secret
	main, err := svc.RotateSecretKey(ctx, p, k.ID, nil)
	if err != nil || main.Secret == before {
		t.Fatalf("immediate rotation: %v", err)
	}
	keys, _ = svc.ListSecretKeys(ctx, p, k.ID, false)
	if len(keys) != keyplane.MaxRotatedSecretKeys+1 || keys[0].Secret != main.Secret {
		t.Errorf("after immediate rotation: %d keys, main %s", len(keys), keys[0].Prefix())
	}
}

// TestConcurrentConfigPatchesKeepEveryChange: patches of different fields
// racing on one keyset all survive, because each merge reads and writes
// inside one serialized transaction.
func TestConcurrentConfigPatchesKeepEveryChange(t *testing.T) {
	svc, p, _ := setup(t)
	ctx := context.Background()
	k := newKeyset(t, svc, p)
	patches := []string{
		`{"presence":{"announceMax":7}}`,
		`{"presence":{"interval":99}}`,
		`{"streamController":{"channelGroupLimit":1500}}`,
		`{"accessManager":{"enabled":true}}`,
		`{"messagePersistence":{"enabled":false,"retention":30}}`,
		`{"dataSync":{"region":"aws-fra-1"}}`,
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(patches))
	for _, body := range patches {
		wg.Go(func() {
			patch, err := keyplane.ParseConfigPatch([]byte(body))
			if err == nil {
				_, err = svc.UpdateConfig(ctx, p, k.ID, patch)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := svc.GetConfig(ctx, p, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%d %d %d %t %t %d %s", c.Presence.AnnounceMax, c.Presence.Interval, c.StreamController.ChannelGroupLimit,
		c.AccessManager.Enabled, c.MessagePersistence.Enabled, *c.MessagePersistence.Retention, *c.DataSync.Region)
	if want := "7 99 1500 true false 30 aws-fra-1"; got != want {
		b, _ := json.Marshal(c)
		t.Errorf("merged config lost an update: %s\n%s", got, b)
	}
}

// TestFailedOperationsChangeNothing: an operation refused halfway leaves no
// trace, not even an audit event.
func TestFailedOperationsChangeNothing(t *testing.T) {
	svc, p, _ := setup(t)
	ctx := context.Background()
	k := newKeyset(t, svc, p)
	before, _ := svc.GetConfig(ctx, p, k.ID)
	bad, err := keyplane.ParseConfigPatch([]byte(`{"presence":{"announceMax":5},"files":{"enabled":true,"retention":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateConfig(ctx, p, k.ID, bad); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Fatalf("invalid patch: %v", err)
	}
	after, _ := svc.GetConfig(ctx, p, k.ID)
	// Compared as JSON: the defaults hold pointers (retentions, regions).
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if string(b1) != string(b2) {
		t.Errorf("a refused patch changed the config:\n%s\n%s", b1, b2)
	}
	// Creating a keyset in a missing app creates nothing.
	if _, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: 999}); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Fatalf("keyset in a missing app: %v", err)
	}
	if _, total, _ := svc.ListKeysets(ctx, p, keyplane.Page{Page: 1, Limit: 10}); total != 1 {
		t.Errorf("%d keysets after a refused creation, want 1", total)
	}
}
