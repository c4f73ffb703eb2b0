package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
)

// My Account lists the person's sessions, with the browser and address
// each was last used from, and signs out another one (which then is
// sent to sign in); an Owner signs a member out everywhere from the Users
// page.
func TestSessionsPage(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	e.user("member@example.com", keyplane.RoleViewer)
	desk, phone := e.client(), e.client()
	e.signIn(desk, "member@example.com")
	e.signIn(phone, "member@example.com")
	req, _ := http.NewRequest("GET", e.base+"/apps", nil)
	req.Header.Set("User-Agent", "Phone Browser/1.0")
	e.do(phone, req)

	page := e.get(desk, "/account")
	if !strings.Contains(page.body, "Phone Browser/1.0") || !strings.Contains(page.body, "This one") || !strings.Contains(page.body, "127.0.0.1") {
		t.Fatalf("My Account does not list both sessions:\n%s", page.body)
	}
	handles := regexp.MustCompile(`/account/sessions/([0-9a-f]{16})/end`).FindAllStringSubmatch(page.body, -1)
	if len(handles) != 1 {
		t.Fatalf("sign-out buttons: %v, want one (not for this session)", handles)
	}
	if r := e.post(desk, "/account/sessions/"+handles[0][1]+"/end", nil); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "done=session-ended") {
		t.Fatalf("signing the phone out: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.get(phone, "/apps"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("the phone after it was signed out: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.get(desk, "/apps"); r.status != http.StatusOK {
		t.Errorf("the desk after signing the phone out: %d", r.status)
	}

	owner := e.client()
	e.signIn(owner, "owner@example.com")
	users := e.get(owner, "/account/users")
	m := regexp.MustCompile(`/account/users/(\d+)/sessions/end`).FindAllStringSubmatch(users.body, -1)
	if len(m) != 1 {
		t.Fatalf("Users page sign-out buttons: %v, want the member's only", m)
	}
	if r := e.post(owner, "/account/users/"+m[0][1]+"/sessions/end", nil); r.status != http.StatusSeeOther {
		t.Fatalf("the Owner signing the member out: %d %s", r.status, r.body)
	}
	if r := e.get(desk, "/apps"); r.status != http.StatusSeeOther {
		t.Errorf("the member after the Owner signed them out: %d", r.status)
	}
	member := e.client()
	e.signIn(member, "member@example.com")
	if r := e.post(member, "/account/users/"+m[0][1]+"/sessions/end", nil); r.status != http.StatusForbidden {
		t.Errorf("a Viewer signing someone out: %d, want 403", r.status)
	}
}

// The Owner sets the account's session limits on the Users page, in
// minutes; wrong values are named and change nothing; a member sees them
// and cannot change them; the idle timeout ends an unused session.
func TestSessionLimitsForm(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	e.user("member@example.com", keyplane.RoleViewer)
	owner, member := e.client(), e.client()
	e.signIn(owner, "owner@example.com")
	e.signIn(member, "member@example.com")

	r := e.post(owner, "/account/users/session-limits", url.Values{"sessionIdleTimeout": {"2"}, "sessionLifetime": {"half a day"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "sessionIdleTimeout: a whole number of minutes from 5 to 720, or empty for none") ||
		!strings.Contains(r.body, "sessionLifetime: a whole number of minutes from 5 to 720") || !strings.Contains(r.body, `value="half a day"`) {
		t.Fatalf("wrong values: %d\n%s", r.status, r.body)
	}
	if p := e.get(owner, "/account/users"); !strings.Contains(p.body, `id="session-idle" name="sessionIdleTimeout" value=""`) {
		t.Fatalf("wrong values changed the limits:\n%s", p.body)
	}
	r = e.post(owner, "/account/users/session-limits", url.Values{"sessionIdleTimeout": {"30"}, "sessionLifetime": {"480"}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "done=session-limits-saved") {
		t.Fatalf("saving: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	if p := e.get(owner, "/account/users"); !strings.Contains(p.body, `value="30"`) || !strings.Contains(p.body, `value="480"`) {
		t.Errorf("the form does not show the saved limits")
	}
	if p := e.get(member, "/account/users"); !strings.Contains(p.body, "Sessions end after 30 minutes unused, and 480 minutes after signing in.") || strings.Contains(p.body, "/account/users/session-limits") {
		t.Errorf("a member's Users page:\n%s", p.body)
	}
	if r := e.post(member, "/account/users/session-limits", url.Values{"sessionIdleTimeout": {""}}); r.status != http.StatusForbidden {
		t.Errorf("a member setting the limits: %d", r.status)
	}
	// 31 minutes unused: the member's session has ended.
	e.clock.Advance(31 * time.Minute)
	if r := e.get(member, "/apps"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("a session unused past the idle timeout: %d %s", r.status, r.header.Get("Location"))
	}
}
