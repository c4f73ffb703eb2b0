package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// The OEM routes (/v2/oem/…) serve partner accounts only: any other
// account is refused with 403, and an operator enrols one with `keyplane
// admin set-partner`. They write app and keyset ids as numbers, as PubNub's
// partner API does; this client takes and gives them as strings, as
// everywhere else, so a Keyset.ID goes straight into AssignCustomerKeysets.

// Customer is an OEM partner's end customer.
type Customer struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId"` // the partner's own id for the customer, unique in the account, never changed
	Name       string `json:"name"`
	Created    Time   `json:"created"`
	Updated    Time   `json:"updated"`
	// Keysets are the customer's keysets; nil where the answer leaves them
	// out (KeysetCustomer). Encoded, none are left out too, as the MCP
	// tools show a customer.
	Keysets []CustomerKeyset `json:"keysets,omitempty"`
}

// CustomerKeyset is a keyset assigned to a customer.
type CustomerKeyset struct {
	ID         string `json:"id"`
	AssignedAt Time   `json:"assignedAt"`
}

// CustomerSummary is a customer as ListCustomers shows it: without its
// keysets, with how many it holds and in how many apps.
type CustomerSummary struct {
	ID          string `json:"id"`
	ExternalID  string `json:"externalId"`
	Name        string `json:"name"`
	Created     Time   `json:"created"`
	Updated     Time   `json:"updated"`
	AppCount    int    `json:"appCount"`
	KeysetCount int    `json:"keysetCount"`
}

// CustomerApp is an app holding at least one of a customer's keysets.
type CustomerApp struct {
	ID        string `json:"id"`
	AccountID string `json:"accountId"`
}

// NewCustomer is what CreateCustomer makes.
type NewCustomer struct {
	ExternalID string   // required: 1 to 255 of [a-zA-Z0-9_-]
	Name       string   // required
	KeysetIDs  []string // keysets to assign at once; optional
}

// numID is an id the OEM routes write as a JSON number, held as a string.
type numID string

// UnmarshalJSON reads a JSON number (or a string holding one).
func (n *numID) UnmarshalJSON(b []byte) error {
	var v json.Number
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*n = numID(v.String())
	return nil
}

// numIDs checks that ids are positive integers, as the OEM routes need
// them, and returns them so.
func numIDs(field string, ids []string) ([]int64, error) {
	out := make([]int64, len(ids))
	for i, s := range ids {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("keyplane: %s: %q is not a keyset id (a positive integer)", field, s)
		}
		out[i] = n
	}
	return out, nil
}

// The OEM wire shapes, decoded with numbers as strings.
type (
	customerKeysetWire struct {
		ID         numID `json:"id"`
		AssignedAt Time  `json:"assignedAt"`
	}
	customerWire struct {
		ID         string               `json:"id"`
		ExternalID string               `json:"externalId"`
		Name       string               `json:"name"`
		Created    Time                 `json:"created"`
		Updated    Time                 `json:"updated"`
		Keysets    []customerKeysetWire `json:"keysets"`
	}
)

func (w customerWire) customer() Customer {
	c := Customer{ID: w.ID, ExternalID: w.ExternalID, Name: w.Name, Created: w.Created, Updated: w.Updated}
	if w.Keysets != nil {
		c.Keysets = keysetsOf(w.Keysets)
	}
	return c
}

func keysetsOf(ws []customerKeysetWire) []CustomerKeyset {
	out := make([]CustomerKeyset, len(ws))
	for i, k := range ws {
		out[i] = CustomerKeyset{ID: string(k.ID), AssignedAt: k.AssignedAt}
	}
	return out
}

// customerCall sends one call whose answer is {"result": customer}.
func (c *Client) customerCall(ctx context.Context, method, path string, in any) (Customer, error) {
	var out struct {
		Result customerWire `json:"result"`
	}
	if err := c.do(ctx, method, path, nil, in, &out); err != nil {
		return Customer{}, err
	}
	return out.Result.customer(), nil
}

func customerPath(id string) string { return "/v2/oem/customers/" + escape(id) }

// ListCustomers answers the partner account's customers by id, each with
// how many keysets it holds in how many apps (GET /v2/oem/customers); with
// appID, only those holding a keyset of that app. The list is not paged.
func (c *Client) ListCustomers(ctx context.Context, appID string) ([]CustomerSummary, error) {
	var q url.Values
	if appID != "" {
		q = url.Values{"appId": {appID}}
	}
	var out struct {
		Result []CustomerSummary `json:"result"`
	}
	err := c.do(ctx, http.MethodGet, "/v2/oem/customers", q, nil, &out)
	return out.Result, err
}

// CreateCustomer makes a customer, with its keysets if n names any
// (POST /v2/oem/customers). Every keyset must be the account's and belong
// to no other customer (409); a refusal creates nothing.
func (c *Client) CreateCustomer(ctx context.Context, n NewCustomer) (Customer, error) {
	in := struct {
		ExternalID string  `json:"externalId"`
		Name       string  `json:"name"`
		KeysetIDs  []int64 `json:"keysetIds,omitempty"`
	}{ExternalID: n.ExternalID, Name: n.Name}
	if len(n.KeysetIDs) > 0 {
		ids, err := numIDs("keysetIds", n.KeysetIDs)
		if err != nil {
			return Customer{}, err
		}
		in.KeysetIDs = ids
	}
	return c.customerCall(ctx, http.MethodPost, "/v2/oem/customers", in)
}

// GetCustomer answers one customer with its keysets
// (GET /v2/oem/customers/{id}).
func (c *Client) GetCustomer(ctx context.Context, id string) (Customer, error) {
	return c.customerCall(ctx, http.MethodGet, customerPath(id), nil)
}

// RenameCustomer changes a customer's name and answers the customer
// (PUT /v2/oem/customers/{id}). Its externalId never changes.
func (c *Client) RenameCustomer(ctx context.Context, id, name string) (Customer, error) {
	return c.customerCall(ctx, http.MethodPut, customerPath(id), struct {
		Name string `json:"name"`
	}{name})
}

// AssignCustomerKeysets adds keysets to a customer and answers it with all
// its keysets (POST /v2/oem/customers/{id}/keysets). Keysets it holds
// already keep their first AssignedAt; one of another customer is a 409,
// and a refusal assigns nothing.
func (c *Client) AssignCustomerKeysets(ctx context.Context, id string, keysetIDs ...string) (Customer, error) {
	ids, err := numIDs("keysetIds", keysetIDs)
	if err != nil {
		return Customer{}, err
	}
	return c.customerCall(ctx, http.MethodPost, customerPath(id)+"/keysets", struct {
		KeysetIDs []int64 `json:"keysetIds"`
	}{ids})
}

// CustomerApps answers the apps holding at least one of a customer's
// keysets (GET /v2/oem/customers/{id}/applications).
func (c *Client) CustomerApps(ctx context.Context, id string) ([]CustomerApp, error) {
	var out struct {
		Result []struct {
			ID        numID `json:"id"`
			AccountID numID `json:"accountId"`
		} `json:"result"`
	}
	if err := c.do(ctx, http.MethodGet, customerPath(id)+"/applications", nil, nil, &out); err != nil {
		return nil, err
	}
	apps := make([]CustomerApp, len(out.Result))
	for i, a := range out.Result {
		apps[i] = CustomerApp{ID: string(a.ID), AccountID: string(a.AccountID)}
	}
	return apps, nil
}

// CustomerKeysets answers a customer's keysets (GET /v2/oem/keysets); with
// appID, only those of that app.
func (c *Client) CustomerKeysets(ctx context.Context, customerID, appID string) ([]CustomerKeyset, error) {
	q := url.Values{"customerId": {customerID}}
	if appID != "" {
		q.Set("appId", appID)
	}
	var out struct {
		Result []customerKeysetWire `json:"result"`
	}
	if err := c.do(ctx, http.MethodGet, "/v2/oem/keysets", q, nil, &out); err != nil {
		return nil, err
	}
	return keysetsOf(out.Result), nil
}

// KeysetCustomer answers the customer a keyset belongs to, without its
// keysets (GET /v2/oem/keysets/{id}/customer): 404 when it belongs to none.
func (c *Client) KeysetCustomer(ctx context.Context, keysetID string) (Customer, error) {
	return c.customerCall(ctx, http.MethodGet, "/v2/oem/keysets/"+escape(keysetID)+"/customer", nil)
}
