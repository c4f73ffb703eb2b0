package portal_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

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
