package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// mustSession is the principal of a user, as the portal acts for them.
func mustSession(t *testing.T, e *env, email string) keyplane.Principal {
	t.Helper()
	us, err := e.svc.ListUsers(context.Background(), keyplane.Operator(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Email == email {
			return u.Principal()
		}
	}
	t.Fatalf("no user %s", email)
	return keyplane.Principal{}
}

// newEvilSite serves, on another origin, a page whose form posts to action.
func newEvilSite(t *testing.T, action string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>evil</title><form method="post" action="%s"><input name="name" value="evil"><button id="go">Win a prize</button></form>`, action)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestSessionCookieSignOutAndExpiry(t *testing.T) {
	e := newEnv(t)
	e.user("admin@example.com", keyplane.RoleAdmin)
	c := e.client()

	// Not signed in: every page sends to the sign-in page, coming back after.
	r := e.get(c, "/account/api-management")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Faccount%2Fapi-management" {
		t.Fatalf("signed out: %d %s", r.status, r.header.Get("Location"))
	}
	r = e.post(c, "/login", url.Values{"email": {"admin@example.com"}, "password": {password}, "next": {"/account/api-management"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/account/api-management" {
		t.Fatalf("sign in: %d %s", r.status, r.header.Get("Location"))
	}
	set := r.header.Get("Set-Cookie")
	for _, want := range []string{"keyplane_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("Set-Cookie %q is Secure over plain HTTP", set)
	}
	// Only a hash of the token is stored: the cookie's value finds no row by itself.
	token := strings.TrimPrefix(strings.Split(set, ";")[0], "keyplane_session=")
	if _, _, err := e.svc.Session(context.Background(), token); err != nil {
		t.Fatalf("the cookie's session: %v", err)
	}
	r = e.get(c, "/account/api-management")
	if r.status != http.StatusOK || !strings.Contains(r.body, "admin@example.com") {
		t.Fatalf("signed in: %d", r.status)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "script-src 'self'",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	} {
		if !strings.Contains(r.header.Get(h), want) {
			t.Errorf("%s: %q, want %q", h, r.header.Get(h), want)
		}
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "style=") || strings.Contains(r.body, " onclick") {
		t.Error("a page carries inline script or style, which the CSP forbids")
	}
	// An open redirect is not offered.
	c2 := e.client()
	r = e.post(c2, "/login", url.Values{"email": {"admin@example.com"}, "password": {password}, "next": {"//evil.example/"}})
	if r.header.Get("Location") != "/apps" {
		t.Errorf("next=//evil.example/ redirected to %q", r.header.Get("Location"))
	}

	// Signing out ends the session on the server, not only in the browser.
	if r = e.post(c, "/logout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if _, _, err := e.svc.Session(context.Background(), token); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("session after logout: %v", err)
	}
	if r = e.get(c, "/account"); r.status != http.StatusSeeOther {
		t.Errorf("after logout: %d", r.status)
	}

	// Sessions expire.
	e.signIn(c, "admin@example.com")
	e.clock.Advance(keyplane.SessionTTL)
	if r = e.get(c, "/account"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("after %v: %d %s", keyplane.SessionTTL, r.status, r.header.Get("Location"))
	}
}

func TestLoginThrottleSaysSo(t *testing.T) {
	e := newEnv(t)
	e.user("admin@example.com", keyplane.RoleAdmin)
	c := e.client()
	for range keyplane.MaxLoginFailuresUser {
		r := e.post(c, "/login", url.Values{"email": {"admin@example.com"}, "password": {"wrong password!!"}})
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "E-mail or password is wrong.") {
			t.Fatalf("wrong password: %d", r.status)
		}
	}
	r := e.post(c, "/login", url.Values{"email": {"admin@example.com"}, "password": {password}})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed sign-ins for this account. Wait 15 minutes") {
		t.Fatalf("throttled: %d %s", r.status, r.body)
	}
}

// A state-changing request marked cross-site by the browser is refused,
// session cookie or not; so is one whose Origin is another host.
func TestCrossOriginPostsRefused(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	c := e.client()
	e.signIn(c, "owner@example.com")
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"},
	} {
		r := e.post(c, "/apps", url.Values{"name": {"evil"}}, h...)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "sent from another site") {
			t.Errorf("POST with %s: %d", h, r.status)
		}
	}
	// Sign-in is protected too (login CSRF).
	r := e.post(e.client(), "/login", url.Values{"email": {"owner@example.com"}, "password": {password}}, "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d", r.status)
	}
	owner := mustSession(t, e, "owner@example.com")
	if _, total, _ := e.svc.ListApps(context.Background(), owner, keyplane.Page{Page: 1, Limit: 10}); total != 0 {
		t.Errorf("%d apps made by refused requests", total)
	}
	// The same request from the portal's own page works.
	if r := e.post(c, "/apps", url.Values{"name": {"mine"}}, "Sec-Fetch-Site", "same-origin"); r.status != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d", r.status)
	}
}

func TestUsersPage(t *testing.T) {
	e := newEnv(t)
	owner := e.user("owner@example.com", keyplane.RoleOwner)
	c := e.client()
	e.signIn(c, "owner@example.com")
	r := e.post(c, "/account/users", url.Values{"email": {"new@example.com"}, "role": {"viewer"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/account/users/shown?form=") {
		t.Fatalf("add user: %d %s", r.status, r.header.Get("Location"))
	}
	shown := r.header.Get("Location")
	if r = e.get(c, shown); r.status != http.StatusOK || !strings.Contains(r.body, "Copy this password now") {
		t.Fatalf("the generated password's page: %d", r.status)
	}
	i := strings.Index(r.body, `id="new-password" value="`)
	pw := r.body[i+len(`id="new-password" value="`):]
	pw = pw[:strings.IndexByte(pw, '"')]
	c2 := e.client()
	if r := e.post(c2, "/login", url.Values{"email": {"new@example.com"}, "password": {pw}}); r.status != http.StatusSeeOther {
		t.Fatalf("the generated password does not sign in: %d", r.status)
	}
	if r := e.get(c, shown); r.status != http.StatusGone || !strings.Contains(r.body, "can no longer be shown") || strings.Contains(r.body, pw) {
		t.Errorf("the generated password's page again: %d", r.status)
	}
	// Invalid input is shown beside its field and adds no one.
	r = e.post(c, "/account/users", url.Values{"email": {"not an address"}, "role": {"admin"}, "password": {"short"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "email: not an e-mail address") || !strings.Contains(r.body, "password: at least 12 characters") {
		t.Fatalf("invalid user: %d", r.status)
	}
	newU := mustSession(t, e, "new@example.com")
	if r := e.post(c, "/account/users/"+itoa(newU.UserID)+"/role", url.Values{"role": {"admin"}}); r.status != http.StatusSeeOther {
		t.Fatalf("change role: %d", r.status)
	}
	if p := mustSession(t, e, "new@example.com"); p.Role != keyplane.RoleAdmin {
		t.Fatalf("role now %s", p.Role)
	}
	if r := e.post(c, "/account/users/"+itoa(owner.ID)+"/remove", nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "cannot be removed") {
		t.Errorf("removing the Owner: %d", r.status)
	}
	if r := e.post(c, "/account/users/"+itoa(newU.UserID)+"/remove", nil); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
	if r := e.get(c2, "/account"); r.status != http.StatusSeeOther {
		t.Errorf("a removed user's session still works: %d", r.status)
	}
}

// Every Service Integration change the portal makes is audited with the
// user as actor.
func TestPortalChangesAreAuditedAsTheUser(t *testing.T) {
	e := newEnv(t)
	u := e.user("owner@example.com", keyplane.RoleOwner)
	c := e.client()
	e.signIn(c, "owner@example.com")
	r := e.post(c, "/account/api-management/new", url.Values{"name": {"ci"}, "perm": {"account:app:read"}, "target": {""}, "expiration": {"30"}, "action": {"create"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	if r := e.post(c, "/account/api-management/1/delete", nil); r.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.status)
	}
	events := auditEvents(t, e)
	var types []string
	for _, ev := range events {
		if ev.Type == keyplane.EventUserAccessGranted {
			continue // made by the operator in this test
		}
		types = append(types, ev.Type)
		if ev.Actor.Type != keyplane.ActorUser || ev.Actor.ID != u.ID || ev.Actor.Name != "owner@example.com" || ev.Actor.Role != keyplane.RoleOwner {
			t.Errorf("%s by %+v", ev.Type, ev.Actor)
		}
		// A change made in a session says where its request came from
		// (a sign-in says it in what it records).
		if ev.Type != keyplane.EventSignInSucceeded && (ev.Actor.Address != "127.0.0.1" || ev.Actor.UserAgent != "Go-http-client/1.1") {
			t.Errorf("%s from %q %q", ev.Type, ev.Actor.Address, ev.Actor.UserAgent)
		}
	}
	// The event's page says it too (the newest: the account's one
	// chain is numbered from 1).
	if page := e.get(c, "/account/audit/"+itoa(int64(len(events)))); !strings.Contains(page.body, `<dd id="event-from">127.0.0.1 <span class="muted">· Go-http-client/1.1</span></dd>`) {
		t.Errorf("the event's page does not say where the change came from:\n%s", page.body)
	}
	want := []string{keyplane.EventSignInSucceeded, keyplane.EventServiceIntegrationCreated, keyplane.EventApiKeyCreated, keyplane.EventApiKeyRevoked, keyplane.EventServiceIntegrationDeleted}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("events %v, want %v", types, want)
	}
}

func TestAppsAndKeysetsPages(t *testing.T) {
	e := newEnv(t)
	e.user("admin@example.com", keyplane.RoleAdmin)
	admin := mustSession(t, e, "admin@example.com")
	c := e.client()
	e.signIn(c, "admin@example.com")

	if r := e.post(c, "/apps", url.Values{"name": {"   "}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "name: required") {
		t.Fatalf("blank app name: %d", r.status)
	}
	r := e.post(c, "/apps", url.Values{"name": {"Telemedicine"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/apps/1" {
		t.Fatalf("create app: %d %s", r.status, r.header.Get("Location"))
	}
	e.post(c, "/apps", url.Values{"name": {"Gaming"}})
	if r := e.get(c, "/apps?q=tele"); !strings.Contains(r.body, "Telemedicine") || strings.Contains(r.body, "Gaming") {
		t.Errorf("search for tele: %s", r.body)
	}
	if r := e.post(c, "/apps/1/rename", url.Values{"name": {"Telehealth"}}); r.status != http.StatusSeeOther {
		t.Errorf("rename: %d", r.status)
	}
	r = e.post(c, "/apps/1/keysets", url.Values{"name": {"prod"}, "type": {"production"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/apps/1/keysets/shown?form=") {
		t.Fatalf("create keyset: %d %s", r.status, r.header.Get("Location"))
	}
	if r = e.get(c, r.header.Get("Location")); r.status != http.StatusOK || !strings.Contains(r.body, `id="new-secret" value="sec-c-`) || !strings.Contains(r.body, `badge production`) {
		t.Fatalf("the new keyset's page: %d", r.status)
	}
	if r := e.post(c, "/apps/1/keysets", url.Values{"type": {"staging"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "keyset.type: must be testing or production") {
		t.Errorf("bad keyset type: %d", r.status)
	}
	// An app with keysets is not deleted, and the page says why.
	if r := e.post(c, "/apps/1/delete", nil); r.status != http.StatusConflict || !strings.Contains(r.body, "still has keysets") {
		t.Errorf("deleting an app with keysets: %d", r.status)
	}
	ks, _, _ := e.svc.ListKeysets(context.Background(), admin, keyplane.Page{Page: 1, Limit: 10})
	k := itoa(ks[0].ID)
	before, _ := e.svc.ListSecretKeys(context.Background(), admin, ks[0].ID, false)
	r = e.post(c, "/keysets/"+k+"/rotate", url.Values{"keep": {"24h"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("rotate: %d", r.status)
	}
	if r = e.get(c, r.header.Get("Location")); r.status != http.StatusOK || !strings.Contains(r.body, `id="rotated-secret" value="sec-c-`) {
		t.Fatalf("the rotated key's page: %d", r.status)
	}
	after, _ := e.svc.ListSecretKeys(context.Background(), admin, ks[0].ID, false)
	if len(after) != 2 || after[1].Secret != before[0].Secret || after[1].ExpiresAt == nil {
		t.Errorf("after rotating with 24h: %+v", after)
	}
	if r := e.post(c, "/keysets/"+k, url.Values{"name": {"staging"}, "type": {"testing"}}); r.status != http.StatusSeeOther {
		t.Errorf("update keyset: %d", r.status)
	}
	if r := e.get(c, "/keysets/"+k); !strings.Contains(r.body, "staging") || !strings.Contains(r.body, "badge testing") {
		t.Errorf("keyset page after the update")
	}
	if r := e.post(c, "/keysets/"+k+"/delete", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/apps/1?done=keyset-deleted" {
		t.Errorf("delete keyset: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.post(c, "/apps/1/delete", nil); r.status != http.StatusSeeOther {
		t.Errorf("delete the emptied app: %d", r.status)
	}
	if r := e.get(c, "/apps/1"); r.status != http.StatusNotFound {
		t.Errorf("deleted app page: %d", r.status)
	}
	for _, path := range []string{"/apps/x", "/keysets/0", "/account/api-management/-1", "/nowhere"} {
		if r := e.get(c, path); r.status != http.StatusNotFound || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", path, r.status, r.header.Get("Content-Type"))
		}
	}
	// The API keeps its own JSON answers next to the portal.
	if r := e.get(c, "/v2/nowhere"); r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /v2/nowhere: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	e.user("viewer@example.com", keyplane.RoleViewer)
	c, other := e.client(), e.client()
	e.signIn(c, "viewer@example.com")
	e.signIn(other, "viewer@example.com")
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"current": {"wrong password!!"}, "password": {"a new password here"}, "confirm": {"a new password here"}}, "current: not your current password"},
		{url.Values{"current": {password}, "password": {"short"}, "confirm": {"short"}}, "password: at least 12 characters"},
		{url.Values{"current": {password}, "password": {"a new password here"}, "confirm": {"something else"}}, "confirm: the two new passwords differ"},
	} {
		if r := e.post(c, "/account/password", tc.form); r.status != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("%v: %d, want 400 saying %q", tc.form, r.status, tc.want)
		}
	}
	r := e.post(c, "/account/password", url.Values{"current": {password}, "password": {"a new password here"}, "confirm": {"a new password here"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	if r := e.get(c, "/account"); r.status != http.StatusOK || !strings.Contains(r.body, "Change password") {
		t.Errorf("the changing session: %d", r.status)
	}
	if r := e.get(other, "/account"); r.status != http.StatusSeeOther {
		t.Errorf("the other session after a password change: %d", r.status)
	}
	if r := e.post(e.client(), "/login", url.Values{"email": {"viewer@example.com"}, "password": {password}}); r.status != http.StatusUnauthorized {
		t.Errorf("the old password: %d", r.status)
	}
	if r := e.post(e.client(), "/login", url.Values{"email": {"viewer@example.com"}, "password": {"a new password here"}}); r.status != http.StatusSeeOther {
		t.Errorf("the new password: %d", r.status)
	}
}
