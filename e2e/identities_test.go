package e2e

import (
	"context"
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
			_, err := e.svc.ChangeUserRole(ctx, p, id, keyplane.RoleViewer)
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
		foreign, absent := answer(op.run(admin, op.foreign), op.foreign), answer(op.run(admin, missing), missing)
		if foreign != absent || !strings.HasPrefix(foreign, "NotFound") {
			t.Errorf("%s by an admin: another account's id answers %q, a missing one %q", op.name, foreign, absent)
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
