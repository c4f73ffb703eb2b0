package keyplane

import (
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

func TestMayManage(t *testing.T) {
	for _, tc := range []struct {
		actor Actor
		ok    bool
	}{
		{OperatorActor, true},
		{Actor{Type: ActorUser, ID: 1, Role: RoleOwner}, true},
		{Actor{Type: ActorUser, ID: 1, Role: RoleAdmin}, true},
		{Actor{Type: ActorUser, ID: 1, Role: RoleViewer}, false},
		{Actor{Type: ActorUser, ID: 1}, false},
		{Principal{IntegrationID: 1, Grants: RoleGrants(RoleOwner)}.Actor(), false},
		{Actor{}, false},
	} {
		err := MayManage(tc.actor)
		if (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.actor, err)
		}
		if err != nil && ErrorCode(err) != CodeForbidden {
			t.Errorf("%+v: code %s", tc.actor, ErrorCode(err))
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
