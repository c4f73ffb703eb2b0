package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// The Audit log page lists the account's events with who made them,
// filters by type and actor, pages with a cursor, shows a bad filter
// beside the field, and is open to every role (a Viewer reads it too).
func TestAuditLogPage(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	e.user("viewer@example.com", keyplane.RoleViewer)
	c := e.client()
	e.signIn(c, "owner@example.com")
	owner := mustSession(t, e, "owner@example.com")
	for i := range 52 {
		if _, err := e.svc.CreateApp(context.Background(), owner, fmt.Sprintf("app %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	rows := regexp.MustCompile(`<td>AppCreated</td>`)

	r := e.get(c, "/account/audit?type=AppCreated")
	if r.status != http.StatusOK || len(rows.FindAllString(r.body, -1)) != 50 || !strings.Contains(r.body, "owner@example.com <span class=\"muted\">(user") {
		t.Fatalf("page 1: %d, %d AppCreated rows", r.status, len(rows.FindAllString(r.body, -1)))
	}
	m := regexp.MustCompile(`href="/account/audit\?([^"]+)">Older events`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no next page link after 50 of 52 events")
	}
	r = e.get(c, "/account/audit?"+html.UnescapeString(m[1]))
	if r.status != http.StatusOK || len(rows.FindAllString(r.body, -1)) != 2 || strings.Contains(r.body, "Older events") {
		t.Errorf("page 2: %d, %d rows", r.status, len(rows.FindAllString(r.body, -1)))
	}
	// Filters: by type, and by actor.
	if r := e.get(c, "/account/audit?type=AppDeleted"); r.status != http.StatusOK || !strings.Contains(r.body, "No events match these filters") {
		t.Errorf("type=AppDeleted: %d", r.status)
	}
	if r := e.get(c, "/account/audit?actor=operator"); r.status != http.StatusOK || strings.Contains(r.body, "<td>AppCreated</td>") || !strings.Contains(r.body, "UserAccountAccessGranted") {
		t.Errorf("actor=operator: %d", r.status)
	}
	if r := e.get(c, fmt.Sprintf("/account/audit?actor=user/%d&type=AppCreated", owner.UserID)); r.status != http.StatusOK || len(rows.FindAllString(r.body, -1)) != 50 {
		t.Errorf("actor=user/%d: %d", owner.UserID, r.status)
	}
	if r := e.get(c, "/account/audit?actor=not+a+ref!"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "actor: want operator, system, user, user/ID, integration or integration/ID") || !strings.Contains(r.body, `aria-invalid="true"`) {
		t.Errorf("a bad actor filter: %d", r.status)
	}
	if r := e.get(c, "/account/audit?cursor=bogus"); r.status != http.StatusBadRequest {
		t.Errorf("a bad cursor: %d", r.status)
	}
	v := e.client()
	e.signIn(v, "viewer@example.com")
	if r := e.get(v, "/account/audit"); r.status != http.StatusOK || !strings.Contains(r.body, "AppCreated") {
		t.Errorf("the viewer's audit log: %d", r.status)
	}
	if r := e.get(e.client(), "/account/audit"); r.status != http.StatusSeeOther && r.status != http.StatusFound {
		t.Errorf("signed out: %d, want a redirect to sign in", r.status)
	}
}

// The log answers questions: newest first, a range of days, each target
// linked to its page, an event's own page showing the change before →
// after, and the filtered view exported as CSV and NDJSON.
func TestAuditLogAnswersQuestions(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	owner := mustSession(t, e, "owner@example.com")
	ctx := context.Background()
	old, _ := e.svc.CreateApp(ctx, owner, "Old app")
	day1 := e.clock.Now().UTC().Format("2006-01-02")
	e.clock.Advance(72 * time.Hour)
	day4 := e.clock.Now().UTC().Format("2006-01-02")
	k, _, _, err := e.svc.CreateKeyset(ctx, owner, control.NewKeyset{AppID: old.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateConfig(ctx, owner, k.ID, keyplane.ConfigPatch{Presence: &keyplane.PresencePatch{Interval: keyplane.Opt[int]{Set: true, V: 45}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RenameApp(ctx, owner, old.ID, "=Renamed"); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "owner@example.com")

	r := e.get(c, "/account/audit")
	types := regexp.MustCompile(`<td>([A-Za-z]+)</td>`).FindAllStringSubmatch(r.body, -1)
	// The sign-in that opened this page is the newest.
	if len(types) < 4 || types[0][1] != "SignInSucceeded" || types[1][1] != "AppRenamed" || types[2][1] != "KeysetConfigChanged" {
		t.Fatalf("not newest first: %v", types)
	}
	for _, want := range []string{`<a href="/apps/` + itoa(old.ID) + `">app ` + itoa(old.ID) + `</a>`, `<a href="/keysets/` + itoa(k.ID) + `">keyset ` + itoa(k.ID) + `</a>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the log lacks the link %s", want)
		}
	}
	// Day 4 alone: the keyset, its config and the rename, not the app made on day 1.
	r = e.get(c, "/account/audit?from="+day4+"&to="+day4)
	if strings.Contains(r.body, "<td>AppCreated</td>") || !strings.Contains(r.body, "<td>KeysetCreated</td>") {
		t.Errorf("from=to=day 4: %d", r.status)
	}
	if r = e.get(c, "/account/audit?from="+day1+"&to="+day1); !strings.Contains(r.body, "<td>AppCreated</td>") || strings.Contains(r.body, "<td>KeysetCreated</td>") {
		t.Errorf("from=to=day 1: %d", r.status)
	}
	if r = e.get(c, "/account/audit?from="+day4+"&to="+day1); r.status != http.StatusBadRequest || !strings.Contains(r.body, "to: must be on or after from") {
		t.Errorf("a range ending before it starts: %d", r.status)
	}
	if r = e.get(c, "/account/audit?from=yesterday"); r.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(r.body), `from: must be a date YYYY-MM-DD, not "yesterday"`) {
		t.Errorf("a bad date: %d", r.status)
	}

	// The config change's own page: before → after.
	r = e.get(c, "/account/audit?type=KeysetConfigChanged")
	m := regexp.MustCompile(`href="/account/audit/([0-9]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no link to the event's page")
	}
	r = e.get(c, "/account/audit/"+m[1])
	if r.status != http.StatusOK || !strings.Contains(r.body, `<tr><td><code>presence.interval</code></td><td><code>10</code></td><td><code>45</code></td></tr>`) ||
		!strings.Contains(r.body, `href="/keysets/`+itoa(k.ID)+`" id="event-target"`) {
		t.Errorf("the config change's page: %d", r.status)
	}
	for _, bad := range []string{"/account/audit/999", "/account/audit/0"} {
		if r := e.get(c, bad); r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, r.status)
		}
	}

	// Exports of the filtered view.
	r = e.get(c, "/account/audit/export?format=csv&type=AppRenamed")
	lines := strings.Split(strings.TrimSpace(r.body), "\n")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") ||
		len(lines) != 2 || !strings.HasPrefix(lines[0], "id,at,type,actor_type") || !strings.Contains(lines[1], ",AppRenamed,user,") {
		t.Errorf("CSV export: %d %q", r.status, r.body)
	}
	r = e.get(c, "/account/audit/export?format=ndjson&from="+day4)
	lines = strings.Split(strings.TrimSpace(r.body), "\n")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/x-ndjson" || len(lines) < 3 {
		t.Fatalf("NDJSON export: %d %q", r.status, r.body)
	}
	// Newest first: the sign-in that opened the page, then the rename.
	for i, want := range []string{"SignInSucceeded", "AppRenamed"} {
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil || line["type"] != want {
			t.Errorf("NDJSON's line %d %s: %v, want a %s", i+1, lines[i], err, want)
		}
	}
	if r := e.get(c, "/account/audit/export?format=xml"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "format: must be csv or ndjson") {
		t.Errorf("a bad format: %d", r.status)
	}
}
