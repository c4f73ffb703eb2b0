package control

import (
	"context"
	"strconv"

	"github.com/keyplane/keyplane"
)

// Me is what GET /v2/me tells a key about itself: who it is, the rows it
// holds, and the access they give over what exists now.
type Me struct {
	AccountID int64
	// Partner is whether the account may use the OEM routes.
	Partner     bool
	Integration keyplane.Integration
	Key         keyplane.APIKey
	// Account is the access the rows give on each resource account-wide.
	Account map[keyplane.Resource]keyplane.Access
	Apps    []AppAccess
	Keysets []KeysetAccess
}

// AppAccess is the access a key has on one app and what the app holds.
// Named is whether the key may read the app (only then is its name shown).
type AppAccess struct {
	App    keyplane.App
	Named  bool
	Access map[keyplane.Resource]keyplane.Access
}

// KeysetAccess is the access a key has on one keyset; Named as for apps.
type KeysetAccess struct {
	Keyset keyplane.Keyset
	Named  bool
	Access map[keyplane.Resource]keyplane.Access
}

// everything is a page holding every row of a list.
var everything = keyplane.Page{Page: 1, Limit: 1 << 30}

// accessAt is the access grants give at level l's resources on t; nil when
// none.
func accessAt(grants []keyplane.Grant, l keyplane.Level, t keyplane.Target) map[keyplane.Resource]keyplane.Access {
	var out map[keyplane.Resource]keyplane.Access
	for _, r := range keyplane.Resources {
		if !keyplane.OfferedAt(l, r) {
			continue
		}
		if a := keyplane.AccessOn(grants, r, t); a != "" {
			if out == nil {
				out = map[keyplane.Resource]keyplane.Access{}
			}
			out[r] = a
		}
	}
	return out
}

// Me describes p. Any valid key may ask about itself: it needs no row, and
// it shows only apps and keysets some row of p covers (with names only
// where p may read them), so it tells nothing p could not learn otherwise.
func (s *Service) Me(ctx context.Context, p keyplane.Principal) (m Me, err error) {
	m.AccountID = p.AccountID
	m.Account = accessAt(p.Grants, keyplane.LevelAccount, keyplane.Target{})
	if m.Account == nil {
		m.Account = map[keyplane.Resource]keyplane.Access{}
	}
	m.Apps, m.Keysets = []AppAccess{}, []KeysetAccess{}
	err = s.store.Read(ctx, func(tx Tx) error {
		var err error
		if m.Key, m.Integration, err = tx.APIKey(p.KeyID); err != nil {
			return err
		}
		acc, err := tx.Account(p.AccountID)
		if err != nil {
			return err
		}
		m.Partner = acc.Partner
		apps, _, err := tx.ListApps(p.AccountID, keyplane.Visibility{All: true}, everything)
		if err != nil {
			return err
		}
		for _, a := range apps {
			t := keyplane.Target{AppID: a.ID}
			if acc := accessAt(p.Grants, keyplane.LevelApp, t); acc != nil {
				m.Apps = append(m.Apps, AppAccess{App: a, Named: acc[keyplane.ResourceApp] != "", Access: acc})
			}
		}
		ks, _, err := tx.ListKeysets(p.AccountID, keyplane.Visibility{All: true}, everything)
		if err != nil {
			return err
		}
		for _, k := range ks {
			if acc := accessAt(p.Grants, keyplane.LevelKeyset, k.Target()); acc != nil {
				m.Keysets = append(m.Keysets, KeysetAccess{Keyset: k, Named: acc[keyplane.ResourceKeyset] != "", Access: acc})
			}
		}
		return nil
	})
	return m, err
}

// AuthzQuestion asks whether the caller may run an operation: named by
// Action (its operationId) and Target, or by Method and Path, whose ids
// fill the target (Target may add the app of a keyset creation).
type AuthzQuestion struct {
	Action       string
	Method, Path string
	Target       keyplane.Target
}

// AuthzAnswer is the decision: every permission the operation needs with
// the row that grants it or the row that is missing, and any other reason
// for a refusal (an account that is not a partner).
type AuthzAnswer struct {
	Allowed   bool
	Operation keyplane.Operation
	Target    keyplane.Target
	Checks    []keyplane.RowCheck
	Reasons   []string
}

// CheckAuthz answers q for p by the rules the operation itself applies:
// the same Target resolution (a keyset's own app), keyplane.Explain over
// Grant.Covers and MissingRow as Authorize uses, Visible's rule for the
// filtered lists, and the partner rule of the OEM routes. Like /v2/me it
// needs no row. An existing keyset is resolved to its app exactly as the
// operation would, so the answer tells no more than trying would.
func (s *Service) CheckAuthz(ctx context.Context, p keyplane.Principal, q AuthzQuestion) (a AuthzAnswer, err error) {
	op, t, err := resolveQuestion(q)
	if err != nil {
		return a, err
	}
	a.Operation = op
	err = s.store.Read(ctx, func(tx Tx) error {
		if t.KeysetID != 0 {
			k, err := tx.Keyset(p.AccountID, t.KeysetID)
			switch {
			case err == nil && mayLearnKeyset(p, op, k):
				t = k.Target()
			case err == nil || keyplane.ErrorCode(err) == keyplane.CodeNotFound:
				t.AppID = 0 // authorized as a bare keyset id, as for a missing one
			default:
				return err
			}
		}
		if op.IsOEM() {
			acc, err := tx.Account(p.AccountID)
			if err != nil {
				return err
			}
			if !acc.Partner {
				a.Reasons = append(a.Reasons, keyplane.NotPartnerMessage())
			}
		}
		return nil
	})
	if err != nil {
		return a, err
	}
	a.Target = t
	if op.IsFilteredList() {
		a.Checks = keyplane.ExplainList(p.Grants, op.Needs...)
	} else {
		a.Checks = keyplane.Explain(p.Grants, t, op.Needs...)
	}
	a.Allowed = len(a.Reasons) == 0
	for _, c := range a.Checks {
		if c.Missing != nil {
			a.Allowed = false
		}
	}
	return a, nil
}

// mayLearnKeyset tells whether the answer about k may name its app: when
// p may read k, or when the operation would be allowed on it (then trying
// it would tell as much). Otherwise the keyset is answered as a missing
// one, so that the check tells a key nothing about keysets it cannot see.
func mayLearnKeyset(p keyplane.Principal, op keyplane.Operation, k keyplane.Keyset) bool {
	return keyplane.Authorize(p.Grants, k.Target(), keyplane.Permission{Resource: keyplane.ResourceKeyset, Access: keyplane.AccessRead}) == nil ||
		keyplane.Authorize(p.Grants, k.Target(), op.Needs...) == nil
}

// resolveQuestion finds the operation and the target q names.
func resolveQuestion(q AuthzQuestion) (keyplane.Operation, keyplane.Target, error) {
	var op keyplane.Operation
	t := q.Target
	switch {
	case q.Action != "" && (q.Method != "" || q.Path != ""):
		return op, t, keyplane.Errorf(keyplane.CodeInvalid, "body: give action (with target) or method and path, not both")
	case q.Action != "":
		var ok bool
		if op, ok = keyplane.OperationByID(q.Action); !ok {
			return op, t, keyplane.Errorf(keyplane.CodeInvalid, "action: %q is not an operationId of this API (see /openapi.yaml), such as getKeyset", clip(q.Action))
		}
	case q.Method != "" && q.Path != "":
		o, params, methods, ok := keyplane.MatchOperation(q.Method, q.Path)
		if !ok {
			if methods != nil {
				return op, t, keyplane.Errorf(keyplane.CodeInvalid, "method: %s %s is not an operation; the path offers %v", clip(q.Method), clip(q.Path), methods)
			}
			return op, t, keyplane.Errorf(keyplane.CodeInvalid, "path: %q matches no operation of this API", clip(q.Path))
		}
		op = o
		var msgs []string
		for name, dst := range map[string]*int64{"appId": &t.AppID, "keysetId": &t.KeysetID} {
			v, ok := params[name]
			if !ok {
				continue
			}
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id < 1 || v[0] == '0' {
				msgs = append(msgs, "path: "+name+" must be a positive integer, not "+strconv.Quote(clip(v)))
				continue
			}
			if *dst != 0 && *dst != id {
				msgs = append(msgs, "target."+name+": differs from the path's")
			}
			*dst = id
		}
		if err := keyplane.Invalid(msgs...); err != nil {
			return op, t, err
		}
	default:
		return op, t, keyplane.Errorf(keyplane.CodeInvalid, "body: give action (an operationId) or method and path")
	}
	switch {
	case op.On == keyplane.LevelApp && t.AppID == 0:
		return op, t, keyplane.Errorf(keyplane.CodeInvalid, "target.appId: required for %s", op.ID)
	case op.On == keyplane.LevelKeyset && t.KeysetID == 0:
		return op, t, keyplane.Errorf(keyplane.CodeInvalid, "target.keysetId: required for %s", op.ID)
	}
	// The operation authorizes at its own level, whatever else was named:
	// the account itself, an app, or a keyset (with its app, found later).
	switch op.On {
	case keyplane.LevelAccount:
		t = keyplane.Target{}
	case keyplane.LevelApp:
		t = keyplane.Target{AppID: t.AppID}
	}
	return op, t, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
