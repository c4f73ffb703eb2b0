package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane"
)

type auditEventJSON struct {
	ID        string `json:"id"`
	AccountID string `json:"accountId"`
	At        string `json:"at"`
	Type      string `json:"type"`
	Actor     struct {
		Type      string  `json:"type"`
		ID        *string `json:"id"`
		Name      string  `json:"name"`
		KeyID     *string `json:"keyId"`
		Address   string  `json:"address"`
		UserAgent string  `json:"userAgent"`
	} `json:"actor"`
	Target struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"target"`
	Before   any    `json:"before"`
	After    any    `json:"after"`
	PrevHash string `json:"prevHash"`
	Hash     string `json:"hash"`
}

type auditList struct {
	Events     []auditEventJSON `json:"events"`
	NextCursor *string          `json:"nextCursor"`
}

// audit lists one page of audit events with query q as key.
func (e *env) audit(key string, q url.Values) auditList {
	e.t.Helper()
	var l auditList
	e.do("GET", "/v2/audit-events?"+q.Encode(), nil, as(key)).want(200).decode(&l)
	return l
}

// auditAll follows nextCursor to the end, limit events a page.
func (e *env) auditAll(key string, q url.Values, limit int) []auditEventJSON {
	e.t.Helper()
	q = cloneValues(q)
	q.Set("limit", strconv.Itoa(limit))
	var out []auditEventJSON
	for range 1000 {
		l := e.audit(key, q)
		if len(l.Events) > limit {
			e.t.Fatalf("a page of %d events, limit %d", len(l.Events), limit)
		}
		out = append(out, l.Events...)
		if l.NextCursor == nil {
			return out
		}
		if len(l.Events) != limit {
			e.t.Fatalf("a page of %d events before the last, want %d", len(l.Events), limit)
		}
		q.Set("cursor", *l.NextCursor)
	}
	e.t.Fatal("no last page after 1000 pages")
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func types(es []auditEventJSON) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

func ids(es []auditEventJSON) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// The audit-log route needs the Account-level Audit log row, shows only the
// caller's account, and filters by time, type, actor and target.
func TestAuditEventsFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("GET", "/v2/audit-events", nil).wantError(403, "missing permission: Account · Audit log · Read")
	auditor, auditorIn, _ := e.integration("auditor", "account:audit-log:read")
	start := e.clock.Now()

	e.clock.Advance(time.Minute)
	app := e.createApp("Telemedicine")
	ks := e.createKeyset(app.ID, "prod").Keyset.ID
	e.patchConfig(ks, `{"presence":{"interval":42}}`)
	e.clock.Advance(time.Minute)
	mid := e.clock.Now()
	e.do("PATCH", "/v2/apps/"+app.ID, map[string]any{"name": "Telehealth"}).want(200)
	e.do("DELETE", "/v2/keysets/"+ks, nil).want(200)
	// Another account's changes are never shown.
	_, otherKey := e.otherAccount()
	e.do("POST", "/v2/apps", map[string]any{"name": "not yours"}, as(otherKey)).want(201)

	all := e.audit(auditor, nil)
	wantAll := []string{
		"ServiceIntegrationCreated", "ApiKeyCreated", // newEnv's admin key
		"ServiceIntegrationCreated", "ApiKeyCreated", // the auditor
		"AppCreated", "KeysetCreated", "KeysetConfigChanged", "AppRenamed", "KeysetDeleted",
	}
	if diff := cmp.Diff(wantAll, types(all.Events)); diff != "" {
		t.Fatalf("all events (-want +got):\n%s", diff)
	}
	if all.NextCursor != nil {
		t.Errorf("nextCursor %q on the only page", *all.NextCursor)
	}
	adminID := strconv.FormatInt(e.admin.ID, 10)
	for i, ev := range all.Events {
		if ev.AccountID != strconv.FormatInt(e.account, 10) {
			t.Errorf("event %s of account %s", ev.ID, ev.AccountID)
		}
		if i > 0 {
			prevID, _ := strconv.Atoi(all.Events[i-1].ID)
			if id, _ := strconv.Atoi(ev.ID); id <= prevID {
				t.Errorf("event %s after %d: not oldest first", ev.ID, prevID)
			}
			if id, _ := strconv.Atoi(ev.ID); id == prevID+1 && ev.PrevHash != all.Events[i-1].Hash {
				t.Errorf("event %s prevHash %s, want %s", ev.ID, ev.PrevHash, all.Events[i-1].Hash)
			}
		}
	}
	created := all.Events[4]
	if created.Actor.Type != "integration" || created.Actor.ID == nil || *created.Actor.ID != adminID ||
		created.Actor.Name != "CI/CD Pipeline" || created.Actor.KeyID == nil || created.Target.Type != "app" ||
		created.Target.ID != app.ID || created.Before != nil || created.After.(map[string]any)["name"] != "Telemedicine" {
		t.Errorf("AppCreated = %+v", created)
	}
	if all.Events[0].Actor.Type != "operator" || all.Events[0].Actor.ID != nil {
		t.Errorf("first event actor %+v, want the operator", all.Events[0].Actor)
	}

	for _, tc := range []struct {
		name  string
		q     url.Values
		types []string
	}{
		{"one type", url.Values{"type": {"AppCreated"}}, []string{"AppCreated"}},
		{"types, comma-separated", url.Values{"type": {"AppCreated,AppRenamed"}}, []string{"AppCreated", "AppRenamed"}},
		{"types, repeated", url.Values{"type": {"KeysetDeleted", "ApiKeyCreated"}}, []string{"ApiKeyCreated", "ApiKeyCreated", "KeysetDeleted"}},
		{"a type no event has yet", url.Values{"type": {"AccountPartnerChanged"}}, nil},
		{"operator", url.Values{"actor": {"operator"}}, []string{"ServiceIntegrationCreated", "ApiKeyCreated", "ServiceIntegrationCreated", "ApiKeyCreated"}},
		{"an integration", url.Values{"actor": {"integration/" + adminID}}, wantAll[4:]},
		{"any integration", url.Values{"actor": {"integration"}}, wantAll[4:]},
		{"another integration", url.Values{"actor": {"integration/" + strconv.FormatInt(auditorIn.ID, 10)}}, nil},
		{"a keyset", url.Values{"target": {"keyset/" + ks}}, []string{"KeysetCreated", "KeysetConfigChanged", "KeysetDeleted"}},
		{"apps", url.Values{"target": {"app"}}, []string{"AppCreated", "AppRenamed"}},
		{"an integration target", url.Values{"target": {"integration/" + strconv.FormatInt(auditorIn.ID, 10)}}, []string{"ServiceIntegrationCreated"}},
		{"from", url.Values{"from": {iso(mid)}}, []string{"AppRenamed", "KeysetDeleted"}},
		{"to", url.Values{"to": {iso(mid)}}, wantAll[:7]},
		{"from and to", url.Values{"from": {iso(start.Add(time.Second))}, "to": {iso(mid)}}, []string{"AppCreated", "KeysetCreated", "KeysetConfigChanged"}},
		{"everything at once", url.Values{"from": {iso(start)}, "type": {"KeysetCreated,AppCreated"}, "actor": {"integration/" + adminID}, "target": {"keyset/" + ks}}, []string{"KeysetCreated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := types(e.audit(auditor, tc.q).Events)
			if diff := cmp.Diff(tc.types, got); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
		})
	}

	for _, tc := range []struct {
		q    string
		msgs []string
	}{
		{"from=yesterday", []string{"from: must be an ISO 8601 UTC time such as 2026-01-02T15:04:05.000Z"}},
		{"from=" + url.QueryEscape(iso(mid)) + "&to=" + url.QueryEscape(iso(mid)), []string{"to: must be after from"}},
		{"type=App+Created", []string{`type: "App Created" is not an event type; want one of ` + strings.Join(keyplane.EventTypes, ", ")}},
		{"actor=integration/x", []string{`actor: want operator, system, user, user/ID, integration or integration/ID, not "integration/x"`}},
		{"target=/12", []string{`target: want TYPE or TYPE/ID with TYPE one of account, api-key, app, customer, integration, invitation, keyset, user, webhook (e.g. keyset/12), not "/12"`}},
		{"limit=0", []string{"limit: must be a whole number from 1 to 100"}},
		{"limit=101&actor=", []string{`actor: want operator, system, user, user/ID, integration or integration/ID, not ""`, "limit: must be a whole number from 1 to 100"}},
		{"cursor=", []string{"cursor: empty; leave it out for the first page"}},
		{"cursor=bm90LWEtY3Vyc29y", []string{"cursor: not a cursor this server made; pass nextCursor as it was answered"}},
	} {
		e.do("GET", "/v2/audit-events?"+tc.q, nil, as(auditor)).wantError(400, tc.msgs...)
	}
	// The audit log is account-wide only: no narrower row gives it.
	appKey, _, _ := e.integration("app reader", "app/"+app.ID+":app:read")
	e.do("GET", "/v2/audit-events", nil, as(appKey)).wantError(403, "missing permission: Account · Audit log · Read")
}

// Cursor pages hold every event exactly once, in order, even while new
// events are recorded between pages; a cursor works only with its filters.
func TestAuditEventsPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auditor, _, _ := e.integration("auditor", "account:audit-log:read")
	for i := range 11 {
		e.createApp("app " + strconv.Itoa(i))
	}
	q := url.Values{"actor": {"integration/" + strconv.FormatInt(e.admin.ID, 10)}}
	whole := e.audit(auditor, url.Values{"actor": q["actor"], "limit": {"100"}}).Events
	if len(whole) != 11 {
		t.Fatalf("%d events, want 11", len(whole))
	}
	for _, limit := range []int{1, 3, 5, 11, 12} {
		if diff := cmp.Diff(ids(whole), ids(e.auditAll(auditor, q, limit))); diff != "" {
			t.Errorf("limit %d: pages differ from one list (-want +got):\n%s", limit, diff)
		}
	}
	// Default page size is 50.
	for range 40 {
		e.createApp("more")
	}
	l := e.audit(auditor, q)
	if len(l.Events) != 50 || l.NextCursor == nil {
		t.Fatalf("default page: %d events, next %v; want 50 and a cursor", len(l.Events), l.NextCursor)
	}

	// Events recorded between pages: no page repeats or skips one, and the
	// new ones come after (the order is the order of recording).
	q2 := cloneValues(q)
	q2.Set("limit", "20")
	first := e.audit(auditor, q2)
	e.createApp("during 1")
	e.createApp("during 2")
	q2.Set("cursor", *first.NextCursor)
	var rest []auditEventJSON
	for {
		p := e.audit(auditor, q2)
		rest = append(rest, p.Events...)
		if p.NextCursor == nil {
			break
		}
		q2.Set("cursor", *p.NextCursor)
		e.createApp("during paging")
	}
	got := append(first.Events, rest...)
	seen := map[string]bool{}
	for i, ev := range got {
		if seen[ev.ID] {
			t.Errorf("event %s twice", ev.ID)
		}
		seen[ev.ID] = true
		if i > 0 {
			a, _ := strconv.Atoi(got[i-1].ID)
			b, _ := strconv.Atoi(ev.ID)
			if b <= a {
				t.Errorf("event %s after %s", ev.ID, got[i-1].ID)
			}
		}
	}
	now := e.auditAll(auditor, q, 100)
	if diff := cmp.Diff(ids(now), ids(got)); diff != "" {
		t.Errorf("pages read while events were recorded differ from a list made afterwards (-want +got):\n%s", diff)
	}

	// A cursor belongs to its filters.
	other := url.Values{"type": {"AppCreated"}, "cursor": {*first.NextCursor}}
	e.do("GET", "/v2/audit-events?"+other.Encode(), nil, as(auditor)).
		wantError(400, "cursor: made for other filters; send the same from, to, type, actor and target as the first page")
	// Nor does a cursor carry over to another account.
	otherID, _ := e.otherAccount()
	_, k, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(otherID), "other auditor",
		grants(t, "account:audit-log:read"), e.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.remember(k.Key)
	e.do("GET", "/v2/audit-events?"+url.Values{"actor": q["actor"], "limit": {"20"}, "cursor": {*first.NextCursor}}.Encode(), nil, as(k.Key)).
		wantError(400, "cursor: made for other filters; send the same from, to, type, actor and target as the first page")
}

// Editing a stored event in the database is caught by the chain check
// (what `keyplane admin verify-audit` runs), on this run's engine; the API
// keeps serving the event as stored, with the hashes that expose it.
func TestAuditTamperingIsCaught(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auditor, _, _ := e.integration("auditor", "account:audit-log:read")
	app := e.createApp("Telemedicine")
	e.do("PATCH", "/v2/apps/"+app.ID, map[string]any{"name": "Telehealth"}).want(200)
	ctx := context.Background()
	v, err := e.svc.VerifyAudit(ctx)
	if err != nil || v.Break != nil || v.Events != 6 {
		t.Fatalf("untouched chain: %+v, %v; want 6 events intact", v, err)
	}
	renamed := e.audit(auditor, url.Values{"type": {"AppRenamed"}}).Events[0]
	if _, err := e.writableSQL().Exec(`UPDATE audit_events SET after = '{"id":1,"name":"Innocent"}' WHERE account_id = $1 AND seq = $2`, e.account, renamed.ID); err != nil {
		t.Fatal(err)
	}
	v, err = e.svc.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Break == nil || strconv.FormatInt(v.Break.EventID, 10) != renamed.ID {
		t.Fatalf("tampered chain: %+v, want a break at event %s", v, renamed.ID)
	}
	served := e.audit(auditor, url.Values{"type": {"AppRenamed"}}).Events[0]
	if served.After.(map[string]any)["name"] != "Innocent" || served.Hash != renamed.Hash {
		t.Errorf("served %+v; want the stored (tampered) row with its original hash", served)
	}
}

// Two accounts whose changes interleave each see ids 1, 2, 3, … of their
// own, and chains that start empty: nothing in an event, its hashes or a
// cursor tells one account how many events the other recorded. Each
// account's chain verifies on its own.
func TestAuditIDsAreEachAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auditor, _, _ := e.integration("auditor", "account:audit-log:read")
	otherID, otherKey := e.otherAccount()
	_, k, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(otherID), "other auditor",
		grants(t, "account:audit-log:read"), e.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.remember(k.Key)
	for i := range 6 {
		e.createApp(fmt.Sprintf("mine %d", i))
		if i%2 == 0 {
			e.do("POST", "/v2/apps", map[string]any{"name": fmt.Sprintf("theirs %d", i)}, as(otherKey)).want(201)
		}
	}
	for _, c := range []struct {
		key     string
		account int64
	}{{auditor, e.account}, {k.Key, otherID}} {
		events := e.auditAll(c.key, nil, 2)
		for i, ev := range events {
			if ev.ID != strconv.Itoa(i+1) || ev.AccountID != strconv.FormatInt(c.account, 10) {
				t.Errorf("account %d, event #%d: id %s of account %s", c.account, i+1, ev.ID, ev.AccountID)
			}
			prev := ""
			if i > 0 {
				prev = events[i-1].Hash
			}
			if ev.PrevHash != prev {
				t.Errorf("account %d, event %s: prevHash %.12s, want %.12s (its own account's event before)", c.account, ev.ID, ev.PrevHash, prev)
			}
		}
		// A cursor names the account's own position: after event 2 of it.
		first := e.audit(c.key, url.Values{"limit": {"2"}})
		rest := e.audit(c.key, url.Values{"limit": {"1"}, "cursor": {*first.NextCursor}})
		if len(rest.Events) != 1 || rest.Events[0].ID != "3" {
			t.Errorf("account %d: the page after the cursor of page 1 starts at %v, want event 3", c.account, rest.Events)
		}
	}
	v, err := e.svc.VerifyAudit(context.Background())
	if err != nil || v.Break != nil || len(v.Accounts) != 2 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
}

// Each change records where its request came from: the client's address
// and User-Agent, on the actor, covered by the event's hash.
func TestAuditRecordsWhereAChangeCameFrom(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auditor, _, _ := e.integration("auditor", "account:audit-log:read")
	e.do("POST", "/v2/apps", map[string]any{"name": "from a pipeline"}, header("User-Agent", "deploy-bot/2.1")).want(201)
	events := e.auditAll(auditor, url.Values{"type": {keyplane.EventAppCreated}}, 10)
	if len(events) != 1 {
		t.Fatalf("AppCreated events: %d", len(events))
	}
	if a := events[0].Actor; a.Address != "127.0.0.1" || a.UserAgent != "deploy-bot/2.1" {
		t.Errorf("the actor of the change: %+v, want 127.0.0.1 and deploy-bot/2.1", a)
	}
	if v, err := e.svc.VerifyAudit(context.Background()); err != nil || v.Break != nil {
		t.Fatalf("verify: %+v, %v", v, err)
	}
}
