package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
)

// virtualAuthenticator gives the tab a passkey device: Chromium's own
// virtual authenticator (the DevTools WebAuthn domain), a platform one
// that keeps discoverable credentials and verifies its user.
func virtualAuthenticator(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (webauthn.AuthenticatorID, error) {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return "", err
		}
		r, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		return r.AuthenticatorID, err
	})
	if err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}
}

// byName is the server's address by the name localhost: passkeys belong
// to a name (an RP ID), never to an IP address.
func byName(e *env) string { return strings.Replace(e.base, "127.0.0.1", "localhost", 1) }

// TestPasskeysInBrowser: under "require two factors", a person's first
// sign-in leads to the Two factors page, where they add a passkey; from
// then on the password is followed by the passkey, and "Sign in with a
// passkey" signs them in without the password. The last factor cannot be
// removed while the policy holds; then it can.
func TestPasskeysInBrowser(t *testing.T) {
	e := newEnv(t)
	u := e.user("owner@example.com", keyplane.RoleOwner)
	if _, _, err := e.svc.SetSignInPolicy(context.Background(), keyplane.Operator(1), u.AccountID, true); err != nil {
		t.Fatal(err)
	}
	base := byName(e)
	ctx := tab(t)
	virtualAuthenticator(t, ctx)
	signOut := chromedp.Steps(
		chromedp.Navigate(base+"/account"),
		chromedp.Click(chromedp.ID("account-menu")),
		chromedp.Click(chromedp.CSS(`.account-menu form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	withPassword := chromedp.Steps(
		chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("sign-in")),
	)
	run(t, ctx, "first sign-in: enrolment is due",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		withPassword,
		chromedp.WaitVisible(chromedp.ID("must-enrol")),
		chromedp.WaitVisible(chromedp.ID("add-passkey")),
	)
	run(t, ctx, "a passkey without a name",
		chromedp.Click(chromedp.ID("add-passkey")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-name-err li")),
	)
	run(t, ctx, "add a passkey",
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Laptop"),
		chromedp.Click(chromedp.ID("add-passkey")),
		chromedp.WaitVisible(chromedp.ID("passkey-list")),
	)
	if got := text(t, ctx, "#passkey-list tbody"); !strings.Contains(got, "Laptop") {
		t.Fatalf("passkeys listed: %q", got)
	}
	if present(t, ctx, "#must-enrol") != 0 {
		t.Fatal("still asked to enrol after adding a passkey")
	}
	// The page with a passkey listed and the removal form open, and the
	// second step with its passkey button, pass axe-core too (the site
	// tour sees them without passkeys).
	screenshot(t, ctx, "passkeys")
	axe := axeSource(t)
	run(t, ctx, "open the removal form", chromedp.Click(chromedp.CSS("#passkeys summary")), chromedp.WaitVisible(chromedp.ID("remove-passkey")))
	axeCheck(t, ctx, axe, "two-factor with a passkey")
	run(t, ctx, "the rest of the portal opens", chromedp.Navigate(base+"/apps"), chromedp.WaitVisible(chromedp.ID("account-menu")))

	run(t, ctx, "sign in with the password, then the passkey",
		signOut, withPassword,
		chromedp.WaitVisible(chromedp.ID("use-passkey")),
	)
	axeCheck(t, ctx, axe, "second step with a passkey")
	screenshot(t, ctx, "second-step-passkey")
	run(t, ctx, "use the passkey",
		chromedp.Click(chromedp.ID("use-passkey")),
		chromedp.WaitVisible(chromedp.ID("account-menu")),
	)

	run(t, ctx, "sign in with the passkey alone",
		signOut,
		chromedp.WaitVisible(chromedp.ID("passkey-sign-in")),
		chromedp.Click(chromedp.ID("passkey-sign-in")),
		chromedp.WaitVisible(chromedp.ID("account-menu")),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/apps") {
		t.Fatalf("after a passkey sign-in: %s", loc)
	}

	removal := chromedp.Steps(
		chromedp.Navigate(base+"/account/two-factor"),
		chromedp.Click(chromedp.CSS("#passkeys summary")),
		chromedp.SendKeys(chromedp.ID("passkey-password"), password),
		chromedp.Click(chromedp.ID("remove-passkey")),
	)
	run(t, ctx, "the last factor stays while two are required", removal, chromedp.WaitVisible(chromedp.CSS("#passkeys .errors li")))
	if msg := text(t, ctx, "#passkeys .errors"); !strings.Contains(msg, "last one") {
		t.Fatalf("error = %q", msg)
	}
	if _, _, err := e.svc.SetSignInPolicy(context.Background(), keyplane.Operator(1), u.AccountID, false); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "remove it", removal, chromedp.WaitVisible(chromedp.ID("no-passkeys")))

	seen := map[string]int{}
	for _, ev := range auditEvents(t, e) {
		seen[ev.Type]++
	}
	if seen[keyplane.EventSecondFactorEnrolled] != 1 || seen[keyplane.EventSecondFactorRemoved] != 1 || seen[keyplane.EventPasskeySignIn] != 2 {
		t.Errorf("audit events: %v", seen)
	}
}

// TestPasskeyEndpointsRefuseBadInput: the passkey forms and option
// endpoints answer wrong or missing input with clear errors, and change
// nothing.
func TestPasskeyEndpointsRefuseBadInput(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	anon := e.client()
	// No passkey given, or a garbled one: the sign-in page says so.
	for _, cred := range []string{"", "{", `{"id":"x","type":"public-key","response":{}}`} {
		r := e.post(anon, "/login/passkey", url.Values{"credential": {cred}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="login-error"`) {
			t.Errorf("credential %q: %d %s", cred, r.status, r.body)
		}
	}
	// Options for the second step without a waiting sign-in: a JSON
	// error for the script to show.
	req, _ := http.NewRequest("POST", byName(e)+"/login/second-factor/passkey/options", nil)
	r := e.do(anon, req)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, `"statusCode":401`) || !strings.Contains(r.body, `"message":["This sign-in has expired`) {
		t.Errorf("second-step options without a sign-in: %d %s", r.status, r.body)
	}
	// Reached by IP address: passkeys cannot work there, and say why.
	r = e.post(anon, "/login/passkey/options", nil)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "IP address") {
		t.Errorf("options by IP: %d %s", r.status, r.body)
	}
	c := e.client()
	e.signIn(c, "owner@example.com")
	r = e.post(c, "/account/two-factor/passkeys/remove", url.Values{"id": {"12345"}, "password": {password}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "not yours, or was removed") {
		t.Errorf("removing a missing passkey: %d %s", r.status, r.body)
	}
	r = e.post(c, "/account/two-factor/passkeys", url.Values{"name": {"Laptop"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "reached by an IP address") {
		t.Errorf("adding by IP address: %d %s", r.status, r.body)
	}
}
