package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type oemKeyset struct {
	ID         int64  `json:"id"`
	AssignedAt string `json:"assignedAt"`
}

type oemCustomer struct {
	ID         string      `json:"id"`
	ExternalID string      `json:"externalId"`
	Name       string      `json:"name"`
	Created    string      `json:"created"`
	Updated    string      `json:"updated"`
	Keysets    []oemKeyset `json:"keysets"`
}

type oemResult[T any] struct {
	Result T `json:"result"`
}

type oemSummary struct {
	ID          string `json:"id"`
	ExternalID  string `json:"externalId"`
	Name        string `json:"name"`
	AppCount    int    `json:"appCount"`
	KeysetCount int    `json:"keysetCount"`
}

func num(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) createCustomer(key string, body any) oemCustomer {
	e.t.Helper()
	var r oemResult[oemCustomer]
	e.do("POST", "/v2/oem/customers", body, as(key)).want(200).decode(&r)
	return r.Result
}

func (e *env) customer(key, id string) oemCustomer {
	e.t.Helper()
	var r oemResult[oemCustomer]
	e.do("GET", "/v2/oem/customers/"+id, nil, as(key)).want(200).decode(&r)
	return r.Result
}

func (e *env) customers(key, query string) []oemSummary {
	e.t.Helper()
	var r oemResult[[]oemSummary]
	e.do("GET", "/v2/oem/customers"+query, nil, as(key)).want(200).decode(&r)
	return r.Result
}

func keysetIDs(ks []oemKeyset) []int64 {
	out := []int64{}
	for _, k := range ks {
		out = append(out, k.ID)
	}
	return out
}

// Only partner accounts reach the OEM routes, and only with the OEM
// Customer row: a refusal names each rule broken, before anything is
// looked up.
func TestOEMNeedsAPartnerAndTheRow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oem, _, _ := e.integration("partner portal", "account:oem-customer:rw")
	reader, _, _ := e.integration("partner reader", "account:oem-customer:read")
	notPartner := "account is not an OEM partner: the /v2/oem routes are for partner accounts only; an operator enables them with `keyplane admin set-partner ACCOUNT`"
	routes := []struct {
		method, path string
		body         any
		write        bool
	}{
		{"POST", "/v2/oem/customers", map[string]any{"externalId": "acme", "name": "Acme"}, true},
		{"GET", "/v2/oem/customers", nil, false},
		{"GET", "/v2/oem/customers/1", nil, false},
		{"PUT", "/v2/oem/customers/1", map[string]any{"name": "x"}, true},
		{"POST", "/v2/oem/customers/1/keysets", map[string]any{"keysetIds": []int{1}}, true},
		{"GET", "/v2/oem/customers/1/applications", nil, false},
		{"GET", "/v2/oem/keysets?customerId=1", nil, false},
		{"GET", "/v2/oem/keysets/1/customer", nil, false},
	}
	for _, r := range routes {
		row := "missing permission: Account · OEM Customer · Read"
		if r.write {
			row = "missing permission: Account · OEM Customer · Read & write"
		}
		e.do(r.method, r.path, r.body, as(oem)).wantError(403, notPartner)
		e.do(r.method, r.path, r.body).wantError(403, notPartner, row)
	}
	e.setPartner(true)
	for _, r := range routes {
		row := "missing permission: Account · OEM Customer · Read"
		if r.write {
			row = "missing permission: Account · OEM Customer · Read & write"
			e.do(r.method, r.path, r.body, as(reader)).wantError(403, row)
		} else if r := e.do(r.method, r.path, r.body, as(reader)); r.Status == 403 {
			t.Errorf("%s %s: a reader got 403: %s", r.method, r.path, r.Body)
		}
		e.do(r.method, r.path, r.body).wantError(403, row)
	}
	// Ending the partnership closes the routes again; the data stays.
	c := e.createCustomer(oem, map[string]any{"externalId": "acme-2", "name": "Acme"})
	e.setPartner(false)
	e.do("GET", "/v2/oem/customers/"+c.ID, nil, as(oem)).wantError(403, notPartner)
	e.setPartner(true)
	if got := e.customer(oem, c.ID); got.ExternalID != "acme-2" {
		t.Errorf("after re-enrolling: %+v", got)
	}
}

// O1–O8 with PubNub's shapes: create answers 200 {"result": …}, customer ids
// are strings, keyset and app ids numbers; lists filter by app.
func TestOEMCustomers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPartner(true)
	oem, _, _ := e.integration("partner portal", "account:oem-customer:rw", "account:audit-log:read")
	a := e.createApp("Alpha")
	b := e.createApp("Beta")
	ka1 := e.createKeyset(a.ID, "a1").Keyset.ID
	ka2 := e.createKeyset(a.ID, "a2").Keyset.ID
	kb1 := e.createKeyset(b.ID, "b1").Keyset.ID
	free := e.createKeyset(b.ID, "free").Keyset.ID
	now := iso(e.clock.Now())

	// O1 create, with keysets.
	acme := e.createCustomer(oem, map[string]any{"externalId": "acme_Corp-1", "name": "Acme Corp", "keysetIds": []int64{num(t, ka1), num(t, kb1)}})
	if acme.ID == "" || acme.ExternalID != "acme_Corp-1" || acme.Name != "Acme Corp" || acme.Created != now || acme.Updated != now {
		t.Errorf("created %+v", acme)
	}
	if diff := cmp.Diff([]oemKeyset{{num(t, ka1), now}, {num(t, kb1), now}}, acme.Keysets); diff != "" {
		t.Errorf("keysets (-want +got):\n%s", diff)
	}
	// Without keysets; the raw answer has "keysets": [] and a string id.
	raw := e.do("POST", "/v2/oem/customers", map[string]any{"externalId": "globex", "name": "Globex"}, as(oem)).want(200).object()
	res := raw["result"].(map[string]any)
	if _, isString := res["id"].(string); !isString || len(res["keysets"].([]any)) != 0 || len(raw) != 1 {
		t.Errorf("create answered %v", raw)
	}
	globex := res["id"].(string)

	// O3 get.
	if diff := cmp.Diff(acme, e.customer(oem, acme.ID)); diff != "" {
		t.Errorf("get (-created +got):\n%s", diff)
	}
	// O2 list, with counts, and filtered by app.
	all := e.customers(oem, "")
	wantAll := []oemSummary{{acme.ID, "acme_Corp-1", "Acme Corp", 2, 2}, {globex, "globex", "Globex", 0, 0}}
	if diff := cmp.Diff(wantAll, all); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if got := e.customers(oem, "?appId="+a.ID); len(got) != 1 || got[0].ID != acme.ID {
		t.Errorf("list in app %s: %+v", a.ID, got)
	}
	if got := e.customers(oem, "?appId=999"); len(got) != 0 {
		t.Errorf("list in app 999: %+v", got)
	}

	// O4 rename: externalId may be repeated, never changed.
	e.clock.Advance(time.Minute)
	var renamed oemResult[oemCustomer]
	e.do("PUT", "/v2/oem/customers/"+acme.ID, map[string]any{"name": "Acme Inc", "externalId": "acme_Corp-1"}, as(oem)).want(200).decode(&renamed)
	if renamed.Result.Name != "Acme Inc" || renamed.Result.Updated != iso(e.clock.Now()) || renamed.Result.Created != now || len(renamed.Result.Keysets) != 2 {
		t.Errorf("renamed %+v", renamed.Result)
	}
	e.do("PUT", "/v2/oem/customers/"+acme.ID, map[string]any{"name": "Acme", "externalId": "acme-2"}, as(oem)).
		wantError(400, `externalId: cannot be changed once saved (it is "acme_Corp-1")`)
	e.do("PUT", "/v2/oem/customers/"+acme.ID, map[string]any{}, as(oem)).wantError(400, "name: required")
	e.do("PUT", "/v2/oem/customers/"+acme.ID, map[string]any{"name": " "}, as(oem)).wantError(400, "name: required, and not only spaces")
	e.do("PUT", "/v2/oem/customers/999", map[string]any{"name": "x"}, as(oem)).wantError(404, "customer 999: not found")
	if got := e.customer(oem, acme.ID); got.Name != "Acme Inc" {
		t.Errorf("a refused rename changed the name to %q", got.Name)
	}

	// O5 assign: adds, keeps earlier assignments (and their times).
	var assigned oemResult[oemCustomer]
	e.do("POST", "/v2/oem/customers/"+acme.ID+"/keysets", map[string]any{"keysetIds": []int64{num(t, ka2), num(t, ka1), num(t, ka2)}}, as(oem)).want(200).decode(&assigned)
	later := iso(e.clock.Now())
	if diff := cmp.Diff([]oemKeyset{{num(t, ka1), now}, {num(t, ka2), later}, {num(t, kb1), now}}, assigned.Result.Keysets); diff != "" {
		t.Errorf("after assigning (-want +got):\n%s", diff)
	}

	// O6 applications: numbers, with the account.
	var apps oemResult[[]map[string]any]
	e.do("GET", "/v2/oem/customers/"+acme.ID+"/applications", nil, as(oem)).want(200).decode(&apps)
	wantApps := []map[string]any{{"id": float64(num(t, a.ID)), "accountId": float64(e.account)}, {"id": float64(num(t, b.ID)), "accountId": float64(e.account)}}
	if diff := cmp.Diff(wantApps, apps.Result); diff != "" {
		t.Errorf("applications (-want +got):\n%s", diff)
	}
	e.do("GET", "/v2/oem/customers/"+globex+"/applications", nil, as(oem)).want(200)
	e.do("GET", "/v2/oem/customers/999/applications", nil, as(oem)).wantError(404, "customer 999: not found")

	// O7 keysets of a customer, in an app.
	var ks oemResult[[]oemKeyset]
	e.do("GET", "/v2/oem/keysets?customerId="+acme.ID, nil, as(oem)).want(200).decode(&ks)
	if diff := cmp.Diff([]int64{num(t, ka1), num(t, ka2), num(t, kb1)}, keysetIDs(ks.Result)); diff != "" {
		t.Errorf("keysets (-want +got):\n%s", diff)
	}
	e.do("GET", "/v2/oem/keysets?customerId="+acme.ID+"&appId="+b.ID, nil, as(oem)).want(200).decode(&ks)
	if diff := cmp.Diff([]int64{num(t, kb1)}, keysetIDs(ks.Result)); diff != "" {
		t.Errorf("keysets in app %s (-want +got):\n%s", b.ID, diff)
	}
	e.do("GET", "/v2/oem/keysets", nil, as(oem)).wantError(400, "customerId: required")
	e.do("GET", "/v2/oem/keysets?customerId=x", nil, as(oem)).wantError(400, `customerId: must be a positive integer, not "x"`)
	e.do("GET", "/v2/oem/keysets?customerId=999", nil, as(oem)).wantError(404, "customer 999: not found")

	// O8 customer of a keyset, without its keysets.
	head := e.do("GET", "/v2/oem/keysets/"+kb1+"/customer", nil, as(oem)).want(200).object()["result"].(map[string]any)
	if head["id"] != acme.ID || head["externalId"] != "acme_Corp-1" || head["keysets"] != nil {
		t.Errorf("customer of keyset %s: %v", kb1, head)
	}
	e.do("GET", "/v2/oem/keysets/"+free+"/customer", nil, as(oem)).wantError(404, "keyset "+free+": not assigned to a customer")
	e.do("GET", "/v2/oem/keysets/abc/customer", nil, as(oem)).wantError(400, `keysetId: must be a positive integer, not "abc"`)
	e.do("GET", "/v2/oem/customers/abc", nil, as(oem)).wantError(400, `customerId: must be a positive integer, not "abc"`)
	e.do("GET", "/v2/oem/customers/999", nil, as(oem)).wantError(404, "customer 999: not found")

	// Deleting a keyset ends its assignment.
	e.do("DELETE", "/v2/keysets/"+kb1, nil).want(200)
	if got := keysetIDs(e.customer(oem, acme.ID).Keysets); !cmp.Equal(got, []int64{num(t, ka1), num(t, ka2)}) {
		t.Errorf("after deleting keyset %s: %v", kb1, got)
	}

	// Every change is in the audit trail, by PubNub's event names.
	var l auditList
	e.do("GET", "/v2/audit-events?target=customer/"+acme.ID, nil, as(oem)).want(200).decode(&l)
	if diff := cmp.Diff([]string{"OemCustomerCreated", "OemCustomerKeysetsAssigned", "OemCustomerUpdated", "OemCustomerKeysetsAssigned"}, types(l.Events)); diff != "" {
		t.Errorf("audit events of the customer (-want +got):\n%s", diff)
	}
}

// The rules of customers and assignments, each refusal changing nothing.
func TestOEMRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPartner(true)
	oem, _, _ := e.integration("partner portal", "account:oem-customer:rw")
	a := e.createApp("Alpha")
	k1 := num(t, e.createKeyset(a.ID, "k1").Keyset.ID)
	k2 := num(t, e.createKeyset(a.ID, "k2").Keyset.ID)
	k3 := num(t, e.createKeyset(a.ID, "k3").Keyset.ID)
	_, otherKey := e.otherAccount()
	otherApp := e.do("POST", "/v2/apps", map[string]any{"name": "theirs"}, as(otherKey)).want(201).object()["id"].(string)
	var theirs keysetCreated
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"appId": otherApp}}, as(otherKey)).want(201).decode(&theirs)
	foreign := num(t, theirs.Keyset.ID)

	acme := e.createCustomer(oem, map[string]any{"externalId": "acme", "name": "Acme", "keysetIds": []int64{k1}})
	state := func() string {
		var b strings.Builder
		for _, c := range e.customers(oem, "") {
			b.WriteString(c.ExternalID + "=" + strconv.Itoa(c.KeysetCount) + ";")
		}
		var ks oemResult[[]oemKeyset]
		e.do("GET", "/v2/oem/keysets?customerId="+acme.ID, nil, as(oem)).want(200).decode(&ks)
		b.WriteString(strconv.Itoa(len(ks.Result)))
		return b.String()
	}
	before := state()

	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name   string
		body   any
		status int
		msgs   []string
	}{
		{"nothing", map[string]any{}, 400, []string{"externalId: required", "name: required"}},
		{"empty externalId", map[string]any{"externalId": "", "name": "n"}, 400, []string{"externalId: required"}},
		{"long externalId", map[string]any{"externalId": long, "name": "n"}, 400, []string{"externalId: at most 255 characters"}},
		{"spaces in externalId", map[string]any{"externalId": "acme corp", "name": "n"}, 400, []string{"externalId: only letters, digits, _ and - (^[a-zA-Z0-9_-]+$)"}},
		{"unicode externalId", map[string]any{"externalId": "acmé", "name": "n"}, 400, []string{"externalId: only letters, digits, _ and - (^[a-zA-Z0-9_-]+$)"}},
		{"long name", map[string]any{"externalId": "ok", "name": long}, 400, []string{"name: at most 255 characters"}},
		{"both bad", map[string]any{"externalId": "a/b", "name": ""}, 400, []string{"externalId: only letters, digits, _ and - (^[a-zA-Z0-9_-]+$)", "name: required, and not only spaces"}},
		{"id as string", map[string]any{"externalId": "ok", "name": "n", "keysetIds": []string{"1"}}, 400, []string{"keysetIds[0]: must be an integer"}},
		{"fractional id", map[string]any{"externalId": "ok", "name": "n", "keysetIds": []float64{1.5}}, 400, []string{"keysetIds[0]: must be an integer"}},
		{"negative id", map[string]any{"externalId": "ok", "name": "n", "keysetIds": []int64{-1}}, 400, []string{"keysetIds[0]: must be a positive integer"}},
		{"unknown field", map[string]any{"externalId": "ok", "name": "n", "id": "1"}, 400, []string{"id: unknown field"}},
		{"taken externalId", map[string]any{"externalId": "acme", "name": "Acme again"}, 409, []string{`externalId: "acme" is already customer ` + acme.ID + "'s"}},
		{"unknown keyset", map[string]any{"externalId": "new", "name": "n", "keysetIds": []int64{k2, 999}}, 400, []string{"keysetIds: keyset 999 does not exist in this account"}},
		{"another account's keyset", map[string]any{"externalId": "new", "name": "n", "keysetIds": []int64{foreign}}, 400, []string{"keysetIds: keyset " + strconv.FormatInt(foreign, 10) + " does not exist in this account"}},
		{"another customer's keyset", map[string]any{"externalId": "new", "name": "n", "keysetIds": []int64{k2, k1}}, 409, []string{"keysetIds: keyset " + strconv.FormatInt(k1, 10) + " already belongs to customer " + acme.ID + "; a keyset belongs to one customer at most"}},
	} {
		e.do("POST", "/v2/oem/customers", tc.body, as(oem)).wantError(tc.status, tc.msgs...)
		if got := state(); got != before {
			t.Errorf("create, %s: refused, but the customers changed from %s to %s", tc.name, before, got)
		}
	}
	// externalId is unique per account, not across accounts.
	globex := e.createCustomer(oem, map[string]any{"externalId": "globex", "name": "Globex"})
	before = state()

	assign := "/v2/oem/customers/" + globex.ID + "/keysets"
	for _, tc := range []struct {
		name   string
		body   any
		status int
		msgs   []string
	}{
		{"no list", map[string]any{}, 400, []string{"keysetIds: required"}},
		{"empty list", map[string]any{"keysetIds": []int64{}}, 400, []string{"keysetIds: name at least one keyset"}},
		{"null list", `{"keysetIds":null}`, 400, []string{"keysetIds: must be an array"}},
		{"another customer's keyset", map[string]any{"keysetIds": []int64{k2, k1}}, 409, []string{"keysetIds: keyset " + strconv.FormatInt(k1, 10) + " already belongs to customer " + acme.ID + "; a keyset belongs to one customer at most"}},
		{"another account's keyset", map[string]any{"keysetIds": []int64{k2, foreign}}, 400, []string{"keysetIds: keyset " + strconv.FormatInt(foreign, 10) + " does not exist in this account"}},
		{"too many", map[string]any{"keysetIds": make([]int64, 1001)}, 400, []string{"keysetIds: at most 1000 keysets at a time"}},
	} {
		e.do("POST", assign, tc.body, as(oem)).wantError(tc.status, tc.msgs...)
		if got := state(); got != before {
			t.Errorf("assign, %s: refused, but the customers changed from %s to %s", tc.name, before, got)
		}
	}
	e.do("POST", "/v2/oem/customers/999/keysets", map[string]any{"keysetIds": []int64{k3}}, as(oem)).wantError(404, "customer 999: not found")
	// Assigning what a customer holds already changes nothing, and records nothing.
	if got := e.customer(oem, acme.ID); len(got.Keysets) != 1 {
		t.Fatalf("acme %+v", got)
	}
	e.do("POST", "/v2/oem/customers/"+acme.ID+"/keysets", map[string]any{"keysetIds": []int64{k1}}, as(oem)).want(200)
	e.do("POST", assign, map[string]any{"keysetIds": []int64{k2, k3}}, as(oem)).want(200)
	if got := keysetIDs(e.customer(oem, globex.ID).Keysets); !cmp.Equal(got, []int64{k2, k3}) {
		t.Errorf("globex keysets %v", got)
	}
	// The other account, once a partner, has its own externalId namespace
	// and cannot see this account's customers.
	otherOEM, _ := e.otherAccountOEM()
	if got := e.customers(otherOEM, ""); len(got) != 0 {
		t.Errorf("the other account sees %+v", got)
	}
	e.createCustomer(otherOEM, map[string]any{"externalId": "acme", "name": "Their Acme"})
	e.do("GET", "/v2/oem/customers/"+acme.ID, nil, as(otherOEM)).wantError(404, "customer "+acme.ID+": not found")
	e.do("GET", "/v2/oem/keysets/"+strconv.FormatInt(k1, 10)+"/customer", nil, as(otherOEM)).wantError(404, "keyset "+strconv.FormatInt(k1, 10)+": not assigned to a customer")
}
