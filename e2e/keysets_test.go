package e2e

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	pubKeyRE    = regexp.MustCompile(`^pub-c-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	subKeyRE    = regexp.MustCompile(`^sub-c-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	secretKeyRx = regexp.MustCompile(`^sec-c-[A-Za-z0-9]{48}$`)
)

// K1–K5 and C1: create (with the secret key and the full default config),
// get, list, update, delete.
func TestKeysetsHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("Telemedicine")
	created := iso(e.clock.Now())

	r := e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"name": "prod", "type": "production", "appId": a.ID}}).want(201)
	var k keysetCreated
	r.decode(&k)
	ks := k.Keyset
	if ks.ID == "" || ks.AppID != a.ID || ks.Name != "prod" || ks.Type != "production" || ks.CreatedAt != created || ks.UpdatedAt != created {
		t.Errorf("created keyset = %+v", ks)
	}
	if !pubKeyRE.MatchString(ks.PublishKey) || !subKeyRE.MatchString(ks.SubscribeKey) {
		t.Errorf("publish/subscribe keys %q %q are not pub-c-/sub-c- + UUID v4", ks.PublishKey, ks.SubscribeKey)
	}
	if len(ks.SecretKeys) != 1 || !secretKeyRx.MatchString(ks.SecretKeys[0].SecretKey) || ks.SecretKeys[0].ExpiresAt != nil {
		t.Fatalf("created keyset secretKeys = %+v, want one sec-c-… main key with expiresAt null", ks.SecretKeys)
	}
	secret := ks.SecretKeys[0].SecretKey
	if diff := cmp.Diff(jsonObject(t, defaultConfig), k.Config); diff != "" {
		t.Errorf("create answer config is not the README defaults (-want +got):\n%s", diff)
	}

	plain := ks
	plain.SecretKeys = nil
	// K3 and K1 never carry secret keys.
	got := e.do("GET", "/v2/keysets/"+ks.ID, nil).want(200)
	if _, has := got.object()["secretKeys"]; has {
		t.Errorf("GET keyset carries secretKeys: %s", got.Body)
	}
	var g keysetJSON
	got.decode(&g)
	if diff := cmp.Diff(plain, g); diff != "" {
		t.Errorf("GET keyset (-want +got):\n%s", diff)
	}
	list := e.do("GET", "/v2/keysets", nil).want(200)
	for _, item := range list.object()["keysets"].([]any) {
		if _, has := item.(map[string]any)["secretKeys"]; has {
			t.Errorf("keyset list item carries secretKeys: %s", list.Body)
		}
	}
	var l keysetList
	list.decode(&l)
	if diff := cmp.Diff(keysetList{Keysets: []keysetJSON{plain}, Total: 1, Page: 1, Limit: 10}, l); diff != "" {
		t.Errorf("GET /v2/keysets (-want +got):\n%s", diff)
	}

	// C1 answers the defaults; S1 the full key made at creation.
	if diff := cmp.Diff(jsonObject(t, defaultConfig), e.config(ks.ID)); diff != "" {
		t.Errorf("GET config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]secretKeyJSON{{SecretKey: secret}}, e.secretKeys(ks.ID)); diff != "" {
		t.Errorf("GET secret-keys (-want +got):\n%s", diff)
	}

	// K4: name only, type only, both.
	e.clock.Advance(3 * time.Second)
	updated := iso(e.clock.Now())
	for _, tc := range []struct {
		body      map[string]any
		name, typ string
	}{
		{map[string]any{"name": "production"}, "production", "production"},
		{map[string]any{"type": "testing"}, "production", "testing"},
		{map[string]any{"name": "prod-eu", "type": "production"}, "prod-eu", "production"},
	} {
		var u keysetJSON
		e.do("PATCH", "/v2/keysets/"+ks.ID, tc.body).want(200).decode(&u)
		want := plain
		want.Name, want.Type, want.UpdatedAt = tc.name, tc.typ, updated
		if diff := cmp.Diff(want, u); diff != "" {
			t.Errorf("PATCH %v (-want +got):\n%s", tc.body, diff)
		}
		e.do("GET", "/v2/keysets/"+ks.ID, nil).want(200).decode(&g)
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("GET after PATCH %v (-want +got):\n%s", tc.body, diff)
		}
	}

	// K5 deletes the keyset with its config and secret keys.
	del := e.do("DELETE", "/v2/keysets/"+ks.ID, nil).want(200).object()
	if diff := cmp.Diff(map[string]any{"success": true}, del); diff != "" {
		t.Errorf("DELETE answer (-want +got):\n%s", diff)
	}
	missing := "keyset " + ks.ID + ": not found"
	e.do("GET", "/v2/keysets/"+ks.ID, nil).wantError(404, missing)
	e.do("GET", "/v2/keysets/"+ks.ID+"/config", nil).wantError(404, missing)
	e.do("GET", "/v2/keysets/"+ks.ID+"/secret-keys", nil).wantError(404, missing)
	e.do("DELETE", "/v2/keysets/"+ks.ID, nil).wantError(404, missing)
	e.do("PATCH", "/v2/keysets/"+ks.ID, map[string]any{"name": "x"}).wantError(404, missing)
	if n := e.keysetTotal(); n != 0 {
		t.Errorf("keyset total after delete = %d, want 0", n)
	}
}

// plain drops the secret keys, which only the create answer carries.
func (k keysetJSON) plain() keysetJSON {
	k.SecretKeys = nil
	return k
}

// A keyset made with nothing but its app gets the default name and type.
func TestCreateKeysetDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	var k keysetCreated
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"appId": a.ID}}).want(201).decode(&k)
	if k.Keyset.Name != "Default Keyset" || k.Keyset.Type != "testing" {
		t.Errorf("keyset without name or type = %q %q, want \"Default Keyset\" \"testing\"", k.Keyset.Name, k.Keyset.Type)
	}
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"appId": a.ID}, "config": nil}).want(201)
}

// README ("IDs and times") and the contract's IdInput: ids travel as
// strings in request bodies too, as PubNub's schema has them; a number is
// refused naming the field, and nothing is made.
func TestCreateKeysetAppIDIsAString(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	e.do("POST", "/v2/keysets", fmt.Sprintf(`{"keyset":{"name":"n","appId":%s}}`, a.ID)).wantError(400, "keyset.appId: must be a string")
	if n := e.keysetTotal(); n != 0 {
		t.Errorf("keysets = %d after a refused creation, want 0", n)
	}
	var k keysetCreated
	e.do("POST", "/v2/keysets", fmt.Sprintf(`{"keyset":{"name":"n","appId":"%s"}}`, a.ID)).want(201).decode(&k)
	if k.Keyset.AppID != a.ID {
		t.Errorf("appId = %q, want %q", k.Keyset.AppID, a.ID)
	}
}

// Keyset lists page like app lists; every item carries its appId.
func TestKeysetsPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apps := []appJSON{e.createApp("a"), e.createApp("b")}
	var all []keysetJSON
	for i := range 23 {
		k := e.createKeyset(apps[i%2].ID, fmt.Sprintf("ks %02d", i))
		all = append(all, k.Keyset.plain())
	}
	var seen []keysetJSON
	for page := 1; page <= 3; page++ {
		var l keysetList
		e.do("GET", fmt.Sprintf("/v2/keysets?page=%d&limit=10", page), nil).want(200).decode(&l)
		if l.Total != 23 || l.Page != page || l.Limit != 10 {
			t.Errorf("page %d: total/page/limit = %d/%d/%d, want 23/%d/10", page, l.Total, l.Page, l.Limit, page)
		}
		seen = append(seen, l.Keysets...)
	}
	if diff := cmp.Diff(all, seen); diff != "" {
		t.Errorf("pages 1–3 of 10 (-want +got):\n%s", diff)
	}
	var l keysetList
	e.do("GET", "/v2/keysets?limit=100", nil).want(200).decode(&l)
	if diff := cmp.Diff(keysetList{Keysets: all, Total: 23, Page: 1, Limit: 100}, l); diff != "" {
		t.Errorf("limit=100 (-want +got):\n%s", diff)
	}
	for i, k := range l.Keysets {
		if k.AppID != apps[i%2].ID {
			t.Errorf("keyset %s appId %q, want %q", k.ID, k.AppID, apps[i%2].ID)
		}
	}
}
