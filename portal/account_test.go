package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
)

func accountName(t *testing.T, e *env) string {
	t.Helper()
	a, err := e.svc.Account(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return a.Name
}

// The setup page asks for the account's name, showing the name it keeps
// when left empty; a bad name is shown beside its field and nothing is
// made; a good one names the account.
func TestSetupNamesTheAccount(t *testing.T) {
	e := newEnv(t)
	if e.setup == "" {
		t.Fatal("no setup link on a fresh install")
	}
	link := strings.TrimPrefix(e.setup, e.base)
	c := e.client()
	r := e.get(c, link)
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="account"`) || !strings.Contains(r.body, `placeholder="Default account"`) {
		t.Fatalf("setup page: %d, want an account field keeping Default account", r.status)
	}
	token, _ := url.Parse(e.setup)
	form := url.Values{"token": {token.Query().Get("token")}, "email": {"founder@example.com"},
		"password": {password}, "confirm": {password}, "account": {"Acme\u200b"}}
	r = e.post(c, "/setup", form)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "account: must not contain invisible") {
		t.Fatalf("setup with a bad account name: %d, want 400 with the field's error", r.status)
	}
	if us, _ := e.svc.ListUsers(context.Background(), keyplane.Operator(1)); len(us) != 0 {
		t.Fatalf("a refused setup made users %+v", us)
	}
	form.Set("account", "Acme")
	if r = e.post(c, "/setup", form); r.status != http.StatusSeeOther {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	if got := accountName(t, e); got != "Acme" {
		t.Errorf("account named %q after setup, want Acme", got)
	}
	if r = e.get(c, "/account"); r.status != http.StatusOK || !strings.Contains(r.body, "Acme (account 1)") {
		t.Errorf("My Account after setup: %d, want it to name Acme", r.status)
	}
}

// An Owner renames the account on My Account (Post/Redirect/Get, the form
// acting once); an Account Admin or Viewer is not offered the form, and
// sending it anyway is refused with 403 by the operation.
func TestOwnerRenamesTheAccount(t *testing.T) {
	e := newEnv(t)
	for _, u := range []struct {
		email string
		role  keyplane.Role
	}{{"owner@example.com", keyplane.RoleOwner}, {"admin@example.com", keyplane.RoleAdmin}, {"viewer@example.com", keyplane.RoleViewer}} {
		e.user(u.email, u.role)
	}
	owner := e.client()
	e.signIn(owner, "owner@example.com")
	r := e.get(owner, "/account")
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="/account/name"`) || !strings.Contains(r.body, `value="Default account"`) {
		t.Fatalf("the Owner's My Account: %d, want the rename form", r.status)
	}
	form := url.Values{"name": {"Initech"}, "form": {formToken()}}
	r = e.post(owner, "/account/name", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/account?done=account-renamed" {
		t.Fatalf("rename: %d %s", r.status, r.header.Get("Location"))
	}
	if got := accountName(t, e); got != "Initech" {
		t.Fatalf("account named %q, want Initech", got)
	}
	// Sent again (a reload): answered as the first, not run again.
	e.svc.RenameAccount(context.Background(), keyplane.Operator(1), 1, "Renamed meanwhile")
	if r = e.post(owner, "/account/name", form); r.status != http.StatusSeeOther || accountName(t, e) != "Renamed meanwhile" {
		t.Errorf("the same form again: %d, account %q; want the first answer and no second rename", r.status, accountName(t, e))
	}
	if r = e.get(owner, "/account?done=account-renamed"); !strings.Contains(r.body, "The account was renamed.") || !strings.Contains(r.body, "Renamed meanwhile (account 1)") {
		t.Errorf("after the redirect: %d, want the confirmation and the new name", r.status)
	}
	r = e.post(owner, "/account/name", url.Values{"name": {"   "}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "name: required") {
		t.Errorf("an empty name: %d, want 400 saying name: required", r.status)
	}
	renames := 0
	for _, ev := range auditEvents(t, e) {
		if ev.Type == keyplane.EventAccountRenamed && ev.Actor.Type == keyplane.ActorUser {
			renames++
		}
	}
	if renames != 1 {
		t.Errorf("%d renames recorded as the Owner's, want 1", renames)
	}

	for _, email := range []string{"admin@example.com", "viewer@example.com"} {
		c := e.client()
		e.signIn(c, email)
		if r := e.get(c, "/account"); r.status != http.StatusOK || strings.Contains(r.body, `action="/account/name"`) {
			t.Errorf("%s's My Account: %d, offers the rename form", email, r.status)
		}
		if r := e.post(c, "/account/name", url.Values{"name": {"Taken over"}}); r.status != http.StatusForbidden || !strings.Contains(r.body, "only the account&#39;s Owner renames the account") {
			t.Errorf("%s renames: %d, want 403 saying only the Owner may", email, r.status)
		}
	}
	if got := accountName(t, e); got != "Renamed meanwhile" {
		t.Errorf("account named %q after refused renames", got)
	}
}

// A disabled account's people: a session stops working at its next
// request, with a page saying why, and signing in is refused with the
// reason; enabling brings the same session back.
func TestDisabledAccountInPortal(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	c := e.client()
	e.signIn(c, "owner@example.com")
	ctx := context.Background()
	if _, _, err := e.svc.SetAccountDisabled(ctx, keyplane.Operator(1), 1, true); err != nil {
		t.Fatal(err)
	}
	if r := e.get(c, "/apps"); r.status != http.StatusForbidden || !strings.Contains(r.body, "account 1 is disabled") {
		t.Errorf("a session of a disabled account: %d, want 403 naming the reason", r.status)
	}
	r := e.post(e.client(), "/login", url.Values{"email": {"owner@example.com"}, "password": {password}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "account 1 is disabled") || r.header.Get("Set-Cookie") != "" {
		t.Errorf("signing in to a disabled account: %d %q, want 403 naming the reason and no session", r.status, r.header.Get("Set-Cookie"))
	}
	if _, _, err := e.svc.SetAccountDisabled(ctx, keyplane.Operator(1), 1, false); err != nil {
		t.Fatal(err)
	}
	if r := e.get(c, "/apps"); r.status != http.StatusOK {
		t.Errorf("the session after enabling: %d", r.status)
	}
}
