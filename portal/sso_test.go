package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/oidctest"
)

// ssoEnv is a server whose account 1 signs in acme.test through a real
// OpenID provider (zitadel/oidc's OP) running in the test.
func ssoEnv(t *testing.T, configure func(*keyplane.OIDCConfig)) (*env, *oidctest.Provider) {
	t.Helper()
	e := newEnv(t)
	op := oidctest.Start(t, "keyplane", "client-secret", e.base+control.SSOCallbackPath)
	c := keyplane.OIDCConfig{AccountID: 1, Issuer: op.Issuer, ClientID: "keyplane", ClientSecret: "client-secret",
		Domains: []string{"acme.test"}, JITRole: keyplane.RoleViewer,
		GroupRoles: []keyplane.GroupRole{{Group: "platform", Role: keyplane.RoleAdmin}}}
	if configure != nil {
		configure(&c)
	}
	if _, _, err := e.svc.SetSSOConfig(context.Background(), keyplane.Operator(1), c, false); err != nil {
		t.Fatal(err)
	}
	return e, op
}

// ssoUpTo runs a single sign-on as far as the provider's answer: the
// address typed, the provider's login form filled in as username, and
// returns the callback URL the provider sends the browser back to
// (not yet followed). c keeps Keyplane's cookies.
func ssoUpTo(t *testing.T, e *env, op *oidctest.Provider, c *http.Client, email, username string) string {
	t.Helper()
	r := e.post(c, "/login/sso", url.Values{"email": {email}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), op.Issuer) {
		t.Fatalf("POST /login/sso: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	// The provider's pages: its authorization endpoint leads to its
	// login form, which a browser follows on its own.
	browser := &http.Client{Timeout: 20 * time.Second}
	res, err := browser.Get(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	id := res.Request.URL.Query().Get("authRequestID")
	if res.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("provider's login page: %d %s", res.StatusCode, res.Request.URL)
	}
	stop := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), e.base) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	res, err = stop.PostForm(op.Issuer+"/login/username", url.Values{"id": {id}, "username": {username}, "password": {oidctest.Password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back := res.Header.Get("Location")
	if !strings.HasPrefix(back, e.base+control.SSOCallbackPath) {
		t.Fatalf("provider's answer: %d, to %q", res.StatusCode, back)
	}
	return back
}

// callback follows the provider's answer in c.
func callback(e *env, c *http.Client, back string) answer {
	req, _ := http.NewRequest("GET", back, nil)
	return e.do(c, req)
}

func TestSSOSignInCreatesThePersonJustInTime(t *testing.T) {
	e, op := ssoEnv(t, nil)
	op.Add(oidctest.Person{Username: "alice", Email: "Alice@acme.test", Verified: true})
	c := e.client()
	r := callback(e, c, ssoUpTo(t, e, op, c, "alice@acme.test", "alice"))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/apps" {
		t.Fatalf("callback: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	if r := e.get(c, "/apps"); r.status != http.StatusOK {
		t.Fatalf("/apps after SSO: %d", r.status)
	}
	users, err := e.svc.ListUsers(context.Background(), keyplane.Operator(1))
	if err != nil {
		t.Fatal(err)
	}
	var alice *keyplane.User
	for i := range users {
		if users[i].Email == "alice@acme.test" {
			alice = &users[i]
		}
	}
	if alice == nil || alice.Role != keyplane.RoleViewer {
		t.Fatalf("alice after her first SSO sign-in: %+v", alice)
	}
	// She has no password: password sign-in finds nothing to match.
	if r := e.post(e.client(), "/login", url.Values{"email": {"alice@acme.test"}, "password": {""}}); r.status == http.StatusSeeOther {
		t.Fatal("an SSO-made person signed in without a password")
	}
	// The provider vouches for her in this account only: her own
	// credentials are not changed from here.
	if r := e.post(c, "/account/two-factor/totp", nil); r.status != http.StatusForbidden {
		t.Fatalf("enrolling a factor from an SSO session: %d", r.status)
	}
	if r := e.post(c, "/account/two-factor/passkeys/remove", url.Values{"id": {"1"}, "password": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("removing a passkey from an SSO session: %d", r.status)
	}
	events := auditTypes(t, e)
	for _, want := range []string{keyplane.EventSSOConfigChanged, keyplane.EventUserAccessGranted, keyplane.EventSSOSignIn} {
		if !strings.Contains(events, want) {
			t.Errorf("audit log lacks %s: %s", want, events)
		}
	}
	// The second sign-in finds her: no second person.
	c2 := e.client()
	if r := callback(e, c2, ssoUpTo(t, e, op, c2, "alice@acme.test", "alice")); r.status != http.StatusSeeOther {
		t.Fatalf("second SSO sign-in: %d %s", r.status, r.body)
	}
}

func auditTypes(t *testing.T, e *env) string {
	t.Helper()
	var b strings.Builder
	err := e.svc.ExportAudit(context.Background(), 1, func(ev keyplane.AuditEvent) error {
		b.WriteString(ev.Type + " ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestSSOGroupsGiveRoles(t *testing.T) {
	e, op := ssoEnv(t, nil)
	op.Add(oidctest.Person{Username: "bob", Email: "bob@acme.test", Verified: true, Groups: []string{"staff", "platform"}})
	// A member made before, as a viewer: the mapped group makes him admin.
	e.user("bob@acme.test", keyplane.RoleViewer)
	c := e.client()
	if r := callback(e, c, ssoUpTo(t, e, op, c, "bob@acme.test", "bob")); r.status != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", r.status, r.body)
	}
	p, _, err := e.svc.Session(context.Background(), cookieOf(t, e, c))
	if err != nil || p.Role != keyplane.RoleAdmin || !p.SSO {
		t.Fatalf("bob's session: %+v, %v", p, err)
	}
}

// cookieOf is the session token c holds.
func cookieOf(t *testing.T, e *env, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(e.base)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == "keyplane_session" {
			return k.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func TestSSOUserInfoWhenTheIDTokenHoldsNoAddress(t *testing.T) {
	e, op := ssoEnv(t, nil)
	op.NoIDClaim.Store(true)
	op.Add(oidctest.Person{Username: "dora", Email: "dora@acme.test", Verified: true, Groups: []string{"platform"}})
	c := e.client()
	if r := callback(e, c, ssoUpTo(t, e, op, c, "dora@acme.test", "dora")); r.status != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", r.status, r.body)
	}
	if p, _, err := e.svc.Session(context.Background(), cookieOf(t, e, c)); err != nil || p.Role != keyplane.RoleAdmin {
		t.Fatalf("dora: %+v %v", p, err)
	}
}

func TestSSORefusals(t *testing.T) {
	e, op := ssoEnv(t, nil)
	op.Add(oidctest.Person{Username: "ok", Email: "ok@acme.test", Verified: true})
	op.Add(oidctest.Person{Username: "unverified", Email: "unverified@acme.test", Verified: false})
	op.Add(oidctest.Person{Username: "elsewhere", Email: "someone@other.test", Verified: true})
	refused := func(t *testing.T, r answer, want string) {
		t.Helper()
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, want) {
			t.Fatalf("want 401 with %q, got %d: %s", want, r.status, r.body)
		}
		if strings.Contains(r.header.Get("Set-Cookie"), "keyplane_session=") && !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
			t.Fatal("a refused sign-in set a session cookie")
		}
	}
	t.Run("unverified e-mail", func(t *testing.T) {
		c := e.client()
		refused(t, callback(e, c, ssoUpTo(t, e, op, c, "unverified@acme.test", "unverified")), "has not verified")
	})
	t.Run("domain not allowed", func(t *testing.T) {
		c := e.client()
		refused(t, callback(e, c, ssoUpTo(t, e, op, c, "ok@acme.test", "elsewhere")), "does not accept addresses at other.test")
	})
	t.Run("wrong state", func(t *testing.T) {
		c := e.client()
		back := ssoUpTo(t, e, op, c, "ok@acme.test", "ok")
		u, _ := url.Parse(back)
		q := u.Query()
		q.Set("state", "forged")
		u.RawQuery = q.Encode()
		refused(t, callback(e, c, u.String()), "state differs")
	})
	t.Run("no cookie: another browser", func(t *testing.T) {
		c := e.client()
		back := ssoUpTo(t, e, op, c, "ok@acme.test", "ok")
		refused(t, callback(e, e.client(), back), "expired or was already completed")
	})
	t.Run("replayed answer", func(t *testing.T) {
		c := e.client()
		back := ssoUpTo(t, e, op, c, "ok@acme.test", "ok")
		if r := callback(e, c, back); r.status != http.StatusSeeOther {
			t.Fatalf("first use: %d %s", r.status, r.body)
		}
		// The browser keeps nothing to send again; a replay with the
		// cookie copied is refused too.
		refused(t, callback(e, e.client(), back), "expired or was already completed")
	})
	t.Run("code of another sign-in", func(t *testing.T) {
		c := e.client()
		first, _ := url.Parse(ssoUpTo(t, e, op, c, "ok@acme.test", "ok"))
		second, _ := url.Parse(ssoUpTo(t, e, op, c, "ok@acme.test", "ok"))
		// The first sign-in's code with the second's state: its PKCE
		// verifier and nonce are not the second's.
		q := second.Query()
		q.Set("code", first.Query().Get("code"))
		second.RawQuery = q.Encode()
		refused(t, callback(e, c, second.String()), "did not accept this sign-in")
	})
	t.Run("bad signature", func(t *testing.T) {
		op.BadKeys.Store(true)
		defer op.BadKeys.Store(false)
		c := e.client()
		refused(t, callback(e, c, ssoUpTo(t, e, op, c, "ok@acme.test", "ok")), "signature does not verify")
	})
	t.Run("wrong audience", func(t *testing.T) {
		// The provider answers Keyplane's code with an ID token, signed
		// with its real key, for its other client.
		op.WrongAudience.Store(true)
		defer op.WrongAudience.Store(false)
		c := e.client()
		refused(t, callback(e, c, ssoUpTo(t, e, op, c, "ok@acme.test", "ok")), "it was issued to another client (audience)")
	})
	t.Run("expired token", func(t *testing.T) {
		// Keyplane's clock is two hours ahead of the provider's, whose ID
		// tokens live one hour: every token it issues has expired here.
		e.clock.Advance(2 * time.Hour)
		defer e.clock.Advance(-2 * time.Hour)
		c := e.client()
		refused(t, callback(e, c, ssoUpTo(t, e, op, c, "ok@acme.test", "ok")), "it has expired")
	})
	t.Run("sign-in left too long", func(t *testing.T) {
		c := e.client()
		back := ssoUpTo(t, e, op, c, "ok@acme.test", "ok")
		e.clock.Advance(keyplane.SSOSignInTTL)
		defer e.clock.Advance(-keyplane.SSOSignInTTL)
		refused(t, callback(e, c, back), "took too long")
	})
	t.Run("provider refused", func(t *testing.T) {
		c := e.client()
		back, _ := url.Parse(ssoUpTo(t, e, op, c, "ok@acme.test", "ok"))
		q := url.Values{"state": {back.Query().Get("state")}, "error": {"access_denied"}}
		refused(t, callback(e, c, e.base+control.SSOCallbackPath+"?"+q.Encode()), "access_denied")
	})
	t.Run("unclaimed domain", func(t *testing.T) {
		r := e.post(e.client(), "/login/sso", url.Values{"email": {"x@unclaimed.test"}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "no account signs in with single sign-on for addresses at unclaimed.test") {
			t.Fatalf("unclaimed domain: %d %s", r.status, r.body)
		}
	})
	if events := auditTypes(t, e); !strings.Contains(events, keyplane.EventSSOSignInRefused) {
		t.Errorf("refusals are not audited: %s", events)
	}
}

func TestSSORequired(t *testing.T) {
	e, op := ssoEnv(t, func(c *keyplane.OIDCConfig) { c.RequireSSO = true })
	e.user("member@acme.test", keyplane.RoleAdmin)
	r := e.post(e.client(), "/login", url.Values{"email": {"member@acme.test"}, "password": {password}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "requires single sign-on") {
		t.Fatalf("password sign-in of a member of an SSO-only account: %d %s", r.status, r.body)
	}
	// A wrong password still says only that.
	r = e.post(e.client(), "/login", url.Values{"email": {"member@acme.test"}, "password": {"wrong password!"}})
	if r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.status)
	}
	op.Add(oidctest.Person{Username: "member", Email: "member@acme.test", Verified: true})
	c := e.client()
	if r := callback(e, c, ssoUpTo(t, e, op, c, "member@acme.test", "member")); r.status != http.StatusSeeOther {
		t.Fatalf("SSO sign-in: %d %s", r.status, r.body)
	}
	if r := e.get(c, "/apps"); r.status != http.StatusOK {
		t.Fatalf("/apps: %d", r.status)
	}
}

// TestSSOBreakGlass: under Require SSO, an Owner with a second factor
// still signs in with a password (the way in when the provider is down),
// recorded as SSOBreakGlass at each sign-in; an Owner without one is
// refused like every other member (TestSSORequired refuses an Admin).
func TestSSOBreakGlass(t *testing.T) {
	e, _ := ssoEnv(t, func(c *keyplane.OIDCConfig) { c.RequireSSO = true })
	glass := e.user("glass@acme.test", keyplane.RoleOwner)
	e.user("plain@acme.test", keyplane.RoleOwner)
	secret := enrolHTTP(t, e, glass)

	r := e.post(e.client(), "/login", url.Values{"email": {"plain@acme.test"}, "password": {password}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "requires single sign-on") {
		t.Fatalf("an Owner without a second factor: %d %s", r.status, r.body)
	}
	for i := 1; i <= 2; i++ {
		e.clock.Advance(keyplane.TOTPPeriod) // a code works once
		c := e.client()
		r := e.post(c, "/login", url.Values{"email": {"glass@acme.test"}, "password": {password}})
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login/second-factor") {
			t.Fatalf("sign-in %d: %d %s", i, r.status, r.header.Get("Location"))
		}
		if r := e.post(c, "/login/second-factor", url.Values{"code": {totpCode(t, e, secret)}}); r.status != http.StatusSeeOther {
			t.Fatalf("second factor %d: %d %s", i, r.status, r.body)
		}
		if r := e.get(c, "/account/users"); r.status != http.StatusOK {
			t.Fatalf("the account after break-glass %d: %d", i, r.status)
		}
		var uses []string
		for _, ev := range auditEvents(t, e) {
			if ev.Type == keyplane.EventSSOBreakGlass {
				uses = append(uses, ev.Actor.Name)
			}
		}
		if len(uses) != i || uses[i-1] != "glass@acme.test" {
			t.Fatalf("after break-glass sign-in %d, SSOBreakGlass recorded for %v", i, uses)
		}
	}
}

// Switching into an account that requires SSO is a password session
// entering it too: an Owner with a second factor may (break-glass,
// recorded each time as at sign-in), an Owner without one may not.
func TestSSOBreakGlassOnAccountSwitch(t *testing.T) {
	e, _ := ssoEnv(t, func(c *keyplane.OIDCConfig) { c.RequireSSO = true })
	ctx := t.Context()
	other, err := e.svc.CreateAccount(ctx, keyplane.InstallOperator, "Other")
	if err != nil {
		t.Fatal(err)
	}
	glass := e.user("glass@acme.test", keyplane.RoleOwner)
	e.user("plain@acme.test", keyplane.RoleOwner)
	for _, email := range []string{"glass@acme.test", "plain@acme.test"} {
		if _, _, err := e.svc.CreateUser(ctx, keyplane.Operator(other.ID), control.NewUser{Email: email, Role: keyplane.RoleOwner}); err != nil {
			t.Fatal(err)
		}
	}
	secret := enrolHTTP(t, e, glass)
	glassUses := func() int {
		n := 0
		for _, ev := range auditEvents(t, e) {
			if ev.Type == keyplane.EventSSOBreakGlass && ev.Actor.Name == "glass@acme.test" {
				n++
			}
		}
		return n
	}
	switchTo := func(c *http.Client, account int64) answer {
		return e.post(c, "/account/switch", url.Values{"account": {itoa(account)}})
	}

	// The Owner without a factor lands in the other account, and may not
	// switch into the one that requires SSO.
	plain := e.client()
	if r := e.post(plain, "/login", url.Values{"email": {"plain@acme.test"}, "password": {password}}); r.status != http.StatusSeeOther {
		t.Fatalf("plain sign-in: %d %s", r.status, r.body)
	}
	if r := switchTo(plain, 1); r.status != http.StatusForbidden || !strings.Contains(r.body, "requires single sign-on") {
		t.Errorf("an Owner without a second factor switching in: %d %s", r.status, r.body)
	}

	// The Owner with one: break-glass at sign-in, and again at each switch
	// back in.
	c := e.client()
	e.clock.Advance(keyplane.TOTPPeriod)
	if r := e.post(c, "/login", url.Values{"email": {"glass@acme.test"}, "password": {password}}); r.status != http.StatusSeeOther {
		t.Fatalf("glass sign-in: %d", r.status)
	}
	if r := e.post(c, "/login/second-factor", url.Values{"code": {totpCode(t, e, secret)}}); r.status != http.StatusSeeOther {
		t.Fatalf("second factor: %d %s", r.status, r.body)
	}
	if n := glassUses(); n != 1 {
		t.Fatalf("break-glass records after sign-in: %d, want 1", n)
	}
	if r := switchTo(c, other.ID); r.status != http.StatusSeeOther || glassUses() != 1 {
		t.Fatalf("switching to the other account: %d, %d records", r.status, glassUses())
	}
	if r := switchTo(c, 1); r.status != http.StatusSeeOther {
		t.Fatalf("switching back in: %d %s", r.status, r.body)
	}
	if n := glassUses(); n != 2 {
		t.Errorf("break-glass records after switching back in: %d, want 2", n)
	}
	if r := e.get(c, "/account/users"); r.status != http.StatusOK {
		t.Errorf("the account after switching back in: %d", r.status)
	}
}

// The SSO page's form is answered by a redirect to the provider, which
// the browser follows only if the page's form-action allows it (see
// TestSSOInBrowser); every other page keeps its forms on the portal.
func TestSSOPageFormMayLeadToTheProvider(t *testing.T) {
	e, _ := ssoEnv(t, nil)
	for _, r := range []answer{e.get(e.client(), "/login/sso"), e.post(e.client(), "/login/sso", url.Values{"email": {"x@unclaimed.test"}})} {
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https: http://localhost:*") {
			t.Errorf("the SSO page's policy (%d): %s", r.status, csp)
		}
	}
	for _, path := range []string{"/login", "/forgot"} {
		if csp := e.get(e.client(), path).header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
			t.Errorf("%s: %s", path, csp)
		}
	}
}

func TestSSODomainClaimedOnce(t *testing.T) {
	e, op := ssoEnv(t, nil)
	ctx := context.Background()
	acct, err := e.svc.CreateAccount(ctx, keyplane.InstallOperator, "Beta Corp")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.SetSSOConfig(ctx, keyplane.Operator(acct.ID), keyplane.OIDCConfig{AccountID: acct.ID, Issuer: op.Issuer, ClientID: "beta",
		Domains: []string{"beta.test", "ACME.test"}}, false)
	if keyplane.ErrorCode(err) != keyplane.CodeConflict || !strings.Contains(err.Error(), "acme.test is claimed") {
		t.Fatalf("a second claim of acme.test: %v", err)
	}
	// An Owner of one account cannot touch another's.
	owner := keyplane.Principal{AccountID: 1, UserID: 1, Role: keyplane.RoleOwner}
	if _, _, err := e.svc.SSOConfig(ctx, owner, acct.ID); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Fatalf("another account's SSO: %v", err)
	}
}

func TestSSOConfigPage(t *testing.T) {
	e := newEnv(t)
	e.user("owner@acme.test", keyplane.RoleOwner)
	e.user("admin@acme.test", keyplane.RoleAdmin)
	owner := e.client()
	e.signIn(owner, "owner@acme.test")
	r := e.get(owner, "/account/sso")
	if r.status != http.StatusOK || !strings.Contains(r.body, e.base+control.SSOCallbackPath) {
		t.Fatalf("/account/sso: %d", r.status)
	}
	form := url.Values{"issuer": {"http://evil.example"}, "client-id": {"kp"}, "domains": {"acme.test"}, "jit-role": {"viewer"},
		"group-roles": {"eng=owner"}}
	if r := e.post(owner, "/account/sso", form); r.status != http.StatusBadRequest || !strings.Contains(r.body, "must be https") {
		t.Fatalf("bad form: %d", r.status)
	}
	form.Set("issuer", "https://login.acme.test")
	form.Set("group-roles", "eng=admin\nops=viewer")
	form.Set("client-secret", "s3cret")
	if r := e.post(owner, "/account/sso", form); r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	c, on, err := e.svc.SSOConfig(context.Background(), keyplane.Operator(1), 1)
	if err != nil || !on || !c.SecretSet || len(c.GroupRoles) != 2 || c.Domains[0] != "acme.test" {
		t.Fatalf("saved: %+v %v %v", c, on, err)
	}
	if r := e.get(owner, "/account/sso"); strings.Contains(r.body, "s3cret") {
		t.Fatal("the client secret is shown")
	}
	// An Account Admin is not the Owner: refused, and offered nothing.
	admin := e.client()
	e.signIn(admin, "admin@acme.test")
	if r := e.get(admin, "/account/sso"); r.status != http.StatusForbidden {
		t.Fatalf("admin's /account/sso: %d", r.status)
	}
	if r := e.post(admin, "/account/sso/remove", nil); r.status != http.StatusForbidden {
		t.Fatalf("admin's remove: %d", r.status)
	}
	if r := e.post(owner, "/account/sso/remove", nil); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
}
