package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
)

// The audit log through the client: one page and its cursor, the iterator
// following the cursor (events recorded during the walk included), each
// filter, the objects before and after, and the refusals.
func TestAuditEvents(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx := context.Background()
	grants := append(slices.Clone(fullAccess), "account:audit-log:read")
	c := s.client(grants, client.WithPageSize(2))

	me, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := s.clock.Now()
	app, err := c.CreateApp(ctx, "Telemedicine")
	if err != nil {
		t.Fatal(err)
	}
	var keysets []string
	for range 3 {
		k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID})
		if err != nil {
			t.Fatal(err)
		}
		keysets = append(keysets, k.Keyset.ID)
	}
	s.clock.Advance(time.Hour)
	renamedAt := s.clock.Now()
	if _, err := c.RenameApp(ctx, app.ID, "Telehealth"); err != nil {
		t.Fatal(err)
	}

	// One page of two, then the rest by the cursor, by hand.
	p, err := c.ListAuditEvents(ctx, client.AuditFilter{Limit: 2}, "")
	if err != nil {
		t.Fatalf("ListAuditEvents: %v", err)
	}
	if len(p.Events) != 2 || p.NextCursor == "" {
		t.Fatalf("first page = %+v, want 2 events and a cursor", p)
	}
	byHand := slices.Clone(p.Events)
	for cursor := p.NextCursor; cursor != ""; {
		p, err := c.ListAuditEvents(ctx, client.AuditFilter{Limit: 2}, cursor)
		if err != nil {
			t.Fatalf("ListAuditEvents(cursor): %v", err)
		}
		byHand = append(byHand, p.Events...)
		cursor = p.NextCursor
	}
	var types []string
	for i, e := range byHand {
		types = append(types, e.Type)
		if i > 0 {
			prev, _ := strconv.Atoi(byHand[i-1].ID)
			this, _ := strconv.Atoi(e.ID)
			if this <= prev || e.PrevHash == "" {
				t.Errorf("event %d (%s) follows %d: want ids growing, chained", this, e.Type, prev)
			}
		}
		if e.AccountID != me.AccountID || len(e.Hash) != 64 || e.At.IsZero() {
			t.Errorf("event %+v: want the account %s, a hash and a time", e, me.AccountID)
		}
	}
	want := []string{keyplane.EventServiceIntegrationCreated, keyplane.EventApiKeyCreated, keyplane.EventAppCreated,
		keyplane.EventKeysetCreated, keyplane.EventKeysetCreated, keyplane.EventKeysetCreated, keyplane.EventAppRenamed}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Fatalf("events by hand (-want +got):\n%s", diff)
	}

	// The iterator walks the same pages of two (WithPageSize), and yields
	// what is recorded while it walks.
	var walked []client.AuditEvent
	for e, err := range c.AuditEvents(ctx, client.AuditFilter{}) {
		if err != nil {
			t.Fatalf("AuditEvents: %v", err)
		}
		walked = append(walked, e)
		if len(walked) == 3 {
			s.clock.Advance(time.Minute)
			if _, err := c.CreateApp(ctx, "made during the walk"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(walked) != len(byHand)+1 || walked[len(walked)-1].Type != keyplane.EventAppCreated {
		t.Fatalf("AuditEvents walked %d events, want the %d of before and the app made during the walk", len(walked), len(byHand))
	}
	if diff := cmp.Diff(byHand, walked[:len(byHand)]); diff != "" {
		t.Errorf("AuditEvents differs from the pages by hand (-hand +iterator):\n%s", diff)
	}

	// Before and after: nil for a creation's before, the objects otherwise.
	created, renamed := byHand[2], byHand[6]
	if created.Before != nil || !strings.Contains(string(created.After), `"Telemedicine"`) {
		t.Errorf("AppCreated before %s after %s", created.Before, created.After)
	}
	if !strings.Contains(string(renamed.Before), `"Telemedicine"`) || !strings.Contains(string(renamed.After), `"Telehealth"`) {
		t.Errorf("AppRenamed before %s after %s", renamed.Before, renamed.After)
	}
	var after map[string]any
	if err := json.Unmarshal(renamed.After, &after); err != nil {
		t.Errorf("AppRenamed after is not JSON: %v", err)
	}
	if renamed.Target != (client.AuditTarget{Type: "app", ID: app.ID}) || renamed.Actor.Type != "integration" ||
		renamed.Actor.ID == nil || *renamed.Actor.ID != me.Integration.ID || renamed.Actor.KeyID == nil || *renamed.Actor.KeyID != me.Key.ID {
		t.Errorf("AppRenamed target %+v actor %+v, want app %s by integration %s with key %s", renamed.Target, renamed.Actor, app.ID, me.Integration.ID, me.Key.ID)
	}

	// Filters.
	all := func(f client.AuditFilter) []string {
		t.Helper()
		var out []string
		for e, err := range c.AuditEvents(ctx, f) {
			if err != nil {
				t.Fatalf("AuditEvents(%+v): %v", f, err)
			}
			out = append(out, e.Type+" "+e.Target.Type+"/"+e.Target.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    client.AuditFilter
		want []string
	}{
		{"types", client.AuditFilter{Types: []string{"KeysetCreated"}},
			[]string{"KeysetCreated keyset/" + keysets[0], "KeysetCreated keyset/" + keysets[1], "KeysetCreated keyset/" + keysets[2]}},
		{"two types", client.AuditFilter{Types: []string{"AppRenamed", "ApiKeyCreated"}},
			[]string{"ApiKeyCreated api-key/" + me.Key.ID, "AppRenamed app/" + app.ID}},
		{"target", client.AuditFilter{Target: "app/" + app.ID}, []string{"AppCreated app/" + app.ID, "AppRenamed app/" + app.ID}},
		{"actor operator", client.AuditFilter{Actor: "operator"},
			[]string{"ServiceIntegrationCreated integration/" + me.Integration.ID, "ApiKeyCreated api-key/" + me.Key.ID}},
		{"from and to", client.AuditFilter{From: renamedAt, To: renamedAt.Add(time.Millisecond)}, []string{"AppRenamed app/" + app.ID}},
		{"to", client.AuditFilter{To: start.Add(time.Millisecond), Actor: "integration/" + me.Integration.ID, Limit: 1},
			[]string{"AppCreated app/" + app.ID, "KeysetCreated keyset/" + keysets[0], "KeysetCreated keyset/" + keysets[1], "KeysetCreated keyset/" + keysets[2]}},
	} {
		if diff := cmp.Diff(tc.want, all(tc.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	// A cursor belongs to its filter.
	p, err = c.ListAuditEvents(ctx, client.AuditFilter{Types: []string{"KeysetCreated"}, Limit: 1}, "")
	if err != nil || p.NextCursor == "" {
		t.Fatalf("ListAuditEvents(KeysetCreated, 1) = %+v, %v", p, err)
	}
	_, err = c.ListAuditEvents(ctx, client.AuditFilter{Limit: 1}, p.NextCursor)
	if client.StatusCode(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "cursor") {
		t.Errorf("a cursor with another filter: %v, want a 400 naming the cursor", err)
	}
	_, err = c.ListAuditEvents(ctx, client.AuditFilter{Actor: "nobody!"}, "")
	if client.StatusCode(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "actor") {
		t.Errorf("a bad actor filter: %v, want a 400 naming actor", err)
	}
	// The iterator ends with the error, once.
	n := 0
	for _, err := range s.client(nil).AuditEvents(ctx, client.AuditFilter{}) {
		n++
		if client.StatusCode(err) != http.StatusForbidden || !strings.Contains(err.Error(), "Audit log") {
			t.Errorf("AuditEvents without the row: %v, want 403 naming the Audit log row", err)
		}
	}
	if n != 1 {
		t.Errorf("AuditEvents without the row yielded %d pairs, want the error alone", n)
	}
}

// Me and both forms of the authorization check, for a key with rows at
// each level.
func TestMeAndCheckAuthz(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx := context.Background()
	admin := s.client(nil)
	app, err := admin.CreateApp(ctx, "Alpha")
	if err != nil {
		t.Fatal(err)
	}
	other, err := admin.CreateApp(ctx, "Beta")
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID, Name: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	ks := k.Keyset.ID
	key := s.key("app/"+app.ID+":app:read", "keyset/"+ks+":keyset:rw")
	c, err := client.New(s.base, key)
	if err != nil {
		t.Fatal(err)
	}

	me, err := c.Me(ctx)
	if err != nil {
		t.Fatalf("Me: %v", err)
	}
	if me.AccountID != strconv.FormatInt(s.account, 10) || me.Partner || me.Integration.ID == "" || !strings.HasPrefix(me.Integration.Name, "client test") {
		t.Errorf("Me account %s partner %v integration %+v", me.AccountID, me.Partner, me.Integration)
	}
	if !strings.HasPrefix(key, me.Key.Prefix) || len(me.Key.Prefix) < 8 || strings.Contains(me.Key.Prefix, key) ||
		!me.Key.ExpiresAt.Equal(ms(s.clock.Now().Add(30*24*time.Hour))) || me.Key.CreatedAt.IsZero() {
		t.Errorf("Me key %+v: want the key's shown prefix and its expiry", me.Key)
	}
	var rows []string
	for _, r := range me.Permissions {
		rows = append(rows, r.Grant+" = "+r.Label)
	}
	wantRows := []string{"app/" + app.ID + ":app:read = App " + app.ID + " · App · Read", "keyset/" + ks + ":keyset:read-write = Keyset " + ks + " · Keyset · Read & write"}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("Me permissions (-want +got):\n%s", diff)
	}
	if r := me.Permissions[1]; r.Level != "keyset" || r.TargetID == nil || *r.TargetID != ks || r.Resource != "keyset" || r.Access != "read-write" {
		t.Errorf("Me permission row %+v", r)
	}
	if len(me.Access.Account) != 0 {
		t.Errorf("Me account access %v, want none", me.Access.Account)
	}
	if len(me.Access.Apps) != 1 || me.Access.Apps[0].ID != app.ID || me.Access.Apps[0].Name == nil || *me.Access.Apps[0].Name != "Alpha" ||
		me.Access.Apps[0].Access["app"] != "read" {
		t.Errorf("Me apps %+v, want Alpha (readable, so named) alone", me.Access.Apps)
	}
	if len(me.Access.Keysets) != 1 || me.Access.Keysets[0].ID != ks || me.Access.Keysets[0].AppID != app.ID ||
		me.Access.Keysets[0].Access["keyset"] != "read-write" || me.Access.Keysets[0].Name == nil || *me.Access.Keysets[0].Name != "prod" {
		t.Errorf("Me keysets %+v", me.Access.Keysets)
	}

	// By action and target: granted, with the row that grants it, in the
	// keyset's own app.
	a, err := c.CheckAuthz(ctx, "updateKeysetConfig", client.AuthzTarget{KeysetID: ks})
	if err != nil {
		t.Fatalf("CheckAuthz: %v", err)
	}
	wantA := client.AuthzAnswer{
		Allowed: true, Action: "updateKeysetConfig", Method: "PATCH", Path: "/v2/keysets/{keysetId}/config",
		Target:  client.AuthzTarget{AppID: app.ID, KeysetID: ks},
		Checks:  []client.PermissionCheck{{Resource: "keyset", Access: "write", Allowed: true, GrantedBy: &me.Permissions[1]}},
		Reasons: []string{},
	}
	if diff := cmp.Diff(wantA, a); diff != "" {
		t.Errorf("CheckAuthz(updateKeysetConfig) (-want +got):\n%s", diff)
	}
	// By method and path: refused, with the missing row and the 403's words.
	a, err = c.CheckAuthzRequest(ctx, "DELETE", "/v2/apps/"+other.ID)
	if err != nil {
		t.Fatalf("CheckAuthzRequest: %v", err)
	}
	if a.Allowed || a.Action != "deleteApp" || a.Target.AppID != other.ID || a.Target.KeysetID != "" || len(a.Checks) != 1 ||
		a.Checks[0].Missing == nil || a.Checks[0].Missing.Grant != "app/"+other.ID+":app:read-write" || a.Checks[0].GrantedBy != nil {
		t.Errorf("CheckAuthzRequest(DELETE other app) = %+v", a)
	}
	_, derr := c.CreateApp(ctx, "x") // what the operation itself says
	a, err = c.CheckAuthz(ctx, "createApp", client.AuthzTarget{})
	var ce *client.Error
	if err != nil || a.Allowed || !errors.As(derr, &ce) || !slices.Equal(a.Reasons, ce.Messages) {
		t.Errorf("CheckAuthz(createApp) = %+v, %v; want refused with the 403's messages %v", a, err, derr)
	}
	// Questions the server cannot answer.
	if _, err := c.CheckAuthz(ctx, "frobnicate", client.AuthzTarget{}); client.StatusCode(err) != http.StatusBadRequest {
		t.Errorf("CheckAuthz(frobnicate): %v, want 400", err)
	}
	if _, err := c.CheckAuthzRequest(ctx, "PATCH", "/v2/nowhere"); client.StatusCode(err) != http.StatusBadRequest {
		t.Errorf("CheckAuthzRequest(PATCH /v2/nowhere): %v, want 400", err)
	}
}

// Every OEM customer method, in a partner account, and the refusals of an
// account that is not one.
func TestCustomers(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx := context.Background()
	admin := s.client(nil)
	oem := s.client([]string{"account:oem-customer:rw"})

	if _, err := oem.ListCustomers(ctx, ""); client.StatusCode(err) != http.StatusForbidden || !strings.Contains(err.Error(), "partner") {
		t.Fatalf("ListCustomers before enrolment: %v, want 403 saying partner", err)
	}
	if _, err := s.svc.SetPartner(ctx, keyplane.Operator(s.account), s.account, true); err != nil {
		t.Fatal(err)
	}
	app, err := admin.CreateApp(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	other, err := admin.CreateApp(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, a := range []string{app.ID, app.ID, other.ID} {
		k, err := admin.CreateKeyset(ctx, client.NewKeyset{AppID: a})
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k.Keyset.ID)
	}

	cu, err := oem.CreateCustomer(ctx, client.NewCustomer{ExternalID: "acme-1", Name: "Acme", KeysetIDs: []string{ks[0]}})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	now := ms(s.clock.Now())
	if cu.ID == "" || cu.ExternalID != "acme-1" || cu.Name != "Acme" || !cu.Created.Equal(now) ||
		!cmp.Equal(cu.Keysets, []client.CustomerKeyset{{ID: ks[0], AssignedAt: client.Time{Time: now}}}) {
		t.Errorf("CreateCustomer = %+v", cu)
	}
	got, err := oem.GetCustomer(ctx, cu.ID)
	if err != nil || !cmp.Equal(got, cu) {
		t.Errorf("GetCustomer = %+v, %v; want %+v", got, err, cu)
	}
	s.clock.Advance(time.Minute)
	later := ms(s.clock.Now())
	r, err := oem.RenameCustomer(ctx, cu.ID, "Acme Corp")
	if err != nil || r.Name != "Acme Corp" || r.ExternalID != "acme-1" || !r.Updated.Equal(later) || !r.Created.Equal(cu.Created.Time) {
		t.Errorf("RenameCustomer = %+v, %v", r, err)
	}
	as, err := oem.AssignCustomerKeysets(ctx, cu.ID, ks[2], ks[0])
	if err != nil {
		t.Fatalf("AssignCustomerKeysets: %v", err)
	}
	wantKs := []client.CustomerKeyset{{ID: ks[0], AssignedAt: client.Time{Time: now}}, {ID: ks[2], AssignedAt: client.Time{Time: later}}}
	if diff := cmp.Diff(wantKs, as.Keysets); diff != "" {
		t.Errorf("AssignCustomerKeysets keysets (-want +got):\n%s", diff)
	}

	list, err := oem.ListCustomers(ctx, "")
	if err != nil || len(list) != 1 || list[0].ID != cu.ID || list[0].Name != "Acme Corp" || list[0].KeysetCount != 2 || list[0].AppCount != 2 {
		t.Errorf("ListCustomers = %+v, %v", list, err)
	}
	if l, err := oem.ListCustomers(ctx, other.ID); err != nil || len(l) != 1 {
		t.Errorf("ListCustomers(app %s) = %+v, %v; want the customer", other.ID, l, err)
	}
	third, err := admin.CreateApp(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := oem.ListCustomers(ctx, third.ID); err != nil || l == nil || len(l) != 0 {
		t.Errorf("ListCustomers(an app without customers) = %#v, %v; want an empty list", l, err)
	}
	apps, err := oem.CustomerApps(ctx, cu.ID)
	acct := strconv.FormatInt(s.account, 10)
	if err != nil || !cmp.Equal(apps, []client.CustomerApp{{ID: app.ID, AccountID: acct}, {ID: other.ID, AccountID: acct}}) {
		t.Errorf("CustomerApps = %+v, %v", apps, err)
	}
	kl, err := oem.CustomerKeysets(ctx, cu.ID, "")
	if err != nil || !cmp.Equal(kl, wantKs) {
		t.Errorf("CustomerKeysets = %+v, %v", kl, err)
	}
	kl, err = oem.CustomerKeysets(ctx, cu.ID, other.ID)
	if err != nil || !cmp.Equal(kl, wantKs[1:]) {
		t.Errorf("CustomerKeysets(app %s) = %+v, %v", other.ID, kl, err)
	}
	owner, err := oem.KeysetCustomer(ctx, ks[2])
	if err != nil || owner.ID != cu.ID || owner.Name != "Acme Corp" || owner.Keysets != nil {
		t.Errorf("KeysetCustomer = %+v, %v; want the customer without keysets", owner, err)
	}

	// Refusals: a keyset of no customer, one of another customer (nothing
	// made), an unknown customer, an id that is no number (never sent).
	if _, err := oem.KeysetCustomer(ctx, ks[1]); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("KeysetCustomer of an unassigned keyset: %v, want 404", err)
	}
	if _, err := oem.CreateCustomer(ctx, client.NewCustomer{ExternalID: "beta", Name: "Beta", KeysetIDs: []string{ks[1], ks[0]}}); client.StatusCode(err) != http.StatusConflict {
		t.Errorf("CreateCustomer with another customer's keyset: %v, want 409", err)
	}
	if l, _ := oem.ListCustomers(ctx, ""); len(l) != 1 {
		t.Errorf("after a refused creation: %d customers, want 1", len(l))
	}
	if _, err := oem.GetCustomer(ctx, "999999"); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("GetCustomer(999999): %v, want 404", err)
	}
	if _, err := oem.CreateCustomer(ctx, client.NewCustomer{ExternalID: "acme-1", Name: "Again"}); client.StatusCode(err) != http.StatusConflict {
		t.Errorf("CreateCustomer with a repeated externalId: %v, want 409", err)
	}
	if _, err := oem.AssignCustomerKeysets(ctx, cu.ID, "x"); err == nil || client.StatusCode(err) != 0 || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("AssignCustomerKeysets(x): %v, want a local error naming it", err)
	}
	reader := s.client([]string{"account:oem-customer:read"})
	if _, err := reader.RenameCustomer(ctx, cu.ID, "no"); client.StatusCode(err) != http.StatusForbidden {
		t.Errorf("RenameCustomer with a read row: %v, want 403", err)
	}
}
