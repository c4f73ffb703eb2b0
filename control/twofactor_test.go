package control_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// codeAt is what an authenticator app shows at t for secret.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolTOTP gives the person an authenticator and returns its secret and
// their recovery codes.
func enrolTOTP(t *testing.T, svc *control.Service, clk *clock, p keyplane.Principal) (string, []string) {
	t.Helper()
	ctx := context.Background()
	e, err := svc.BeginTOTP(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := svc.ConfirmTOTP(ctx, p, "10.0.0.1", codeAt(t, e.Secret, clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	// The next sign-in is in another time step: the confirming code's own
	// step is used up.
	clk.Advance(keyplane.TOTPPeriod)
	return e.Secret, codes
}

// signInStep signs in with the password and expects a second step.
func signInStep(t *testing.T, svc *control.Service, email string) *control.SecondStep {
	t.Helper()
	_, _, err := svc.SignIn(context.Background(), email, pw, "10.0.0.1")
	st, ok := errors.AsType[*control.SecondStep](err)
	if !ok {
		t.Fatalf("sign-in with a second factor: %v, want a second step", err)
	}
	return st
}

func TestTOTPEnrolmentAndSignIn(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	u := mustUser(t, svc, 1, "ada@example.com", keyplane.RoleAdmin)
	p := u.Principal()

	// Enrolment: the URL names the person and Keyplane; a wrong first
	// code confirms nothing; the right one confirms and gives ten codes.
	e, err := svc.BeginTOTP(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URL, "otpauth://totp/Keyplane:ada@example.com?") || !strings.Contains(e.URL, "secret="+e.Secret) {
		t.Fatalf("URL = %q", e.URL)
	}
	if again, ok, err := svc.PendingTOTP(ctx, p); err != nil || !ok || again.Secret != e.Secret {
		t.Fatalf("PendingTOTP = %+v %v %v", again, ok, err)
	}
	_, err = svc.ConfirmTOTP(ctx, p, "10.0.0.1", "000000")
	wantCode(t, err, keyplane.CodeInvalid)
	if f, _ := svc.SecondFactors(ctx, p); f.TOTP {
		t.Fatal("a wrong code confirmed the authenticator")
	}
	// Without a second factor, sign-in opens a session at once.
	if _, _, err := svc.SignIn(ctx, "ada@example.com", pw, "10.0.0.1"); err != nil {
		t.Fatalf("sign-in before enrolment: %v", err)
	}
	codes, err := svc.ConfirmTOTP(ctx, p, "10.0.0.1", codeAt(t, e.Secret, clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != keyplane.RecoveryCodeCount || len(codes[0]) != 19 {
		t.Fatalf("recovery codes = %q", codes)
	}
	if f, _ := svc.SecondFactors(ctx, p); !f.TOTP || f.RecoveryCodes != 10 {
		t.Fatalf("factors = %+v", f)
	}
	_, err = svc.BeginTOTP(ctx, p)
	wantCode(t, err, keyplane.CodeConflict)

	// Sign-in: the password opens no session, only a second step.
	clk.Advance(2 * keyplane.TOTPPeriod)
	st := signInStep(t, svc, "ada@example.com")
	if !st.TOTP || st.Passkey || st.Token == "" {
		t.Fatalf("second step = %+v", st)
	}
	if _, _, err := svc.Session(ctx, st.Token); err == nil {
		t.Fatal("the waiting sign-in's token works as a session")
	}
	_, _, err = svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", "123456")
	wantCode(t, err, keyplane.CodeUnauthorized)
	// A code of the step before is accepted (a phone's clock a little behind).
	code := codeAt(t, e.Secret, clk.Now().Add(-keyplane.TOTPPeriod))
	token, got, err := svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "Firefox/140", code)
	if err != nil || got.ID != u.ID {
		t.Fatalf("CompleteSignIn = %v, %v", got, err)
	}
	// Audited when the session opens, not when the password was right.
	if ev := newestEvent(t, svc, 1); ev.Type != keyplane.EventSignInSucceeded || ev.Actor.Address != "10.0.0.1" || ev.Actor.UserAgent != "Firefox/140" ||
		string(ev.After) != `{"email":"ada@example.com","secondFactor":"authenticator code"}` {
		t.Errorf("the sign-in's record: %s by %+v: %s", ev.Type, ev.Actor, ev.After)
	}
	if sp, _, err := svc.Session(ctx, token); err != nil || sp.UserID != u.ID {
		t.Fatalf("session = %+v, %v", sp, err)
	}
	// The waiting sign-in is used up.
	_, _, err = svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", code)
	wantCode(t, err, keyplane.CodeUnauthorized)

	// Replay: the same code (and any of its step or before) is refused
	// in a new sign-in; the next step's code works.
	st = signInStep(t, svc, "ada@example.com")
	_, _, err = svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", code)
	wantCode(t, err, keyplane.CodeUnauthorized)
	// Two steps ahead is too far.
	_, _, err = svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", codeAt(t, e.Secret, clk.Now().Add(2*keyplane.TOTPPeriod)))
	wantCode(t, err, keyplane.CodeUnauthorized)
	if _, _, err := svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", codeAt(t, e.Secret, clk.Now().Add(keyplane.TOTPPeriod))); err != nil {
		t.Fatalf("next step's code: %v", err)
	}

	// A waiting sign-in expires.
	clk.Advance(5 * keyplane.TOTPPeriod)
	st = signInStep(t, svc, "ada@example.com")
	clk.Advance(keyplane.SecondStepTTL)
	_, _, err = svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", codeAt(t, e.Secret, clk.Now()))
	wantCode(t, err, keyplane.CodeUnauthorized)
}

func TestRecoveryCodesWorkOnce(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	u := mustUser(t, svc, 1, "ada@example.com", keyplane.RoleViewer)
	_, codes := enrolTOTP(t, svc, clk, u.Principal())
	st := signInStep(t, svc, "ada@example.com")
	// Typed in capitals, without dashes: still the code.
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	if _, _, err := svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", typed); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	st = signInStep(t, svc, "ada@example.com")
	_, _, err := svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", codes[3])
	wantCode(t, err, keyplane.CodeUnauthorized)
	if f, _ := svc.SecondFactors(ctx, u.Principal()); f.RecoveryCodes != 9 {
		t.Fatalf("unused codes = %d, want 9", f.RecoveryCodes)
	}
	// New codes replace the old ones, and need the password.
	_, err = svc.RegenerateRecoveryCodes(ctx, u.Principal(), "10.0.0.1", "wrong password!")
	wantCode(t, err, keyplane.CodeInvalid)
	fresh, err := svc.RegenerateRecoveryCodes(ctx, u.Principal(), "10.0.0.1", pw)
	if err != nil || len(fresh) != 10 {
		t.Fatalf("regenerate = %v, %v", fresh, err)
	}
	_, _, err = svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", codes[4])
	wantCode(t, err, keyplane.CodeUnauthorized)
	if _, _, err := svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", fresh[0]); err != nil {
		t.Fatalf("a new code: %v", err)
	}
	// Audit: enrolment, the code's use and the new codes, as the person.
	page, err := svc.ListAuditEvents(ctx, keyplane.Operator(1), keyplane.AuditQuery{AccountID: 1, Limit: 100}, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range page.Events {
		seen[e.Type]++
		if strings.Contains(string(e.After), codes[0]) {
			t.Fatalf("an event holds a recovery code: %s", e.After)
		}
	}
	if seen[keyplane.EventSecondFactorEnrolled] != 1 || seen[keyplane.EventRecoveryCodeUsed] != 2 || seen[keyplane.EventRecoveryCodesRegenerated] != 1 {
		t.Fatalf("events = %v", seen)
	}
}

func TestSecondFactorThrottled(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	u := mustUser(t, svc, 1, "ada@example.com", keyplane.RoleViewer)
	secret, _ := enrolTOTP(t, svc, clk, u.Principal())
	st := signInStep(t, svc, "ada@example.com")
	for range keyplane.MaxSecondFactorFailures {
		_, _, err := svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", "000000")
		wantCode(t, err, keyplane.CodeUnauthorized)
	}
	// Past the limit, even the right code is refused, without a check.
	_, _, err := svc.CompleteSignIn(ctx, st.Token, "10.0.0.2", "", codeAt(t, secret, clk.Now()))
	wantCode(t, err, keyplane.CodeTooManyRequests)
	clk.Advance(keyplane.LoginWindow)
	st = signInStep(t, svc, "ada@example.com")
	if _, _, err := svc.CompleteSignIn(ctx, st.Token, "10.0.0.1", "", codeAt(t, secret, clk.Now())); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestRemoveTOTP(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	u := mustUser(t, svc, 1, "ada@example.com", keyplane.RoleViewer)
	enrolTOTP(t, svc, clk, u.Principal())
	wantCode(t, svc.RemoveTOTP(ctx, u.Principal(), "10.0.0.1", "not my password"), keyplane.CodeInvalid)
	if err := svc.RemoveTOTP(ctx, u.Principal(), "10.0.0.1", pw); err != nil {
		t.Fatal(err)
	}
	if f, _ := svc.SecondFactors(ctx, u.Principal()); f.Any() || f.RecoveryCodes != 0 {
		t.Fatalf("factors after removal = %+v", f)
	}
	if _, _, err := svc.SignIn(ctx, "ada@example.com", pw, "10.0.0.1"); err != nil {
		t.Fatalf("sign-in without a factor: %v", err)
	}
	// Only people have second factors.
	_, err := svc.BeginTOTP(ctx, keyplane.Operator(1))
	wantCode(t, err, keyplane.CodeForbidden)
}

func TestRequireTwoFactors(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	owner, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "owner@example.com", Password: pw, Role: keyplane.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "admin@example.com", Password: pw, Role: keyplane.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	// Only the Owner (or the operator) sets the policy; another account's
	// id answers as a missing one.
	_, _, err = svc.SetSignInPolicy(ctx, admin.Principal(), 1, true)
	wantCode(t, err, keyplane.CodeForbidden)
	_, _, err = svc.SetSignInPolicy(ctx, owner.Principal(), 2, true)
	wantCode(t, err, keyplane.CodeForbidden)
	_, _, err = svc.SetSignInPolicy(ctx, keyplane.Operator(1), 2, true)
	wantCode(t, err, keyplane.CodeNotFound)
	if _, changed, err := svc.SetSignInPolicy(ctx, owner.Principal(), 1, true); err != nil || !changed {
		t.Fatalf("SetSignInPolicy = %v, %v", changed, err)
	}
	if pol, err := svc.SignInPolicy(ctx, admin.Principal()); err != nil || !pol.RequireTwoFactors {
		t.Fatalf("policy = %+v, %v", pol, err)
	}

	// The admin has no factor: their session opens for enrolment only.
	token, _, err := svc.SignIn(ctx, "admin@example.com", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := svc.Session(ctx, token)
	if !errors.Is(err, control.ErrMustEnrol) || p.UserID != admin.ID || len(p.Grants) != 0 {
		t.Fatalf("session = %+v, %v; want enrolment only", p, err)
	}
	_, err = svc.ListUsers(ctx, p)
	wantCode(t, err, keyplane.CodeForbidden)
	// Enrolling opens the session fully.
	enrolTOTP(t, svc, clk, p)
	if p, _, err := svc.Session(ctx, token); err != nil || len(p.Grants) == 0 {
		t.Fatalf("session after enrolment = %+v, %v", p, err)
	}
	// The Users page's column: who has a factor.
	enrolled, err := svc.EnrolledMembers(ctx, owner.Principal())
	if err != nil || !enrolled[admin.ID] || enrolled[owner.ID] {
		t.Fatalf("enrolled = %v, %v", enrolled, err)
	}
	// The last factor cannot go while the account requires two.
	wantCode(t, svc.RemoveTOTP(ctx, admin.Principal(), "10.0.0.1", pw), keyplane.CodeConflict)
	if _, _, err := svc.SetSignInPolicy(ctx, keyplane.Operator(1), 1, false); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveTOTP(ctx, admin.Principal(), "10.0.0.1", pw); err != nil {
		t.Fatal(err)
	}
}

// newestEvent is the newest event of account's audit log.
func newestEvent(t *testing.T, svc *control.Service, account int64) keyplane.AuditEvent {
	t.Helper()
	var last keyplane.AuditEvent
	if err := svc.ExportAudit(context.Background(), account, func(e keyplane.AuditEvent) error { last = e; return nil }); err != nil {
		t.Fatal(err)
	}
	return last
}
