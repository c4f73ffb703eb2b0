package control_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// accountEvents are the types and actor types of an account's audit events.
func accountEvents(t *testing.T, svc *control.Service, account int64) []string {
	t.Helper()
	var out []string
	err := svc.ExportAudit(context.Background(), account, func(e keyplane.AuditEvent) error {
		if e.TargetType == "account" {
			out = append(out, e.Type+" by "+e.Actor.Type)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustUser(t *testing.T, svc *control.Service, account int64, email string, r keyplane.Role) keyplane.User {
	t.Helper()
	u, _, err := svc.CreateUser(context.Background(), keyplane.Operator(account), control.NewUser{Email: email, Password: pw, Role: r})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Accounts are made, renamed, disabled and enabled by the operator, each
// change audited in the account it changes; nobody inside an account may
// make, disable or enable one, and only its Owner may rename it.
func TestAccountOperations(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	op := keyplane.InstallOperator

	a, err := svc.CreateAccount(ctx, op, "Acme")
	if err != nil || a.ID != 2 || a.Name != "Acme" || a.Disabled() || !a.CreatedAt.Equal(clk.Now()) {
		t.Fatalf("CreateAccount: %+v, %v", a, err)
	}
	for _, bad := range []string{"", "   ", "a\tb", "x\u200by", strings.Repeat("n", 256)} {
		if _, err := svc.CreateAccount(ctx, op, bad); keyplane.ErrorCode(err) != keyplane.CodeInvalid || !strings.HasPrefix(keyplane.ErrorMessages(err)[0], "name: ") {
			t.Errorf("CreateAccount(%q): %v, want name: invalid", bad, err)
		}
	}
	owner1 := mustUser(t, svc, 1, "owner1@example.com", keyplane.RoleOwner)
	admin1 := mustUser(t, svc, 1, "admin1@example.com", keyplane.RoleAdmin)
	viewer1 := mustUser(t, svc, 1, "viewer1@example.com", keyplane.RoleViewer)
	owner2 := mustUser(t, svc, 2, "owner2@example.com", keyplane.RoleOwner)
	integration := keyplane.Principal{AccountID: 1, IntegrationID: 1, IntegrationName: "CI", KeyID: 1}

	// Nobody but the operator makes, disables or enables an account, or
	// enrols it as an OEM partner.
	for _, actor := range []keyplane.Principal{owner1.Principal(), admin1.Principal(), integration} {
		if _, err := svc.CreateAccount(ctx, actor, "Mine"); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
			t.Errorf("CreateAccount by %s %s: %v, want Forbidden", actor.Actor().Type, actor.Role, err)
		}
		if _, err := svc.SetPartner(ctx, actor, 1, true); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
			t.Errorf("SetPartner by %s %s: %v, want Forbidden", actor.Actor().Type, actor.Role, err)
		}
		for _, off := range []bool{true, false} {
			if _, _, err := svc.SetAccountDisabled(ctx, actor, 1, off); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
				t.Errorf("SetAccountDisabled(%v) by %s %s: %v, want Forbidden", off, actor.Actor().Type, actor.Role, err)
			}
		}
	}

	// Renaming: the operator any account, an Owner only their own.
	if a, changed, err := svc.RenameAccount(ctx, op, 2, "Acme Inc"); err != nil || !changed || a.Name != "Acme Inc" {
		t.Fatalf("operator RenameAccount: %+v %v %v", a, changed, err)
	}
	if a, changed, err := svc.RenameAccount(ctx, op, 2, "Acme Inc"); err != nil || changed || a.Name != "Acme Inc" {
		t.Errorf("RenameAccount to its own name: %+v changed=%v %v, want no change", a, changed, err)
	}
	if _, _, err := svc.RenameAccount(ctx, op, 99, "Ghost"); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("RenameAccount(99): %v, want NotFound", err)
	}
	if _, _, err := svc.RenameAccount(ctx, op, 2, ""); keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		t.Errorf("RenameAccount to \"\": %v, want Invalid", err)
	}
	if _, changed, err := svc.RenameAccount(ctx, owner1.Principal(), 1, "Initech"); err != nil || !changed {
		t.Errorf("Owner renames their account: %v %v", changed, err)
	}
	for _, tc := range []struct {
		who     keyplane.User
		account int64
	}{{admin1, 1}, {viewer1, 1}, {owner1, 2}, {owner2, 1}, {owner1, 99}} {
		actor := tc.who.Principal()
		if _, _, err := svc.RenameAccount(ctx, actor, tc.account, "Taken over"); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
			t.Errorf("%s renames account %d: %v, want Forbidden", tc.who.Email, tc.account, err)
		}
		if err := svc.MayRenameAccount(actor, tc.account); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
			t.Errorf("MayRenameAccount(%s, %d): %v, want Forbidden", tc.who.Email, tc.account, err)
		}
	}
	if _, _, err := svc.RenameAccount(ctx, integration, 1, "Bot's"); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("an integration renames its account: %v, want Forbidden", err)
	}
	if err := svc.MayRenameAccount(owner1.Principal(), 1); err != nil {
		t.Errorf("MayRenameAccount(Owner, own account): %v", err)
	}

	// Disabling and enabling, each once.
	clk.Advance(time.Minute)
	a, changed, err := svc.SetAccountDisabled(ctx, op, 2, true)
	if err != nil || !changed || a.DisabledAt == nil || !a.DisabledAt.Equal(clk.Now()) || a.State() != "disabled" {
		t.Fatalf("disable: %+v %v %v", a, changed, err)
	}
	if _, changed, err := svc.SetAccountDisabled(ctx, op, 2, true); err != nil || changed {
		t.Errorf("disable again: changed=%v %v, want no change", changed, err)
	}
	if _, _, err := svc.SetAccountDisabled(ctx, op, 99, true); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("disable 99: %v, want NotFound", err)
	}
	as, err := svc.Accounts(ctx)
	if err != nil || len(as) != 2 || as[0].Name != "Initech" || as[0].Disabled() || as[1].Name != "Acme Inc" || !as[1].Disabled() {
		t.Errorf("Accounts: %+v, %v", as, err)
	}
	if a, changed, err := svc.SetAccountDisabled(ctx, op, 2, false); err != nil || !changed || a.Disabled() {
		t.Errorf("enable: %+v %v %v", a, changed, err)
	}

	want := map[int64][]string{
		1: {"AccountRenamed by user"},
		2: {"AccountCreated by operator", "AccountRenamed by operator", "AccountDisabled by operator", "AccountEnabled by operator"},
	}
	for account, w := range want {
		if got := accountEvents(t, svc, account); strings.Join(got, ", ") != strings.Join(w, ", ") {
			t.Errorf("account %d's events: %q, want %q", account, got, w)
		}
	}
}

// A disabled account's keys get 403 naming the reason, its people cannot
// sign in and their sessions stop working, at the very next call, even
// with what authentication had cached; another account is untouched, and
// enabling brings everything back.
func TestDisabledAccountRefusesItsCredentials(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	op := keyplane.InstallOperator
	if _, err := svc.CreateAccount(ctx, op, "Acme"); err != nil {
		t.Fatal(err)
	}
	grant, _ := keyplane.ParseGrant("account:app:read")
	expires := clk.Now().Add(24 * time.Hour)
	keys := map[int64]string{}
	for _, account := range []int64{1, 2} {
		_, k, err := svc.CreateIntegration(ctx, keyplane.Operator(account), "CI", []keyplane.Grant{grant}, expires)
		if err != nil {
			t.Fatal(err)
		}
		keys[account] = k.Key
	}
	mustUser(t, svc, 2, "owner@example.com", keyplane.RoleOwner)
	session, _, err := svc.SignIn(ctx, "owner@example.com", pw, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	authenticate := func(account int64) error {
		_, err := svc.Authenticate(svc.ForRequest(ctx), keys[account], keyplane.Origin{})
		return err
	}
	// Read once, so authentication holds the key and its account.
	if err := authenticate(2); err != nil {
		t.Fatal(err)
	}

	if _, _, err := svc.SetAccountDisabled(ctx, op, 2, true); err != nil {
		t.Fatal(err)
	}
	const reason = "account 2 is disabled"
	refused := func(what string, err error) {
		t.Helper()
		if keyplane.ErrorCode(err) != keyplane.CodeForbidden || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s in a disabled account: %v, want Forbidden saying %q", what, err, reason)
		}
	}
	refused("API key", authenticate(2))
	_, _, err = svc.Session(ctx, session)
	refused("session", err)
	_, _, err = svc.SignIn(ctx, "owner@example.com", pw, "192.0.2.1")
	refused("sign-in", err)
	// A wrong password is answered as always: the refusal above tells only
	// whoever knows the password that the account is disabled.
	if _, _, err := svc.SignIn(ctx, "owner@example.com", "wrong password, long enough", "192.0.2.1"); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("wrong password in a disabled account: %v, want Unauthorized", err)
	}
	if err := authenticate(1); err != nil {
		t.Errorf("account 1's key while account 2 is disabled: %v", err)
	}

	if _, _, err := svc.SetAccountDisabled(ctx, op, 2, false); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(2); err != nil {
		t.Errorf("API key after enabling: %v", err)
	}
	if p, _, err := svc.Session(ctx, session); err != nil || p.AccountID != 2 {
		t.Errorf("the session after enabling: %+v, %v", p, err)
	}
	if _, _, err := svc.SignIn(ctx, "owner@example.com", pw, "192.0.2.1"); err != nil {
		t.Errorf("sign-in after enabling: %v", err)
	}
}

// The operator acting in one account (keyplane admin --account, which
// makes keyplane.Operator(id)) is held to it as the account's people are:
// another account answers exactly as a missing one, to every account
// operation that names one, and nothing of it changes.
func TestOperatorInOneAccountIsHeldToIt(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	other, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Other")
	if err != nil {
		t.Fatal(err)
	}
	op := keyplane.Operator(1)
	ops := map[string]func(id int64) error{
		"RenameAccount": func(id int64) error { _, _, err := svc.RenameAccount(ctx, op, id, "Taken over"); return err },
		"SetAccountDisabled": func(id int64) error {
			_, _, err := svc.SetAccountDisabled(ctx, op, id, true)
			return err
		},
		"SetPartner": func(id int64) error { _, err := svc.SetPartner(ctx, op, id, true); return err },
		"GetAccount": func(id int64) error { _, err := svc.GetAccount(ctx, op, id); return err },
		"CreateFirstOwner": func(id int64) error {
			_, _, err := svc.CreateFirstOwner(ctx, op, id, "mallory@example.com")
			return err
		},
	}
	answer := func(err error, id int64) string {
		return string(keyplane.ErrorCode(err)) + " " + strings.ReplaceAll(strings.Join(keyplane.ErrorMessages(err), "; "), itoa(id), "N")
	}
	for name, run := range ops {
		if foreign, absent := answer(run(other.ID), other.ID), answer(run(999), 999); foreign != absent || !strings.HasPrefix(foreign, "NotFound") {
			t.Errorf("%s by the operator of account 1: another account answers %q, a missing one %q", name, foreign, absent)
		}
	}
	if got, err := svc.GetAccount(ctx, keyplane.InstallOperator, other.ID); err != nil || got.Name != "Other" || got.Disabled() || got.Partner {
		t.Errorf("the other account changed: %+v, %v", got, err)
	}
	if _, _, err := svc.RenameAccount(ctx, op, 1, "Own"); err != nil {
		t.Errorf("the operator renaming its own account: %v", err)
	}
}
