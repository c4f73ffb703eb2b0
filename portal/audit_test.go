package portal_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
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
	m := regexp.MustCompile(`href="/account/audit\?([^"]+)">Next page`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no next page link after 50 of 52 events")
	}
	r = e.get(c, "/account/audit?"+html.UnescapeString(m[1]))
	if r.status != http.StatusOK || len(rows.FindAllString(r.body, -1)) != 2 || strings.Contains(r.body, "Next page") {
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
