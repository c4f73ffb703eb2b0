package control

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/keyplane/keyplane"
)

// userView is what an audit event records of a user: never the hash. A
// scoped role's apps or keysets are part of what was granted.
func userView(u keyplane.User) any {
	v := map[string]any{"id": u.ID, "email": u.Email, "role": u.Role}
	if len(u.Apps) > 0 {
		v["apps"] = u.Apps
	}
	if len(u.Keysets) > 0 {
		v["keysets"] = u.Keysets
	}
	return v
}

// NewUser is what creating a user takes. An empty Password asks for a
// generated one, returned once by CreateUser. Apps and Keysets are the
// scope of an App or Key role (keyplane.ValidateScope): apps or keysets of
// the account.
type NewUser struct {
	Email         string
	Password      string
	Role          keyplane.Role
	Apps, Keysets []int64
}

// Scope is a role with the apps or keysets it applies to: what
// ChangeUserRole gives.
type Scope struct {
	Role          keyplane.Role
	Apps, Keysets []int64
}

// checkScope checks a role and its apps or keysets as far as can be done
// without the database, and returns them sorted without repeats. The ids
// are checked against the account by scopeExists, in the transaction
// that writes them.
func checkScope(r keyplane.Role, apps, keysets []int64) (keyplane.Role, []int64, []int64, error) {
	r, err := keyplane.ParseRole(string(r))
	if err != nil {
		return r, nil, nil, err
	}
	if err := keyplane.Invalid(keyplane.ValidateScope(r, apps, keysets)...); err != nil {
		return r, nil, nil, err
	}
	norm := func(ids []int64) []int64 {
		if len(ids) == 0 {
			return nil
		}
		ids = slices.Clone(ids)
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	return r, norm(apps), norm(keysets), nil
}

// scopeExists checks that every app and keyset of a scope is the
// account's. An id of another account answers exactly as a missing one,
// so a scope tells nothing about other accounts.
func scopeExists(tx Tx, accountID int64, apps, keysets []int64) error {
	var msgs []string
	for _, id := range apps {
		if _, err := tx.App(accountID, id); keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			msgs = append(msgs, fmt.Sprintf("apps: app %d: not found", id))
		} else if err != nil {
			return err
		}
	}
	for _, id := range keysets {
		if _, err := tx.Keyset(accountID, id); keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			msgs = append(msgs, fmt.Sprintf("keysets: keyset %d: not found", id))
		} else if err != nil {
			return err
		}
	}
	return keyplane.Invalid(msgs...)
}

// generatedPasswordLen is the length of generated passwords: 24 base62
// characters, about 143 bits.
const generatedPasswordLen = 24

// CreateUser adds a user to an account. Only an Owner or Account Admin (or
// the operator) may; an Owner is made only by the operator or the setup
// link, since the Owner is the account's creator. generated is the
// password when none was given: the only time it is shown.
func (s *Service) CreateUser(ctx context.Context, p keyplane.Principal, n NewUser) (u keyplane.User, generated string, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return u, "", err
	}
	actor, accountID := p.Actor(), p.AccountID
	role, apps, keysets, err := checkScope(n.Role, n.Apps, n.Keysets)
	if err != nil {
		return u, "", err
	}
	if role == keyplane.RoleOwner && !p.Operator {
		return u, "", keyplane.Errorf(keyplane.CodeInvalid, "role: an account has one Owner; choose another role")
	}
	n.Role, n.Apps, n.Keysets = role, apps, keysets
	if n.Password == "" {
		if generated, err = keyplane.NewToken(s.rand, generatedPasswordLen); err != nil {
			return u, "", err
		}
		n.Password = generated
	}
	u, err = s.insertUser(ctx, actor, accountID, n, nil, nil)
	if err != nil {
		generated = ""
	}
	return u, generated, err
}

// insertUser validates and inserts a user in one write transaction; check,
// when set, runs first inside it, and then, when set, after the user is
// in. n.Role, n.Apps and n.Keysets are what checkScope returned.
func (s *Service) insertUser(ctx context.Context, actor keyplane.Actor, accountID int64, n NewUser, check func(Tx) error, then func(Tx, keyplane.User) error) (u keyplane.User, err error) {
	email := keyplane.NormalizeEmail(n.Email)
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidateEmail("email", email), keyplane.ValidatePassword("password", n.Password))...); err != nil {
		return u, err
	}
	hash, err := s.hashes.hash(ctx, s.rand, n.Password)
	if err != nil {
		return u, err
	}
	u = keyplane.User{AccountID: accountID, Email: email, PasswordHash: hash, Role: n.Role, Apps: n.Apps, Keysets: n.Keysets, CreatedAt: s.clock()}
	err = s.store.Write(ctx, func(tx Tx) error {
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		if err := scopeExists(tx, accountID, u.Apps, u.Keysets); err != nil {
			return err
		}
		// A person already known (in this account or another) gets a
		// membership and keeps their password: the answer is the same
		// whether or not they existed elsewhere, so adding someone tells
		// nothing of other accounts' people.
		person, err := tx.UserByEmail(email)
		switch {
		case keyplane.ErrorCode(err) == keyplane.CodeNotFound:
			err = tx.InsertUser(&u)
		case err == nil:
			if _, merr := tx.User(accountID, person.ID); merr == nil {
				return keyplane.Errorf(keyplane.CodeConflict, "email: %s is already a member of this account", email)
			} else if keyplane.ErrorCode(merr) != keyplane.CodeNotFound {
				return merr
			}
			u.ID, u.PasswordHash = person.ID, person.PasswordHash
			err = tx.InsertMembership(u)
		}
		if err != nil {
			return err
		}
		a := actor
		if a.Type == "" { // the setup link: the Owner creates themself
			a = u.Principal().Actor()
		}
		if err := s.record(tx, a, accountID, keyplane.EventUserAccessGranted, "user", u.ID, nil, userView(u)); err != nil {
			return err
		}
		if then != nil {
			return then(tx, u)
		}
		return nil
	})
	return u, err
}

// ListUsers lists the users of p's account.
func (s *Service) ListUsers(ctx context.Context, p keyplane.Principal) (us []keyplane.User, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ReadUsers); err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		us, err = tx.Users(p.AccountID)
		return err
	})
	return us, err
}

// ChangeUserRole gives a user another role, or the same role on other apps
// or keysets. The Owner's role is fixed, and no one else becomes Owner.
func (s *Service) ChangeUserRole(ctx context.Context, p keyplane.Principal, id int64, sc Scope) (u keyplane.User, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return u, err
	}
	actor, accountID := p.Actor(), p.AccountID
	r, apps, keysets, err := checkScope(sc.Role, sc.Apps, sc.Keysets)
	if err != nil {
		return u, err
	}
	if r == keyplane.RoleOwner {
		return u, keyplane.Errorf(keyplane.CodeInvalid, "role: an account has one Owner; choose another role")
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if u, err = tx.User(accountID, id); err != nil {
			return err
		}
		if u.Role == keyplane.RoleOwner {
			return keyplane.Errorf(keyplane.CodeInvalid, "role: the Owner's role cannot change")
		}
		if u.Role == r && slices.Equal(u.Apps, apps) && slices.Equal(u.Keysets, keysets) {
			return nil
		}
		if err := scopeExists(tx, accountID, apps, keysets); err != nil {
			return err
		}
		before := userView(u)
		u.Role, u.Apps, u.Keysets = r, apps, keysets
		if err := tx.UpdateUserRole(u); err != nil {
			return err
		}
		return s.record(tx, actor, accountID, keyplane.EventUserRoleAdded, "user", id, before, userView(u))
	})
	return u, err
}

// RemoveUser removes a user and signs them out everywhere. The Owner
// cannot be removed.
func (s *Service) RemoveUser(ctx context.Context, p keyplane.Principal, id int64) error {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return err
	}
	actor, accountID := p.Actor(), p.AccountID
	return s.store.Write(ctx, func(tx Tx) error {
		u, err := tx.User(accountID, id)
		if err != nil {
			return err
		}
		if u.Role == keyplane.RoleOwner {
			return keyplane.Errorf(keyplane.CodeInvalid, "user %s is the Owner, who cannot be removed", u.Email)
		}
		if err := tx.DeleteUser(accountID, id); err != nil {
			return err
		}
		return s.record(tx, actor, accountID, keyplane.EventUserAccessRevoked, "user", id, userView(u), nil)
	})
}

// NewSetupToken makes the token of a one-time setup link when no user
// exists yet; ok is false (and nothing is made) once one does. Tokens live
// in the database, so a link printed by one replica works on every one.
func (s *Service) NewSetupToken(ctx context.Context) (token string, ok bool, err error) {
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		n, err := tx.CountUsers()
		if err != nil || n > 0 {
			return err
		}
		if token, err = keyplane.NewToken(s.rand, 32); err != nil {
			return err
		}
		ok = true
		return tx.InsertSetupToken(hashToken(token), now, now.Add(keyplane.SetupTokenTTL))
	})
	return token, ok, err
}

// CheckSetupToken tells whether a setup link still works.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	return s.store.Read(ctx, func(tx Tx) error { return s.checkSetup(tx, token) })
}

func (s *Service) checkSetup(tx Tx, token string) error {
	n, err := tx.CountUsers()
	if err != nil {
		return err
	}
	// Once a user exists the Owner does too (the setup link makes the
	// first user the Owner; create-user refuses a second Owner): the way
	// in is signing in, not another Owner.
	if n > 0 {
		return keyplane.Errorf(keyplane.CodeNotFound, "this setup link has been used: the Owner exists. Sign in at /login; if you are not a user yet, ask an Account Admin to add you")
	}
	refused := keyplane.Errorf(keyplane.CodeNotFound, "this setup link is unknown or expired. Restart keyplane serve for a new one, or create the Owner with: keyplane admin create-user --email YOU@EXAMPLE.COM --role owner")
	if token == "" {
		return refused
	}
	exp, err := tx.SetupTokenExpiry(hashToken(token))
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound || (err == nil && !s.clock().Before(exp)) {
		return refused
	}
	return err
}

// SetupAccount is the account a setup link sets up (the first), once the
// link is known to work: the setup page shows its name.
func (s *Service) SetupAccount(ctx context.Context, token string) (a keyplane.Account, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := s.checkSetup(tx, token); err != nil {
			return err
		}
		a, err = firstAccount(tx)
		return err
	})
	return a, err
}

func firstAccount(tx Tx) (keyplane.Account, error) {
	as, err := tx.Accounts()
	if err != nil {
		return keyplane.Account{}, err
	}
	if len(as) == 0 {
		return keyplane.Account{}, keyplane.Errorf(keyplane.CodeNotFound, "no account exists yet")
	}
	return as[0], nil
}

// SetupOwner creates the Owner through the one-time setup link, in the
// first account, and uses up every setup link. accountName, unless empty,
// names the account anew, recorded as the new Owner's change (as if they
// had renamed it at once). The link and the name are checked before the
// password is hashed, so a bad or used link costs the server nothing.
func (s *Service) SetupOwner(ctx context.Context, token, email, password, accountName string) (keyplane.User, error) {
	var accountID int64
	err := s.store.Read(ctx, func(tx Tx) error {
		if err := s.checkSetup(tx, token); err != nil {
			return err
		}
		a, err := firstAccount(tx)
		accountID = a.ID
		return err
	})
	if err != nil {
		return keyplane.User{}, err
	}
	if accountName != "" {
		if err := keyplane.Invalid(nonEmpty(keyplane.ValidateName("account", accountName))...); err != nil {
			return keyplane.User{}, err
		}
	}
	return s.insertUser(ctx, keyplane.Actor{}, accountID, NewUser{Email: email, Password: password, Role: keyplane.RoleOwner}, func(tx Tx) error {
		if err := s.checkSetup(tx, token); err != nil { // used meanwhile?
			return err
		}
		return tx.DeleteSetupTokens()
	}, func(tx Tx, u keyplane.User) error {
		if accountName == "" {
			return nil
		}
		var a keyplane.Account
		_, err := s.renameAccount(tx, u.Principal().Actor(), accountID, accountName, &a)
		return err
	})
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// trimIP is the client address a throttle counts under.
func trimIP(ip string) string { return strings.TrimSpace(ip) }

// personByEmail is the person who signs in with email, and whether there
// is one: an address nobody uses is not an error here.
func personByEmail(tx Tx, email string) (u keyplane.User, ok bool, err error) {
	u, err = tx.UserByEmail(email)
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
		return u, false, nil
	}
	return u, err == nil, err
}
