package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type meJSON struct {
	AccountID   string `json:"accountId"`
	Partner     bool   `json:"partner"`
	Integration struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"integration"`
	Key struct {
		ID         string  `json:"id"`
		Prefix     string  `json:"prefix"`
		CreatedAt  string  `json:"createdAt"`
		ExpiresAt  string  `json:"expiresAt"`
		LastUsedAt *string `json:"lastUsedAt"`
	} `json:"key"`
	Permissions []struct {
		Grant    string  `json:"grant"`
		Label    string  `json:"label"`
		Level    string  `json:"level"`
		TargetID *string `json:"targetId"`
		Resource string  `json:"resource"`
		Access   string  `json:"access"`
	} `json:"permissions"`
	Access struct {
		Account map[string]string `json:"account"`
		Apps    []accessEntry     `json:"apps"`
		Keysets []accessEntry     `json:"keysets"`
	} `json:"access"`
}

type accessEntry struct {
	ID     string            `json:"id"`
	AppID  string            `json:"appId,omitempty"`
	Name   *string           `json:"name"`
	Access map[string]string `json:"access"`
}

func (e *env) me(key string) meJSON {
	e.t.Helper()
	var m meJSON
	e.do("GET", "/v2/me", nil, as(key)).want(200).decode(&m)
	return m
}

// /v2/me answers any valid key with who it is, its rows, and the access
// they give over the apps and keysets that exist now, at account, app and
// keyset level; names only where the key may read.
func TestMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("Alpha")
	b := e.createApp("Beta")
	ka := e.createKeyset(a.ID, "alpha prod").Keyset.ID
	ka2 := e.createKeyset(a.ID, "alpha dev").Keyset.ID
	kb := e.createKeyset(b.ID, "beta prod").Keyset.ID
	e.do("GET", "/v2/me", nil, as("")).wantErrorContaining(401, "Authorization: required")

	t.Run("account level", func(t *testing.T) {
		m := e.me(e.key)
		if m.AccountID != strconv.FormatInt(e.account, 10) || m.Integration.ID != strconv.FormatInt(e.admin.ID, 10) ||
			m.Integration.Name != "CI/CD Pipeline" || m.Key.ID == "" || m.Key.Prefix != e.key[:11] ||
			m.Key.ExpiresAt != iso(e.clock.Now().Add(90*24*3600e9)) || m.Key.LastUsedAt == nil {
			t.Errorf("me = %+v", m)
		}
		var grants []string
		for _, p := range m.Permissions {
			grants = append(grants, p.Grant)
			if p.Level != "account" || p.TargetID != nil || p.Access != "read-write" {
				t.Errorf("row %+v", p)
			}
		}
		if diff := cmp.Diff([]string{"account:app:read-write", "account:keyset:read-write", "account:secret-key:read-write"}, grants); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		if m.Permissions[1].Label != "Account · Keyset · Read & write" {
			t.Errorf("label %q", m.Permissions[1].Label)
		}
		rw := map[string]string{"app": "read-write", "keyset": "read-write", "secret-key": "read-write"}
		if diff := cmp.Diff(rw, m.Access.Account); diff != "" {
			t.Errorf("account access (-want +got):\n%s", diff)
		}
		wantApps := []accessEntry{{ID: a.ID, Name: ptr("Alpha"), Access: rw}, {ID: b.ID, Name: ptr("Beta"), Access: rw}}
		if diff := cmp.Diff(wantApps, m.Access.Apps); diff != "" {
			t.Errorf("apps (-want +got):\n%s", diff)
		}
		ks := map[string]string{"keyset": "read-write", "secret-key": "read-write"}
		wantKeysets := []accessEntry{
			{ID: ka, AppID: a.ID, Name: ptr("alpha prod"), Access: ks},
			{ID: ka2, AppID: a.ID, Name: ptr("alpha dev"), Access: ks},
			{ID: kb, AppID: b.ID, Name: ptr("beta prod"), Access: ks},
		}
		if diff := cmp.Diff(wantKeysets, m.Access.Keysets); diff != "" {
			t.Errorf("keysets (-want +got):\n%s", diff)
		}
	})

	t.Run("app level", func(t *testing.T) {
		gone := e.createApp("Gamma")
		key, in, _ := e.integration("alpha team", "app/"+a.ID+":keyset:rw", "app/"+a.ID+":usage:read", "account:audit-log:read", "app/"+gone.ID+":app:read")
		e.do("DELETE", "/v2/apps/"+gone.ID, nil).want(200)
		m := e.me(key)
		if m.Integration.Name != "alpha team" || m.Integration.ID != strconv.FormatInt(in.ID, 10) {
			t.Errorf("integration %+v", m.Integration)
		}
		if len(m.Permissions) != 4 || m.Permissions[0].Level != "app" || m.Permissions[0].TargetID == nil || *m.Permissions[0].TargetID != a.ID {
			t.Errorf("rows %+v", m.Permissions)
		}
		if diff := cmp.Diff(map[string]string{"audit-log": "read"}, m.Access.Account); diff != "" {
			t.Errorf("account access (-want +got):\n%s", diff)
		}
		// App Alpha is covered (keyset and usage rows) but not readable as
		// an app: no name. App Gamma is gone: its row stays, the app is not listed.
		wantApps := []accessEntry{{ID: a.ID, Access: map[string]string{"keyset": "read-write", "usage": "read"}}}
		if diff := cmp.Diff(wantApps, m.Access.Apps); diff != "" {
			t.Errorf("apps (-want +got):\n%s", diff)
		}
		ks := map[string]string{"keyset": "read-write", "usage": "read"}
		wantKeysets := []accessEntry{
			{ID: ka, AppID: a.ID, Name: ptr("alpha prod"), Access: ks},
			{ID: ka2, AppID: a.ID, Name: ptr("alpha dev"), Access: ks},
		}
		if diff := cmp.Diff(wantKeysets, m.Access.Keysets); diff != "" {
			t.Errorf("keysets (-want +got):\n%s", diff)
		}
	})

	t.Run("partner", func(t *testing.T) {
		if e.me(e.key).Partner {
			t.Error("a new account is a partner")
		}
		e.setPartner(true)
		if !e.me(e.key).Partner {
			t.Error("set-partner does not show")
		}
	})

	t.Run("keyset level", func(t *testing.T) {
		key, _, _ := e.integration("rotator", "keyset/"+kb+":secret-key:rw")
		m := e.me(key)
		if len(m.Access.Account) != 0 || len(m.Access.Apps) != 0 {
			t.Errorf("account %v, apps %v; want nothing", m.Access.Account, m.Access.Apps)
		}
		want := []accessEntry{{ID: kb, AppID: b.ID, Access: map[string]string{"secret-key": "read-write"}}}
		if diff := cmp.Diff(want, m.Access.Keysets); diff != "" {
			t.Errorf("keysets (-want +got):\n%s", diff)
		}
		// What exists changes what it shows.
		e.do("DELETE", "/v2/keysets/"+kb, nil).want(200)
		if m := e.me(key); len(m.Access.Keysets) != 0 || len(m.Permissions) != 1 {
			t.Errorf("after deleting the keyset: keysets %v, rows %v; want none and the one row", m.Access.Keysets, m.Permissions)
		}
	})
}

type authzAnswer struct {
	Allowed bool   `json:"allowed"`
	Action  string `json:"action"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	Target  struct {
		AppID    *string `json:"appId"`
		KeysetID *string `json:"keysetId"`
	} `json:"target"`
	Checks []struct {
		Resource  string `json:"resource"`
		Access    string `json:"access"`
		Allowed   bool   `json:"allowed"`
		GrantedBy *struct {
			Grant string `json:"grant"`
		} `json:"grantedBy"`
		Missing *struct {
			Grant string `json:"grant"`
			Label string `json:"label"`
		} `json:"missing"`
	} `json:"checks"`
	Reasons []string `json:"reasons"`
}

func (e *env) authz(key string, body any) authzAnswer {
	e.t.Helper()
	var a authzAnswer
	e.do("POST", "/v2/authz/check", body, as(key)).want(200).decode(&a)
	return a
}

// /v2/authz/check decides as the operation itself does: for account-, app-
// and keyset-level keys, its answer agrees with what the operation answers
// (allowed exactly when the operation is not a 403, and the reasons are the
// 403's messages), and it names the granting or the missing row.
func TestAuthzCheckAgreesWithTheOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("Alpha")
	b := e.createApp("Beta")
	ka := e.createKeyset(a.ID, "alpha").Keyset.ID
	kb := e.createKeyset(b.ID, "beta").Keyset.ID
	appKey, _, _ := e.integration("alpha team", "app/"+a.ID+":keyset:rw", "app/"+a.ID+":app:read")
	keysetKey, _, _ := e.integration("beta rotator", "keyset/"+kb+":secret-key:read", "keyset/"+kb+":keyset:read")
	noneKey, _, _ := e.integration("auditor", "account:audit-log:read")

	probes := []struct{ method, path string }{
		{"GET", "/v2/apps"},
		{"GET", "/v2/apps/" + a.ID},
		{"GET", "/v2/apps/" + b.ID},
		{"GET", "/v2/apps/999"},
		{"GET", "/v2/keysets"},
		{"GET", "/v2/keysets/" + ka},
		{"GET", "/v2/keysets/" + kb},
		{"GET", "/v2/keysets/999"},
		{"GET", "/v2/keysets/" + ka + "/config"},
		{"GET", "/v2/keysets/" + kb + "/config"},
		{"GET", "/v2/keysets/" + ka + "/secret-keys"},
		{"GET", "/v2/keysets/" + kb + "/secret-keys"},
		{"PATCH", "/v2/keysets/" + ka},
		{"PATCH", "/v2/keysets/" + kb},
		{"GET", "/v2/audit-events"},
		{"GET", "/v2/me"},
		{"GET", "/v2/oem/customers"},
	}
	for _, k := range []struct{ name, key string }{{"account", e.key}, {"app", appKey}, {"keyset", keysetKey}, {"no rows", noneKey}} {
		t.Run(k.name, func(t *testing.T) {
			for _, p := range probes {
				ans := e.authz(k.key, map[string]any{"method": p.method, "path": p.path})
				var body any
				if p.method == "PATCH" {
					body = map[string]any{"name": "renamed"}
				}
				r := e.do(p.method, p.path, body, as(k.key))
				if ans.Allowed != (r.Status != 403) {
					t.Errorf("%s %s: check says allowed=%v, the operation answered %d: %s", p.method, p.path, ans.Allowed, r.Status, r.Body)
					continue
				}
				if r.Status == 403 {
					var eb errorJSON
					r.decode(&eb)
					if diff := cmp.Diff(eb.Message, ans.Reasons); diff != "" {
						t.Errorf("%s %s: reasons differ from the 403's messages (-403 +check):\n%s", p.method, p.path, diff)
					}
				} else if len(ans.Reasons) != 0 {
					t.Errorf("%s %s: allowed with reasons %q", p.method, p.path, ans.Reasons)
				}
				for _, c := range ans.Checks {
					if c.Allowed != (c.GrantedBy != nil) || c.Allowed == (c.Missing != nil) {
						t.Errorf("%s %s: check %+v has both or neither of grantedBy and missing", p.method, p.path, c)
					}
				}
			}
		})
	}

	// The rows it names, and the target it decided on.
	ans := e.authz(appKey, map[string]any{"method": "PATCH", "path": "/v2/keysets/" + ka + "/config"})
	if !ans.Allowed || ans.Action != "updateKeysetConfig" || ans.Path != "/v2/keysets/{keysetId}/config" || ans.Method != "PATCH" ||
		ans.Target.KeysetID == nil || *ans.Target.KeysetID != ka || ans.Target.AppID == nil || *ans.Target.AppID != a.ID ||
		len(ans.Checks) != 1 || ans.Checks[0].GrantedBy.Grant != "app/"+a.ID+":keyset:read-write" ||
		ans.Checks[0].Resource != "keyset" || ans.Checks[0].Access != "write" {
		t.Errorf("app key, PATCH config of its keyset: %+v", ans)
	}
	ans = e.authz(appKey, map[string]any{"action": "updateKeysetConfig", "target": map[string]any{"keysetId": kb}})
	if ans.Allowed || ans.Checks[0].Missing == nil || ans.Checks[0].Missing.Grant != "keyset/"+kb+":keyset:read-write" ||
		ans.Checks[0].Missing.Label != "Keyset "+kb+" · Keyset · Read & write" ||
		!cmp.Equal(ans.Reasons, []string{"missing permission: Keyset " + kb + " · Keyset · Read & write"}) {
		t.Errorf("app key, config of another app's keyset: %+v", ans)
	}
	// Keyset creation needs two rows on the app; the answer names each.
	ans = e.authz(keysetKey, map[string]any{"action": "createKeyset", "target": map[string]any{"appId": b.ID}})
	if ans.Allowed || len(ans.Checks) != 2 || ans.Checks[0].Missing.Grant != "app/"+b.ID+":keyset:read-write" ||
		ans.Checks[1].Missing.Grant != "app/"+b.ID+":secret-key:read" {
		t.Errorf("keyset key, createKeyset: %+v", ans)
	}
	ans = e.authz(e.key, map[string]any{"action": "createKeyset", "target": map[string]any{"appId": b.ID}})
	if !ans.Allowed || ans.Checks[0].GrantedBy.Grant != "account:keyset:read-write" || ans.Checks[1].GrantedBy.Grant != "account:secret-key:read-write" {
		t.Errorf("account key, createKeyset: %+v", ans)
	}
	// Asking runs nothing.
	if n := e.keysetTotal(); n != 2 {
		t.Errorf("%d keysets after asking, want 2", n)
	}
	// The account-level operations decide at the account, whatever target is named.
	ans = e.authz(appKey, map[string]any{"action": "createApp", "target": map[string]any{"appId": a.ID}})
	if ans.Allowed || ans.Target.AppID != nil || ans.Checks[0].Missing.Grant != "account:app:read-write" {
		t.Errorf("app key, createApp: %+v", ans)
	}
	// The questions about oneself are always allowed, with no rows needed.
	ans = e.authz(noneKey, map[string]any{"action": "getMe"})
	if !ans.Allowed || len(ans.Checks) != 0 {
		t.Errorf("getMe: %+v", ans)
	}

	for _, tc := range []struct {
		body any
		msgs []string
	}{
		{map[string]any{}, []string{"body: give action (an operationId) or method and path"}},
		{map[string]any{"action": "deleteEverything"}, []string{`action: "deleteEverything" is not an operationId of this API (see /openapi.yaml), such as getKeyset`}},
		{map[string]any{"action": "getKeyset"}, []string{"target.keysetId: required for getKeyset"}},
		{map[string]any{"action": "createKeyset", "target": map[string]any{"keysetId": ka}}, []string{"target.appId: required for createKeyset"}},
		{map[string]any{"action": "getKeyset", "method": "GET", "path": "/v2/apps"}, []string{"body: give action (with target) or method and path, not both"}},
		{map[string]any{"method": "GET"}, []string{"body: method and path go together"}},
		{map[string]any{"method": "GET", "path": "/v2/nothing"}, []string{`path: "/v2/nothing" matches no operation of this API`}},
		{map[string]any{"method": "PUT", "path": "/v2/apps"}, []string{"method: PUT /v2/apps is not an operation; the path offers [GET POST]"}},
		{map[string]any{"method": "GET", "path": "/v2/keysets/abc"}, []string{`path: keysetId must be a positive integer, not "abc"`}},
		{map[string]any{"action": "getKeyset", "target": map[string]any{"keysetId": 12}}, []string{"target.keysetId: must be a string"}},
		{map[string]any{"action": "getKeyset", "target": map[string]any{"keysetId": "x1"}}, []string{`target.keysetId: must be a numeric id such as "12", not "x1"`}},
		{map[string]any{"action": "getKeyset", "extra": true}, []string{"extra: unknown field"}},
	} {
		e.do("POST", "/v2/authz/check", tc.body, as(noneKey)).wantError(400, tc.msgs...)
	}
}

// The check tells a key nothing about keysets it cannot read: asked about
// a keyset of its account, a missing one, or another account's, a key
// without a keyset row gets the same answer, the keyset's app included
// (null). A key that may read the keyset, or may do the operation on it,
// learns its app, as trying would tell it.
func TestAuthzCheckTellsNothingOfKeysetsItCannotRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.createApp("Alpha")
	mine := e.createKeyset(app.ID, "alpha").Keyset.ID
	_, otherKey := e.otherAccount()
	var theirApp appJSON
	e.do("POST", "/v2/apps", map[string]any{"name": "Theirs"}, as(otherKey)).want(201).decode(&theirApp)
	var foreign keysetCreated
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"name": "theirs", "type": "testing", "appId": theirApp.ID}}, as(otherKey)).want(201).decode(&foreign)
	reporter, _, _ := e.integration("reporter", "account:usage-report:write")
	reader, _, _ := e.integration("reader", "app/"+app.ID+":keyset:read")

	answer := func(key, id string) string {
		a := e.authz(key, map[string]any{"method": "PATCH", "path": "/v2/keysets/" + id + "/config"})
		appID := "null"
		if a.Target.AppID != nil {
			appID = *a.Target.AppID
		}
		return fmt.Sprintf("allowed=%v app=%s reasons=%v", a.Allowed, appID, a.Reasons)
	}
	missing := answer(reporter, "99999")
	for _, id := range []string{mine, foreign.Keyset.ID} {
		if got := strings.ReplaceAll(answer(reporter, id), id, "99999"); got != missing {
			t.Errorf("keyset %s: %s; a missing keyset: %s", id, got, missing)
		}
	}
	if got := answer(reader, mine); !strings.Contains(got, "app="+app.ID) {
		t.Errorf("a key that may read the keyset: %s, want its app %s", got, app.ID)
	}
}
