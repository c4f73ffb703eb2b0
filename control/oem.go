package control

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/keyplane/keyplane"
)

// oemAuthorize applies the two rules of every OEM route, before anything
// is looked up: the account must be a partner, and the key must hold the
// operation's OEM Customer row. A refusal names every rule broken.
func oemAuthorize(tx Tx, p keyplane.Principal, op keyplane.Operation) error {
	var msgs []string
	acc, err := tx.Account(p.AccountID)
	if err != nil {
		return err
	}
	if !acc.Partner {
		msgs = append(msgs, keyplane.NotPartnerMessage())
	}
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, op.Needs...); err != nil {
		msgs = append(msgs, keyplane.ErrorMessages(err)...)
	}
	if msgs != nil {
		return &keyplane.Error{Code: keyplane.CodeForbidden, Messages: msgs}
	}
	return nil
}

// SetPartner enrols an account in the OEM partner programme or ends it, as
// an operator. changed is false when the account already was as asked.
func (s *Service) SetPartner(ctx context.Context, p keyplane.Principal, accountID int64, partner bool) (changed bool, err error) {
	if err := operatorOnly(p, accountID, "enrols or withdraws partner"); err != nil {
		return false, err
	}
	actor := p.Actor()
	err = s.store.Write(ctx, func(tx Tx) error {
		acc, err := tx.Account(accountID)
		if err != nil {
			return err
		}
		if acc.Partner == partner {
			return nil
		}
		changed = true
		if err := tx.SetPartner(accountID, partner); err != nil {
			return err
		}
		return s.record(tx, actor, accountID, keyplane.EventAccountPartnerChanged, "account", accountID,
			map[string]any{"partner": acc.Partner}, map[string]any{"partner": partner})
	})
	return changed, err
}

// NewCustomer is what creating an OEM customer takes.
type NewCustomer struct {
	ExternalID string
	Name       string
	KeysetIDs  []int64
}

func customerView(c keyplane.Customer) any {
	return map[string]any{"id": c.ID, "externalId": c.ExternalID, "name": c.Name}
}

func customerKeysetIDs(c keyplane.Customer) []int64 {
	ids := make([]int64, len(c.Keysets))
	for i, k := range c.Keysets {
		ids[i] = k.KeysetID
	}
	return ids
}

// CreateCustomer makes an OEM customer, assigning it keysets if given, in
// one transaction: a refused keyset leaves no customer behind.
func (s *Service) CreateCustomer(ctx context.Context, p keyplane.Principal, n NewCustomer) (c keyplane.Customer, err error) {
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := oemAuthorize(tx, p, keyplane.OpCreateCustomer); err != nil {
			return err
		}
		if err := keyplane.Invalid(nonEmpty(keyplane.ValidateExternalID("externalId", n.ExternalID),
			keyplane.ValidateName("name", n.Name), validateKeysetIDs(n.KeysetIDs, false))...); err != nil {
			return err
		}
		if other, err := tx.CustomerByExternalID(p.AccountID, n.ExternalID); err == nil {
			return keyplane.Errorf(keyplane.CodeConflict, "externalId: %q is already customer %d's", n.ExternalID, other.ID)
		} else if keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			return err
		}
		c = keyplane.Customer{AccountID: p.AccountID, ExternalID: n.ExternalID, Name: n.Name, CreatedAt: now, UpdatedAt: now}
		if err := tx.InsertCustomer(&c); err != nil {
			return err
		}
		if err := s.record(tx, p.Actor(), p.AccountID, keyplane.EventOemCustomerCreated, "customer", c.ID, nil, customerView(c)); err != nil {
			return err
		}
		if len(n.KeysetIDs) > 0 {
			if _, err := s.assign(tx, p, c, n.KeysetIDs, now); err != nil {
				return err
			}
		}
		c, err = tx.Customer(p.AccountID, c.ID)
		return err
	})
	return c, err
}

// validateKeysetIDs checks a keysetIds list (required says whether it may
// be empty).
func validateKeysetIDs(ids []int64, required bool) string {
	switch {
	case required && len(ids) == 0:
		return "keysetIds: name at least one keyset"
	case len(ids) > keyplane.MaxAssignKeysets:
		return fmt.Sprintf("keysetIds: at most %d keysets at a time", keyplane.MaxAssignKeysets)
	}
	for i, id := range ids {
		if id < 1 {
			return fmt.Sprintf("keysetIds[%d]: must be a positive integer", i)
		}
	}
	return ""
}

// assign gives c the keysets of ids it does not hold yet and records it.
// Every keyset must be of p's account (another account's is refused as
// not existing, so nothing of it shows) and belong to no other customer;
// one refusal refuses all.
func (s *Service) assign(tx Tx, p keyplane.Principal, c keyplane.Customer, ids []int64, now time.Time) ([]int64, error) {
	var unique []int64
	for _, id := range ids {
		if !slices.Contains(unique, id) {
			unique = append(unique, id)
		}
	}
	var missing []string
	for _, id := range unique {
		if _, err := tx.Keyset(p.AccountID, id); keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			missing = append(missing, fmt.Sprintf("keysetIds: keyset %d does not exist in this account", id))
		} else if err != nil {
			return nil, err
		}
	}
	if err := keyplane.Invalid(missing...); err != nil {
		return nil, err
	}
	owners, err := tx.KeysetOwners(unique)
	if err != nil {
		return nil, err
	}
	var taken []string
	var fresh []int64
	for _, id := range unique {
		switch owner, ok := owners[id]; {
		case !ok:
			fresh = append(fresh, id)
		case owner != c.ID:
			taken = append(taken, fmt.Sprintf("keysetIds: keyset %d already belongs to customer %d; a keyset belongs to one customer at most", id, owner))
		}
	}
	if taken != nil {
		return nil, &keyplane.Error{Code: keyplane.CodeConflict, Messages: taken}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	before, err := tx.Customer(p.AccountID, c.ID)
	if err != nil {
		return nil, err
	}
	for _, id := range fresh {
		if err := tx.AssignKeyset(c.ID, id, now); err != nil {
			return nil, err
		}
	}
	return fresh, s.record(tx, p.Actor(), p.AccountID, keyplane.EventOemCustomerKeysetsAssigned, "customer", c.ID,
		map[string]any{"keysetIds": customerKeysetIDs(before)},
		map[string]any{"keysetIds": append(customerKeysetIDs(before), fresh...), "assigned": fresh})
}

// ListCustomers lists the account's customers, with a keyset in app appID
// when it is not 0.
func (s *Service) ListCustomers(ctx context.Context, p keyplane.Principal, appID int64) (out []keyplane.CustomerSummary, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := oemAuthorize(tx, p, keyplane.OpListCustomers); err != nil {
			return err
		}
		out, err = tx.ListCustomers(p.AccountID, appID)
		return err
	})
	return out, err
}

// GetCustomer returns one customer with its keysets.
func (s *Service) GetCustomer(ctx context.Context, p keyplane.Principal, id int64) (c keyplane.Customer, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := oemAuthorize(tx, p, keyplane.OpGetCustomer); err != nil {
			return err
		}
		c, err = tx.Customer(p.AccountID, id)
		return err
	})
	return c, err
}

// UpdateCustomer renames a customer. externalID, when given, must be the
// customer's own: it never changes.
func (s *Service) UpdateCustomer(ctx context.Context, p keyplane.Principal, id int64, name string, externalID *string) (c keyplane.Customer, err error) {
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := oemAuthorize(tx, p, keyplane.OpUpdateCustomer); err != nil {
			return err
		}
		if err := keyplane.Invalid(nonEmpty(keyplane.ValidateName("name", name))...); err != nil {
			return err
		}
		if c, err = tx.Customer(p.AccountID, id); err != nil {
			return err
		}
		if externalID != nil && *externalID != c.ExternalID {
			return keyplane.Errorf(keyplane.CodeInvalid, "externalId: cannot be changed once saved (it is %q)", c.ExternalID)
		}
		if c.Name == name {
			return nil
		}
		before := customerView(c)
		c.Name, c.UpdatedAt = name, s.clock()
		if err := tx.UpdateCustomer(c); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventOemCustomerUpdated, "customer", c.ID, before, customerView(c))
	})
	return c, err
}

// AssignCustomerKeysets gives a customer more keysets. Keysets it holds
// already are kept as they are (with their first assignment time).
func (s *Service) AssignCustomerKeysets(ctx context.Context, p keyplane.Principal, id int64, keysetIDs []int64) (c keyplane.Customer, err error) {
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := oemAuthorize(tx, p, keyplane.OpAssignCustomerKeysets); err != nil {
			return err
		}
		if err := keyplane.Invalid(nonEmpty(validateKeysetIDs(keysetIDs, true))...); err != nil {
			return err
		}
		if c, err = tx.Customer(p.AccountID, id); err != nil {
			return err
		}
		if _, err := s.assign(tx, p, c, keysetIDs, now); err != nil {
			return err
		}
		c, err = tx.Customer(p.AccountID, id)
		return err
	})
	return c, err
}

// CustomerApps lists the ids of the apps holding a customer's keysets.
func (s *Service) CustomerApps(ctx context.Context, p keyplane.Principal, id int64) (apps []int64, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := oemAuthorize(tx, p, keyplane.OpListCustomerApps); err != nil {
			return err
		}
		c, err := tx.Customer(p.AccountID, id)
		if err != nil {
			return err
		}
		apps = []int64{}
		for _, k := range c.Keysets {
			if !slices.Contains(apps, k.AppID) {
				apps = append(apps, k.AppID)
			}
		}
		slices.Sort(apps)
		return nil
	})
	return apps, err
}

// CustomerKeysets lists a customer's keysets, in app appID when not 0.
func (s *Service) CustomerKeysets(ctx context.Context, p keyplane.Principal, customerID, appID int64) (ks []keyplane.CustomerKeyset, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := oemAuthorize(tx, p, keyplane.OpListCustomerKeysets); err != nil {
			return err
		}
		c, err := tx.Customer(p.AccountID, customerID)
		if err != nil {
			return err
		}
		ks = []keyplane.CustomerKeyset{}
		for _, k := range c.Keysets {
			if appID == 0 || k.AppID == appID {
				ks = append(ks, k)
			}
		}
		return nil
	})
	return ks, err
}

// KeysetCustomer returns the customer a keyset of the account belongs to.
func (s *Service) KeysetCustomer(ctx context.Context, p keyplane.Principal, keysetID int64) (c keyplane.Customer, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := oemAuthorize(tx, p, keyplane.OpGetKeysetCustomer); err != nil {
			return err
		}
		c, err = tx.CustomerOfKeyset(p.AccountID, keysetID)
		return err
	})
	return c, err
}
