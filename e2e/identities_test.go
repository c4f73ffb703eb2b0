package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// Managing Service Integrations and people goes through the operations
// with the caller's principal, like everything else: an id of another
// account answers exactly as a missing id, and a principal without the
// rows gets the same 403 whether or not the id exists.
func TestIdentitiesOfAnotherAccountAreMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	other, _ := e.otherAccount()
	theirs, err := e.svc.ListIntegrations(ctx, keyplane.Operator(other))
	if err != nil || len(theirs) != 1 {
		t.Fatalf("the other account's integrations: %v, %v", theirs, err)
	}
	theirUser, _, err := e.svc.CreateUser(ctx, keyplane.Operator(other), control.NewUser{Email: "them@example.com", Role: keyplane.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	person := func(email string, r keyplane.Role) keyplane.Principal {
		u, _, err := e.svc.CreateUser(ctx, keyplane.Operator(e.account), control.NewUser{Email: email, Role: r})
		if err != nil {
			t.Fatal(err)
		}
		return u.Principal()
	}
	admin, viewer := person("admin@example.com", keyplane.RoleAdmin), person("viewer@example.com", keyplane.RoleViewer)
	_, mine, _ := e.integration("mine", "account:app:read")
	exp := e.clock.Now().Add(24 * time.Hour)

	theirIn, theirKey, theirUserID, missing := theirs[0].ID, theirs[0].Keys[0].ID, theirUser.ID, int64(999999)
	ops := []struct {
		name    string
		foreign int64 // the other account's id this operation takes
		write   bool
		run     func(p keyplane.Principal, id int64) error
	}{
		{"GetIntegration", theirIn, false, func(p keyplane.Principal, id int64) error { _, err := e.svc.GetIntegration(ctx, p, id); return err }},
		{"CreateAPIKey", theirIn, true, func(p keyplane.Principal, id int64) error { _, err := e.svc.CreateAPIKey(ctx, p, id, exp); return err }},
		{"RevokeIntegrationKey", theirIn, true, func(p keyplane.Principal, id int64) error {
			_, err := e.svc.RevokeIntegrationKey(ctx, p, id, theirKey)
			return err
		}},
		// One's own integration, another account's key.
		{"RevokeIntegrationKey of own", theirKey, true, func(p keyplane.Principal, id int64) error {
			_, err := e.svc.RevokeIntegrationKey(ctx, p, mine.ID, id)
			return err
		}},
		{"RevokeAPIKey", theirKey, true, func(p keyplane.Principal, id int64) error {
			_, _, err := e.svc.RevokeAPIKey(ctx, p, strconv.FormatInt(id, 10))
			return err
		}},
		{"DeleteIntegration", theirIn, true, func(p keyplane.Principal, id int64) error { return e.svc.DeleteIntegration(ctx, p, id) }},
		{"ChangeUserRole", theirUserID, true, func(p keyplane.Principal, id int64) error {
			_, err := e.svc.ChangeUserRole(ctx, p, id, control.Scope{Role: keyplane.RoleViewer})
			return err
		}},
		{"RemoveUser", theirUserID, true, func(p keyplane.Principal, id int64) error {
			return e.svc.RemoveUser(ctx, p, id)
		}},
	}
	answer := func(err error, id int64) string {
		return string(keyplane.ErrorCode(err)) + " " + strings.ReplaceAll(strings.Join(keyplane.ErrorMessages(err), "; "), strconv.FormatInt(id, 10), "N")
	}
	for _, op := range ops {
		// The operator acting in one account (the admin commands'
		// --account) is held to it as its people are.
		for who, p := range map[string]keyplane.Principal{"an admin": admin, "the operator": keyplane.Operator(e.account)} {
			foreign, absent := answer(op.run(p, op.foreign), op.foreign), answer(op.run(p, missing), missing)
			if foreign != absent || !strings.HasPrefix(foreign, "NotFound") {
				t.Errorf("%s by %s: another account's id answers %q, a missing one %q", op.name, who, foreign, absent)
			}
		}
		if op.write {
			for _, id := range []int64{op.foreign, missing, mine.ID} {
				if got := answer(op.run(viewer, id), id); !strings.HasPrefix(got, "Forbidden") || got != answer(op.run(viewer, missing), missing) {
					t.Errorf("%s by a viewer on %d: %q, want the same 403 as for a missing id", op.name, id, got)
				}
			}
		}
	}
	// Nothing of the other account changed, and lists hold only one's own.
	if now, err := e.svc.ListIntegrations(ctx, keyplane.Operator(other)); err != nil || len(now) != 1 || now[0].Keys[0].RevokedAt != nil || len(now[0].Keys) != 1 {
		t.Errorf("the other account's integration changed: %+v, %v", now, err)
	}
	for _, p := range []keyplane.Principal{admin, viewer} {
		ins, err := e.svc.ListIntegrations(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			if in.AccountID != e.account {
				t.Errorf("a list holds integration %d of account %d", in.ID, in.AccountID)
			}
		}
		us, err := e.svc.ListUsers(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if u.AccountID != e.account {
				t.Errorf("a list holds user %s of account %d", u.Email, u.AccountID)
			}
		}
	}
	if _, err := e.svc.ListUsers(ctx, keyplane.Principal{AccountID: e.account, IntegrationID: 1, Grants: keyplane.Offered()}); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("a key listing people: %v, want 403", err)
	}
}

// A person is one e-mail and one password with a membership per account.
// Adding an address that is a person of another account adds a membership
// and answers exactly as adding a new one (nothing tells the adder that the
// person existed elsewhere); the person keeps their password, signs in
// once, and switches between their accounts; an account they are not a
// member of answers as a missing one; leaving one account keeps the other.
func TestPeopleInSeveralAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	other, _ := e.otherAccount()
	if _, _, err := e.svc.CreateUser(ctx, keyplane.Operator(e.account), control.NewUser{Email: "viewer@a.test", Password: "correct horse battery", Role: keyplane.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	theirAdmin, _, err := e.svc.CreateUser(ctx, keyplane.Operator(other), control.NewUser{Email: "admin@b.test", Role: keyplane.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	b := theirAdmin.Principal()
	// The same request for a person of account A and for a new address:
	// the same answer, field for field but the ids and addresses.
	shape := func(email string) string {
		u, generated, err := e.svc.CreateUser(ctx, b, control.NewUser{Email: email, Role: keyplane.RoleViewer})
		return fmt.Sprintf("err=%v account=%d role=%s generated=%d id>0=%v", err, u.AccountID, u.Role, len(generated), u.ID > 0)
	}
	if known, unknown := shape("viewer@a.test"), shape("new@b.test"); known != unknown {
		t.Errorf("adding a person of another account: %s; a new address: %s", known, unknown)
	}
	if _, _, err := e.svc.CreateUser(ctx, b, control.NewUser{Email: "viewer@a.test", Role: keyplane.RoleViewer}); keyplane.ErrorCode(err) != keyplane.CodeConflict {
		t.Errorf("adding a member twice: %v, want 409", err)
	}

	// One password, the first one: the password given in account B is not
	// the person's.
	if _, _, err := e.svc.SignIn(ctx, "viewer@a.test", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("sign-in with the person's password: %v", err)
	}
	token, _, err := e.svc.SignIn(ctx, "viewer@a.test", "correct horse battery", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := e.svc.Session(ctx, token)
	if err != nil || p.AccountID != e.account || p.Role != keyplane.RoleViewer {
		t.Fatalf("session: %+v, %v; want account %d", p, err, e.account)
	}
	ms, err := e.svc.Memberships(ctx, p)
	if err != nil || len(ms) != 2 || ms[0].Account.ID != e.account || ms[1].Account.ID != other {
		t.Fatalf("memberships: %+v, %v", ms, err)
	}
	if p, err = e.svc.SwitchAccount(ctx, token, other); err != nil || p.AccountID != other {
		t.Fatalf("switch to %d: %+v, %v", other, p, err)
	}
	if p, _, err = e.svc.Session(ctx, token); err != nil || p.AccountID != other {
		t.Errorf("the session after switching: %+v, %v", p, err)
	}
	// Not a member, and no such account: the same answer.
	third, _ := e.otherAccount()
	_, errMember := e.svc.SwitchAccount(ctx, token, third)
	_, errMissing := e.svc.SwitchAccount(ctx, token, 999999)
	if keyplane.ErrorCode(errMember) != keyplane.CodeNotFound ||
		strings.ReplaceAll(errMember.Error(), strconv.FormatInt(third, 10), "N") != strings.ReplaceAll(errMissing.Error(), "999999", "N") {
		t.Errorf("switch to an account one is not a member of: %v; to a missing one: %v", errMember, errMissing)
	}
	// Removed from B: the session there ends, the person stays in A.
	if err := e.svc.RemoveUser(ctx, b, p.UserID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Session(ctx, token); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("a session in an account the person left: %v, want signed out", err)
	}
	if _, _, err := e.svc.SignIn(ctx, "viewer@a.test", "correct horse battery", "192.0.2.1"); err != nil {
		t.Errorf("sign-in after leaving B: %v", err)
	}
}
