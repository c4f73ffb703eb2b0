package control

import (
	"context"
	"time"

	"github.com/keyplane/keyplane"
)

// ErrMustEnrol is what Session answers for the session of a person who
// must enrol a second factor before anything else (an account of theirs
// requires two factors): the principal it returns with it holds no
// permission rows, so every operation but the person's own enrolment
// refuses it.
var ErrMustEnrol = keyplane.Errorf(keyplane.CodeForbidden, "Your account requires two factors: set up an authenticator app or a passkey before anything else.")

// SignInPolicyTx keeps accounts' sign-in policies.
type SignInPolicyTx interface {
	// SignInPolicy is an account's policy; nothing required without one.
	SignInPolicy(accountID int64) (keyplane.SignInPolicy, error)
	PutSignInPolicy(p keyplane.SignInPolicy) error
	// RequiresTwoFactors tells whether any account of the person requires
	// two factors.
	RequiresTwoFactors(userID int64) (bool, error)
	// EnrolledMembers are the members of an account with a second factor.
	EnrolledMembers(accountID int64) (map[int64]bool, error)
	// EndEnrolment lifts the enrolment mark off the person's sessions.
	EndEnrolment(userID int64) error
}

// MaySetSignInPolicy tells whether p may set its account's sign-in
// policy, by the rule SetSignInPolicy applies, for pages to offer it.
func (s *Service) MaySetSignInPolicy(p keyplane.Principal) error {
	return mayManagePolicy(p, p.AccountID, "sign-in policy")
}

// SignInPolicy is the sign-in policy of p's account; whoever may see its
// people may see it.
func (s *Service) SignInPolicy(ctx context.Context, p keyplane.Principal) (pol keyplane.SignInPolicy, err error) {
	if !p.Operator {
		if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ReadUsers); err != nil {
			return pol, err
		}
	}
	err = s.store.Read(ctx, func(tx Tx) (err error) {
		pol, err = tx.SignInPolicy(p.AccountID)
		return err
	})
	return pol, err
}

// SetSignInPolicy sets account accountID's sign-in policy: the Owner's
// or the operator's. Requiring two factors takes effect at each member's
// next sign-in; changed is false when the policy already was so.
func (s *Service) SetSignInPolicy(ctx context.Context, p keyplane.Principal, accountID int64, requireTwoFactors bool) (pol keyplane.SignInPolicy, changed bool, err error) {
	err = s.store.Write(ctx, func(tx Tx) error {
		// Authorized before the account is looked up, so a refusal tells
		// nothing about whether it exists.
		if err := mayManagePolicy(p, accountID, "sign-in policy"); err != nil {
			return err
		}
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		old, err := tx.SignInPolicy(accountID)
		if err != nil {
			return err
		}
		pol = old
		pol.RequireTwoFactors = requireTwoFactors
		if old == pol {
			return nil
		}
		changed = true
		if err := tx.PutSignInPolicy(pol); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), accountID, keyplane.EventSignInPolicyChanged, "account", accountID,
			map[string]any{"requireTwoFactors": old.RequireTwoFactors}, map[string]any{"requireTwoFactors": requireTwoFactors})
	})
	return pol, changed, err
}

// EnrolledMembers tells which members of p's account have a second
// factor, for the Users page: whoever may see the account's people may
// see it.
func (s *Service) EnrolledMembers(ctx context.Context, p keyplane.Principal) (out map[int64]bool, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ReadUsers); err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx Tx) (err error) {
		out, err = tx.EnrolledMembers(p.AccountID)
		return err
	})
	return out, err
}

// enrolled is called when person userID has just enrolled a second
// factor: sessions that waited for it open.
func (s *Service) enrolled(tx Tx, userID int64) error { return tx.EndEnrolment(userID) }

// mayGoWithout refuses to remove the last second factor of a person whose
// account requires two factors.
func (s *Service) mayGoWithout(tx Tx, userID int64) error {
	req, err := tx.RequiresTwoFactors(userID)
	if err != nil || !req {
		return err
	}
	return keyplane.Errorf(keyplane.CodeConflict, "Your account requires two factors, and this is your last one: add another (an authenticator app or a passkey) before removing it.")
}

// SetSessionLimits sets account accountID's session limits: a session
// unused for idle ends (0: no idle timeout), and one open for lifetime
// ends (0: keyplane.SessionTTL). The Owner's or the operator's; they hold
// from every session's next request. changed is false when they already
// were so.
func (s *Service) SetSessionLimits(ctx context.Context, p keyplane.Principal, accountID int64, idle, lifetime time.Duration) (pol keyplane.SignInPolicy, changed bool, err error) {
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := mayManagePolicy(p, accountID, "sign-in policy"); err != nil {
			return err
		}
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		old, err := tx.SignInPolicy(accountID)
		if err != nil {
			return err
		}
		pol = old
		pol.IdleTimeout, pol.Lifetime = idle, lifetime
		if err := pol.Check(); err != nil {
			return err
		}
		if old == pol {
			return nil
		}
		changed = true
		if err := tx.PutSignInPolicy(pol); err != nil {
			return err
		}
		view := func(p keyplane.SignInPolicy) map[string]any {
			return map[string]any{"sessionIdleTimeout": p.IdleTimeout.String(), "sessionLifetime": p.Lifetime.String()}
		}
		return s.record(tx, p.Actor(), accountID, keyplane.EventSignInPolicyChanged, "account", accountID, view(old), view(pol))
	})
	return pol, changed, err
}
