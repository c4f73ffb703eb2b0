package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/keyplane/keyplane"
)

// keyset loads keyset id for op, authorizing first on what the caller
// named. A keyset that does not exist (or is in another account) is
// authorized as a bare keyset id, so only a caller whose rows would cover it
// anyway learns that it is missing; everyone else gets the same 403 as for a
// keyset they may not touch.
func keyset(tx Tx, p keyplane.Principal, id int64, op keyplane.Operation) (keyplane.Keyset, error) {
	k, err := tx.Keyset(p.AccountID, id)
	return authorizedKeyset(p, id, op, k, err)
}

// authorizedKeyset decides what p learns of keyset id, given what reading
// it gave (k, err): a refusal comes before saying whether it exists.
func authorizedKeyset(p keyplane.Principal, id int64, op keyplane.Operation, k keyplane.Keyset, err error) (keyplane.Keyset, error) {
	t := keyplane.Target{KeysetID: id}
	switch {
	case err == nil:
		t = k.Target()
	case keyplane.ErrorCode(err) != keyplane.CodeNotFound:
		return k, err
	}
	if aerr := keyplane.Authorize(p.Grants, t, op.Needs...); aerr != nil {
		return k, aerr
	}
	return k, err
}

// ListKeysets returns one page of the keysets p may read, and how many there are.
func (s *Service) ListKeysets(ctx context.Context, p keyplane.Principal, page keyplane.Page) (ks []keyplane.Keyset, total int, err error) {
	return s.ListKeysetsOfApp(ctx, p, 0, page)
}

// ListKeysetsOfApp is ListKeysets narrowed to the keysets of one app (all
// apps when appID is 0). The filter applies on top of what p may read: an
// app p cannot read, or of another account, or that does not exist,
// answers an empty list alike, so the answer tells nothing of other apps.
func (s *Service) ListKeysetsOfApp(ctx context.Context, p keyplane.Principal, appID int64, page keyplane.Page) (ks []keyplane.Keyset, total int, err error) {
	v, err := visible(p, keyplane.OpListKeysets)
	if err != nil {
		return nil, 0, err
	}
	v.InApp = appID
	read := func() (keysetPage, error) {
		var pg keysetPage
		err := s.store.Read(ctx, func(tx Tx) (err error) {
			pg.keysets, pg.total, err = tx.ListKeysets(p.AccountID, v, page)
			return err
		})
		return pg, err
	}
	if !v.All || appID != 0 {
		pg, err := read()
		return pg.keysets, pg.total, err
	}
	// A page of the whole account is the same for every principal that
	// sees the whole account: it is kept while the database is unchanged,
	// for clients that poll the list (dashboards, infrastructure tools).
	// What is kept is never handed out: callers may change their slice.
	pg, err := readThrough(ctx, s, &s.pages, pageKey{p.AccountID, page.Page, page.Limit}, read)
	return slices.Clone(pg.keysets), pg.total, err
}

// NewKeyset is what creating a keyset takes. Name and Type are optional.
type NewKeyset struct {
	AppID  int64
	Name   *string
	Type   *keyplane.KeysetType
	Config keyplane.ConfigPatch
}

// CreateKeyset makes a keyset with its main secret key and its
// configuration (keyplane.NewConfig: PubNub's defaults with the given patch applied). It needs Keyset
// write and Secret key read on the app, because the answer carries the key.
func (s *Service) CreateKeyset(ctx context.Context, p keyplane.Principal, n NewKeyset) (k keyplane.Keyset, secret keyplane.SecretKey, cfg keyplane.Config, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{AppID: n.AppID}, keyplane.OpCreateKeyset.Needs...); err != nil {
		return k, secret, cfg, err
	}
	now := s.clock()
	k = keyplane.Keyset{AccountID: p.AccountID, AppID: n.AppID, Name: keyplane.DefaultKeysetName, Type: keyplane.KeysetTesting, CreatedAt: now, UpdatedAt: now}
	var msgs []string
	if n.Name != nil {
		k.Name = *n.Name
		msgs = append(msgs, keyplane.ValidateName("keyset.name", k.Name))
	}
	if n.Type != nil {
		k.Type = *n.Type
		msgs = append(msgs, keyplane.ValidateKeysetType("keyset.type", k.Type))
	}
	cfg, cerr := keyplane.NewConfig(n.Config)
	if cerr != nil {
		msgs = append(msgs, keyplane.ErrorMessages(keyplane.PrefixMessages(cerr, "config."))...)
	}
	if err := keyplane.Invalid(nonEmpty(msgs...)...); err != nil {
		return k, secret, cfg, err
	}
	if k.PublishKey, k.SubscribeKey, err = keyplane.NewPubSubKeys(s.rand); err != nil {
		return k, secret, cfg, err
	}
	secret = keyplane.SecretKey{CreatedAt: now}
	if secret.Secret, err = keyplane.NewSecretKey(s.rand); err != nil {
		return k, secret, cfg, err
	}
	after, err := encodeKeysetCreated(k, cfg, secret)
	if err != nil {
		return k, secret, cfg, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := tx.InsertKeyset(&k, cfg); err != nil {
			return err
		}
		secret.KeysetID = k.ID
		if err := tx.InsertSecretKey(secret); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventKeysetCreated, "keyset", k.ID, nil, after.withID(k.ID))
	})
	return k, secret, cfg, err
}

// keysetCreated is the audit record of a keyset created, encoded before
// the write's turn but for the keyset's id, which only its insert gives:
// writes run one after another (the group commit's one goroutine), and
// encoding this record there was a twentieth of the CPU of creating
// keysets. withID gives exactly what json.Marshal writes of
// keysetCreatedView (held equal by a test).
type keysetCreated struct {
	head, tail []byte // around the keyset view's id
}

// keysetCreatedView is the audit record of a keyset created.
func keysetCreatedView(k keyplane.Keyset, cfg keyplane.Config, secret keyplane.SecretKey) any {
	return map[string]any{"keyset": keysetView(k), "config": cfg, "secretKeys": []any{secretKeyView(secret)}}
}

func encodeKeysetCreated(k keyplane.Keyset, cfg keyplane.Config, secret keyplane.SecretKey) (keysetCreated, error) {
	// json.Marshal writes a map's keys sorted: "config", "keyset",
	// "secretKeys", and in the keyset view "appId" (a number), then "id",
	// then "name". The view is encoded without its id, which goes in
	// before the first `,"name":` — the first string of the encoding, so
	// no value written by a user can come before it.
	v := keysetCreatedView(k, cfg, secret).(map[string]any)
	delete(v["keyset"].(map[string]any), "id")
	b, err := json.Marshal(v)
	if err != nil {
		return keysetCreated{}, err
	}
	at := bytes.Index(b, []byte(`,"name":`))
	if at < 0 {
		return keysetCreated{}, errors.New("encoding a keyset's audit record: no name")
	}
	return keysetCreated{head: b[:at], tail: b[at:]}, nil
}

// withID is the record with the keyset's id.
func (e keysetCreated) withID(id int64) json.RawMessage {
	b := make([]byte, 0, len(e.head)+len(e.tail)+26)
	b = append(b, e.head...)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, id, 10)
	return append(b, e.tail...)
}

// GetKeyset returns one keyset (never its secret keys).
// It is the most frequent read of all, so what it read is kept while the
// database has not changed (see Versioned).
func (s *Service) GetKeyset(ctx context.Context, p keyplane.Principal, id int64) (keyplane.Keyset, error) {
	accountID := p.AccountID
	k, err := readThrough(ctx, s, &s.keysets, keysetKey{accountID, id}, func() (keyplane.Keyset, error) {
		return s.readKeyset(ctx, accountID, id)
	})
	return authorizedKeyset(p, id, keyplane.OpGetKeyset, k, err)
}

// readKeyset reads keyset id of accountID. A function of its own, as
// readAPIKey: what the read's closure captures moves to the heap, which a
// cache hit need not pay (captured in GetKeyset, the whole Principal
// moved there on every call).
func (s *Service) readKeyset(ctx context.Context, accountID, id int64) (k keyplane.Keyset, err error) {
	err = s.readOne(ctx, func(tx Tx) error {
		k, err = tx.Keyset(accountID, id)
		return err
	})
	return k, err
}

// UpdateKeyset changes a keyset's name, type or both; at least one is needed.
func (s *Service) UpdateKeyset(ctx context.Context, p keyplane.Principal, id int64, name *string, typ *keyplane.KeysetType) (k keyplane.Keyset, err error) {
	return s.UpdateKeysetIf(ctx, p, id, name, typ, Unconditional)
}

// UpdateKeysetIf is UpdateKeyset that changes the keyset only if its
// version meets cond, checked in the write transaction.
func (s *Service) UpdateKeysetIf(ctx context.Context, p keyplane.Principal, id int64, name *string, typ *keyplane.KeysetType, cond Precondition) (k keyplane.Keyset, err error) {
	var msgs []string
	if name == nil && typ == nil {
		msgs = append(msgs, "body: give name, type or both")
	}
	if name != nil {
		msgs = append(msgs, keyplane.ValidateName("name", *name))
	}
	if typ != nil {
		msgs = append(msgs, keyplane.ValidateKeysetType("type", *typ))
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if k, err = keyset(tx, p, id, keyplane.OpUpdateKeyset); err != nil {
			return err
		}
		if err := cond.check(k); err != nil {
			return err
		}
		if err := keyplane.Invalid(nonEmpty(msgs...)...); err != nil {
			return err
		}
		before := k
		var events []string
		if name != nil && *name != k.Name {
			k.Name = *name
			events = append(events, keyplane.EventKeysetRenamed)
		}
		if typ != nil && *typ != k.Type {
			k.Type = *typ
			events = append(events, keyplane.EventKeysetTypeChanged)
		}
		if events == nil {
			return nil
		}
		k.UpdatedAt = s.clock()
		k.Version++
		if err := tx.UpdateKeyset(k); err != nil {
			return err
		}
		for _, e := range events {
			if err := s.record(tx, p.Actor(), p.AccountID, e, "keyset", k.ID, keysetView(before), keysetView(k)); err != nil {
				return err
			}
		}
		return nil
	})
	return k, err
}

// DeleteKeyset deletes a keyset with its configuration and secret keys.
func (s *Service) DeleteKeyset(ctx context.Context, p keyplane.Principal, id int64) error {
	return s.store.Write(ctx, func(tx Tx) error {
		k, err := keyset(tx, p, id, keyplane.OpDeleteKeyset)
		if err != nil {
			return err
		}
		if err := tx.DeleteKeyset(id); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventKeysetDeleted, "keyset", id, keysetView(k), nil)
	})
}

// GetConfig returns a keyset's full configuration.
func (s *Service) GetConfig(ctx context.Context, p keyplane.Principal, id int64) (c keyplane.Config, err error) {
	c, _, err = s.GetConfigVersion(ctx, p, id)
	return c, err
}

// GetConfigVersion returns a keyset's full configuration and the keyset's
// version, read together.
func (s *Service) GetConfigVersion(ctx context.Context, p keyplane.Principal, id int64) (c keyplane.Config, version int64, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		k, err := keyset(tx, p, id, keyplane.OpGetConfig)
		if err != nil {
			return err
		}
		version = k.Version
		c, err = tx.Config(id)
		return err
	})
	return c, version, err
}

// UpdateConfig merges patch into a keyset's configuration and returns the
// result. The read, merge and write happen in one serialized transaction,
// so concurrent patches never lose each other's changes.
func (s *Service) UpdateConfig(ctx context.Context, p keyplane.Principal, id int64, patch keyplane.ConfigPatch) (c keyplane.Config, err error) {
	c, _, err = s.UpdateConfigIf(ctx, p, id, patch, Unconditional)
	return c, err
}

// UpdateConfigIf is UpdateConfig that changes the configuration only if the
// keyset's version meets cond, checked in the write transaction (so of two
// updates made with one version, exactly one applies). It also returns
// the keyset's version after the update.
func (s *Service) UpdateConfigIf(ctx context.Context, p keyplane.Principal, id int64, patch keyplane.ConfigPatch, cond Precondition) (c keyplane.Config, version int64, err error) {
	err = s.store.Write(ctx, func(tx Tx) error {
		k, err := keyset(tx, p, id, keyplane.OpUpdateConfig)
		if err != nil {
			return err
		}
		if err := cond.check(k); err != nil {
			return err
		}
		version = k.Version
		old, err := tx.Config(id)
		if err != nil {
			return err
		}
		if c, err = old.Apply(patch); err != nil {
			return err
		}
		// Each side is encoded once, inside the write batch's turn (the
		// one goroutine that runs every write): the same bytes are
		// compared, stored and audited.
		before, err := json.Marshal(old)
		if err != nil {
			return err
		}
		after, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if bytes.Equal(before, after) {
			return nil
		}
		if err := tx.UpdateConfig(id, after, s.clock()); err != nil {
			return err
		}
		version++
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventKeysetConfigChanged, "keyset", id, json.RawMessage(before), json.RawMessage(after))
	})
	return c, version, err
}

// ListSecretKeys returns a keyset's secret keys in full: the main key first,
// then rotated keys by expiry; expired ones only when activeOnly is false.
func (s *Service) ListSecretKeys(ctx context.Context, p keyplane.Principal, id int64, activeOnly bool) (keys []keyplane.SecretKey, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		if _, err := keyset(tx, p, id, keyplane.OpListSecretKeys); err != nil {
			return err
		}
		keys, err = tx.SecretKeys(id)
		return err
	})
	if activeOnly {
		now := s.clock()
		keys = slices.DeleteFunc(keys, func(k keyplane.SecretKey) bool { return !k.Active(now) })
	}
	return keys, err
}

// RotateSecretKey replaces the main secret key. With expiresAt the old main
// key keeps working until then as a rotated key (at most
// MaxRotatedSecretKeys unexpired ones); without it the old key dies at once.
func (s *Service) RotateSecretKey(ctx context.Context, p keyplane.Principal, id int64, expiresAt *time.Time) (key keyplane.SecretKey, err error) {
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		if _, err := keyset(tx, p, id, keyplane.OpRotateSecretKey); err != nil {
			return err
		}
		if expiresAt != nil {
			if err := keyplane.ValidateSecretKeyExpiry("expiresAt", *expiresAt, now); err != nil {
				return err
			}
		}
		keys, err := tx.SecretKeys(id)
		if err != nil {
			return err
		}
		if key, err = s.newSecretKey(id, keys, now); err != nil {
			return err
		}
		var main *keyplane.SecretKey
		var live int
		for i, k := range keys {
			if k.Main() {
				main = &keys[i]
			} else if k.Active(now) {
				live++
			}
		}
		before := map[string]any{"main": nil}
		if main != nil {
			before["main"] = secretKeyView(*main)
			if expiresAt == nil {
				err = tx.DeleteSecretKey(id, main.Prefix())
			} else if live >= keyplane.MaxRotatedSecretKeys {
				err = keyplane.Errorf(keyplane.CodeConflict, "keyset %d already has %d rotated secret keys that have not expired; delete one first, or rotate without expiresAt", id, live)
			} else {
				main.ExpiresAt = expiresAt
				err = tx.SetSecretKeyExpiry(id, main.Prefix(), expiresAt)
			}
			if err != nil {
				return err
			}
		}
		if err := tx.InsertSecretKey(key); err != nil {
			return err
		}
		if err := s.dropExpired(tx, id, now); err != nil {
			return err
		}
		after := map[string]any{"main": secretKeyView(key)}
		if main != nil && expiresAt != nil {
			after["rotated"] = secretKeyView(*main)
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventSecretKeyRotated, "keyset", id, before, after)
	})
	return key, err
}

// newSecretKey makes a main key whose prefix no key of the keyset has, since
// routes address keys by prefix.
func (s *Service) newSecretKey(keysetID int64, keys []keyplane.SecretKey, now time.Time) (keyplane.SecretKey, error) {
	for {
		secret, err := keyplane.NewSecretKey(s.rand)
		if err != nil {
			return keyplane.SecretKey{}, err
		}
		k := keyplane.SecretKey{KeysetID: keysetID, Secret: secret, CreatedAt: now}
		if !slices.ContainsFunc(keys, func(o keyplane.SecretKey) bool { return o.Prefix() == k.Prefix() }) {
			return k, nil
		}
	}
}

// dropExpired deletes the oldest expired rotated keys while more than
// MaxRotatedSecretKeys rotated keys are stored: they no longer work, and
// the store should never hold more than the limit.
func (s *Service) dropExpired(tx Tx, id int64, now time.Time) error {
	keys, err := tx.SecretKeys(id) // rotated keys come ordered by expiry
	if err != nil {
		return err
	}
	rotated := slices.DeleteFunc(keys, keyplane.SecretKey.Main)
	for _, k := range rotated {
		if len(rotated) <= keyplane.MaxRotatedSecretKeys || k.Active(now) {
			break
		}
		if err := tx.DeleteSecretKey(id, k.Prefix()); err != nil {
			return err
		}
		rotated = rotated[1:]
	}
	return nil
}

// rotatedKey finds the rotated key named by prefix for op.
func rotatedKey(tx Tx, p keyplane.Principal, id int64, prefix string, op keyplane.Operation) (keyplane.SecretKey, error) {
	if _, err := keyset(tx, p, id, op); err != nil {
		return keyplane.SecretKey{}, err
	}
	if err := keyplane.ValidateSecretKeyPrefix(prefix); err != nil {
		return keyplane.SecretKey{}, err
	}
	keys, err := tx.SecretKeys(id)
	if err != nil {
		return keyplane.SecretKey{}, err
	}
	i := slices.IndexFunc(keys, func(k keyplane.SecretKey) bool { return k.Prefix() == prefix })
	if i < 0 {
		return keyplane.SecretKey{}, keyplane.Errorf(keyplane.CodeNotFound, "secret key %s: not found in keyset %d", prefix, id)
	}
	if keys[i].Main() {
		return keyplane.SecretKey{}, keyplane.Errorf(keyplane.CodeInvalid, "secretKeyPrefix: %s is the main key, which never expires and cannot be deleted; rotate it instead", prefix)
	}
	return keys[i], nil
}

// UpdateSecretKeyExpiry moves the expiry of a rotated key.
func (s *Service) UpdateSecretKeyExpiry(ctx context.Context, p keyplane.Principal, id int64, prefix string, at time.Time) (key keyplane.SecretKey, err error) {
	err = s.store.Write(ctx, func(tx Tx) error {
		if key, err = rotatedKey(tx, p, id, prefix, keyplane.OpUpdateSecretKey); err != nil {
			return err
		}
		if err := keyplane.ValidateSecretKeyExpiry("expiresAt", at, s.clock()); err != nil {
			return err
		}
		before := secretKeyView(key)
		key.ExpiresAt = &at
		if err := tx.SetSecretKeyExpiry(id, prefix, &at); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventSecretKeyExpiryChanged, "keyset", id, before, secretKeyView(key))
	})
	return key, err
}

// DeleteSecretKey deletes a rotated key at once.
func (s *Service) DeleteSecretKey(ctx context.Context, p keyplane.Principal, id int64, prefix string) error {
	return s.store.Write(ctx, func(tx Tx) error {
		key, err := rotatedKey(tx, p, id, prefix, keyplane.OpDeleteSecretKey)
		if err != nil {
			return err
		}
		if err := tx.DeleteSecretKey(id, prefix); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventSecretKeyDeleted, "keyset", id, secretKeyView(key), nil)
	})
}
