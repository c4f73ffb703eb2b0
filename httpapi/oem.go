package httpapi

import (
	"net/http"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// OEM wire shapes, as PubNub's partner routes have them: answers wrapped in
// {"result": …}, customer ids as strings, keyset and app ids as numbers,
// times named created/updated/assignedAt.

type customerKeysetJSON struct {
	ID         int64  `json:"id"`
	AssignedAt string `json:"assignedAt"`
}

type customerJSON struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"`
	Name       string `json:"name"`
	Created    string `json:"created"`
	Updated    string `json:"updated"`
}

func customerHead(c keyplane.Customer) customerJSON {
	return customerJSON{ID: idString(c.ID), ExternalID: c.ExternalID, Name: c.Name,
		Created: keyplane.FormatTime(c.CreatedAt), Updated: keyplane.FormatTime(c.UpdatedAt)}
}

func customerKeysets(ks []keyplane.CustomerKeyset) []customerKeysetJSON {
	out := make([]customerKeysetJSON, len(ks))
	for i, k := range ks {
		out[i] = customerKeysetJSON{ID: k.KeysetID, AssignedAt: keyplane.FormatTime(k.AssignedAt)}
	}
	return out
}

// customerFull is a customer with its keysets, the list always present.
type customerFull struct {
	customerJSON
	Keysets []customerKeysetJSON `json:"keysets"`
}

func customerOut(c keyplane.Customer) customerFull {
	return customerFull{customerHead(c), customerKeysets(c.Keysets)}
}

func result(w http.ResponseWriter, v any, err error) error {
	return respond(w, http.StatusOK, map[string]any{"result": v}, err)
}

type createCustomerBody struct {
	ExternalID *string `json:"externalId"`
	Name       *string `json:"name"`
	KeysetIDs  []int64 `json:"keysetIds"`
}

func (a *API) createCustomer(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	var b createCustomerBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	var msgs []string
	if b.ExternalID == nil {
		msgs = append(msgs, "externalId: required")
	}
	if b.Name == nil {
		msgs = append(msgs, "name: required")
	}
	if err := keyplane.Invalid(msgs...); err != nil {
		return err
	}
	c, err := a.svc.CreateCustomer(r.Context(), p, control.NewCustomer{ExternalID: *b.ExternalID, Name: *b.Name, KeysetIDs: b.KeysetIDs})
	// PubNub answers a creation 200, not 201.
	return result(w, customerOut(c), err)
}

// queryID reads an optional numeric id from the query (0 when absent).
func queryID(r *http.Request, name string, required bool) (int64, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		if required {
			return 0, keyplane.Errorf(keyplane.CodeInvalid, "%s: required", name)
		}
		return 0, nil
	}
	id, ok := parseID(q.Get(name))
	if !ok {
		return 0, keyplane.Errorf(keyplane.CodeInvalid, "%s: must be a positive integer, not %q", name, clip(q.Get(name)))
	}
	return id, nil
}

type customerSummaryJSON struct {
	customerJSON
	AppCount    int `json:"appCount"`
	KeysetCount int `json:"keysetCount"`
}

func (a *API) listCustomers(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	appID, err := queryID(r, "appId", false)
	if err != nil {
		return err
	}
	cs, err := a.svc.ListCustomers(r.Context(), p, appID)
	out := make([]customerSummaryJSON, len(cs))
	for i, c := range cs {
		out[i] = customerSummaryJSON{customerHead(c.Customer), c.AppCount, c.KeysetCount}
	}
	return result(w, out, err)
}

func (a *API) getCustomer(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "customerId")
	if err != nil {
		return err
	}
	c, err := a.svc.GetCustomer(r.Context(), p, id)
	return result(w, customerOut(c), err)
}

type updateCustomerBody struct {
	Name       *string `json:"name"`
	ExternalID *string `json:"externalId"`
}

func (a *API) updateCustomer(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "customerId")
	if err != nil {
		return err
	}
	var b updateCustomerBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if b.Name == nil {
		return keyplane.Errorf(keyplane.CodeInvalid, "name: required")
	}
	c, err := a.svc.UpdateCustomer(r.Context(), p, id, *b.Name, b.ExternalID)
	return result(w, customerOut(c), err)
}

type assignKeysetsBody struct {
	KeysetIDs []int64 `json:"keysetIds"`
}

func (a *API) assignCustomerKeysets(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "customerId")
	if err != nil {
		return err
	}
	var b assignKeysetsBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if b.KeysetIDs == nil {
		return keyplane.Errorf(keyplane.CodeInvalid, "keysetIds: required")
	}
	c, err := a.svc.AssignCustomerKeysets(r.Context(), p, id, b.KeysetIDs)
	return result(w, customerOut(c), err)
}

type customerAppJSON struct {
	ID        int64 `json:"id"`
	AccountID int64 `json:"accountId"`
}

func (a *API) listCustomerApps(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "customerId")
	if err != nil {
		return err
	}
	apps, err := a.svc.CustomerApps(r.Context(), p, id)
	out := make([]customerAppJSON, len(apps))
	for i, app := range apps {
		out[i] = customerAppJSON{ID: app, AccountID: p.AccountID}
	}
	return result(w, out, err)
}

func (a *API) listCustomerKeysets(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	customerID, err := queryID(r, "customerId", true)
	if err != nil {
		return err
	}
	appID, err := queryID(r, "appId", false)
	if err != nil {
		return err
	}
	ks, err := a.svc.CustomerKeysets(r.Context(), p, customerID, appID)
	return result(w, customerKeysets(ks), err)
}

func (a *API) getKeysetCustomer(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	c, err := a.svc.KeysetCustomer(r.Context(), p, id)
	return result(w, customerHead(c), err)
}
