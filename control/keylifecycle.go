package control

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/keyplane/keyplane"
)

// RollAPIKey rolls the key named ref (its id or the whole key, as
// RevokeAPIKey takes it): a new key of the same integration is made, and
// the old one keeps working for overlap (at most 30 days, never past its
// own expiry; 0 stops it at once), then stops by itself. expires is the
// new key's expiry; zero gives it the old key's lifetime, as far as the
// account's key policy allows. The new key counts against the 3 active
// keys while the old one still works, so a roll that would make a fourth
// is refused, saying so.
func (s *Service) RollAPIKey(ctx context.Context, p keyplane.Principal, ref string, overlap time.Duration, expires time.Time) (old keyplane.APIKey, key NewKey, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return old, key, err
	}
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		k, in, err := keyByRef(tx, p, ref)
		if err != nil {
			return err
		}
		old, key, err = s.roll(tx, p.Actor(), in, k, overlap, expires, now)
		return err
	})
	return old, key, err
}

// RollIntegrationKey is RollAPIKey the portal's way, naming the key by
// where it is listed: a key of another integration or account is not
// found.
func (s *Service) RollIntegrationKey(ctx context.Context, p keyplane.Principal, integrationID, keyID int64, overlap time.Duration) (old keyplane.APIKey, key NewKey, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return old, key, err
	}
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		in, err := tx.Integration(p.AccountID, integrationID)
		if err != nil {
			return err
		}
		k, _, err := tx.APIKey(keyID)
		if err == nil && k.IntegrationID != integrationID {
			err = keyplane.Errorf(keyplane.CodeNotFound, "API key: not found") // as for a missing one
		}
		if err != nil {
			return err
		}
		old, key, err = s.roll(tx, p.Actor(), in, k, overlap, time.Time{}, now)
		return err
	})
	return old, key, err
}

// roll rolls key k of in in tx.
func (s *Service) roll(tx Tx, actor keyplane.Actor, in keyplane.Integration, k keyplane.APIKey, overlap time.Duration, expires, now time.Time) (keyplane.APIKey, NewKey, error) {
	switch {
	case k.RevokedAt != nil:
		return k, NewKey{}, keyplane.Errorf(keyplane.CodeConflict, "API key %d is revoked; only an active key can be rolled (generate a new one instead)", k.ID)
	case !k.Active(now):
		return k, NewKey{}, keyplane.Errorf(keyplane.CodeConflict, "API key %d has expired; only an active key can be rolled (generate a new one instead)", k.ID)
	case k.ReplacedBy != 0:
		return k, NewKey{}, keyplane.Errorf(keyplane.CodeConflict, "API key %d was already rolled to key %d and stops at %s; roll key %d instead", k.ID, k.ReplacedBy, keyplane.FormatTime(k.ExpiresAt), k.ReplacedBy)
	}
	end, err := keyplane.RollOverlapEnd(k, now, overlap)
	if err != nil {
		return k, NewKey{}, err
	}
	pol, err := tx.AccountPolicy(in.AccountID)
	if err != nil {
		return k, NewKey{}, err
	}
	if expires.IsZero() {
		expires = now.Add(k.ExpiresAt.Sub(k.CreatedAt))
		if limit := pol.MaxExpiry(now); expires.After(limit) {
			expires = limit
		}
	}
	if err := pol.CheckExpiry(expires, now); err != nil {
		return k, NewKey{}, err
	}
	// The old key still works until end: unless that is now, the new key
	// sits beside it, and both count.
	except := int64(0)
	if !end.After(now) {
		except = k.ID
	}
	active, err := activeKeys(tx, in.ID, now, except)
	if err != nil {
		return k, NewKey{}, err
	}
	if active >= keyplane.MaxActiveAPIKeys {
		return k, NewKey{}, keyplane.Errorf(keyplane.CodeConflict,
			"integration %d already has %d active API keys, and rolling keeps key %d working during the overlap, which would make a fourth; revoke another key first, or roll with an overlap of 0", in.ID, active, k.ID)
	}
	nk, err := s.makeKey(tx, actor, in, expires, now)
	if err != nil {
		return k, NewKey{}, err
	}
	before := keyView(k)
	if err := tx.RollAPIKey(k.ID, nk.ID, end); err != nil {
		return k, NewKey{}, err
	}
	k.ReplacedBy, k.ExpiresAt = nk.ID, end
	return k, nk, s.record(tx, actor, in.AccountID, keyplane.EventApiKeyRolled, "api-key", k.ID, before, keyView(k))
}

// SetIntegrationSuspended suspends an integration (suspended true) or
// resumes it. A suspended integration's keys are refused with 403
// "integration suspended" from the next request on, on every replica (the
// change is a commit, which every read cache sees); nothing is deleted,
// and resuming brings every key back as it was. changed is false when it
// was already so.
func (s *Service) SetIntegrationSuspended(ctx context.Context, p keyplane.Principal, id int64, suspended bool) (in keyplane.Integration, changed bool, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return in, false, err
	}
	actor, now := p.Actor(), s.clock()
	typ := keyplane.EventServiceIntegrationSuspended
	if !suspended {
		typ = keyplane.EventServiceIntegrationResumed
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		var err error
		if in, err = tx.Integration(p.AccountID, id); err != nil || in.Suspended() == suspended {
			return err
		}
		before := integrationView(in)
		in.SuspendedAt = nil
		if suspended {
			in.SuspendedAt = &now
		}
		if err := tx.SetIntegrationSuspended(p.AccountID, id, in.SuspendedAt); err != nil {
			return err
		}
		changed = true
		return s.record(tx, actor, p.AccountID, typ, "integration", id, before, integrationView(in))
	})
	return in, changed, err
}

// SetIntegrationNetworks sets the client networks an integration's keys
// are allowed from (none: anywhere), in effect from the next request on,
// on every replica. A request from elsewhere is refused with 403 naming
// the address it came from. changed is false when they were already so.
func (s *Service) SetIntegrationNetworks(ctx context.Context, p keyplane.Principal, id int64, networks []netip.Prefix) (in keyplane.Integration, changed bool, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return in, false, err
	}
	if len(networks) > keyplane.MaxNetworks {
		return in, false, keyplane.Errorf(keyplane.CodeInvalid, "allowCidr: at most %d networks", keyplane.MaxNetworks)
	}
	actor := p.Actor()
	err = s.store.Write(ctx, func(tx Tx) error {
		var err error
		if in, err = tx.Integration(p.AccountID, id); err != nil || slices.Equal(in.Networks, networks) {
			return err
		}
		before := integrationView(in)
		in.Networks = networks
		if err := tx.SetIntegrationNetworks(p.AccountID, id, networks); err != nil {
			return err
		}
		changed = true
		after := integrationView(in).(map[string]any)
		after["allowedNetworks"] = networks // [] when cleared: the change is the point
		if networks == nil {
			after["allowedNetworks"] = []netip.Prefix{}
		}
		return s.record(tx, actor, p.AccountID, keyplane.EventServiceIntegrationNetworksChanged, "integration", id, before, after)
	})
	return in, changed, err
}

// mayManagePolicy decides whether p may change a policy (what: "key
// policy", "sign-in policy") of account accountID: the operator, held to
// its account as everywhere, or that account's Owner (as for its name).
func mayManagePolicy(p keyplane.Principal, accountID int64, what string) error {
	if p.Operator {
		return operatorOnly(p, accountID, "sets the "+what+" of")
	}
	if p.UserID != 0 && p.AccountID == accountID && p.Role == keyplane.RoleOwner {
		return nil
	}
	return keyplane.Errorf(keyplane.CodeForbidden, "only the account's Owner sets its %s", what)
}

// MaySetAccountPolicy tells whether p may change its account's key policy,
// by the rule SetAccountPolicy applies, for front ends to decide what to
// offer.
func (s *Service) MaySetAccountPolicy(p keyplane.Principal) error {
	return mayManagePolicy(p, p.AccountID, "key policy")
}

// AccountPolicy is the key policy of p's account; whoever may read its
// Service Integrations may read it.
func (s *Service) AccountPolicy(ctx context.Context, p keyplane.Principal) (pol keyplane.AccountPolicy, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ReadIntegrations); err != nil {
		return pol, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := accountExists(tx, p.AccountID); err != nil {
			return err
		}
		pol, err = tx.AccountPolicy(p.AccountID)
		return err
	})
	return pol, err
}

// SetAccountPolicy sets the key policy of p's account: the maximum
// lifetime of new and rolled keys (0: the one-year ceiling), and the days
// before expiry at which notices are given (nil: DefaultNoticeDays). Only
// the Owner or the operator may. Keys made before keep their expiry.
func (s *Service) SetAccountPolicy(ctx context.Context, p keyplane.Principal, pol keyplane.AccountPolicy) (out keyplane.AccountPolicy, changed bool, err error) {
	if err := mayManagePolicy(p, p.AccountID, "key policy"); err != nil {
		return out, false, err
	}
	pol.AccountID = p.AccountID
	if pol.NoticeDays == nil {
		pol.NoticeDays = slices.Clone(keyplane.DefaultNoticeDays)
	}
	if err := pol.Validate(); err != nil {
		return out, false, err
	}
	pol = pol.Normalized()
	actor := p.Actor()
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := accountExists(tx, p.AccountID); err != nil {
			return err
		}
		old, err := tx.AccountPolicy(p.AccountID)
		if err != nil {
			return err
		}
		if old.MaxKeyLifetime == pol.MaxKeyLifetime && slices.Equal(old.NoticeDays, pol.NoticeDays) {
			out = old
			return nil
		}
		if err := tx.PutAccountPolicy(pol); err != nil {
			return err
		}
		out, changed = pol, true
		return s.record(tx, actor, p.AccountID, keyplane.EventAccountKeyPolicyChanged, "account", p.AccountID, policyView(old), policyView(pol))
	})
	return out, changed, err
}

func policyView(p keyplane.AccountPolicy) any {
	var life any
	if p.MaxKeyLifetime > 0 {
		life = keyplane.FormatLifetime(p.MaxKeyLifetime)
	}
	return map[string]any{"maxKeyLifetime": life, "noticeDays": p.NoticeDays}
}
