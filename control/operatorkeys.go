package control

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

// installAccount is the account id of the install's own audit chain: the
// events of operator keys, which belong to no account. No account has id
// 0, so no account's API ever reads them; verify-audit and export-audit
// --all walk them like any chain.
const installAccount = 0

// NewOperatorKey is an operator key just made: the only moment its value
// exists outside the caller's hands.
type NewOperatorKey struct {
	keyplane.OperatorKey
	Key string
}

func operatorKeyView(k keyplane.OperatorKey) any {
	return map[string]any{"id": k.ID, "name": k.Name, "prefix": k.Prefix, "expiresAt": keyplane.FormatTime(k.ExpiresAt)}
}

// CreateOperatorKey makes an operator key named name that expires at
// expires (at least a minute and at most a year ahead, as API keys). Only
// the operator may: an operator key is the operator's power over every
// account, so nothing inside an account, and no operator key, makes one.
func (s *Service) CreateOperatorKey(ctx context.Context, p keyplane.Principal, name string, expires time.Time) (k NewOperatorKey, err error) {
	if err := operatorOnly(p, 0, "makes operator keys for"); err != nil {
		return k, err
	}
	actor := p.Actor()
	if actor.KeyID != 0 {
		return k, keyplane.Errorf(keyplane.CodeForbidden, "operator keys are made with keyplane admin create-operator-key, not through the operator API")
	}
	now := s.clock()
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidateName("name", name))...); err != nil {
		return k, err
	}
	if err := keyplane.ValidateAPIKeyExpiry(expires, now); err != nil {
		return k, err
	}
	raw, err := keyplane.OperatorKeyFormat.New(s.rand)
	if err != nil {
		return k, err
	}
	hash := keyplane.HashAPIKey(raw)
	k = NewOperatorKey{Key: raw, OperatorKey: keyplane.OperatorKey{
		Name: name, Prefix: keyplane.OperatorKeyFormat.ShownPrefix(raw), Hash: hash[:],
		CreatedAt: now, ExpiresAt: expires.UTC().Truncate(time.Millisecond),
	}}
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := tx.InsertOperatorKey(&k.OperatorKey); err != nil {
			return err
		}
		return s.record(tx, actor, installAccount, keyplane.EventOperatorKeyCreated, "operator-key", k.ID, nil, operatorKeyView(k.OperatorKey))
	})
	if err != nil {
		return NewOperatorKey{}, err
	}
	return k, nil
}

// OperatorKeys lists every operator key, revoked and expired ones
// included, oldest first. Only the operator may.
func (s *Service) OperatorKeys(ctx context.Context, p keyplane.Principal) (ks []keyplane.OperatorKey, err error) {
	if err := operatorOnly(p, 0, "lists operator keys for"); err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		ks, err = tx.ListOperatorKeys()
		return err
	})
	return ks, err
}

// RevokeOperatorKey revokes the operator key named by ref: its id, or the
// whole key (as whoever found a leaked key has it). The next request made
// with it is refused, on every replica (a commit, which the key cache
// checks). Revoking a revoked key changes nothing; already reports it.
func (s *Service) RevokeOperatorKey(ctx context.Context, p keyplane.Principal, ref string) (k keyplane.OperatorKey, already bool, err error) {
	if err := operatorOnly(p, 0, "revokes operator keys for"); err != nil {
		return k, false, err
	}
	actor := p.Actor()
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		var err error
		if strings.HasPrefix(ref, keyplane.OperatorKeyPrefix) {
			if err := keyplane.OperatorKeyFormat.Check(ref); err != nil {
				return keyplane.Errorf(keyplane.CodeInvalid, "%s", strings.TrimPrefix(keyplane.ErrorMessages(err)[0], "Authorization: "))
			}
			h := keyplane.HashAPIKey(ref)
			k, err = tx.OperatorKeyByHash(h[:])
		} else {
			id, perr := strconv.ParseInt(ref, 10, 64)
			if perr != nil || id < 1 {
				return keyplane.Errorf(keyplane.CodeInvalid, "key: give the operator key's numeric id or the whole key (%s…)", keyplane.OperatorKeyPrefix)
			}
			k, err = tx.OperatorKey(id)
		}
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			already = true
			return nil
		}
		k.RevokedAt = &now
		if err := tx.RevokeOperatorKey(k.ID, now); err != nil {
			return err
		}
		return s.record(tx, actor, installAccount, keyplane.EventOperatorKeyRevoked, "operator-key", k.ID, operatorKeyView(k), nil)
	})
	return k, already, err
}

// AuthenticateOperator turns the key of an operator API request into the
// operator's principal (keyplane.InstallOperator), its changes recorded with
// the key's id and name. Only operator keys
// pass: an si_ key is refused with a message naming the mix-up, since a
// Service Integration acts inside one account and the operator API acts on
// accounts.
func (s *Service) AuthenticateOperator(ctx context.Context, key string) (keyplane.Principal, error) {
	if key == "" {
		return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: required; send an operator key (Bearer %s…) made with keyplane admin create-operator-key", keyplane.OperatorKeyPrefix)
	}
	if err := keyplane.OperatorKeyFormat.Check(key); err != nil {
		if strings.HasPrefix(key, keyplane.APIKeyPrefix) {
			return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized,
				"Authorization: a Service Integration's API key (%s…) works only on /v2; /operator takes an operator key (%s…) made with keyplane admin create-operator-key", keyplane.APIKeyPrefix, keyplane.OperatorKeyPrefix)
		}
		return keyplane.Principal{}, err
	}
	h := keyplane.HashAPIKey(key)
	k, err := readThrough(ctx, s, &s.opKeys, h, func() (k keyplane.OperatorKey, err error) {
		err = s.readOne(ctx, func(tx Tx) (err error) {
			k, err = tx.OperatorKeyByHash(h[:])
			return err
		})
		return k, err
	})
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
		return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: unknown operator key")
	}
	if err != nil {
		return keyplane.Principal{}, err
	}
	now := s.clock()
	switch {
	case k.RevokedAt != nil:
		return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: operator key revoked")
	case !now.Before(k.ExpiresAt):
		return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: operator key expired")
	}
	// Written at most once per lastUsedPrecision: each write changes the
	// store's version and so empties every read cache.
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedPrecision {
		if err := s.store.Write(ctx, func(tx Tx) error { return tx.TouchOperatorKey(k.ID, now) }); err != nil {
			s.log.Warn("recording operator key use", "operatorKeyId", k.ID, "err", err)
		}
	}
	p := keyplane.InstallOperator
	p.Via = keyplane.OperatorKeyActor(k.ID, k.Name)
	return p, nil
}

// ListAccounts lists every account with its state; only the operator may.
func (s *Service) ListAccounts(ctx context.Context, p keyplane.Principal) ([]keyplane.Account, error) {
	if err := operatorOnly(p, 0, "lists"); err != nil {
		return nil, err
	}
	return s.Accounts(ctx)
}

// GetAccount reads one account; only the operator may.
func (s *Service) GetAccount(ctx context.Context, p keyplane.Principal, id int64) (a keyplane.Account, err error) {
	if err := operatorOnly(p, id, "reads"); err != nil {
		return a, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		a, err = tx.Account(id)
		return err
	})
	return a, err
}

// CreateFirstOwner makes the first Owner of account accountID, with a
// generated password returned once (e-mail invitations do not exist yet).
// Only the operator may, as with keyplane admin create-user --role owner;
// an account that already has an Owner is a conflict, so automation
// retrying the call cannot hand an account to a second person.
func (s *Service) CreateFirstOwner(ctx context.Context, p keyplane.Principal, accountID int64, email string) (u keyplane.User, generated string, err error) {
	if err := operatorOnly(p, accountID, "gives first Owners to"); err != nil {
		return u, "", err
	}
	op := keyplane.Operator(accountID)
	op.Via = p.Via
	if generated, err = keyplane.NewToken(s.rand, generatedPasswordLen); err != nil {
		return u, "", err
	}
	n := NewUser{Email: email, Password: generated, Role: keyplane.RoleOwner}
	noOwner := func(tx Tx) error {
		if _, err := tx.Account(accountID); err != nil {
			return err
		}
		us, err := tx.Users(accountID)
		if err != nil {
			return err
		}
		for _, u := range us {
			if u.Role == keyplane.RoleOwner {
				return keyplane.Errorf(keyplane.CodeConflict, "account %d already has an Owner", accountID)
			}
		}
		return nil
	}
	if err := keyplane.Authorize(op.Grants, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return u, "", err
	}
	u, err = s.insertUser(ctx, op.Actor(), accountID, n, noOwner, nil)
	if err != nil {
		return u, "", err
	}
	return u, generated, nil
}
