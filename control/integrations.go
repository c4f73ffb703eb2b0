package control

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

// Can tells whether p may do what needs at t: nil, or the 403 naming the
// missing row that the operation itself would answer. Front ends ask it to
// decide what to offer; every operation decides for itself again.
func (s *Service) Can(p keyplane.Principal, t keyplane.Target, needs ...keyplane.Permission) error {
	return keyplane.Authorize(p.Grants, t, needs...)
}

// Accounts lists every account.
func (s *Service) Accounts(ctx context.Context) (as []keyplane.Account, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		as, err = tx.Accounts()
		return err
	})
	return as, err
}

// IntegrationKeys is an integration with all its keys, revoked and expired
// ones included.
type IntegrationKeys struct {
	keyplane.Integration
	Keys []keyplane.APIKey
}

// NewKey is a key just made: the only moment its value exists outside the
// caller's hands.
type NewKey struct {
	keyplane.APIKey
	Key string
}

// NewIntegration is what CreateIntegrationWith makes: a Service
// Integration, its permission rows, the client networks its keys are
// allowed from (none: anywhere), and its first key's expiry.
type NewIntegration struct {
	Name     string
	Grants   []keyplane.Grant
	Networks []netip.Prefix
	Expires  time.Time
}

// CreateIntegration makes a Service Integration in an account, with its
// permission rows and its first API key, usable from anywhere: see
// CreateIntegrationWith.
func (s *Service) CreateIntegration(ctx context.Context, p keyplane.Principal, name string, grants []keyplane.Grant, expires time.Time) (in keyplane.Integration, key NewKey, err error) {
	return s.CreateIntegrationWith(ctx, p, NewIntegration{Name: name, Grants: grants, Expires: expires})
}

// CreateIntegrationWith makes a Service Integration in an account, with
// its permission rows, allowed networks and first API key. Rows below
// Account level must name an app or keyset of that account; the key's
// lifetime must fit the account's key policy.
func (s *Service) CreateIntegrationWith(ctx context.Context, p keyplane.Principal, ni NewIntegration) (in keyplane.Integration, key NewKey, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return in, key, err
	}
	actor, accountID := p.Actor(), p.AccountID
	now := s.clock()
	name, grants, expires := ni.Name, ni.Grants, ni.Expires
	if err := keyplane.ValidateIntegration(name, grants); err != nil {
		return in, key, err
	}
	if err := keyplane.ValidateAPIKeyExpiry(expires, now); err != nil {
		return in, key, err
	}
	if len(ni.Networks) > keyplane.MaxNetworks {
		return in, key, keyplane.Errorf(keyplane.CodeInvalid, "allowCidr: at most %d networks", keyplane.MaxNetworks)
	}
	in = keyplane.Integration{AccountID: accountID, Name: name, Grants: grants, Networks: ni.Networks, CreatedAt: now}
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		var msgs []string
		for _, g := range grants {
			var err error
			switch g.Level {
			case keyplane.LevelApp:
				_, err = tx.App(accountID, g.TargetID)
			case keyplane.LevelKeyset:
				_, err = tx.Keyset(accountID, g.TargetID)
			}
			if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
				msgs = append(msgs, "grant "+g.String()+": "+string(g.Level)+" "+strconv.FormatInt(g.TargetID, 10)+" does not exist in account "+strconv.FormatInt(accountID, 10))
			} else if err != nil {
				return err
			}
		}
		if err := keyplane.Invalid(msgs...); err != nil {
			return err
		}
		if err := checkPolicy(tx, accountID, expires, now); err != nil {
			return err
		}
		if err := tx.InsertIntegration(&in); err != nil {
			return err
		}
		if err := s.record(tx, actor, accountID, keyplane.EventServiceIntegrationCreated, "integration", in.ID, nil, integrationView(in)); err != nil {
			return err
		}
		key, err = s.insertKey(tx, actor, in, expires, now)
		return err
	})
	return in, key, err
}

// checkPolicy checks a new key's expiry against its account's key policy.
func checkPolicy(tx Tx, accountID int64, expires, now time.Time) error {
	pol, err := tx.AccountPolicy(accountID)
	if err != nil {
		return err
	}
	return pol.CheckExpiry(expires, now)
}

func accountExists(tx Tx, id int64) error {
	as, err := tx.Accounts()
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.ID == id {
			return nil
		}
	}
	return keyplane.Errorf(keyplane.CodeNotFound, "account %d: not found", id)
}

func integrationView(in keyplane.Integration) any {
	v := map[string]any{"id": in.ID, "name": in.Name, "grants": in.Grants}
	// Only where set, so the events of integrations without them read as
	// they always did.
	if len(in.Networks) > 0 {
		v["allowedNetworks"] = in.Networks
	}
	if in.SuspendedAt != nil {
		v["suspendedAt"] = keyplane.FormatTime(*in.SuspendedAt)
	}
	return v
}

func keyView(k keyplane.APIKey) any {
	v := map[string]any{"id": k.ID, "integrationId": k.IntegrationID, "prefix": k.Prefix, "expiresAt": keyplane.FormatTime(k.ExpiresAt)}
	if k.ReplacedBy != 0 {
		v["replacedBy"] = k.ReplacedBy
	}
	return v
}

// CreateAPIKey makes another key for an integration, refusing a fourth
// active one. The count and the insert share one serialized transaction, so
// racing creations cannot pass the limit together.
func (s *Service) CreateAPIKey(ctx context.Context, p keyplane.Principal, integrationID int64, expires time.Time) (key NewKey, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return key, err
	}
	actor, accountID := p.Actor(), p.AccountID
	now := s.clock()
	if err := keyplane.ValidateAPIKeyExpiry(expires, now); err != nil {
		return key, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		in, err := tx.Integration(accountID, integrationID)
		if err != nil {
			return err
		}
		if err := checkPolicy(tx, accountID, expires, now); err != nil {
			return err
		}
		key, err = s.insertKey(tx, actor, in, expires, now)
		return err
	})
	return key, err
}

func (s *Service) insertKey(tx Tx, actor keyplane.Actor, in keyplane.Integration, expires, now time.Time) (NewKey, error) {
	active, err := activeKeys(tx, in.ID, now, 0)
	if err != nil {
		return NewKey{}, err
	}
	if active >= keyplane.MaxActiveAPIKeys {
		return NewKey{}, keyplane.Errorf(keyplane.CodeConflict, "integration %d already has %d active API keys; revoke one first", in.ID, active)
	}
	return s.makeKey(tx, actor, in, expires, now)
}

// activeKeys counts the keys of an integration active at now, but except.
func activeKeys(tx Tx, integrationID int64, now time.Time, except int64) (int, error) {
	keys, err := tx.APIKeys(integrationID)
	if err != nil {
		return 0, err
	}
	active := 0
	for _, k := range keys {
		if k.Active(now) && k.ID != except {
			active++
		}
	}
	return active, nil
}

// makeKey makes and records a key of in; the caller has checked the limit.
func (s *Service) makeKey(tx Tx, actor keyplane.Actor, in keyplane.Integration, expires, now time.Time) (NewKey, error) {
	raw, err := keyplane.NewAPIKey(s.rand)
	if err != nil {
		return NewKey{}, err
	}
	hash := keyplane.HashAPIKey(raw)
	k := NewKey{Key: raw, APIKey: keyplane.APIKey{
		IntegrationID: in.ID, Prefix: keyplane.APIKeyShownPrefix(raw), Hash: hash[:],
		CreatedAt: now, ExpiresAt: expires,
	}}
	if err := tx.InsertAPIKey(&k.APIKey); err != nil {
		return NewKey{}, err
	}
	return k, s.record(tx, actor, in.AccountID, keyplane.EventApiKeyCreated, "api-key", k.ID, nil, keyView(k.APIKey))
}

// RevokeAPIKey revokes a key named by its id or by the whole key (as whoever
// found a leaked key has it). Revoking a revoked key changes nothing and is
// not an error; already reports it. A key of another account than p's is
// not found, but for the install's operator (keyplane.InstallOperator, the
// admin command), who may revoke any leaked key without knowing whose it
// is; the operator acting in one account is held to it.
func (s *Service) RevokeAPIKey(ctx context.Context, p keyplane.Principal, ref string) (k keyplane.APIKey, already bool, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return k, false, err
	}
	actor := p.Actor()
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		var in keyplane.Integration
		var err error
		if k, in, err = keyByRef(tx, p, ref); err != nil {
			return err
		}
		if k.RevokedAt != nil {
			already = true
			return nil
		}
		k.RevokedAt = &now
		if err := tx.RevokeAPIKey(k.ID, now); err != nil {
			return err
		}
		return s.record(tx, actor, in.AccountID, keyplane.EventApiKeyRevoked, "api-key", k.ID, keyView(k), nil)
	})
	return k, already, err
}

// keyByRef finds a key named by its id or by the whole key (as whoever
// found a leaked key has it), with its integration. A key of another
// account than p's is not found, but for the install's operator
// (keyplane.InstallOperator, the admin commands), who may act on any
// leaked key; the operator acting in one account is held to it.
func keyByRef(tx Tx, p keyplane.Principal, ref string) (k keyplane.APIKey, in keyplane.Integration, err error) {
	if strings.HasPrefix(ref, keyplane.APIKeyPrefix) {
		if err := keyplane.CheckAPIKey(ref); err != nil {
			return k, in, keyplane.Errorf(keyplane.CodeInvalid, "%s", strings.TrimPrefix(keyplane.ErrorMessages(err)[0], "Authorization: "))
		}
		h := keyplane.HashAPIKey(ref)
		k, in, err = tx.APIKeyByHash(h[:])
	} else {
		id, perr := strconv.ParseInt(ref, 10, 64)
		if perr != nil || id < 1 {
			return k, in, keyplane.Errorf(keyplane.CodeInvalid, "key: give the key's numeric id or the whole key (si_…)")
		}
		k, in, err = tx.APIKey(id)
	}
	if err == nil && in.AccountID != p.AccountID && !(p.Operator && p.AccountID == 0) {
		// As for a missing one; only the install's operator reaches keys
		// of every account (a leaked key is stopped wherever it belongs).
		err = keyplane.Errorf(keyplane.CodeNotFound, "API key: not found")
	}
	return k, in, err
}

// ListIntegrations lists the integrations of p's account with their keys.
func (s *Service) ListIntegrations(ctx context.Context, p keyplane.Principal) (out []IntegrationKeys, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ReadIntegrations); err != nil {
		return nil, err
	}
	accountID := p.AccountID
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		ins, err := tx.Integrations(accountID)
		if err != nil {
			return err
		}
		for _, in := range ins {
			keys, err := tx.APIKeys(in.ID)
			if err != nil {
				return err
			}
			out = append(out, IntegrationKeys{in, keys})
		}
		return nil
	})
	return out, err
}

// GetIntegration returns one integration of p's account with all its keys.
func (s *Service) GetIntegration(ctx context.Context, p keyplane.Principal, id int64) (out IntegrationKeys, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ReadIntegrations); err != nil {
		return out, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		if out.Integration, err = tx.Integration(p.AccountID, id); err != nil {
			return err
		}
		out.Keys, err = tx.APIKeys(id)
		return err
	})
	return out, err
}

// RevokeIntegrationKey revokes key keyID of integration integrationID in
// an account: the portal's way, which names the key by where it is listed,
// so a key of another account or integration is simply not found.
func (s *Service) RevokeIntegrationKey(ctx context.Context, p keyplane.Principal, integrationID, keyID int64) (k keyplane.APIKey, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return k, err
	}
	actor, accountID := p.Actor(), p.AccountID
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		if _, err := tx.Integration(accountID, integrationID); err != nil {
			return err
		}
		k, _, err = tx.APIKey(keyID)
		if err == nil && k.IntegrationID != integrationID {
			err = keyplane.Errorf(keyplane.CodeNotFound, "API key: not found") // as for a missing one
		}
		if err != nil || k.RevokedAt != nil {
			return err
		}
		k.RevokedAt = &now
		if err := tx.RevokeAPIKey(k.ID, now); err != nil {
			return err
		}
		return s.record(tx, actor, accountID, keyplane.EventApiKeyRevoked, "api-key", k.ID, keyView(k), nil)
	})
	return k, err
}

// DeleteIntegration deletes an integration with its keys, which stop
// working at once. Each key still active is recorded as revoked, then the
// integration as deleted.
func (s *Service) DeleteIntegration(ctx context.Context, p keyplane.Principal, id int64) error {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return err
	}
	actor, accountID := p.Actor(), p.AccountID
	now := s.clock()
	return s.store.Write(ctx, func(tx Tx) error {
		in, err := tx.Integration(accountID, id)
		if err != nil {
			return err
		}
		keys, err := tx.APIKeys(id)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.RevokedAt == nil && k.Active(now) {
				if err := s.record(tx, actor, accountID, keyplane.EventApiKeyRevoked, "api-key", k.ID, keyView(k), nil); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteIntegration(accountID, id); err != nil {
			return err
		}
		return s.record(tx, actor, accountID, keyplane.EventServiceIntegrationDeleted, "integration", id, integrationView(in), nil)
	})
}
