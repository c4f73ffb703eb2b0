package control_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/store"
)

// person is a portal user of account 1 with role r.
func person(r keyplane.Role) keyplane.Principal {
	return keyplane.Principal{AccountID: 1, UserID: 7, UserEmail: "someone@example.com", Role: r, Grants: keyplane.RoleGrants(r)}
}

var from = keyplane.Origin{Addr: netip.MustParseAddr("192.0.2.10"), UserAgent: "deploy-bot/2.1"}

// newIntegration makes an integration of account 1 whose first key lives
// life, and returns it with that key.
func newIntegration(t *testing.T, svc *control.Service, clk *clock, life time.Duration, networks ...string) (keyplane.Integration, control.NewKey) {
	t.Helper()
	g, _ := keyplane.ParseGrant("account:app:read")
	ns, err := keyplane.ParseNetworks("allowCidr", networks)
	if err != nil {
		t.Fatal(err)
	}
	in, k, err := svc.CreateIntegrationWith(context.Background(), keyplane.Operator(1), control.NewIntegration{
		Name: "CI", Grants: []keyplane.Grant{g}, Networks: ns, Expires: clk.Now().Add(life)})
	if err != nil {
		t.Fatal(err)
	}
	return in, k
}

// auth authenticates key from origin with a fresh request context, as
// each request of the API does.
func auth(svc *control.Service, key string, o keyplane.Origin) error {
	_, err := svc.Authenticate(svc.ForRequest(context.Background()), key, o)
	return err
}

// events are the account's audit events of the given types.
func events(t *testing.T, svc *control.Service, types ...string) []keyplane.AuditEvent {
	t.Helper()
	page, err := svc.ListAuditEvents(context.Background(), keyplane.Operator(1), keyplane.AuditQuery{Types: types, Limit: 100}, "")
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

func TestRollKeepsTheOldKeyForTheOverlapThenStopsIt(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	_, old := newIntegration(t, svc, clk, 30*24*time.Hour)
	if err := auth(svc, old.Key, from); err != nil {
		t.Fatal(err)
	}
	rolledOld, nk, err := svc.RollAPIKey(ctx, keyplane.Operator(1), old.Key, keyplane.DefaultRollOverlap, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(24 * time.Hour); !rolledOld.ExpiresAt.Equal(want) || rolledOld.ReplacedBy != nk.ID {
		t.Errorf("old key after the roll: expires %v, replaced by %d; want %v and %d", rolledOld.ExpiresAt, rolledOld.ReplacedBy, want, nk.ID)
	}
	if life := nk.ExpiresAt.Sub(clk.Now()); life != 30*24*time.Hour {
		t.Errorf("the new key lives %v, want the old key's 30 days", life)
	}
	for _, k := range []string{old.Key, nk.Key} {
		if err := auth(svc, k, from); err != nil {
			t.Errorf("right after the roll: %v", err)
		}
	}
	clk.Advance(24*time.Hour - time.Second)
	if err := auth(svc, old.Key, from); err != nil {
		t.Errorf("the old key a second before the overlap ends: %v", err)
	}
	clk.Advance(time.Second)
	err = auth(svc, old.Key, from)
	if keyplane.ErrorCode(err) != keyplane.CodeUnauthorized || !strings.Contains(err.Error(), "rolled") {
		t.Errorf("the old key once the overlap ended: %v, want 401 saying it was rolled", err)
	}
	if err := auth(svc, nk.Key, from); err != nil {
		t.Errorf("the new key after the overlap: %v", err)
	}
	evs := events(t, svc, keyplane.EventApiKeyRolled)
	if len(evs) != 1 || evs[0].TargetID != old.ID || !strings.Contains(string(evs[0].After), `"replacedBy":`+strconv.FormatInt(nk.ID, 10)) {
		t.Errorf("ApiKeyRolled events: %+v", evs)
	}
	if strings.Contains(string(evs[0].After), nk.Key) || strings.Contains(string(evs[0].Before), old.Key) {
		t.Errorf("an audit event holds a whole key")
	}
}

func TestRollRules(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	op := keyplane.Operator(1)
	in, k := newIntegration(t, svc, clk, 10*time.Hour)

	// The overlap never outlasts the old key, and is at most 30 days.
	if _, _, err := svc.RollAPIKey(ctx, op, k.Key, 31*24*time.Hour, time.Time{}); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Errorf("a 31-day overlap: %v, want 400", err)
	}
	old, nk, err := svc.RollAPIKey(ctx, op, strconv.FormatInt(k.ID, 10), 7*24*time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !old.ExpiresAt.Equal(k.ExpiresAt) {
		t.Errorf("a 7-day overlap of a key with 10 hours left ends %v, want its own expiry %v", old.ExpiresAt, k.ExpiresAt)
	}
	// A rolled key is not rolled again; its successor is.
	_, _, err = svc.RollAPIKey(ctx, op, k.Key, time.Hour, time.Time{})
	if keyplane.ErrorCode(err) != keyplane.CodeConflict || !strings.Contains(err.Error(), "roll key "+strconv.FormatInt(nk.ID, 10)+" instead") {
		t.Errorf("rolling a rolled key: %v", err)
	}
	// Three active keys (the rolled one among them): a roll keeping its
	// old key would make a fourth, so it is refused, saying why; with no
	// overlap it is not.
	third, err := svc.CreateAPIKey(ctx, op, in.ID, clk.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = svc.RollAPIKey(ctx, op, third.Key, time.Hour, time.Time{})
	if keyplane.ErrorCode(err) != keyplane.CodeConflict || !strings.Contains(err.Error(), "would make a fourth") {
		t.Errorf("a roll making a fourth active key: %v, want 409 saying so", err)
	}
	_, fourth, err := svc.RollAPIKey(ctx, op, third.Key, 0, time.Time{})
	if err != nil {
		t.Fatalf("a roll with no overlap at the limit: %v", err)
	}
	if err := auth(svc, third.Key, from); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("a key rolled with no overlap still works: %v", err)
	}
	if err := auth(svc, fourth.Key, from); err != nil {
		t.Error(err)
	}
	// Revoked keys are not rolled.
	if _, _, err := svc.RevokeAPIKey(ctx, op, fourth.Key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.RollAPIKey(ctx, op, fourth.Key, time.Hour, time.Time{}); keyplane.ErrorCode(err) != keyplane.CodeConflict || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("rolling a revoked key: %v", err)
	}
	// Only who manages integrations rolls, and another account's key is
	// not found, by id, by whole key, or where the portal names it.
	if _, _, err := svc.RollAPIKey(ctx, person(keyplane.RoleViewer), nk.Key, time.Hour, time.Time{}); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("a viewer rolling: %v, want 403", err)
	}
	acc, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Other")
	if err != nil {
		t.Fatal(err)
	}
	other := keyplane.Operator(acc.ID)
	other.Operator = false // an Admin of the other account, not the operator
	other.Grants = keyplane.RoleGrants(keyplane.RoleAdmin)
	for _, ref := range []string{nk.Key, strconv.FormatInt(nk.ID, 10)} {
		if _, _, err := svc.RollAPIKey(ctx, other, ref, time.Hour, time.Time{}); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			t.Errorf("another account rolling %.8s: %v, want 404", ref, err)
		}
	}
	if _, _, err := svc.RollIntegrationKey(ctx, other, in.ID, nk.ID, time.Hour); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("another account rolling through the portal: %v, want 404", err)
	}
}

func TestSuspendAndResume(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	admin := person(keyplane.RoleAdmin)
	in, k := newIntegration(t, svc, clk, 30*24*time.Hour)
	if err := auth(svc, k.Key, from); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SetIntegrationSuspended(ctx, person(keyplane.RoleViewer), in.ID, true); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("a viewer suspending: %v, want 403", err)
	}
	got, changed, err := svc.SetIntegrationSuspended(ctx, admin, in.ID, true)
	if err != nil || !changed || !got.Suspended() {
		t.Fatalf("suspending: %+v %v %v", got, changed, err)
	}
	err = auth(svc, k.Key, from)
	if keyplane.ErrorCode(err) != keyplane.CodeForbidden || !strings.HasPrefix(err.Error(), "integration suspended") {
		t.Errorf("a key of a suspended integration: %v, want 403 integration suspended", err)
	}
	if _, changed, err := svc.SetIntegrationSuspended(ctx, admin, in.ID, true); err != nil || changed {
		t.Errorf("suspending again: changed %v, %v; want no change", changed, err)
	}
	// Nothing was deleted: the key and the integration are as they were.
	ik, err := svc.GetIntegration(ctx, admin, in.ID)
	if err != nil || len(ik.Keys) != 1 || !ik.Keys[0].Active(clk.Now()) {
		t.Errorf("the suspended integration: %+v %v", ik, err)
	}
	if _, _, err := svc.SetIntegrationSuspended(ctx, admin, in.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := auth(svc, k.Key, from); err != nil {
		t.Errorf("after resuming: %v", err)
	}
	if _, _, err := svc.SetIntegrationSuspended(ctx, admin, in.ID+100, true); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("suspending a missing integration: %v, want 404", err)
	}
	if n := len(events(t, svc, keyplane.EventServiceIntegrationSuspended, keyplane.EventServiceIntegrationResumed)); n != 2 {
		t.Errorf("%d suspension events, want 2", n)
	}
}

func TestNetworksAdmitOnlyTheirAddresses(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	in, k := newIntegration(t, svc, clk, 30*24*time.Hour, "192.0.2.0/24", "2001:db8::/32")
	for addr, ok := range map[string]bool{
		"192.0.2.10": true, "::ffff:192.0.2.200": true, "2001:db8:1::5": true,
		"198.51.100.1": false, "2001:db9::1": false, "": false,
	} {
		o := keyplane.Origin{}
		if addr != "" {
			o.Addr = netip.MustParseAddr(addr)
		}
		err := auth(svc, k.Key, o)
		switch {
		case ok && err != nil:
			t.Errorf("from %q: %v", addr, err)
		case !ok && (keyplane.ErrorCode(err) != keyplane.CodeForbidden || !strings.Contains(err.Error(), "this integration's keys are not allowed from ")):
			t.Errorf("from %q: %v, want 403 naming the address", addr, err)
		}
	}
	err := auth(svc, k.Key, keyplane.Origin{Addr: netip.MustParseAddr("198.51.100.1")})
	if err == nil || err.Error() != "this integration's keys are not allowed from 198.51.100.1" {
		t.Errorf("the refusal reads %v", err)
	}
	// Changed by an Admin, in effect at the next request; cleared, from anywhere.
	admin := person(keyplane.RoleAdmin)
	ns, _ := keyplane.ParseNetworks("allowCidr", []string{"198.51.100.0/24"})
	if _, changed, err := svc.SetIntegrationNetworks(ctx, admin, in.ID, ns); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if err := auth(svc, k.Key, keyplane.Origin{Addr: netip.MustParseAddr("198.51.100.1")}); err != nil {
		t.Errorf("from the new network: %v", err)
	}
	if err := auth(svc, k.Key, from); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("from the old network: %v, want 403", err)
	}
	if _, _, err := svc.SetIntegrationNetworks(ctx, person(keyplane.RoleViewer), in.ID, nil); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("a viewer changing networks: %v, want 403", err)
	}
	if _, _, err := svc.SetIntegrationNetworks(ctx, admin, in.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := auth(svc, k.Key, keyplane.Origin{}); err != nil {
		t.Errorf("with no networks, from an unknown address: %v", err)
	}
	evs := events(t, svc, keyplane.EventServiceIntegrationNetworksChanged)
	if len(evs) != 2 || !strings.Contains(string(evs[0].After), "198.51.100.0/24") || !strings.Contains(string(evs[1].After), `"allowedNetworks":[]`) {
		t.Errorf("networks events: %d, %+v", len(evs), evs)
	}
	// Bad networks are refused, every one named.
	_, err = keyplane.ParseNetworks("allowCidr", []string{"10.0.0.0/8", "10.1.2.3/8", "example.com"})
	if msgs := keyplane.ErrorMessages(err); len(msgs) != 2 || !strings.Contains(msgs[0], "did you mean 10.0.0.0/8") || !strings.HasPrefix(msgs[1], "allowCidr[2]") {
		t.Errorf("bad networks: %q", msgs)
	}
}

func TestLastUseRecordsAddressAndAgentOnceAMinute(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	in, k := newIntegration(t, svc, clk, 30*24*time.Hour)
	last := func() keyplane.APIKey {
		t.Helper()
		ik, err := svc.GetIntegration(ctx, keyplane.Operator(1), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ik.Keys[0]
	}
	if err := auth(svc, k.Key, from); err != nil {
		t.Fatal(err)
	}
	first := clk.Now()
	if got := last(); got.LastUsedAt == nil || !got.LastUsedAt.Equal(first) || got.LastUsedFrom != "192.0.2.10" || got.LastUsedAgent != "deploy-bot/2.1" {
		t.Errorf("last use: %v %q %q", got.LastUsedAt, got.LastUsedFrom, got.LastUsedAgent)
	}
	// Within the minute nothing is written, whoever asks.
	clk.Advance(30 * time.Second)
	other := keyplane.Origin{Addr: netip.MustParseAddr("2001:db8::9"), UserAgent: "curl/8.5.0\x01"}
	if err := auth(svc, k.Key, other); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.LastUsedAt.Equal(first) || got.LastUsedFrom != "192.0.2.10" {
		t.Errorf("used again within the minute: recorded %v from %q", got.LastUsedAt, got.LastUsedFrom)
	}
	clk.Advance(31 * time.Second)
	if err := auth(svc, k.Key, other); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.LastUsedAt.Equal(clk.Now()) || got.LastUsedFrom != "2001:db8::9" || got.LastUsedAgent != "curl/8.5.0" {
		t.Errorf("a minute later: %v %q %q", got.LastUsedAt, got.LastUsedFrom, got.LastUsedAgent)
	}
}

func TestAccountPolicyBoundsKeyLifetimes(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	owner, admin := person(keyplane.RoleOwner), person(keyplane.RoleAdmin)
	in, k := newIntegration(t, svc, clk, 200*24*time.Hour)

	pol := keyplane.AccountPolicy{MaxKeyLifetime: 90 * 24 * time.Hour, NoticeDays: []int{3, 14, 3}}
	if _, _, err := svc.SetAccountPolicy(ctx, admin, pol); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("an Admin setting the policy: %v, want 403 (Owners only)", err)
	}
	for _, bad := range []keyplane.AccountPolicy{{MaxKeyLifetime: time.Hour}, {MaxKeyLifetime: 2 * 365 * 24 * time.Hour}, {NoticeDays: []int{0}}, {NoticeDays: []int{1, 2, 3, 4, 5, 6}}} {
		if _, _, err := svc.SetAccountPolicy(ctx, owner, bad); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
			t.Errorf("policy %+v: %v, want 400", bad, err)
		}
	}
	got, changed, err := svc.SetAccountPolicy(ctx, owner, pol)
	if err != nil || !changed || got.MaxKeyLifetime != pol.MaxKeyLifetime || len(got.NoticeDays) != 2 || got.NoticeDays[0] != 14 {
		t.Fatalf("setting the policy: %+v %v %v", got, changed, err)
	}
	if read, err := svc.AccountPolicy(ctx, person(keyplane.RoleViewer)); err != nil || read.MaxKeyLifetime != pol.MaxKeyLifetime {
		t.Errorf("a viewer reading the policy: %+v %v", read, err)
	}
	// Creation past the policy is refused, saying so; rolling gives the
	// new key at most the policy's lifetime.
	_, err = svc.CreateAPIKey(ctx, keyplane.Operator(1), in.ID, clk.Now().Add(91*24*time.Hour))
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid || !strings.Contains(err.Error(), "at most 90d") {
		t.Errorf("a key past the policy: %v", err)
	}
	g, _ := keyplane.ParseGrant("account:app:read")
	if _, _, err := svc.CreateIntegration(ctx, owner, "too long", []keyplane.Grant{g}, clk.Now().Add(100*24*time.Hour)); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Errorf("an integration whose key outlives the policy: %v", err)
	}
	_, nk, err := svc.RollAPIKey(ctx, keyplane.Operator(1), k.Key, time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if life := nk.ExpiresAt.Sub(clk.Now()); life != 90*24*time.Hour {
		t.Errorf("a key rolled from a 200-day key lives %v, want the policy's 90 days", life)
	}
	if _, _, err := svc.RollAPIKey(ctx, keyplane.Operator(1), nk.Key, time.Hour, clk.Now().Add(120*24*time.Hour)); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Errorf("a roll asking for more than the policy: %v", err)
	}
	if evs := events(t, svc, keyplane.EventAccountKeyPolicyChanged); len(evs) != 1 {
		t.Errorf("%d policy events, want 1", len(evs))
	}
}

// notifier records the notices it is told of.
type notifier struct {
	mu  sync.Mutex
	got []control.KeyNoticeOf
}

func (n *notifier) KeyNotice(_ context.Context, kn control.KeyNoticeOf) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, kn)
	return nil
}

func TestKeyNoticesAreGivenOncePerThreshold(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	dsn := testdb.DSN(t)
	// Two replicas on one database, each with its own notifier.
	var svcs []*control.Service
	var told []*notifier
	for range 2 {
		db, err := store.Open(context.Background(), dsn, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		n := &notifier{}
		svcs = append(svcs, control.New(db, control.Options{Now: clk.Now, Notifier: n}))
		told = append(told, n)
	}
	svc := svcs[0]
	ctx := context.Background()
	_, k := newIntegration(t, svc, clk, 20*24*time.Hour)
	give := func() int {
		t.Helper()
		var wg sync.WaitGroup
		ns := make([]int, len(svcs))
		for i, s := range svcs {
			wg.Go(func() {
				var err error
				if ns[i], err = s.GiveKeyNotices(ctx, keyplane.InstallOperator); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		return ns[0] + ns[1]
	}
	if _, err := svc.GiveKeyNotices(ctx, person(keyplane.RoleOwner)); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("a person running the notice job: %v, want 403", err)
	}
	if n := give(); n != 0 {
		t.Errorf("%d notices for a key with 20 days left and recent creation", n)
	}
	if err := auth(svc, k.Key, from); err != nil { // used: no disuse notice for 30 days
		t.Fatal(err)
	}
	clk.Advance(6 * 24 * time.Hour) // 14 days left
	if n := give(); n != 1 {
		t.Errorf("14 days before expiry, both replicas gave %d notices, want 1", n)
	}
	if n := give(); n != 0 {
		t.Errorf("again: %d notices, want 0", n)
	}
	ns, err := svc.KeyNotices(ctx, person(keyplane.RoleViewer))
	if err != nil || len(ns) != 1 || ns[0].Notice.Kind != keyplane.NoticeExpiry || ns[0].Notice.Threshold != 14 {
		t.Errorf("KeyNotices: %+v %v", ns, err)
	}
	clk.Advance(11*24*time.Hour + time.Hour) // under 3 days left
	if n := give(); n != 1 {
		t.Errorf("3 days before expiry: %d notices, want 1", n)
	}
	clk.Advance(2 * 24 * time.Hour) // under 1 day left
	if n := give(); n != 1 {
		t.Errorf("1 day before expiry: %d notices, want 1", n)
	}
	evs := events(t, svc, keyplane.EventApiKeyExpiryNotice, keyplane.EventApiKeyUnusedNotice)
	var thresholds []int
	for _, e := range evs {
		var v struct{ ThresholdDays int }
		json.Unmarshal(e.After, &v)
		thresholds = append(thresholds, v.ThresholdDays)
		if e.Actor != keyplane.SystemActor || e.TargetID != k.ID {
			t.Errorf("notice event by %+v about %d", e.Actor, e.TargetID)
		}
	}
	if len(thresholds) != 3 || thresholds[0] != 14 || thresholds[1] != 3 || thresholds[2] != 1 {
		t.Errorf("notices at thresholds %v, want [14 3 1]", thresholds)
	}
	if len(told[0].got)+len(told[1].got) != len(evs) {
		t.Errorf("the notifiers were told of %d+%d notices, the audit log holds %d", len(told[0].got), len(told[1].got), len(evs))
	}
}

func TestUnusedKeysGetANoticePerDisuse(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	_, k := newIntegration(t, svc, clk, 300*24*time.Hour)
	give := func() int {
		t.Helper()
		n, err := svc.GiveKeyNotices(ctx, keyplane.InstallOperator)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	clk.Advance(30*24*time.Hour - time.Minute)
	if n := give(); n != 0 {
		t.Errorf("29 days unused: %d notices", n)
	}
	clk.Advance(time.Minute)
	if n := give(); n != 1 {
		t.Errorf("30 days unused: %d notices, want 1", n)
	}
	if ns, _ := svc.KeyNotices(ctx, keyplane.Operator(1)); len(ns) != 1 || ns[0].Notice.Kind != keyplane.NoticeUnused {
		t.Errorf("KeyNotices: %+v", ns)
	}
	if err := auth(svc, k.Key, from); err != nil {
		t.Fatal(err)
	}
	if ns, _ := svc.KeyNotices(ctx, keyplane.Operator(1)); len(ns) != 0 {
		t.Errorf("KeyNotices after a use: %+v", ns)
	}
	clk.Advance(30 * 24 * time.Hour)
	if n := give(); n != 1 {
		t.Errorf("30 days unused again: %d notices, want 1", n)
	}
}
