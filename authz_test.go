package keyplane

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestExplainAgreesWithAuthorize: for every pair of offered rows, every
// operation and every object, Explain allows exactly what Authorize allows,
// names a granting row that covers, and names as missing the very rows a
// 403 names.
func TestExplainAgreesWithAuthorize(t *testing.T) {
	shapes := allGrantShapes()
	var allowed, denied int
	for i, g1 := range shapes {
		for _, g2 := range shapes[i:] {
			grants := []Grant{g1, g2}
			for _, op := range Operations {
				for _, id := range objectsFor(op) {
					target := targetOf(op, id)
					checks := Explain(grants, target, op.Needs...)
					err := Authorize(grants, target, op.Needs...)
					var missing []string
					for _, c := range checks {
						switch {
						case c.GrantedBy != nil && c.Missing == nil:
							if !c.GrantedBy.Covers(c.Need, target) {
								t.Fatalf("%s %v: granted by %s, which does not cover %v", op, grants, c.GrantedBy, c.Need)
							}
						case c.Missing != nil && c.GrantedBy == nil:
							missing = append(missing, "missing permission: "+c.Missing.Label())
						default:
							t.Fatalf("%s %v: check %+v has both or neither", op, grants, c)
						}
					}
					if (err == nil) != (missing == nil) || (err != nil && !slices.Equal(ErrorMessages(err), missing)) {
						t.Fatalf("%s on %d with %v: Authorize %v, Explain missing %q", op, id, grants, err, missing)
					}
					if err == nil {
						allowed++
					} else {
						denied++
					}
				}
			}
		}
	}
	if allowed == 0 || denied == 0 {
		t.Fatalf("allowed %d, denied %d: degenerate", allowed, denied)
	}
}

// TestExplainListAgreesWithVisible: a filtered list is allowed exactly when
// Visible lets the rows list anything.
func TestExplainListAgreesWithVisible(t *testing.T) {
	for _, g := range allGrantShapes() {
		for _, op := range []Operation{OpListApps, OpListKeysets} {
			if !op.IsFilteredList() {
				t.Fatalf("%s is not a filtered list", op)
			}
			c := ExplainList([]Grant{g}, op.Needs...)
			_, ok := Visible([]Grant{g}, op.Needs[0])
			if (c[0].Missing == nil) != ok {
				t.Errorf("%s with %s: ExplainList %+v, Visible %v", op, g, c[0], ok)
			}
		}
	}
	if OpGetApp.IsFilteredList() || OpListCustomers.IsFilteredList() {
		t.Error("only app and keyset lists filter")
	}
}

// TestMatchOperation finds every operation from a concrete path, with its
// path values, and says what a known path offers for a wrong method.
func TestMatchOperation(t *testing.T) {
	for _, op := range Operations {
		path := op.Path
		want := map[string]string{}
		for i, name := range []string{"appId", "keysetId", "customerId", "secretKeyPrefix", "webhookId", "deliveryId"} {
			v := strconv.Itoa(40 + i)
			if name == "secretKeyPrefix" {
				v = "sec-c-AbCd1"
			}
			if strings.Contains(path, "{"+name+"}") {
				path = strings.ReplaceAll(path, "{"+name+"}", v)
				want[name] = v
			}
		}
		got, params, _, ok := MatchOperation(strings.ToLower(op.Method), path+"?page=2")
		if !ok || got.ID != op.ID {
			t.Errorf("%s (%s): matched %v %v", op, path, got.ID, ok)
			continue
		}
		if len(params) != len(want) {
			t.Errorf("%s: params %v, want %v", op, params, want)
		}
		for k, v := range want {
			if params[k] != v {
				t.Errorf("%s: %s = %q, want %q", op, k, params[k], v)
			}
		}
	}
	// Literal segments win where a template would also match.
	if op, _, _, ok := MatchOperation("GET", "/v2/oem/keysets"); !ok || op.ID != OpListCustomerKeysets.ID {
		t.Errorf("GET /v2/oem/keysets matched %v", op.ID)
	}
	for _, tc := range []struct {
		method, path string
		methods      []string
	}{
		{"PUT", "/v2/apps", []string{"GET", "POST"}},
		{"DELETE", "/v2/oem/customers/7", []string{"GET", "PUT"}},
		{"GET", "/v2/nothing", nil},
		{"GET", "/v2/apps/", nil},
		{"GET", "/v2/keysets//config", nil},
		{"GET", "/v2/keysets/1/config/extra", nil},
	} {
		if op, _, methods, ok := MatchOperation(tc.method, tc.path); ok || !slices.Equal(methods, tc.methods) {
			t.Errorf("%s %s: matched %v (%v), methods %v, want none and %v", tc.method, tc.path, op.ID, ok, methods, tc.methods)
		}
	}
}

// TestOperationByID finds every operation by its id and nothing else.
func TestOperationByID(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range Operations {
		if seen[op.ID] {
			t.Errorf("operationId %s twice", op.ID)
		}
		seen[op.ID] = true
		if got, ok := OperationByID(op.ID); !ok || got.Method != op.Method || got.Path != op.Path {
			t.Errorf("%s: %v %v", op.ID, got, ok)
		}
	}
	if _, ok := OperationByID("GetApp"); ok {
		t.Error("operationIds are case-sensitive")
	}
}

// TestAccessOn is the widest access that reaches a target.
func TestAccessOn(t *testing.T) {
	gs := []Grant{
		{Level: LevelApp, TargetID: 1, Resource: ResourceKeyset, Access: AccessRead},
		{Level: LevelKeyset, TargetID: 10, Resource: ResourceKeyset, Access: AccessReadWrite},
		{Level: LevelAccount, Resource: ResourceAuditLog, Access: AccessRead},
	}
	for _, tc := range []struct {
		r    Resource
		t    Target
		want Access
	}{
		{ResourceKeyset, Target{AppID: 1, KeysetID: 10}, AccessReadWrite},
		{ResourceKeyset, Target{AppID: 1, KeysetID: 11}, AccessRead},
		{ResourceKeyset, Target{AppID: 1}, AccessRead},
		{ResourceKeyset, Target{AppID: 2, KeysetID: 20}, ""},
		{ResourceKeyset, Target{}, ""},
		{ResourceAuditLog, Target{}, AccessRead},
		{ResourceApp, Target{AppID: 1}, ""},
	} {
		if got := AccessOn(gs, tc.r, tc.t); got != tc.want {
			t.Errorf("AccessOn(%s, %+v) = %q, want %q", tc.r, tc.t, got, tc.want)
		}
	}
}

// TestAuditLogRow: the audit log is an account-level, read-only resource.
func TestAuditLogRow(t *testing.T) {
	if g, err := ParseGrant("account:audit-log:r"); err != nil || g.Label() != "Account · Audit log · Read" {
		t.Errorf("account:audit-log:r = %v, %v", g, err)
	}
	for _, s := range []string{"account:audit-log:rw", "app/1:audit-log:read", "keyset/1:audit-log:read"} {
		if _, err := ParseGrant(s); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}
