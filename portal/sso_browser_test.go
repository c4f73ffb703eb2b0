package portal_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/oidctest"
	"github.com/keyplane/keyplane/internal/testdb"
)

// ssoInBrowser signs in as a person does with single sign-on: on the
// sign-in page, Sign in with SSO, the address typed, then the provider's
// own login page (zitadel's example one) filled in with username. It
// returns once the browser is back at Keyplane: signed in (the account
// menu shows) or refused (the SSO page says why). shot, when not empty,
// names a screenshot of the SSO page with the address typed.
func ssoInBrowser(t *testing.T, ctx context.Context, e *env, op *oidctest.Provider, email, username, shot string) {
	t.Helper()
	run(t, ctx, "Sign in with SSO",
		chromedp.Navigate(e.base+"/"),
		chromedp.WaitVisible(chromedp.ID("sso")),
		chromedp.Click(chromedp.ID("sso")),
		chromedp.WaitVisible(chromedp.ID("sso-continue")),
		chromedp.SendKeys(chromedp.ID("email"), email),
	)
	if shot != "" {
		screenshot(t, ctx, shot)
	}
	run(t, ctx, "on to the provider's login page",
		chromedp.Click(chromedp.ID("sso-continue")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login/username"] #username`)),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, op.Issuer+"/") {
		t.Fatalf("the provider's login page is at %s, not under %s", loc, op.Issuer)
	}
	run(t, ctx, "sign in at the provider",
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), oidctest.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login/username"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#account-menu, #sso-error")),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, e.base+"/") {
		t.Fatalf("after the provider: %s, not back at Keyplane", loc)
	}
}

// signedInAs checks that the tab is signed in to Keyplane's account 1 as
// email, as its header shows.
func signedInAs(t *testing.T, ctx context.Context, e *env, email string) {
	t.Helper()
	if n := present(t, ctx, "#sso-error"); n != 0 {
		t.Fatalf("refused: %s", text(t, ctx, "#sso-error"))
	}
	if who := text(t, ctx, "#account-menu .who"); !strings.Contains(who, email) || !strings.Contains(who, accountName(t, e)) {
		t.Fatalf("signed in as %q, want %s in %s", who, email, accountName(t, e))
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Scheme+"://"+u.Host != e.base || u.Path != "/apps" {
		t.Errorf("landed on %s, want %s/apps", loc, e.base)
	}
}

// refusedWith checks that the tab is back on the SSO page, signed out,
// saying want.
func refusedWith(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	if n := present(t, ctx, "#account-menu"); n != 0 {
		t.Fatal("a refused sign-in opened the portal")
	}
	if msg := text(t, ctx, "#sso-error"); !strings.Contains(msg, want) || !strings.Contains(msg, "Sign in again") {
		t.Fatalf("refusal says %q, want %q and the way on", msg, want)
	}
	if h := text(t, ctx, "h1"); h != "Sign in with SSO" {
		t.Errorf("refusal shown on %q", h)
	}
}

// callbacks records the provider's answers the tab is sent back with (the
// callback URLs, which the browser only passes through on its way to the
// portal), so that a test can send the browser to one again. Read them
// with the function returned, after the sign-in.
func callbacks(t *testing.T, ctx context.Context, e *env) func() []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	err := chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasPrefix(r.Request.URL, e.base+control.SSOCallbackPath+"?") {
			mu.Lock()
			seen = append(seen, r.Request.URL)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// sessionCount is the number of sessions stored, of everyone: a refused
// sign-in must not add one.
func sessionCount(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := testdb.OpenSQL(t, e.dsn).QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// refusedInBrowser signs in with single sign-on as username and expects
// the refusal want on the SSO page, with no session opened.
func refusedInBrowser(t *testing.T, e *env, op *oidctest.Provider, email, username, want string) {
	t.Helper()
	before := sessionCount(t, e)
	ctx := tab(t)
	ssoInBrowser(t, ctx, e, op, email, username, "")
	refusedWith(t, ctx, want)
	if n := sessionCount(t, e); n != before {
		t.Errorf("a refused sign-in opened a session: %d sessions, %d before", n, before)
	}
}

// roleOf is the role of email in account 1 ("" when not a member).
func roleOf(t *testing.T, e *env, email string) keyplane.Role {
	t.Helper()
	users, err := e.svc.ListUsers(context.Background(), keyplane.Operator(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Email == email {
			return u.Role
		}
	}
	return ""
}

// TestSSOInBrowser: the Owner sets up single sign-on on Users → Single
// sign-on against a real OpenID provider run by the test; then people
// choose Sign in with SSO, type their address, sign in on the provider's
// own login page and come back signed in to the account: a member, a new
// person made just in time, one whose group maps to Admin. An unverified
// address, a domain the account does not claim, an ID token issued to
// another client, one whose signature does not verify, an expired one and
// a provider's answer taken again are refused on the SSO page in words the
// person can act on, and open no session.
func TestSSOInBrowser(t *testing.T) {
	e := newEnv(t)
	e.user("owner@acme.test", keyplane.RoleOwner)
	e.user("member@acme.test", keyplane.RoleViewer)
	// The provider at localhost, Keyplane at 127.0.0.1: two sites, as a
	// company's provider and Keyplane are, so the browser's cookie rules
	// (SameSite) hold as they do there.
	op := oidctest.StartNamed(t, "localhost", "keyplane", "client-secret", e.base+control.SSOCallbackPath)
	op.Add(oidctest.Person{Username: "member", Email: "member@acme.test", Verified: true})
	op.Add(oidctest.Person{Username: "newbie", Email: "newbie@acme.test", Verified: true})
	op.Add(oidctest.Person{Username: "lead", Email: "lead@acme.test", Verified: true, Groups: []string{"staff", "platform"}})
	op.Add(oidctest.Person{Username: "unverified", Email: "unverified@acme.test", Verified: false})
	op.Add(oidctest.Person{Username: "elsewhere", Email: "someone@other.test", Verified: true})

	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@acme.test")
	run(t, ctx, "Users → Single sign-on",
		chromedp.Navigate(e.base+"/account/users"),
		chromedp.WaitVisible(chromedp.ID("sso-settings")),
		chromedp.Click(chromedp.ID("sso-settings")),
		chromedp.WaitVisible(chromedp.ID("save-sso")),
	)
	if uri := text(t, ctx, "#redirect-uri"); uri != e.base+control.SSOCallbackPath {
		t.Errorf("redirect URI shown: %q", uri)
	}
	run(t, ctx, "fill in and save",
		chromedp.SendKeys(chromedp.ID("issuer"), op.Issuer),
		chromedp.SendKeys(chromedp.ID("client-id"), "keyplane"),
		chromedp.SendKeys(chromedp.ID("client-secret"), "client-secret"),
		chromedp.SendKeys(chromedp.ID("domains"), "acme.test"),
		chromedp.SetValue(chromedp.ID("jit-role"), "viewer"),
		chromedp.SendKeys(chromedp.ID("group-roles"), "platform=admin"),
		chromedp.Click(chromedp.ID("save-sso")),
		chromedp.WaitVisible(chromedp.CSS(".notice.ok")),
	)
	if h := text(t, ctx, "#client-secret-hint"); !strings.Contains(h, "A secret is set") {
		t.Errorf("secret hint after saving: %q", h)
	}
	screenshot(t, ctx, "sso-config")

	t.Run("a member", func(t *testing.T) {
		ctx := tab(t)
		ssoInBrowser(t, ctx, e, op, "member@acme.test", "member", "sso")
		signedInAs(t, ctx, e, "member@acme.test")
		if r := roleOf(t, e, "member@acme.test"); r != keyplane.RoleViewer {
			t.Errorf("member's role after SSO: %s", r)
		}
	})
	t.Run("just in time", func(t *testing.T) {
		if r := roleOf(t, e, "newbie@acme.test"); r != "" {
			t.Fatalf("newbie is a member before signing in: %s", r)
		}
		ctx := tab(t)
		ssoInBrowser(t, ctx, e, op, "newbie@acme.test", "newbie", "")
		signedInAs(t, ctx, e, "newbie@acme.test")
		if r := roleOf(t, e, "newbie@acme.test"); r != keyplane.RoleViewer {
			t.Errorf("newbie's role: %q, want the JIT role viewer", r)
		}
		run(t, ctx, "API Management", chromedp.Navigate(e.base+"/account/api-management"), chromedp.WaitVisible(chromedp.CSS("h1")))
		if n := present(t, ctx, "#create-integration"); n != 0 {
			t.Error("a Viewer made just in time is offered Create Service Integration")
		}
	})
	t.Run("group mapped to Admin", func(t *testing.T) {
		ctx := tab(t)
		ssoInBrowser(t, ctx, e, op, "lead@acme.test", "lead", "")
		signedInAs(t, ctx, e, "lead@acme.test")
		if r := roleOf(t, e, "lead@acme.test"); r != keyplane.RoleAdmin {
			t.Errorf("lead's role: %q, want admin from the platform group", r)
		}
		// An Admin's page offers what a Viewer's does not.
		run(t, ctx, "API Management", chromedp.Navigate(e.base+"/account/api-management"), chromedp.WaitVisible(chromedp.ID("create-integration")))
	})
	t.Run("unverified address", func(t *testing.T) {
		ctx := tab(t)
		ssoInBrowser(t, ctx, e, op, "unverified@acme.test", "unverified", "")
		refusedWith(t, ctx, "The provider has not verified unverified@acme.test")
		if r := roleOf(t, e, "unverified@acme.test"); r != "" {
			t.Errorf("a refused person was made a member: %s", r)
		}
	})
	t.Run("domain not allowed", func(t *testing.T) {
		ctx := tab(t)
		// The address typed is at acme.test; the provider vouches for
		// someone at other.test.
		ssoInBrowser(t, ctx, e, op, "member@acme.test", "elsewhere", "")
		refusedWith(t, ctx, "This account's single sign-on does not accept addresses at other.test")
		if r := roleOf(t, e, "someone@other.test"); r != "" {
			t.Errorf("a refused person was made a member: %s", r)
		}
	})
	t.Run("unclaimed domain", func(t *testing.T) {
		ctx := tab(t)
		run(t, ctx, "Sign in with SSO",
			chromedp.Navigate(e.base+"/login/sso"),
			chromedp.WaitVisible(chromedp.ID("sso-continue")),
			chromedp.SendKeys(chromedp.ID("email"), "someone@unclaimed.test"),
			chromedp.Click(chromedp.ID("sso-continue")),
			chromedp.WaitVisible(chromedp.ID("sso-error")),
		)
		if msg := text(t, ctx, "#sso-error"); !strings.Contains(msg, "no account signs in with single sign-on for addresses at unclaimed.test") {
			t.Errorf("unclaimed domain: %q", msg)
		}
		if v := value(t, ctx, "#email"); v != "someone@unclaimed.test" {
			t.Errorf("the address typed was not kept: %q", v)
		}
	})

	t.Run("issued to another client", func(t *testing.T) {
		// The provider signs, with its real key, an ID token for its other
		// client: it vouches for the member to another application.
		op.WrongAudience.Store(true)
		defer op.WrongAudience.Store(false)
		refusedInBrowser(t, e, op, "member@acme.test", "member", "The provider's ID token was refused: it was issued to another client (audience).")
	})
	t.Run("bad signature", func(t *testing.T) {
		// The provider's key set names another key: the token signed with
		// its real one does not verify.
		op.BadKeys.Store(true)
		defer op.BadKeys.Store(false)
		refusedInBrowser(t, e, op, "member@acme.test", "member", "The provider's ID token was refused: its signature does not verify with the provider's keys.")
	})
	t.Run("expired token", func(t *testing.T) {
		// Keyplane's clock two hours ahead of the provider's, whose ID
		// tokens live an hour: the token has expired when it arrives. (The
		// clock cannot move between the provider's login and the callback
		// instead: a sign-in left that long is refused before its token is
		// read, as TestSSORefusals shows.)
		e.clock.Advance(2 * time.Hour)
		defer e.clock.Advance(-2 * time.Hour)
		refusedInBrowser(t, e, op, "member@acme.test", "member", "The provider's ID token was refused: it has expired.")
	})
	t.Run("replayed callback", func(t *testing.T) {
		const gone = "This single sign-on has expired or was already completed."
		// A sign-in accepted, in one browser, and one refused, in another.
		accepted, refused := tab(t), tab(t)
		acceptedAnswers, refusedAnswers := callbacks(t, accepted, e), callbacks(t, refused, e)
		ssoInBrowser(t, accepted, e, op, "member@acme.test", "member", "")
		signedInAs(t, accepted, e, "member@acme.test")
		ssoInBrowser(t, refused, e, op, "member@acme.test", "elsewhere", "")
		refusedWith(t, refused, "does not accept addresses at other.test")
		before := sessionCount(t, e)
		for _, took := range []struct {
			ctx     context.Context
			answers []string
		}{{accepted, acceptedAnswers()}, {refused, refusedAnswers()}} {
			if len(took.answers) != 1 {
				t.Fatalf("the provider's answers seen: %q, want one", took.answers)
			}
			back := took.answers[0]
			// The same browser sent back to the answer it took (from its
			// history): the sign-in under way is used up, accepted or not.
			run(t, took.ctx, "the answer again", chromedp.Navigate(back), chromedp.WaitVisible(chromedp.ID("sso-error")))
			refusedWith(t, took.ctx, gone)
			// Another browser given the address (a proxy's log, a shared
			// screen) gets nothing from it either.
			other := tab(t)
			run(t, other, "the answer in another browser", chromedp.Navigate(back), chromedp.WaitVisible(chromedp.ID("sso-error")))
			refusedWith(t, other, gone)
			run(t, other, "the portal", chromedp.Navigate(e.base+"/apps"), chromedp.WaitVisible(chromedp.ID("sign-in")))
		}
		if n := sessionCount(t, e); n != before {
			t.Errorf("replayed answers opened sessions: %d, %d before", n, before)
		}
	})

	// Each sign-in, and each refusal of a sign-in begun for the account, is
	// the account's: a person the provider vouched for (unverified, not
	// allowed, the refused sign-in replayed above) and a token refused
	// (another client's, a bad signature, expired). A replayed answer is
	// refused before the sign-in is known, and an unclaimed domain never
	// began one: neither is recorded.
	seen := map[string]int{}
	for _, ev := range auditEvents(t, e) {
		seen[ev.Type]++
	}
	if seen[keyplane.EventSSOSignIn] != 4 || seen[keyplane.EventSSOSignInRefused] != 6 || seen[keyplane.EventSSOConfigChanged] != 1 {
		t.Errorf("audit events: %v", seen)
	}
}
