package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/keyplane/keyplane"
)

// totpCode is what an authenticator app shows now (by the server's clock).
func totpCode(t *testing.T, e *env, secret string) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTOTPInBrowser: a person sets up an authenticator app on My Account
// (the QR code is drawn on the page, the secret shown as text), confirms it
// with its first code, gets ten recovery codes once, and from then on signs
// in with the password and a code; a recovery code works once.
func TestTOTPInBrowser(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")
	run(t, ctx, "My Account → Two factors → set up",
		chromedp.Navigate(e.base+"/account"),
		chromedp.Click(chromedp.CSS(`.side a[href="/account/two-factor"]`)),
		chromedp.WaitVisible(chromedp.ID("begin-totp")),
		chromedp.Click(chromedp.ID("begin-totp")),
		chromedp.WaitVisible(chromedp.ID("totp-secret")),
	)
	if n := present(t, ctx, ".qr-box svg path"); n != 1 {
		t.Fatalf("QR code paths = %d", n)
	}
	secret := text(t, ctx, "#totp-secret")
	screenshot(t, ctx, "two-factor-setup")
	run(t, ctx, "a wrong code",
		chromedp.SendKeys(chromedp.ID("totp-code"), "000000"),
		chromedp.Click(chromedp.ID("confirm-totp")),
		chromedp.WaitVisible(chromedp.CSS("#totp-code-err li")),
	)
	if msg := text(t, ctx, "#totp-code-err"); !strings.Contains(msg, "not the code") {
		t.Fatalf("error = %q", msg)
	}
	run(t, ctx, "the right code",
		chromedp.SendKeys(chromedp.ID("totp-code"), totpCode(t, e, secret)),
		chromedp.Click(chromedp.ID("confirm-totp")),
		chromedp.WaitVisible(chromedp.ID("codes")),
	)
	codes := strings.Fields(value(t, ctx, "#codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes = %q", codes)
	}
	screenshot(t, ctx, "recovery-codes")
	// Shown once: the page again says so.
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if h := text(t, ctx, "main h1"); h != "Shown once" {
		t.Fatalf("reloaded codes page: %q", h)
	}

	e.clock.Advance(keyplane.TOTPPeriod)
	signIn := func(code string) {
		t.Helper()
		run(t, ctx, "sign out, sign in with the password",
			chromedp.Navigate(e.base+"/account"),
			chromedp.Click(chromedp.ID("account-menu")),
			chromedp.Click(chromedp.CSS(`.account-menu form[action="/logout"] button`)),
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.ID("sign-in")),
			chromedp.WaitVisible(chromedp.ID("code")),
		)
		screenshot(t, ctx, "second-step")
		run(t, ctx, "second factor",
			chromedp.SendKeys(chromedp.ID("code"), code),
			chromedp.Click(chromedp.ID("verify")),
			chromedp.WaitVisible(chromedp.ID("account-menu")),
		)
	}
	signIn(totpCode(t, e, secret))
	e.clock.Advance(keyplane.TOTPPeriod)
	signIn(codes[0])
	// The used recovery code is refused the second time.
	run(t, ctx, "sign out, sign in, the used recovery code",
		chromedp.Click(chromedp.ID("account-menu")),
		chromedp.Click(chromedp.CSS(`.account-menu form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), codes[0]),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("second-step-error")),
	)
	seen := map[string]bool{}
	for _, ev := range auditEvents(t, e) {
		seen[ev.Type] = true
	}
	if !seen[keyplane.EventSecondFactorEnrolled] || !seen[keyplane.EventRecoveryCodeUsed] {
		t.Errorf("audit events: %v", seen)
	}
}

// TestSecondStepIsNoSession: after the password, the waiting sign-in's
// cookie opens no page, and a wrong code leaves it waiting.
func TestSecondStepIsNoSession(t *testing.T) {
	e := newEnv(t)
	u := e.user("owner@example.com", keyplane.RoleOwner)
	secret := enrolHTTP(t, e, u)
	c := e.client()
	r := e.post(c, "/login", url.Values{"email": {"owner@example.com"}, "password": {password}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login/second-factor") {
		t.Fatalf("sign-in: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.get(c, "/apps"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("/apps before the second factor: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.post(c, "/login/second-factor", url.Values{"code": {"000000"}}); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "not right") {
		t.Fatalf("wrong code: %d", r.status)
	}
	e.clock.Advance(keyplane.TOTPPeriod)
	if r := e.post(c, "/login/second-factor", url.Values{"code": {totpCode(t, e, secret)}}); r.status != http.StatusSeeOther {
		t.Fatalf("right code: %d %s", r.status, r.body)
	}
	if r := e.get(c, "/apps"); r.status != http.StatusOK {
		t.Fatalf("/apps after the second factor: %d", r.status)
	}
}

// enrolHTTP gives u an authenticator behind the portal's back and returns
// its secret.
func enrolHTTP(t *testing.T, e *env, u keyplane.User) string {
	t.Helper()
	en, err := e.svc.BeginTOTP(t.Context(), u.Principal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ConfirmTOTP(t.Context(), u.Principal(), "127.0.0.1", totpCode(t, e, en.Secret)); err != nil {
		t.Fatal(err)
	}
	return en.Secret
}

// TestRequireTwoFactorsInPortal: the Owner requires two factors on the
// Users page; a member without one is sent to enrol at sign-in, and
// nothing else opens until they have.
func TestRequireTwoFactorsInPortal(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	viewer := e.user("viewer@example.com", keyplane.RoleViewer)
	owner := e.client()
	e.signIn(owner, "owner@example.com")
	if r := e.post(owner, "/account/users/policy", url.Values{"require-two-factors": {"on"}}); r.status != http.StatusSeeOther {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	if r := e.get(owner, "/account/users"); !strings.Contains(r.body, `id="require-two-factors" name="require-two-factors" checked`) || !strings.Contains(r.body, "Not set up") {
		t.Fatalf("users page: %d %s", r.status, r.body)
	}
	c := e.client()
	e.signIn(c, "viewer@example.com")
	if r := e.get(c, "/apps"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/account/two-factor" {
		t.Fatalf("/apps before enrolling: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.get(c, "/account/two-factor"); r.status != http.StatusOK || !strings.Contains(r.body, `id="must-enrol"`) {
		t.Fatalf("two-factor page: %d", r.status)
	}
	if r := e.post(c, "/account/two-factor/totp", nil); r.status != http.StatusSeeOther {
		t.Fatalf("begin: %d %s", r.status, r.body)
	}
	p := viewer.Principal()
	en, ok, err := e.svc.PendingTOTP(t.Context(), p)
	if err != nil || !ok {
		t.Fatalf("pending: %v %v", ok, err)
	}
	r := e.post(c, "/account/two-factor/totp/confirm", url.Values{"code": {totpCode(t, e, en.Secret)}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "/shown?form=") {
		t.Fatalf("confirm: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.get(c, r.header.Get("Location")); r.status != http.StatusOK || !strings.Contains(r.body, "Save these codes now") {
		t.Fatalf("codes: %d", r.status)
	}
	if r := e.get(c, "/apps"); r.status != http.StatusOK {
		t.Fatalf("/apps after enrolling: %d", r.status)
	}
	if r := e.get(owner, "/account/users"); strings.Count(r.body, `<span class="badge">On</span>`) != 1 {
		t.Fatalf("users page after enrolment: %s", r.body)
	}
}
