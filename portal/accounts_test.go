package portal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
)

// A person in two accounts signs in once, sees the current account's name
// in the header and switches to the other there, acting in it with the
// role held there; a person in one account is offered no switcher.
func TestAccountSwitcherInBrowser(t *testing.T) {
	e := newEnv(t)
	e.user("admin@example.com", keyplane.RoleAdmin)
	e.user("solo@example.com", keyplane.RoleViewer)
	var second int64
	if err := testdb.OpenWritableSQL(t, e.dsn).QueryRow(`INSERT INTO accounts (name, created_at) VALUES ('Globex', 0) RETURNING id`).Scan(&second); err != nil {
		t.Fatal(err)
	}
	// The same address in the second account, as a Viewer: a membership.
	if _, _, err := e.svc.CreateUser(context.Background(), keyplane.Operator(second), control.NewUser{Email: "admin@example.com", Role: keyplane.RoleViewer}); err != nil {
		t.Fatal(err)
	}

	ctx := tab(t)
	signInBrowser(t, ctx, e, "admin@example.com")
	if got := text(t, ctx, "#account-menu"); !strings.Contains(got, "Default account") {
		t.Errorf("header: %q, want the first account's name", got)
	}
	run(t, ctx, "API Management in the first account", chromedp.Navigate(e.base+"/account/api-management"), chromedp.WaitVisible(chromedp.ID("create-integration")))
	// switchTo picks the account in the header's menu (from a page other
	// than the apps) and checks the apps page that follows names it.
	switchTo := func(id, name string) {
		t.Helper()
		run(t, ctx, "switch to "+name,
			chromedp.Click(chromedp.ID("account-menu")),
			chromedp.WaitVisible(chromedp.ID("switch-account")),
			chromedp.SetValue(chromedp.ID("switch-account"), id),
			chromedp.Click(chromedp.CSS(".switch-account button")),
			chromedp.WaitVisible(chromedp.ID("q")), // the apps page's search: the switch is done
		)
		if got := text(t, ctx, "#account-menu"); !strings.Contains(got, name) {
			t.Fatalf("header after switching to %s: %q", name, got)
		}
	}
	switchTo(itoa(second), "Globex")
	run(t, ctx, "API Management in Globex", chromedp.Navigate(e.base+"/account/api-management"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if n := present(t, ctx, "#create-integration"); n != 0 {
		t.Error("a Viewer of Globex is offered Create Service Integration")
	}
	screenshot(t, ctx, "account-switcher")
	switchTo("1", "Default account")
	run(t, ctx, "API Management in the first account again", chromedp.Navigate(e.base+"/account/api-management"), chromedp.WaitVisible(chromedp.ID("create-integration")))

	solo := tab(t)
	signInBrowser(t, solo, e, "solo@example.com")
	if n := present(t, solo, "#switch-account"); n != 0 {
		t.Error("a person in one account is offered a switcher")
	}
}

// Switching to an account one is not a member of answers as a missing
// account, and changes nothing.
func TestSwitchToAnotherAccountRefused(t *testing.T) {
	e := newEnv(t)
	e.user("admin@example.com", keyplane.RoleAdmin)
	var other int64
	if err := testdb.OpenWritableSQL(t, e.dsn).QueryRow(`INSERT INTO accounts (name, created_at) VALUES ('Other', 0) RETURNING id`).Scan(&other); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "admin@example.com")
	for _, id := range []string{itoa(other), "999999"} {
		if r := e.post(c, "/account/switch", map[string][]string{"account": {id}}); r.status != 404 || !strings.Contains(r.body, "not found") {
			t.Errorf("switch to %s: %d", id, r.status)
		}
	}
	if r := e.get(c, "/apps"); r.status != 200 || !strings.Contains(r.body, "Default account") {
		t.Errorf("after refused switches: %d", r.status)
	}
}
