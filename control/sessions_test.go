package control_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// A person lists their sessions (where and when each was last used, which
// is this one) and ends one of them, or every other; an Owner or Admin
// ends a member's sessions in the account, audited, and a person of
// another account answers as a missing one; the account's idle timeout
// and lifetime end sessions from their next request, on a moved clock.
func TestSessionsListedEndedAndLimited(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	mustUser(t, svc, 1, "owner@example.com", keyplane.RoleOwner)
	member := mustUser(t, svc, 1, "member@example.com", keyplane.RoleViewer)
	signIn := func(email string) string {
		t.Helper()
		tok, _, err := svc.SignIn(ctx, email, pw, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	laptop, phone := signIn("member@example.com"), signIn("member@example.com")
	from := keyplane.Origin{Addr: netip.MustParseAddr("198.51.100.7"), UserAgent: "Firefox/140 on Linux"}
	p, _, err := svc.SessionFrom(ctx, laptop, from)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, _, err := svc.SessionFrom(ctx, phone, keyplane.Origin{UserAgent: "Safari on iPhone"}); err != nil {
		t.Fatal(err)
	}
	list, err := svc.ListSessions(ctx, p, laptop)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions: %+v, %v", list, err)
	}
	if list[0].UserAgent != "Safari on iPhone" || list[0].Current || list[1].Address != "198.51.100.7" || !list[1].Current {
		t.Errorf("sessions, newest use first: %+v", list)
	}
	if err := svc.EndSession(ctx, p, list[0].Handle()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Session(ctx, phone); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("the ended session: %v, want signed out", err)
	}
	if err := svc.EndSession(ctx, p, list[0].Handle()); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("ending it again: %v, want not found", err)
	}

	// The Owner ends the member's sessions; an Admin of another account
	// finds no such member.
	owner, _, err := svc.Session(ctx, signIn("owner@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Other")
	if err != nil {
		t.Fatal(err)
	}
	stranger := mustUser(t, svc, other.ID, "admin@other.example", keyplane.RoleAdmin)
	if _, err := svc.EndMemberSessions(ctx, stranger.Principal(), member.ID); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("an admin of another account ending the member's sessions: %v, want not found", err)
	}
	if n, err := svc.EndMemberSessions(ctx, owner, member.ID); err != nil || n != 1 {
		t.Fatalf("EndMemberSessions: %d, %v", n, err)
	}
	if _, _, err := svc.Session(ctx, laptop); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("the member's session after the Owner ended it: %v", err)
	}

	// Limits: 30 minutes idle, 2 hours at most.
	if _, _, err := svc.SetSessionLimits(ctx, owner, 1, 7*time.Second, 0); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Errorf("a 7 s idle timeout: %v, want invalid", err)
	}
	if _, _, err := svc.SetSessionLimits(ctx, member.Principal(), 1, 30*time.Minute, 0); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("a Viewer setting the limits: %v, want forbidden", err)
	}
	if _, changed, err := svc.SetSessionLimits(ctx, owner, 1, 30*time.Minute, 2*time.Hour); err != nil || !changed {
		t.Fatalf("SetSessionLimits: %v %v", changed, err)
	}
	tok := signIn("member@example.com")
	for range 3 { // used every 25 minutes: alive for 75
		clk.Advance(25 * time.Minute)
		if _, _, err := svc.SessionFrom(ctx, tok, from); err != nil {
			t.Fatalf("a session used every 25 minutes: %v", err)
		}
	}
	clk.Advance(31 * time.Minute)
	if _, _, err := svc.Session(ctx, tok); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("a session idle for 31 minutes: %v, want signed out", err)
	}
	tok = signIn("member@example.com")
	for range 4 {
		clk.Advance(25 * time.Minute)
		if _, _, err := svc.SessionFrom(ctx, tok, from); err != nil {
			t.Fatalf("within its lifetime: %v", err)
		}
	}
	clk.Advance(25 * time.Minute) // 2 h 5 min since it opened
	if _, _, err := svc.SessionFrom(ctx, tok, from); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("a session past the account's lifetime: %v, want signed out", err)
	}
}

// Password sign-ins are audited with the client's address and browser: a
// success in the account the session opens in, a wrong password of a
// person in each of their accounts; an address nobody uses leaves nothing.
func TestSignInsAreAudited(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	mustUser(t, svc, 1, "pat@example.com", keyplane.RoleViewer)
	other, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Other")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateUser(ctx, keyplane.Operator(other.ID), control.NewUser{Email: "pat@example.com", Role: keyplane.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SignInWith(ctx, "pat@example.com", pw, "192.0.2.7", "Firefox/140"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SignInWith(ctx, "pat@example.com", "wrong password!", "192.0.2.8", "curl/8"); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Fatalf("a wrong password: %v", err)
	}
	if _, _, err := svc.SignInWith(ctx, "nobody@example.com", "wrong password!", "192.0.2.9", "curl/8"); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Fatalf("an unknown address: %v", err)
	}
	svc.WaitBackground(ctx) // a failure is recorded after its answer
	events := func(account int64) []string {
		var out []string
		err := svc.ExportAudit(ctx, account, func(e keyplane.AuditEvent) error {
			if e.Type == keyplane.EventSignInSucceeded || e.Type == keyplane.EventSignInFailed {
				out = append(out, e.Type+" from "+e.Actor.Address+" "+e.Actor.UserAgent+" "+string(e.After))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want1 := []string{
		`SignInSucceeded from 192.0.2.7 Firefox/140 {"email":"pat@example.com"}`,
		`SignInFailed from 192.0.2.8 curl/8 {"email":"pat@example.com"}`,
	}
	if got := events(1); strings.Join(got, "\n") != strings.Join(want1, "\n") {
		t.Errorf("account 1's sign-in events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want1, "\n"))
	}
	if got := events(other.ID); len(got) != 1 || !strings.HasPrefix(got[0], "SignInFailed ") {
		t.Errorf("the other account's sign-in events: %v, want the failure only", got)
	}
}
