package control_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

func wantCode(t *testing.T, err error, code keyplane.Code) {
	t.Helper()
	if keyplane.ErrorCode(err) != code {
		t.Fatalf("got %v (%s), want %s", err, keyplane.ErrorCode(err), code)
	}
}

func TestSetupLinkCreatesTheOwnerOnce(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	token, ok, err := svc.NewSetupToken(ctx)
	if err != nil || !ok || token == "" {
		t.Fatalf("NewSetupToken = %q, %v, %v", token, ok, err)
	}
	wantCode(t, svc.CheckSetupToken(ctx, "wrong"), keyplane.CodeNotFound)
	_, err = svc.SetupOwner(ctx, token, "owner@example.com", "short", "")
	wantCode(t, err, keyplane.CodeInvalid)
	u, err := svc.SetupOwner(ctx, token, " Owner@Example.com ", "correct horse battery", "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != keyplane.RoleOwner || u.Email != "owner@example.com" || u.AccountID != 1 {
		t.Fatalf("owner = %+v", u)
	}
	if strings.Contains(u.PasswordHash, "correct horse") || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("hash = %q", u.PasswordHash)
	}
	// Used up: the same link, and any new one, are refused once a user exists.
	_, err = svc.SetupOwner(ctx, token, "second@example.com", "correct horse battery", "")
	wantCode(t, err, keyplane.CodeNotFound)
	// The used link says what to do now: sign in, not make an Owner.
	msg := strings.Join(keyplane.ErrorMessages(svc.CheckSetupToken(ctx, token)), "; ")
	if !strings.Contains(msg, "the Owner exists. Sign in at /login") || strings.Contains(msg, "create-user") {
		t.Errorf("a used setup link says %q, want it to send the reader to sign in", msg)
	}
	if _, ok, err := svc.NewSetupToken(ctx); ok || err != nil {
		t.Fatalf("NewSetupToken after owner = %v, %v", ok, err)
	}
	_ = clk
}

func TestSetupLinkExpires(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	token, _, err := svc.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(keyplane.SetupTokenTTL)
	_, err = svc.SetupOwner(ctx, token, "owner@example.com", "correct horse battery", "")
	wantCode(t, err, keyplane.CodeNotFound)
	// No Owner yet: the message gives a command that works as written.
	msg := strings.Join(keyplane.ErrorMessages(err), "; ")
	if !strings.Contains(msg, "keyplane admin create-user --email YOU@EXAMPLE.COM --role owner") || !strings.Contains(msg, "Restart keyplane serve") {
		t.Errorf("an expired setup link says %q, want a new link or a create-user with --email", msg)
	}
}

func newUser(t *testing.T, svc *control.Service, email string, r keyplane.Role) keyplane.User {
	t.Helper()
	u, _, err := svc.CreateUser(context.Background(), keyplane.Operator(1), control.NewUser{Email: email, Password: "correct horse battery", Role: r})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSignInSessionAndSignOut(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	newUser(t, svc, "admin@example.com", keyplane.RoleAdmin)
	_, _, err := svc.SignIn(ctx, "admin@example.com", "wrong password!!", "10.0.0.1")
	wantCode(t, err, keyplane.CodeUnauthorized)
	_, _, err = svc.SignIn(ctx, "nobody@example.com", "correct horse battery", "10.0.0.1")
	wantCode(t, err, keyplane.CodeUnauthorized)
	token, u, err := svc.SignIn(ctx, "ADMIN@example.com", "correct horse battery", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p, exp, err := svc.Session(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != u.ID || p.Role != keyplane.RoleAdmin || !exp.Equal(clk.Now().Add(keyplane.SessionTTL)) {
		t.Fatalf("principal %+v expires %v", p, exp)
	}
	if a := p.Actor(); a.Type != keyplane.ActorUser || a.Name != "admin@example.com" || a.ID != u.ID {
		t.Fatalf("actor = %+v", a)
	}
	// The grants are the role's, so the API's rules apply unchanged.
	if _, err := svc.CreateApp(ctx, p, "from the portal"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SignOut(ctx, token); err != nil {
		t.Fatal(err)
	}
	_, _, err = svc.Session(ctx, token)
	wantCode(t, err, keyplane.CodeUnauthorized)

	token, _, err = svc.SignIn(ctx, "admin@example.com", "correct horse battery", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(keyplane.SessionTTL)
	_, _, err = svc.Session(ctx, token)
	wantCode(t, err, keyplane.CodeUnauthorized)
}

func TestSignInThrottlesPerAccountAndPerIP(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	newUser(t, svc, "admin@example.com", keyplane.RoleAdmin)
	newUser(t, svc, "other@example.com", keyplane.RoleViewer)
	for i := range keyplane.MaxLoginFailuresUser {
		_, _, err := svc.SignIn(ctx, "admin@example.com", "wrong password!!", "10.0.0."+string(rune('1'+i)))
		wantCode(t, err, keyplane.CodeUnauthorized)
	}
	// Even the right password is refused now, from anywhere.
	_, _, err := svc.SignIn(ctx, "admin@example.com", "correct horse battery", "10.9.9.9")
	wantCode(t, err, keyplane.CodeTooManyRequests)
	if !strings.Contains(err.Error(), "this account") {
		t.Fatalf("message %q should name the account", err)
	}
	// Another account is not affected.
	if _, _, err := svc.SignIn(ctx, "other@example.com", "correct horse battery", "10.9.9.9"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(keyplane.LoginWindow)
	if _, _, err := svc.SignIn(ctx, "admin@example.com", "correct horse battery", "10.9.9.9"); err != nil {
		t.Fatalf("after the window: %v", err)
	}

	// Per ip: many addresses tried from one client.
	for i := range keyplane.MaxLoginFailuresIP {
		_, _, err := svc.SignIn(ctx, "guess"+string(rune('a'+i))+"@example.com", "wrong password!!", "10.1.1.1")
		wantCode(t, err, keyplane.CodeUnauthorized)
	}
	_, _, err = svc.SignIn(ctx, "other@example.com", "correct horse battery", "10.1.1.1")
	wantCode(t, err, keyplane.CodeTooManyRequests)
	if !strings.Contains(err.Error(), "network address") {
		t.Fatalf("message %q should name the address", err)
	}
}

func TestOnlyOwnersAndAdminsManage(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	owner := newUser(t, svc, "owner@example.com", keyplane.RoleOwner).Principal()
	admin := newUser(t, svc, "admin@example.com", keyplane.RoleAdmin).Principal()
	viewer := newUser(t, svc, "viewer@example.com", keyplane.RoleViewer).Principal()
	g, _ := keyplane.ParseGrant("account:app:read")
	exp := clk.Now().Add(24 * time.Hour)

	_, _, err := svc.CreateIntegration(ctx, viewer, "ci", []keyplane.Grant{g}, exp)
	wantCode(t, err, keyplane.CodeForbidden)
	_, _, err = svc.CreateIntegration(ctx, keyplane.Principal{IntegrationID: 9, IntegrationName: "x"}, "ci", []keyplane.Grant{g}, exp)
	wantCode(t, err, keyplane.CodeForbidden)
	in, key, err := svc.CreateIntegration(ctx, admin, "ci", []keyplane.Grant{g}, exp)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateAPIKey(ctx, viewer, in.ID, exp)
	wantCode(t, err, keyplane.CodeForbidden)
	_, err = svc.RevokeIntegrationKey(ctx, viewer, in.ID, key.ID)
	wantCode(t, err, keyplane.CodeForbidden)
	wantCode(t, svc.DeleteIntegration(ctx, viewer, in.ID), keyplane.CodeForbidden)
	_, _, err = svc.CreateUser(ctx, viewer, control.NewUser{Email: "x@example.com", Role: keyplane.RoleViewer})
	wantCode(t, err, keyplane.CodeForbidden)
	// A viewer's grants are read-only, through the same Authorize as the API.
	_, err = svc.CreateApp(ctx, viewer, "nope")
	wantCode(t, err, keyplane.CodeForbidden)
	if _, _, err := svc.ListApps(ctx, viewer, keyplane.Page{Page: 1, Limit: 10}); err != nil {
		t.Fatal(err)
	}

	// Admins manage users, but nobody makes a second Owner or removes the first.
	u, pw, err := svc.CreateUser(ctx, admin, control.NewUser{Email: "new@example.com", Role: keyplane.RoleViewer})
	if err != nil || len(pw) < keyplane.MinPasswordLen {
		t.Fatalf("CreateUser = %v, generated %q", err, pw)
	}
	if _, _, err := svc.SignIn(ctx, "new@example.com", pw, "10.0.0.1"); err != nil {
		t.Fatalf("generated password does not sign in: %v", err)
	}
	_, _, err = svc.CreateUser(ctx, admin, control.NewUser{Email: "NEW@example.com", Role: keyplane.RoleViewer})
	wantCode(t, err, keyplane.CodeConflict)
	_, _, err = svc.CreateUser(ctx, owner, control.NewUser{Email: "o2@example.com", Role: keyplane.RoleOwner})
	wantCode(t, err, keyplane.CodeInvalid)
	_, err = svc.ChangeUserRole(ctx, admin, owner.UserID, control.Scope{Role: keyplane.RoleViewer})
	wantCode(t, err, keyplane.CodeInvalid)
	wantCode(t, svc.RemoveUser(ctx, admin, owner.UserID), keyplane.CodeInvalid)
	if _, err := svc.ChangeUserRole(ctx, owner, u.ID, control.Scope{Role: keyplane.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.SignIn(ctx, "new@example.com", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveUser(ctx, owner, u.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = svc.Session(ctx, token)
	wantCode(t, err, keyplane.CodeUnauthorized)

	// Deleting an integration stops its keys at once.
	if _, err := svc.Authenticate(ctx, key.Key, keyplane.Origin{}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteIntegration(ctx, owner, in.ID); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Authenticate(ctx, key.Key, keyplane.Origin{})
	wantCode(t, err, keyplane.CodeUnauthorized)
	_, err = svc.GetIntegration(ctx, keyplane.Operator(1), in.ID)
	wantCode(t, err, keyplane.CodeNotFound)
}

// Guesses sent at once cannot pass the limit: each is charged before its
// password is checked, so of 100 parallel wrong passwords for one address
// at most MaxLoginFailuresUser are checked (401); the rest are refused
// unchecked (429), or, when no hashing slot frees in time, told to come
// back (503, and then not counted). The same from 100 addresses on one
// client: at most MaxLoginFailuresIP checked. Afterwards even the right
// password waits out the window.
func TestSignInLimitHoldsUnderParallelGuesses(t *testing.T) {
	for _, c := range []struct {
		name  string
		email func(i int) string
		limit int
	}{
		{"one address", func(int) string { return "admin@example.com" }, keyplane.MaxLoginFailuresUser},
		{"one client", func(i int) string { return fmt.Sprintf("guess%d@example.com", i) }, keyplane.MaxLoginFailuresIP},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc, _, clk := setup(t)
			ctx := context.Background()
			if _, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "admin@example.com", Password: "correct horse battery", Role: keyplane.RoleAdmin}); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			codes := map[keyplane.Code]int{}
			var wg sync.WaitGroup
			for i := range 100 {
				wg.Go(func() {
					_, _, err := svc.SignIn(ctx, c.email(i), "wrong password!!", "10.0.0.9")
					mu.Lock()
					codes[keyplane.ErrorCode(err)]++
					mu.Unlock()
				})
			}
			wg.Wait()
			t.Logf("answers: %v", codes)
			checked := codes[keyplane.CodeUnauthorized]
			if checked > c.limit || checked == 0 || checked+codes[keyplane.CodeTooManyRequests]+codes[keyplane.CodeUnavailable] != 100 {
				t.Errorf("answers %v: want at most %d checked (401), the rest 429 or 503", codes, c.limit)
			}
			if checked == c.limit {
				_, _, err := svc.SignIn(ctx, "admin@example.com", "correct horse battery", "10.0.0.9")
				wantCode(t, err, keyplane.CodeTooManyRequests)
				if keyplane.RetryAfterOf(err) != keyplane.LoginWindow {
					t.Errorf("Retry-After %v, want the window", keyplane.RetryAfterOf(err))
				}
			}
			clk.Advance(keyplane.LoginWindow)
			if _, _, err := svc.SignIn(ctx, "admin@example.com", "correct horse battery", "10.0.0.9"); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		})
	}
}

// A right password takes its attempt back: signing in again and again
// never counts against the address or the client.
func TestSuccessfulSignInsAreNotCounted(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	if _, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "admin@example.com", Password: "correct horse battery", Role: keyplane.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	for i := range keyplane.MaxLoginFailuresIP + 2 {
		if _, _, err := svc.SignIn(ctx, "admin@example.com", "correct horse battery", "10.0.0.9"); err != nil {
			t.Fatalf("sign-in %d: %v", i+1, err)
		}
	}
}

// The current password asked by "change password" is throttled as sign-in
// is: a stolen session cannot guess it at full speed.
func TestChangePasswordIsThrottled(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	if _, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "admin@example.com", Password: "correct horse battery", Role: keyplane.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	token, u, err := svc.SignIn(ctx, "admin@example.com", "correct horse battery", "10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	for range keyplane.MaxLoginFailuresUser {
		wantCode(t, svc.ChangePassword(ctx, u.Principal(), token, "10.0.0.9", "wrong guess!!!!", "a new long password"), keyplane.CodeInvalid)
	}
	wantCode(t, svc.ChangePassword(ctx, u.Principal(), token, "10.0.0.9", "correct horse battery", "a new long password"), keyplane.CodeTooManyRequests)
}

// A role in any case or with spaces is the role; an unknown one is a 400,
// never a database error.
func TestRolesAreParsed(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	for i, in := range []keyplane.Role{"ADMIN", "Viewer ", " admin"} {
		u, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: fmt.Sprintf("u%d@example.com", i), Role: in})
		if err != nil {
			t.Fatalf("role %q: %v", in, err)
		}
		if want, _ := keyplane.ParseRole(string(in)); u.Role != want {
			t.Errorf("role %q stored as %q", in, u.Role)
		}
		got, err := svc.ChangeUserRole(ctx, keyplane.Operator(1), u.ID, control.Scope{Role: "VIEWER"})
		if err != nil || got.Role != keyplane.RoleViewer {
			t.Errorf("ChangeUserRole VIEWER: %v, %v", got.Role, err)
		}
	}
	u, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "owner@example.com", Role: "OWNER "})
	if err != nil || u.Role != keyplane.RoleOwner {
		t.Errorf("OWNER: %v, %v", u.Role, err)
	}
	for _, bad := range []keyplane.Role{"boss", "", "owner\x00"} {
		_, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "bad@example.com", Role: bad})
		wantCode(t, err, keyplane.CodeInvalid)
	}
}
