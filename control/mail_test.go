package control_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/smtptest"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/mail"
	"github.com/keyplane/keyplane/store"
)

const pw = "correct horse battery"

// mailSetup is a Service on a fresh database that sends through a real
// SMTP server (nil srv: no mail server at all).
func mailSetup(t *testing.T, withMail, signup bool) (*control.Service, *smtptest.Server, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	db, err := store.Open(context.Background(), testdb.DSN(t), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := control.Options{Now: clk.Now, PublicURL: "https://keyplane.example/", Signup: signup}
	var srv *smtptest.Server
	if withMail {
		srv = smtptest.Start(t, smtptest.Options{TLS: true})
		c, err := mail.ParseURL(srv.URL, "Keyplane <noreply@keyplane.example>", "")
		if err != nil {
			t.Fatal(err)
		}
		c.RootCAs = srv.RootCAs
		o.Mailer = mail.NewSMTP(c, clk.Now)
	}
	return control.New(db, o), srv, clk
}

// tokenOf is the token of a link, checked to lead to path under the
// public URL.
func tokenOf(t *testing.T, link, path string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || u.Host != "keyplane.example" || u.Path != path {
		t.Fatalf("link %q does not lead to https://keyplane.example%s", link, path)
	}
	return u.Query().Get("token")
}

func owner(t *testing.T, svc *control.Service, account int64, email string) keyplane.Principal {
	t.Helper()
	u, _, err := svc.CreateUser(context.Background(), keyplane.Operator(account), control.NewUser{Email: email, Password: pw, Role: keyplane.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	return u.Principal()
}

func auditTypes(t *testing.T, svc *control.Service, account int64) string {
	t.Helper()
	page, err := svc.ListAuditEvents(context.Background(), keyplane.Operator(account), keyplane.AuditQuery{Limit: 1000}, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Events {
		out = append(out, e.Type)
	}
	return strings.Join(out, " ")
}

// An invitation is mailed; its link, opened, lets a new person choose a
// password and puts them in the account with the role given; it works
// once.
func TestInvitationIsMailedAndAcceptedOnce(t *testing.T) {
	svc, srv, _ := mailSetup(t, true, false)
	ctx := context.Background()
	p := owner(t, svc, 1, "owner@example.com")
	inv, d, err := svc.Invite(ctx, p, control.NewInvitation{Email: " New@Example.com ", Role: keyplane.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Mailed || d.Link != "" || inv.Email != "new@example.com" {
		t.Fatalf("delivery %+v, invitation %+v", d, inv)
	}
	m := srv.Next(t)
	if m.To != "new@example.com" || !strings.Contains(m.Text, "owner@example.com invited you") || !strings.Contains(m.Text, "Account Viewer") || !strings.Contains(m.Text, "7 days") {
		t.Errorf("message to %s:\n%s", m.To, m.Text)
	}
	token := tokenOf(t, m.Link(t), control.InvitationPath)
	l, err := svc.OpenInvitation(ctx, token)
	if err != nil || l.Existing || l.Account.ID != 1 || l.Invitation.Role != keyplane.RoleViewer {
		t.Fatalf("open: %+v, %v", l, err)
	}
	_, _, err = svc.AcceptInvitation(ctx, token, "short", "192.0.2.1", "")
	wantCode(t, err, keyplane.CodeInvalid)
	session, u, err := svc.AcceptInvitation(ctx, token, pw, "192.0.2.1", "")
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := svc.Session(ctx, session)
	if err != nil || sp.UserID != u.ID || sp.AccountID != 1 || sp.Role != keyplane.RoleViewer {
		t.Fatalf("session %+v, %v", sp, err)
	}
	if _, _, err := svc.SignIn(ctx, "new@example.com", pw, "192.0.2.1"); err != nil {
		t.Fatalf("the new person cannot sign in: %v", err)
	}
	// Once: the link is spent.
	_, err = svc.OpenInvitation(ctx, token)
	wantCode(t, err, keyplane.CodeNotFound)
	_, _, err = svc.AcceptInvitation(ctx, token, pw, "192.0.2.1", "")
	wantCode(t, err, keyplane.CodeNotFound)
	if is, err := svc.ListInvitations(ctx, p); err != nil || len(is) != 0 {
		t.Errorf("pending after acceptance: %v, %v", is, err)
	}
	if got := auditTypes(t, svc, 1); !strings.HasSuffix(got, "InvitationSent InvitationAccepted UserAccountAccessGranted SignInSucceeded") {
		t.Errorf("audit: %s", got)
	}
}

// The link works for 7 days and not a moment more; resending makes a new
// link for 7 more days and the old one stops working; revoking ends it.
func TestInvitationExpiresResendAndRevoke(t *testing.T) {
	svc, srv, clk := mailSetup(t, true, false)
	ctx := context.Background()
	p := owner(t, svc, 1, "owner@example.com")
	app, err := svc.CreateApp(ctx, keyplane.Operator(1), "Chat")
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := svc.Invite(ctx, p, control.NewInvitation{Email: "a@example.com", Role: keyplane.RoleAppViewer, Apps: []int64{app.ID}})
	if err != nil {
		t.Fatal(err)
	}
	first := tokenOf(t, srv.Next(t).Link(t), control.InvitationPath)
	clk.Advance(keyplane.InvitationTTL - time.Millisecond)
	if _, err := svc.OpenInvitation(ctx, first); err != nil {
		t.Fatalf("a moment before 7 days: %v", err)
	}
	clk.Advance(time.Millisecond)
	_, err = svc.OpenInvitation(ctx, first)
	wantCode(t, err, keyplane.CodeNotFound)
	// Still listed, expired, to be sent again.
	is, err := svc.ListInvitations(ctx, p)
	if err != nil || len(is) != 1 || !is[0].Expired(clk.Now()) {
		t.Fatalf("pending: %+v, %v", is, err)
	}
	if _, d, err := svc.ResendInvitation(ctx, p, inv.ID); err != nil || !d.Mailed {
		t.Fatalf("resend: %+v, %v", d, err)
	}
	second := tokenOf(t, srv.Next(t).Link(t), control.InvitationPath)
	_, err = svc.OpenInvitation(ctx, first)
	wantCode(t, err, keyplane.CodeNotFound)
	clk.Advance(keyplane.InvitationTTL - time.Millisecond)
	session, u, err := svc.AcceptInvitation(ctx, second, pw, "192.0.2.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != keyplane.RoleAppViewer || len(u.Apps) != 1 || u.Apps[0] != app.ID || session == "" {
		t.Fatalf("accepted as %+v", u)
	}
	// Revoked: the link stops working.
	inv2, _, err := svc.Invite(ctx, p, control.NewInvitation{Email: "b@example.com", Role: keyplane.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	third := tokenOf(t, srv.Next(t).Link(t), control.InvitationPath)
	if err := svc.RevokeInvitation(ctx, p, inv2.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = svc.AcceptInvitation(ctx, third, pw, "192.0.2.1", "")
	wantCode(t, err, keyplane.CodeNotFound)
	if got := auditTypes(t, svc, 1); !strings.HasSuffix(got, "InvitationSent InvitationSent InvitationAccepted UserAccountAccessGranted InvitationSent InvitationRevoked") {
		t.Errorf("audit: %s", got)
	}
}

// A person already in Keyplane accepts with their own password and gains
// a membership; their password stays theirs.
func TestSecondInvitationAddsAMembership(t *testing.T) {
	svc, srv, _ := mailSetup(t, true, false)
	ctx := context.Background()
	owner(t, svc, 1, "owner@example.com")
	acc, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Beta")
	if err != nil {
		t.Fatal(err)
	}
	pb := owner(t, svc, acc.ID, "owner@beta.example")
	if _, _, err := svc.Invite(ctx, pb, control.NewInvitation{Email: "owner@example.com", Role: keyplane.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	token := tokenOf(t, srv.Next(t).Link(t), control.InvitationPath)
	l, err := svc.OpenInvitation(ctx, token)
	if err != nil || !l.Existing || l.Account.Name != "Beta" {
		t.Fatalf("open: %+v, %v", l, err)
	}
	_, _, err = svc.AcceptInvitation(ctx, token, "not my password at all", "192.0.2.1", "")
	wantCode(t, err, keyplane.CodeInvalid)
	session, u, err := svc.AcceptInvitation(ctx, token, pw, "192.0.2.1", "")
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := svc.Session(ctx, session)
	if err != nil || sp.AccountID != acc.ID || sp.Role != keyplane.RoleAdmin {
		t.Fatalf("session %+v, %v", sp, err)
	}
	ms, err := svc.Memberships(ctx, u.Principal())
	if err != nil || len(ms) != 2 || ms[0].Role != keyplane.RoleOwner || ms[1].Role != keyplane.RoleAdmin {
		t.Fatalf("memberships %+v, %v", ms, err)
	}
}

// Inviting is authorized through the principal: Viewers may not, Owner
// is the operator's to give, another account's invitation answers as a
// missing one, and an address already in (or already invited) is refused.
func TestInvitationRules(t *testing.T) {
	svc, srv, _ := mailSetup(t, true, false)
	ctx := context.Background()
	p := owner(t, svc, 1, "owner@example.com")
	viewer := newUser(t, svc, "viewer@example.com", keyplane.RoleViewer).Principal()
	_, _, err := svc.Invite(ctx, viewer, control.NewInvitation{Email: "x@example.com", Role: keyplane.RoleViewer})
	wantCode(t, err, keyplane.CodeForbidden)
	_, _, err = svc.Invite(ctx, p, control.NewInvitation{Email: "x@example.com", Role: keyplane.RoleOwner})
	wantCode(t, err, keyplane.CodeInvalid)
	_, _, err = svc.Invite(ctx, p, control.NewInvitation{Email: "not an address", Role: keyplane.RoleViewer})
	wantCode(t, err, keyplane.CodeInvalid)
	_, _, err = svc.Invite(ctx, p, control.NewInvitation{Email: "x@example.com", Role: keyplane.RoleAppAdmin})
	wantCode(t, err, keyplane.CodeInvalid)
	_, _, err = svc.Invite(ctx, p, control.NewInvitation{Email: "viewer@example.com", Role: keyplane.RoleAdmin})
	wantCode(t, err, keyplane.CodeConflict)
	inv, _, err := svc.Invite(ctx, p, control.NewInvitation{Email: "x@example.com", Role: keyplane.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	srv.Next(t)
	_, _, err = svc.Invite(ctx, p, control.NewInvitation{Email: "X@example.com", Role: keyplane.RoleAdmin})
	wantCode(t, err, keyplane.CodeConflict)
	_, _, err = svc.ResendInvitation(ctx, viewer, inv.ID)
	wantCode(t, err, keyplane.CodeForbidden)
	wantCode(t, svc.RevokeInvitation(ctx, viewer, inv.ID), keyplane.CodeForbidden)
	if is, err := svc.ListInvitations(ctx, viewer); err != nil || len(is) != 1 {
		t.Errorf("a Viewer reads pending invitations: %v, %v", is, err)
	}
	acc, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Beta")
	if err != nil {
		t.Fatal(err)
	}
	pb := owner(t, svc, acc.ID, "owner@beta.example")
	for _, id := range []int64{inv.ID, 999999} {
		_, _, err = svc.ResendInvitation(ctx, pb, id)
		wantCode(t, err, keyplane.CodeNotFound)
		wantCode(t, svc.RevokeInvitation(ctx, pb, id), keyplane.CodeNotFound)
	}
	if is, err := svc.ListInvitations(ctx, pb); err != nil || len(is) != 0 {
		t.Errorf("account B lists %v, %v", is, err)
	}
	// The operator may invite an Owner.
	if _, d, err := svc.Invite(ctx, keyplane.Operator(acc.ID), control.NewInvitation{Email: "second@beta.example", Role: keyplane.RoleOwner}); err != nil || !d.Mailed {
		t.Fatalf("operator: %+v, %v", d, err)
	}
	if m := srv.Next(t); !strings.Contains(m.Text, "The operator of this Keyplane invited you") {
		t.Errorf("message: %s", m.Text)
	}
}

// Without a mail server an invitation's link comes back to be handed
// over, and works as a mailed one does.
func TestInvitationWithoutMail(t *testing.T) {
	svc, _, _ := mailSetup(t, false, false)
	ctx := context.Background()
	p := owner(t, svc, 1, "owner@example.com")
	_, d, err := svc.Invite(ctx, p, control.NewInvitation{Email: "new@example.com", Role: keyplane.RoleAdmin})
	if err != nil || d.Mailed || d.MailFailed {
		t.Fatalf("%+v, %v", d, err)
	}
	if _, _, err := svc.AcceptInvitation(ctx, tokenOf(t, d.Link, control.InvitationPath), pw, "192.0.2.1", ""); err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestPasswordReset(ctx, "new@example.com", "192.0.2.1", ""); keyplane.ErrorCode(err) != keyplane.CodeUnavailable {
		t.Errorf("reset without mail: %v", err)
	}
	// The operator hands a reset link over instead.
	link, mailed, err := svc.PasswordResetLink(ctx, keyplane.Operator(1), "new@example.com")
	if err != nil || mailed {
		t.Fatalf("%q %v %v", link, mailed, err)
	}
	if err := svc.ResetPassword(ctx, tokenOf(t, link, control.ResetPath), "another good password", "192.0.2.1", ""); err != nil {
		t.Fatal(err)
	}
	acc, _ := svc.CreateAccount(ctx, keyplane.InstallOperator, "Beta")
	_, _, err = svc.PasswordResetLink(ctx, keyplane.Operator(acc.ID), "new@example.com")
	wantCode(t, err, keyplane.CodeNotFound)
	_, _, err = svc.PasswordResetLink(ctx, p, "new@example.com")
	wantCode(t, err, keyplane.CodeForbidden)
}

// A reset is asked for with the same answer whether or not the address
// has a person (a message goes only to one that has); its link works for
// an hour, once, and ends every session of the person.
func TestPasswordReset(t *testing.T) {
	svc, srv, clk := mailSetup(t, true, false)
	ctx := context.Background()
	owner(t, svc, 1, "owner@example.com")
	session, _, err := svc.SignIn(ctx, "owner@example.com", pw, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RequestPasswordReset(ctx, "nobody@example.com", "192.0.2.1", ""); err != nil {
		t.Fatalf("an unknown address: %v", err)
	}
	svc.WaitBackground(ctx)
	srv.None(t, 0)
	if err := svc.RequestPasswordReset(ctx, " Owner@Example.com", "192.0.2.1", ""); err != nil {
		t.Fatal(err)
	}
	svc.WaitBackground(ctx)
	m := srv.Next(t)
	if m.To != "owner@example.com" || !strings.Contains(m.Text, "1 hour") {
		t.Errorf("message to %s: %s", m.To, m.Text)
	}
	token := tokenOf(t, m.Link(t), control.ResetPath)
	if email, err := svc.OpenPasswordReset(ctx, token); err != nil || email != "owner@example.com" {
		t.Fatalf("open: %q %v", email, err)
	}
	wantCode(t, svc.ResetPassword(ctx, token, "short", "192.0.2.1", ""), keyplane.CodeInvalid)
	clk.Advance(keyplane.PasswordResetTTL - time.Millisecond)
	if err := svc.ResetPassword(ctx, token, "a brand new password", "192.0.2.1", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Session(ctx, session); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("the session survived the reset: %v", err)
	}
	if _, _, err := svc.SignIn(ctx, "owner@example.com", "a brand new password", "192.0.2.1"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	wantCode(t, svc.ResetPassword(ctx, token, "yet another password", "192.0.2.1", ""), keyplane.CodeNotFound)
	// An hour, and not a moment more.
	if err := svc.RequestPasswordReset(ctx, "owner@example.com", "192.0.2.1", ""); err != nil {
		t.Fatal(err)
	}
	late := tokenOf(t, srv.Next(t).Link(t), control.ResetPath)
	clk.Advance(keyplane.PasswordResetTTL)
	wantCode(t, svc.ResetPassword(ctx, late, "yet another password", "192.0.2.1", ""), keyplane.CodeNotFound)
	svc.WaitBackground(ctx)
	if got := auditTypes(t, svc, 1); !strings.HasSuffix(got, "PasswordResetRequested UserPasswordReset SignInSucceeded PasswordResetRequested") {
		t.Errorf("audit: %s", got)
	}
	// Each says where its request came from.
	if err := svc.ExportAudit(ctx, 1, func(e keyplane.AuditEvent) error {
		if (e.Type == keyplane.EventPasswordResetRequested || e.Type == keyplane.EventUserPasswordReset) && e.Actor.Address != "192.0.2.1" {
			t.Errorf("%s from %q", e.Type, e.Actor.Address)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Asking for e-mail is limited per address and per client, whether or not
// the address has a person, with a Retry-After.
func TestPasswordResetIsThrottled(t *testing.T) {
	svc, srv, clk := mailSetup(t, true, false)
	ctx := context.Background()
	owner(t, svc, 1, "owner@example.com")
	for _, email := range []string{"owner@example.com", "nobody@example.com"} {
		for range keyplane.MaxMailRequestsAddress {
			if err := svc.RequestPasswordReset(ctx, email, "192.0.2.1", ""); err != nil {
				t.Fatal(err)
			}
		}
		err := svc.RequestPasswordReset(ctx, email, "192.0.2.2", "")
		wantCode(t, err, keyplane.CodeTooManyRequests)
		if e, ok := err.(*keyplane.Error); !ok || e.RetryAfter <= 0 || !strings.Contains(err.Error(), "this address") {
			t.Errorf("refusal %v", err)
		}
	}
	svc.WaitBackground(ctx)
	for range keyplane.MaxMailRequestsAddress {
		srv.Next(t)
	}
	srv.None(t, 0)
	// Per client: another 4 addresses from 192.0.2.1 pass the 10.
	for i := range keyplane.MaxMailRequestsClient - 2*keyplane.MaxMailRequestsAddress {
		if err := svc.RequestPasswordReset(ctx, "p"+itoa(int64(i))+"@example.com", "192.0.2.1", ""); err != nil {
			t.Fatal(err)
		}
	}
	err := svc.RequestPasswordReset(ctx, "fresh@example.com", "192.0.2.1", "")
	wantCode(t, err, keyplane.CodeTooManyRequests)
	if !strings.Contains(err.Error(), "network address") {
		t.Errorf("refusal %v", err)
	}
	clk.Advance(keyplane.LoginWindow)
	if err := svc.RequestPasswordReset(ctx, "fresh@example.com", "192.0.2.1", ""); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// Sign-up is off unless asked for; on, a link confirms the address and
// creates an account with its person as Owner (a new person, or one who
// signs in already, giving their password).
func TestSignup(t *testing.T) {
	off, _, _ := mailSetup(t, true, false)
	ctx := context.Background()
	wantCode(t, off.RequestSignup(ctx, "a@example.com", "192.0.2.1"), keyplane.CodeNotFound)

	svc, srv, clk := mailSetup(t, true, true)
	owner(t, svc, 1, "owner@example.com")
	if err := svc.RequestSignup(ctx, "new@example.com", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	token := tokenOf(t, srv.Next(t).Link(t), control.SignupPath)
	l, err := svc.OpenSignup(ctx, token)
	if err != nil || l.Existing || l.Email != "new@example.com" {
		t.Fatalf("open %+v %v", l, err)
	}
	_, _, err = svc.CompleteSignup(ctx, token, "", pw, "192.0.2.1")
	wantCode(t, err, keyplane.CodeInvalid)
	session, u, err := svc.CompleteSignup(ctx, token, "New Co", pw, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := svc.Session(ctx, session)
	if err != nil || sp.Role != keyplane.RoleOwner || sp.AccountID == 1 || sp.UserID != u.ID {
		t.Fatalf("session %+v %v", sp, err)
	}
	if a, err := svc.Account(ctx, sp.AccountID); err != nil || a.Name != "New Co" {
		t.Errorf("account %+v %v", a, err)
	}
	if got := auditTypes(t, svc, sp.AccountID); got != "AccountCreated UserAccountAccessGranted" {
		t.Errorf("audit: %s", got)
	}
	_, _, err = svc.CompleteSignup(ctx, token, "Again", pw, "192.0.2.1")
	wantCode(t, err, keyplane.CodeNotFound)

	// An existing person: the same message; they give their password.
	if err := svc.RequestSignup(ctx, "owner@example.com", "192.0.2.3"); err != nil {
		t.Fatal(err)
	}
	token = tokenOf(t, srv.Next(t).Link(t), control.SignupPath)
	if l, err := svc.OpenSignup(ctx, token); err != nil || !l.Existing {
		t.Fatalf("open %+v %v", l, err)
	}
	_, _, err = svc.CompleteSignup(ctx, token, "Second Co", "wrong password here", "192.0.2.3")
	wantCode(t, err, keyplane.CodeInvalid)
	if _, u, err := svc.CompleteSignup(ctx, token, "Second Co", pw, "192.0.2.3"); err != nil || u.Role != keyplane.RoleOwner {
		t.Fatalf("%+v %v", u, err)
	}
	// The link lasts a day.
	if err := svc.RequestSignup(ctx, "late@example.com", "192.0.2.3"); err != nil {
		t.Fatal(err)
	}
	token = tokenOf(t, srv.Next(t).Link(t), control.SignupPath)
	clk.Advance(keyplane.SignupTTL)
	_, err = svc.OpenSignup(ctx, token)
	wantCode(t, err, keyplane.CodeNotFound)
}
