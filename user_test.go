package keyplane

import (
	"strings"
	"testing"
)

func TestRoleGrantsAreAccountRowsThatAuthorizeLikeAnIntegration(t *testing.T) {
	for _, r := range Roles {
		for _, g := range RoleGrants(r) {
			if err := g.Validate(); err != nil {
				t.Errorf("%s: %v", r, err)
			}
			if g.Level != LevelAccount {
				t.Errorf("%s: %s is not an Account row", r, g)
			}
		}
	}
	for _, tc := range []struct {
		role  Role
		op    Operation
		allow bool
	}{
		{RoleViewer, OpListApps, true},
		{RoleViewer, OpGetConfig, true},
		{RoleViewer, OpListSecretKeys, true},
		{RoleViewer, OpCreateApp, false},
		{RoleViewer, OpUpdateConfig, false},
		{RoleViewer, OpRotateSecretKey, false},
		{RoleViewer, OpCreateKeyset, false},
		{RoleAdmin, OpCreateKeyset, true},
		{RoleAdmin, OpRotateSecretKey, true},
		{RoleOwner, OpDeleteApp, true},
	} {
		err := Authorize(RoleGrants(tc.role), Target{AppID: 3, KeysetID: 4}, tc.op.Needs...)
		if (err == nil) != tc.allow {
			t.Errorf("%s %s: allowed=%v, want %v (%v)", tc.role, tc.op.ID, err == nil, tc.allow, err)
		}
	}
}

// Managing Service Integrations and people is a pair of rows like any
// other: Owners, Admins and the operator hold them with Read & write, a
// Viewer with Read, and no key may hold them at all.
func TestManagingIdentitiesIsRows(t *testing.T) {
	manage := []Permission{{ResourceIntegration, AccessReadWrite}, {ResourceUser, AccessReadWrite}}
	read := []Permission{{ResourceIntegration, AccessRead}, {ResourceUser, AccessRead}}
	for _, tc := range []struct {
		who          string
		p            Principal
		read, manage bool
	}{
		{"operator", Operator(1), true, true},
		{"owner", User{ID: 1, Role: RoleOwner}.Principal(), true, true},
		{"admin", User{ID: 1, Role: RoleAdmin}.Principal(), true, true},
		{"viewer", User{ID: 1, Role: RoleViewer}.Principal(), true, false},
		{"an integration with every row a key may hold", Principal{IntegrationID: 1, Grants: Offered()}, false, false},
	} {
		if err := Authorize(tc.p.Grants, Target{}, read...); (err == nil) != tc.read {
			t.Errorf("%s reads identities: %v, want %v", tc.who, err, tc.read)
		}
		err := Authorize(tc.p.Grants, Target{}, manage...)
		if (err == nil) != tc.manage {
			t.Errorf("%s manages identities: %v, want %v", tc.who, err, tc.manage)
		}
		if err != nil && ErrorCode(err) != CodeForbidden {
			t.Errorf("%s: code %s", tc.who, ErrorCode(err))
		}
	}
	if Operator(1).Actor() != OperatorActor {
		t.Errorf("the operator is audited as %+v", Operator(1).Actor())
	}
	for _, row := range []string{"account:integration:rw", "account:user:read"} {
		g, err := ParseGrant(row)
		if err != nil {
			t.Fatalf("ParseGrant(%q): %v", row, err)
		}
		if err := ValidateIntegration("ci", []Grant{g}); err == nil || !strings.Contains(err.Error(), "no Service Integration may hold this row") {
			t.Errorf("an integration holding %s: %v", row, err)
		}
	}
}

func TestParseRoleAndEmail(t *testing.T) {
	for in, want := range map[string]Role{"owner": RoleOwner, " Admin ": RoleAdmin, "VIEWER": RoleViewer} {
		if r, err := ParseRole(in); err != nil || r != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, r, err)
		}
	}
	if _, err := ParseRole("app-admin"); err == nil {
		t.Error("ParseRole accepted app-admin")
	}
	for e, ok := range map[string]bool{
		"a@example.com": true, "": false, "a@b": false, "Name <a@example.com>": false, "a example.com": false, "@example.com": false,
	} {
		if got := ValidateEmail("email", e) == ""; got != ok {
			t.Errorf("ValidateEmail(%q) ok=%v", e, got)
		}
	}
	if ValidatePassword("p", "short") == "" || ValidatePassword("p", "twelve chars") != "" {
		t.Error("password length rule")
	}
}
