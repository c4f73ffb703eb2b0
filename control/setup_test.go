package control_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
)

// The setup link's account name names the first account, as the new
// Owner's change; empty keeps the name; a bad one is refused before
// anything is made.
func TestSetupNamesTheAccount(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	token, _, err := svc.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.SetupAccount(ctx, token)
	if err != nil || a.ID != 1 || a.Name != keyplane.DefaultAccountName {
		t.Fatalf("SetupAccount: %+v, %v", a, err)
	}
	if _, err := svc.SetupOwner(ctx, token, "owner@example.com", pw, "bad\x00name"); keyplane.ErrorCode(err) != keyplane.CodeInvalid || !strings.HasPrefix(err.Error(), "account: ") {
		t.Errorf("setup with a bad account name: %v, want account: invalid", err)
	}
	if us, _ := svc.ListUsers(ctx, keyplane.Operator(1)); len(us) != 0 {
		t.Errorf("a refused setup made users: %+v", us)
	}
	u, err := svc.SetupOwner(ctx, token, "owner@example.com", pw, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := svc.Account(ctx, 1); a.Name != "Acme" {
		t.Errorf("account after setup: %+v", a)
	}
	if got := accountEvents(t, svc, 1); len(got) != 1 || got[0] != "AccountRenamed by user" {
		t.Errorf("events: %q", got)
	}
	var renamer keyplane.Actor
	svc.ExportAudit(ctx, 1, func(e keyplane.AuditEvent) error {
		if e.Type == keyplane.EventAccountRenamed {
			renamer = e.Actor
		}
		return nil
	})
	if renamer.ID != u.ID || renamer.Role != keyplane.RoleOwner {
		t.Errorf("renamed by %+v, want the new Owner %d", renamer, u.ID)
	}
}

// Setup without a name keeps the account's.
func TestSetupKeepsTheAccountName(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	token, _, err := svc.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetupOwner(ctx, token, "owner@example.com", pw, ""); err != nil {
		t.Fatal(err)
	}
	if a, _ := svc.Account(ctx, 1); a.Name != keyplane.DefaultAccountName {
		t.Errorf("account after setup: %+v", a)
	}
	if got := accountEvents(t, svc, 1); len(got) != 0 {
		t.Errorf("events: %q, want none", got)
	}
}
