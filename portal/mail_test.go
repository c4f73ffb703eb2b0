package portal_test

import (
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/smtptest"
	"github.com/keyplane/keyplane/server"
)

// mailEnv is a server sending through a real SMTP server (started here),
// its public URL its own address, so links in messages lead to it.
func mailEnv(t *testing.T, signup bool) (*env, *smtptest.Server) {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{})
	// The public URL is needed before the server starts: take a free port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := newEnvWith(t, func(c *server.Config) {
		c.Addr, c.PublicURL = addr, "http://"+addr
		c.SMTPURL, c.SMTPFrom, c.Signup = srv.URL, "Keyplane <noreply@keyplane.example>", signup
	})
	return e, srv
}

// linkPath is the path and query of a link in a message, checked to lead
// to e's server at path.
func (e *env) linkPath(link, path string) string {
	e.t.Helper()
	if !strings.HasPrefix(link, e.base+path+"?token=") {
		e.t.Fatalf("link %q does not lead to %s%s", link, e.base, path)
	}
	return strings.TrimPrefix(link, e.base)
}

// noSecretsLogged checks the server's log holds none of secrets.
func (e *env) noSecretsLogged(secrets ...string) {
	e.t.Helper()
	logs := e.logs.String()
	if !strings.Contains(logs, "portal request") {
		e.t.Fatal("the server logged no request: the check would prove nothing")
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			e.t.Errorf("the server's log holds a secret (%.12s…)", s)
		}
	}
}

func tokenIn(link string) string {
	u, _ := url.Parse(link)
	return u.Query().Get("token")
}

// An Owner invites by e-mail from the Users page; the message arrives at
// a real SMTP server; its link, followed over HTTP, lets the invitee
// choose a password and lands them signed in, in the account, with the
// role given; the link works once and its token is never logged.
func TestInvitationByEmailOverHTTP(t *testing.T) {
	e, srv := mailEnv(t, false)
	e.user("owner@example.com", keyplane.RoleOwner)
	admin := e.client()
	e.signIn(admin, "owner@example.com")
	r := e.post(admin, "/account/users/invitations", url.Values{"email": {"New@Example.com"}, "role": {"admin"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/account/users?done=invitation-sent" {
		t.Fatalf("invite: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	m := srv.Next(t)
	if m.To != "new@example.com" || m.Header.Get("Subject") != "You are invited to Default account on Keyplane" {
		t.Errorf("message to %s: %s", m.To, m.Header.Get("Subject"))
	}
	link := m.Link(t)
	page := e.get(admin, "/account/users")
	if !strings.Contains(page.body, "Pending invitations") || !strings.Contains(page.body, "new@example.com") || !strings.Contains(page.body, "Send again") {
		t.Errorf("the Users page lists no pending invitation:\n%s", page.body)
	}

	c := e.client()
	path := e.linkPath(link, "/invitation")
	r = e.get(c, path)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Join Default account") || !strings.Contains(r.body, "Choose a password") {
		t.Fatalf("the link: %d\n%s", r.status, r.body)
	}
	token := tokenIn(link)
	r = e.post(c, "/invitation", url.Values{"token": {token}, "password": {password}, "confirm": {"something else"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "the two passwords differ") {
		t.Fatalf("mismatched passwords: %d %s", r.status, r.body)
	}
	r = e.post(c, "/invitation", url.Values{"token": {token}, "password": {password}, "confirm": {password}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/apps?done=joined" {
		t.Fatalf("accept: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	r = e.get(c, "/apps?done=joined")
	if r.status != http.StatusOK || !strings.Contains(r.body, "new@example.com") || !strings.Contains(r.body, "you joined the account") {
		t.Fatalf("landing: %d\n%s", r.status, r.body)
	}
	// Account Admin: the Users page is theirs to manage.
	if r := e.get(c, "/account/users"); r.status != http.StatusOK || !strings.Contains(r.body, "Invite by e-mail") {
		t.Errorf("the invitee's Users page: %d", r.status)
	}
	// Once.
	for _, r := range []answer{e.get(e.client(), path), e.post(e.client(), "/invitation", url.Values{"token": {token}, "password": {password}, "confirm": {password}})} {
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "This invitation link does not work") {
			t.Errorf("a used link: %d %s", r.status, r.body)
		}
	}
	if r := e.get(admin, "/account/users"); strings.Contains(r.body, "Pending invitations") {
		t.Error("the accepted invitation is still pending")
	}
	e.noSecretsLogged(token)
}

// Resend makes a new link and the old one stops working; revoke ends the
// new one; a Viewer sees pending invitations but is offered no change,
// and a forged request is refused.
func TestInvitationResendAndRevokeOverHTTP(t *testing.T) {
	e, srv := mailEnv(t, false)
	e.user("owner@example.com", keyplane.RoleOwner)
	e.user("viewer@example.com", keyplane.RoleViewer)
	admin := e.client()
	e.signIn(admin, "owner@example.com")
	if r := e.post(admin, "/account/users/invitations", url.Values{"email": {"a@example.com"}, "role": {"viewer"}}); r.status != http.StatusSeeOther {
		t.Fatalf("invite: %d %s", r.status, r.body)
	}
	first := srv.Next(t).Link(t)
	invs, err := e.svc.ListInvitations(t.Context(), keyplane.Operator(1))
	if err != nil || len(invs) != 1 {
		t.Fatalf("%v %v", invs, err)
	}
	id := itoa(invs[0].ID)
	viewer := e.client()
	e.signIn(viewer, "viewer@example.com")
	if r := e.get(viewer, "/account/users"); !strings.Contains(r.body, "a@example.com") || strings.Contains(r.body, "Send again") || strings.Contains(r.body, "Invite by e-mail") {
		t.Errorf("a Viewer's Users page:\n%s", r.body)
	}
	if r := e.post(viewer, "/account/users/invitations/"+id+"/revoke", nil); r.status != http.StatusForbidden {
		t.Errorf("a Viewer revoked: %d", r.status)
	}
	if r := e.post(viewer, "/account/users/invitations", url.Values{"email": {"b@example.com"}, "role": {"viewer"}}); r.status != http.StatusForbidden {
		t.Errorf("a Viewer invited: %d", r.status)
	}
	r := e.post(admin, "/account/users/invitations/"+id+"/resend", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/account/users?done=invitation-resent" {
		t.Fatalf("resend: %d %s", r.status, r.body)
	}
	second := srv.Next(t).Link(t)
	if first == second {
		t.Fatal("the same link again")
	}
	if r := e.get(e.client(), e.linkPath(first, "/invitation")); r.status != http.StatusNotFound {
		t.Errorf("the first link after a resend: %d", r.status)
	}
	if r := e.post(admin, "/account/users/invitations/"+id+"/revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.get(e.client(), e.linkPath(second, "/invitation")); r.status != http.StatusNotFound {
		t.Errorf("the link after a revoke: %d", r.status)
	}
	// Bad input: a clear message beside the field, nothing sent.
	r = e.post(admin, "/account/users/invitations", url.Values{"email": {"not an address"}, "role": {"viewer"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "email: not an e-mail address") {
		t.Errorf("bad address: %d", r.status)
	}
	r = e.post(admin, "/account/users/invitations", url.Values{"email": {"viewer@example.com"}, "role": {"viewer"}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "already a member") {
		t.Errorf("a member: %d", r.status)
	}
	srv.None(t, 0)
}

// Without a mail server the inviter is shown the link once, and it works
// as a mailed one does; Forgot password says to ask the operator.
func TestInvitationWithoutMailShowsTheLinkOnce(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	admin := e.client()
	e.signIn(admin, "owner@example.com")
	if r := e.get(admin, "/account/users"); !strings.Contains(r.body, "This Keyplane has no mail server") {
		t.Error("the invitation form does not say the link will be shown")
	}
	r := e.post(admin, "/account/users/invitations", url.Values{"email": {"new@example.com"}, "role": {"viewer"}})
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/users/invitations/shown?form=") {
		t.Fatalf("invite: %d %s", r.status, loc)
	}
	r = e.get(admin, loc)
	m := regexp.MustCompile(`id="invite-link" value="([^"]+)"`).FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("shown: %d\n%s", r.status, r.body)
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	if r := e.get(admin, loc); r.status != http.StatusGone {
		t.Errorf("shown twice: %d", r.status)
	}
	c := e.client()
	r = e.post(c, "/invitation", url.Values{"token": {tokenIn(link)}, "password": {password}, "confirm": {password}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	if r := e.get(c, "/forgot"); !strings.Contains(r.body, "keyplane admin reset-password") {
		t.Errorf("forgot without mail:\n%s", r.body)
	}
	if r := e.get(c, "/signup"); r.status != http.StatusNotFound {
		t.Errorf("sign-up, off: %d", r.status)
	}
	e.noSecretsLogged(tokenIn(link))
}

// Forgot password answers the same for an address with a person and one
// without; only the first gets a message; its link sets a new password,
// ends every session of that person, and works once; asking is throttled.
func TestPasswordResetOverHTTP(t *testing.T) {
	e, srv := mailEnv(t, false)
	e.user("owner@example.com", keyplane.RoleOwner)
	old := e.client()
	e.signIn(old, "owner@example.com")
	if r := e.get(e.client(), "/login"); !strings.Contains(r.body, `href="/forgot"`) || strings.Contains(r.body, `href="/signup"`) {
		t.Errorf("sign-in page:\n%s", r.body)
	}
	c := e.client()
	unknown := e.post(c, "/forgot", url.Values{"email": {"nobody@example.com"}})
	known := e.post(c, "/forgot", url.Values{"email": {"owner@example.com"}})
	if unknown.status != known.status || unknown.header.Get("Location") != known.header.Get("Location") || unknown.body != known.body || known.status != http.StatusSeeOther {
		t.Fatalf("answers differ: %d %s / %d %s", unknown.status, unknown.header.Get("Location"), known.status, known.header.Get("Location"))
	}
	if r := e.get(c, known.header.Get("Location")); !strings.Contains(r.body, "a link to choose a new password is on its way") {
		t.Errorf("after asking:\n%s", r.body)
	}
	m := srv.Next(t)
	if m.To != "owner@example.com" {
		t.Fatalf("message to %s", m.To)
	}
	srv.None(t, 0)
	link := m.Link(t)
	path := e.linkPath(link, "/reset")
	if r := e.get(c, path); r.status != http.StatusOK || !strings.Contains(r.body, "for owner@example.com") {
		t.Fatalf("the link: %d", r.status)
	}
	token := tokenIn(link)
	r := e.post(c, "/reset", url.Values{"token": {token}, "password": {"short"}, "confirm": {"short"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "at least 12 characters") {
		t.Errorf("short: %d", r.status)
	}
	r = e.post(c, "/reset", url.Values{"token": {token}, "password": {"a whole new password"}, "confirm": {"a whole new password"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?done=password-reset" {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if r := e.get(old, "/apps"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("the old session after a reset: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.post(e.client(), "/login", url.Values{"email": {"owner@example.com"}, "password": {"a whole new password"}}); r.status != http.StatusSeeOther {
		t.Errorf("sign in with the new password: %d", r.status)
	}
	if r := e.get(c, path); r.status != http.StatusNotFound {
		t.Errorf("the link again: %d", r.status)
	}
	// Throttled per address: two more make 3, the limit; then 429.
	for range 2 {
		if r := e.post(c, "/forgot", url.Values{"email": {"owner@example.com"}}); r.status != http.StatusSeeOther {
			t.Fatalf("asking again: %d", r.status)
		}
		srv.Next(t)
	}
	r = e.post(c, "/forgot", url.Values{"email": {"owner@example.com"}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many e-mails were asked for this address") {
		t.Errorf("fourth: %d %q", r.status, r.header.Get("Retry-After"))
	}
	e.noSecretsLogged(token)
}

// Sign-up, when on, confirms the address by e-mail and then creates an
// account with its person as Owner.
func TestSignupOverHTTP(t *testing.T) {
	e, srv := mailEnv(t, true)
	c := e.client()
	if r := e.get(c, "/login"); !strings.Contains(r.body, `href="/signup"`) {
		t.Error("no sign-up link on the sign-in page")
	}
	r := e.post(c, "/signup", url.Values{"email": {"founder@example.com"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signup?done=signup-sent" {
		t.Fatalf("sign up: %d %s", r.status, r.body)
	}
	link := srv.Next(t).Link(t)
	if r := e.get(c, e.linkPath(link, "/signup/confirm")); r.status != http.StatusOK || !strings.Contains(r.body, "founder@example.com is confirmed") {
		t.Fatalf("the link: %d", r.status)
	}
	token := tokenIn(link)
	r = e.post(c, "/signup/confirm", url.Values{"token": {token}, "account": {""}, "password": {password}, "confirm": {password}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "account: required") {
		t.Errorf("no name: %d", r.status)
	}
	r = e.post(c, "/signup/confirm", url.Values{"token": {token}, "account": {"Founders Inc"}, "password": {password}, "confirm": {password}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/apps?done=signed-up" {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if r := e.get(c, "/account"); !strings.Contains(r.body, "Founders Inc") || !strings.Contains(r.body, "founder@example.com") {
		t.Errorf("My Account:\n%s", r.body)
	}
	if r := e.get(e.client(), e.linkPath(link, "/signup/confirm")); r.status != http.StatusNotFound {
		t.Errorf("the link again: %d", r.status)
	}
	e.noSecretsLogged(token)
}

// The invitation's link works in a browser: Chromium opens it from the
// message, the invitee chooses a password and lands in the account.
func TestInvitationInBrowser(t *testing.T) {
	e, srv := mailEnv(t, false)
	e.user("owner@example.com", keyplane.RoleOwner)
	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")
	run(t, ctx, "invite",
		chromedp.Navigate(e.base+"/account/users"),
		chromedp.WaitVisible(chromedp.ID("invite-email")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "browser@example.com"),
		chromedp.SetValue(chromedp.ID("invite-role"), "viewer"),
	)
	screenshot(t, ctx, "invite")
	run(t, ctx, "send", chromedp.Click(chromedp.ID("invite")), chromedp.WaitVisible(chromedp.ID("pending")))
	link := srv.Next(t).Link(t)
	invitee := tab(t)
	run(t, invitee, "open the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("confirm"), password),
	)
	screenshot(t, invitee, "invitation")
	run(t, invitee, "join", chromedp.Click(chromedp.ID("join")), chromedp.WaitVisible(chromedp.ID("account-menu")))
	if who := text(t, invitee, "#account-menu"); !strings.Contains(who, "browser@example.com") {
		t.Errorf("signed in as %q", who)
	}
	// A second use, in the browser, is refused.
	run(t, invitee, "open it again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(".card.dialog")))
	if msg := text(t, invitee, ".card.dialog"); !strings.Contains(msg, "does not work") {
		t.Errorf("second use: %q", msg)
	}
}

// A password reset in a browser: Chromium asks for it from the sign-in
// page, the message arrives, its link opens the form, the new password
// signs in; the link then does not work again.
func TestPasswordResetInBrowser(t *testing.T) {
	e, srv := mailEnv(t, false)
	e.user("owner@example.com", keyplane.RoleOwner)
	ctx := tab(t)
	run(t, ctx, "ask for a link",
		chromedp.Navigate(e.base+"/login"),
		chromedp.WaitVisible(chromedp.ID("forgot")),
		chromedp.Click(chromedp.ID("forgot")),
		chromedp.WaitVisible(chromedp.ID("send-reset")),
		chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
		chromedp.Click(chromedp.ID("send-reset")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	link := srv.Next(t).Link(t)
	const fresh = "a password chosen in the browser"
	run(t, ctx, "open the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("set-password")),
		chromedp.SendKeys(chromedp.ID("password"), fresh),
		chromedp.SendKeys(chromedp.ID("confirm"), fresh),
		chromedp.Click(chromedp.ID("set-password")),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), fresh),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("account-menu")),
	)
	run(t, ctx, "open it again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(".card.dialog")))
	if msg := text(t, ctx, ".card.dialog"); !strings.Contains(msg, "does not work") {
		t.Errorf("second use: %q", msg)
	}
}
