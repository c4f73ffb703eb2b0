package control

import (
	"context"

	"github.com/keyplane/keyplane"
)

// accountView is what an audit event records of an account.
func accountView(a keyplane.Account) any {
	return map[string]any{"id": a.ID, "name": a.Name, "disabled": a.Disabled()}
}

// usable is the one rule on a disabled account, applied wherever a
// credential becomes a principal (Authenticate for API keys, SignIn and
// Session for people): every credential of a disabled account is refused
// with a 403 that names the reason. Nothing is deleted, so enabling the
// account brings every key and session back as it was.
func usable(a keyplane.Account) error {
	if a.Disabled() {
		return keyplane.AccountDisabledError(a.ID)
	}
	return nil
}

// operatorOnly lets only the operator (keyplane admin, the operator API)
// act on account accountID (0: on the install, as creating an account
// does): accounts are made, disabled and enabled by whoever runs the
// install, never by a principal inside an account. The operator acting in
// one account (keyplane.Operator(id)) is held to it: another account
// answers as a missing one.
func operatorOnly(p keyplane.Principal, accountID int64, what string) error {
	switch {
	case !p.Operator:
		return keyplane.Errorf(keyplane.CodeForbidden, "only the operator (keyplane admin) %s accounts", what)
	case p.AccountID != 0 && accountID != 0 && p.AccountID != accountID:
		return keyplane.Errorf(keyplane.CodeNotFound, "account %d: not found", accountID) // as the store answers a missing one
	}
	return nil
}

// mayRenameAccount decides whether p may rename account accountID: the
// operator, or a person who is that account's Owner. A person's principal
// is made from their membership as it is at this request, so a role
// changed or a membership ended counts at once.
func mayRenameAccount(p keyplane.Principal, accountID int64) error {
	if p.Operator {
		return operatorOnly(p, accountID, "renames")
	}
	if p.UserID != 0 && p.AccountID == accountID && p.Role == keyplane.RoleOwner {
		return nil
	}
	return keyplane.Errorf(keyplane.CodeForbidden, "only the account's Owner renames the account")
}

// CreateAccount makes an account named name. Only the operator may; the
// event is the new account's first.
func (s *Service) CreateAccount(ctx context.Context, p keyplane.Principal, name string) (a keyplane.Account, err error) {
	actor := p.Actor()
	if err := operatorOnly(p, 0, "creates"); err != nil {
		return a, err
	}
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidateName("name", name))...); err != nil {
		return a, err
	}
	a = keyplane.Account{Name: name, CreatedAt: s.clock()}
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := tx.InsertAccount(&a); err != nil {
			return err
		}
		return s.record(tx, actor, a.ID, keyplane.EventAccountCreated, "account", a.ID, nil, accountView(a))
	})
	return a, err
}

// RenameAccount names an account anew: the operator may rename any, an
// Owner their own. changed is false when it already had the name.
func (s *Service) RenameAccount(ctx context.Context, p keyplane.Principal, accountID int64, name string) (a keyplane.Account, changed bool, err error) {
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidateName("name", name))...); err != nil {
		return a, false, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		// Authorized before the account is looked up, so a refusal tells
		// nothing about whether it exists.
		if err := mayRenameAccount(p, accountID); err != nil {
			return err
		}
		var err error
		changed, err = s.renameAccount(tx, p.Actor(), accountID, name, &a)
		return err
	})
	return a, changed, err
}

// renameAccount renames account id in tx, recording it as actor's doing,
// and leaves the account as it is after in *a.
func (s *Service) renameAccount(tx Tx, actor keyplane.Actor, id int64, name string, a *keyplane.Account) (bool, error) {
	var err error
	if *a, err = tx.Account(id); err != nil || a.Name == name {
		return false, err
	}
	before := accountView(*a)
	a.Name = name
	if err := tx.RenameAccount(id, name); err != nil {
		return false, err
	}
	return true, s.record(tx, actor, id, keyplane.EventAccountRenamed, "account", id, before, accountView(*a))
}

// MayRenameAccount tells whether p may rename account accountID, by the
// rule RenameAccount applies: the portal asks it to decide whether to
// offer the form, and decides nothing itself.
func (s *Service) MayRenameAccount(p keyplane.Principal, accountID int64) error {
	return mayRenameAccount(p, accountID)
}

// SetAccountDisabled disables an account (disabled true) or enables it
// again; only the operator may. Disabling deletes nothing: its keys and
// its people's sign-ins and sessions are refused from the next request on,
// on every replica (the change is a commit, which every read cache sees),
// and enabling brings them all back. changed is false when the account
// was already in that state.
func (s *Service) SetAccountDisabled(ctx context.Context, p keyplane.Principal, accountID int64, disabled bool) (a keyplane.Account, changed bool, err error) {
	what, typ := "disables", keyplane.EventAccountDisabled
	if !disabled {
		what, typ = "enables", keyplane.EventAccountEnabled
	}
	actor := p.Actor()
	if err := operatorOnly(p, accountID, what); err != nil {
		return a, false, err
	}
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		var err error
		if a, err = tx.Account(accountID); err != nil || a.Disabled() == disabled {
			return err
		}
		before := accountView(a)
		a.DisabledAt = nil
		if disabled {
			a.DisabledAt = &now
		}
		if err := tx.SetAccountDisabled(accountID, a.DisabledAt); err != nil {
			return err
		}
		changed = true
		return s.record(tx, actor, accountID, typ, "account", accountID, before, accountView(a))
	})
	return a, changed, err
}
