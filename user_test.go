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
			if g.Level != LevelAccount && !r.Scoped() {
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
	if r, err := ParseRole(" App-Admin "); err != nil || r != RoleAppAdmin {
		t.Errorf("ParseRole(app-admin) = %q, %v", r, err)
	}
	if _, err := ParseRole("app-owner"); err == nil {
		t.Error("ParseRole accepted app-owner")
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

// TestScopedRoleRows is the table of README's "Roles": each scoped role,
// on the apps or keysets chosen, stands for exactly these rows, and the
// rows authorize it as an integration holding them would be: on its own
// app or keyset and nowhere else, and never on account-wide resources.
func TestScopedRoleRows(t *testing.T) {
	rows := func(gs []Grant) string {
		var s []string
		for _, g := range gs {
			s = append(s, g.String())
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		role  Role
		scope []int64
		want  string
	}{
		{RoleAppAdmin, []int64{3}, "app/3:app:read-write app/3:keyset:read-write app/3:secret-key:read-write app/3:usage:read"},
		{RoleAppViewer, []int64{3, 5}, "app/3:app:read app/3:keyset:read app/3:secret-key:read app/3:usage:read " +
			"app/5:app:read app/5:keyset:read app/5:secret-key:read app/5:usage:read"},
		{RoleKeyAdmin, []int64{7}, "keyset/7:keyset:read-write keyset/7:secret-key:read-write keyset/7:usage:read"},
		{RoleKeyViewer, []int64{7}, "keyset/7:keyset:read keyset/7:secret-key:read keyset/7:usage:read"},
		// An account-wide role ignores a scope: its rows are the account's.
		{RoleViewer, []int64{3}, rows(RoleGrants(RoleViewer))},
	} {
		got := RoleGrants(tc.role, tc.scope...)
		if rows(got) != tc.want {
			t.Errorf("RoleGrants(%s, %v) = %s\nwant %s", tc.role, tc.scope, rows(got), tc.want)
		}
		for _, g := range got {
			if err := g.Validate(); err != nil {
				t.Errorf("%s: %v", tc.role, err)
			}
		}
	}
	ownApp, ownKeyset := Target{AppID: 3, KeysetID: 30}, Target{AppID: 9, KeysetID: 7}
	for _, tc := range []struct {
		role  Role
		scope int64
		op    Operation
		t     Target
		allow bool
	}{
		{RoleAppViewer, 3, OpGetApp, Target{AppID: 3}, true},
		{RoleAppViewer, 3, OpGetKeyset, ownApp, true},
		{RoleAppViewer, 3, OpListSecretKeys, ownApp, true},
		{RoleAppViewer, 3, OpUpdateConfig, ownApp, false},
		{RoleAppViewer, 3, OpGetApp, Target{AppID: 4}, false},
		{RoleAppViewer, 3, OpGetKeyset, Target{AppID: 4, KeysetID: 40}, false},
		{RoleAppAdmin, 3, OpCreateKeyset, Target{AppID: 3}, true},
		{RoleAppAdmin, 3, OpRotateSecretKey, ownApp, true},
		{RoleAppAdmin, 3, OpDeleteApp, Target{AppID: 3}, true},
		{RoleAppAdmin, 3, OpCreateApp, Target{}, false},
		{RoleAppAdmin, 3, OpCreateKeyset, Target{AppID: 4}, false},
		{RoleKeyViewer, 7, OpGetConfig, ownKeyset, true},
		{RoleKeyViewer, 7, OpUpdateKeyset, ownKeyset, false},
		{RoleKeyViewer, 7, OpGetApp, Target{AppID: 9}, false},
		{RoleKeyAdmin, 7, OpUpdateConfig, ownKeyset, true},
		{RoleKeyAdmin, 7, OpRotateSecretKey, ownKeyset, true},
		{RoleKeyAdmin, 7, OpCreateKeyset, Target{AppID: 9}, false},
		{RoleKeyAdmin, 7, OpUpdateConfig, Target{AppID: 9, KeysetID: 8}, false},
	} {
		err := Authorize(RoleGrants(tc.role, tc.scope), tc.t, tc.op.Needs...)
		if (err == nil) != tc.allow {
			t.Errorf("%s of %d: %s on %+v allowed=%v, want %v (%v)", tc.role, tc.scope, tc.op.ID, tc.t, err == nil, tc.allow, err)
		}
	}
	// No scoped role reaches the account-wide resources: usage of the
	// whole account, the audit log, OEM customers, integrations, people.
	for _, r := range []Role{RoleAppAdmin, RoleAppViewer, RoleKeyAdmin, RoleKeyViewer} {
		gs := RoleGrants(r, 3)
		for _, p := range []Permission{read(ResourceUsage), read(ResourceAuditLog), read(ResourceOEMCustomer), ReadIntegrations, ReadUsers} {
			if err := Authorize(gs, Target{}, p); err == nil {
				t.Errorf("%s holds %s:%s account-wide", r, p.Resource, p.Access)
			}
		}
		// Lists answer it with its own, as they answer a key with these rows.
		if v, ok := Visible(gs, read(ResourceKeyset)); !ok || v.All {
			t.Errorf("%s: keysets visible %+v, %v", r, v, ok)
		}
	}
}

func TestValidateScope(t *testing.T) {
	for _, tc := range []struct {
		role          Role
		apps, keysets []int64
		want          string
	}{
		{RoleAppViewer, []int64{3}, nil, ""},
		{RoleKeyAdmin, nil, []int64{7, 8}, ""},
		{RoleAdmin, nil, nil, ""},
		{RoleAppViewer, nil, nil, "apps: App Viewer applies to chosen apps; choose at least one"},
		{RoleKeyViewer, nil, nil, "keysets: Key Viewer applies to chosen keysets; choose at least one"},
		{RoleAppAdmin, []int64{3}, []int64{7}, "keysets: App Admin takes no keysets"},
		{RoleKeyAdmin, []int64{3}, []int64{7}, "apps: Key Admin takes no apps"},
		{RoleViewer, []int64{3}, nil, "apps: Account Viewer takes no apps"},
		{RoleOwner, nil, []int64{7}, "keysets: Owner takes no keysets"},
		{RoleAppViewer, []int64{0}, nil, "apps: 0 is not an id"},
	} {
		if got := strings.Join(ValidateScope(tc.role, tc.apps, tc.keysets), "; "); got != tc.want {
			t.Errorf("ValidateScope(%s, %v, %v) = %q, want %q", tc.role, tc.apps, tc.keysets, got, tc.want)
		}
	}
}
