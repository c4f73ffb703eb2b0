package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane"
)

// Missing, malformed, mistyped, unknown, revoked and expired keys are 401s;
// the bare key and "Bearer <key>" both work.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, _, _ := e.integration("reader", "account:app:read")

	unknown, err := keyplane.NewAPIKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	broken := key[:len(key)-1] + "A" // the last character belongs to the checksum
	if key[len(key)-1] == 'A' {
		broken = key[:len(key)-1] + "B"
	}

	for _, tc := range []struct {
		name, header, msg string
	}{
		{"none", "", "Authorization: required; send the API key of a Service Integration"},
		{"spaces", "   ", "Authorization: required; send the API key of a Service Integration"},
		{"garbage", "hello", "Authorization: not a Keyplane API key (si_…)"},
		{"bearer alone", "Bearer", "Authorization: not a Keyplane API key (si_…)"},
		{"other scheme", "Basic " + key, "Authorization: not a Keyplane API key (si_…)"},
		{"truncated", key[:len(key)-1], "Authorization: not a Keyplane API key (si_…)"},
		{"not base62", key[:10] + "-" + key[11:], "Authorization: not a Keyplane API key (si_…)"},
		{"broken checksum", broken, "Authorization: API key checksum does not match (mistyped or truncated key)"},
		{"unknown", unknown, "Authorization: unknown API key"},
		{"bearer unknown", "Bearer " + unknown, "Authorization: unknown API key"},
	} {
		r := e.do("GET", "/v2/apps", nil, as(tc.header))
		if r.Status != 401 {
			t.Errorf("%s: status %d, want 401", tc.name, r.Status)
			continue
		}
		r.wantError(401, tc.msg)
	}

	for _, h := range []string{key, "Bearer " + key, "bearer " + key, "BEARER  " + key} {
		e.do("GET", "/v2/apps", nil, as(h)).want(200)
	}
}

// Revocation and expiry take effect on the very next request.
func TestRevokedAndExpiredKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	key, in, nk := e.integration("revokee", "account:app:read")
	e.do("GET", "/v2/apps", nil, as(key)).want(200)
	second, err := e.svc.CreateAPIKey(ctx, keyplane.Operator(e.account), in.ID, e.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.remember(second.Key)

	// By id.
	if _, already, err := e.svc.RevokeAPIKey(ctx, keyplane.Operator(1), strconv.FormatInt(nk.ID, 10)); err != nil || already {
		t.Fatalf("RevokeAPIKey: already=%v err=%v", already, err)
	}
	e.do("GET", "/v2/apps", nil, as(key)).wantError(401, "Authorization: API key revoked")
	e.do("GET", "/v2/apps", nil, as("Bearer "+key)).wantError(401, "Authorization: API key revoked")
	// The integration's other key still works…
	e.do("GET", "/v2/apps", nil, as(second.Key)).want(200)
	// …until it expires.
	e.clock.Advance(time.Hour - time.Millisecond)
	e.do("GET", "/v2/apps", nil, as(second.Key)).want(200)
	e.clock.Advance(time.Millisecond)
	e.do("GET", "/v2/apps", nil, as(second.Key)).wantError(401, "Authorization: API key expired")

	// By the whole key, as whoever found a leaked key has it.
	third, _, _ := e.integration("leaky", "account:keyset:read")
	e.do("GET", "/v2/keysets", nil, as(third)).want(200)
	if _, _, err := e.svc.RevokeAPIKey(ctx, keyplane.Operator(1), third); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/v2/keysets", nil, as(third)).wantError(401, "Authorization: API key revoked")
	// A refused key writes nothing.
	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, as(third)).want(401)
	if n := e.appTotal(); n != 0 {
		t.Errorf("apps = %d after a revoked key's POST, want 0", n)
	}
}

// A 403 never tells whether the target exists: the body for a keyset the
// key may not see is the same before and after that keyset is deleted, and
// the same shape as for an id that never existed. A key whose rows would
// cover the target gets the 404.
func TestForbiddenDoesNotLeakExistence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app1, app2 := e.createApp("mine"), e.createApp("theirs")
	mine := e.createKeyset(app1.ID, "mine").Keyset.ID
	theirs := e.createKeyset(app2.ID, "theirs").Keyset.ID
	limited, _, _ := e.integration("app 1 only", "app/"+app1.ID+":keyset:read", "app/"+app1.ID+":app:read", "app/"+app1.ID+":secret-key:read")
	accountReader, _, _ := e.integration("account reader", "account:keyset:read", "account:app:read")

	e.do("GET", "/v2/keysets/"+mine, nil, as(limited)).want(200)
	e.do("GET", "/v2/apps/"+app1.ID, nil, as(limited)).want(200)

	paths := []struct{ path, msg string }{
		{"/v2/keysets/" + theirs, "missing permission: Keyset " + theirs + " · Keyset · Read"},
		{"/v2/keysets/" + theirs + "/config", "missing permission: Keyset " + theirs + " · Keyset · Read"},
		{"/v2/keysets/" + theirs + "/secret-keys", "missing permission: Keyset " + theirs + " · Secret key · Read"},
	}
	before := map[string][]byte{}
	for _, p := range paths {
		r := e.do("GET", p.path, nil, as(limited))
		r.wantError(403, p.msg)
		before[p.path] = r.Body
	}
	appBefore := e.do("GET", "/v2/apps/"+app2.ID, nil, as(limited))
	appBefore.wantError(403, "missing permission: App "+app2.ID+" · App · Read")

	e.do("DELETE", "/v2/keysets/"+theirs, nil).want(200)
	e.do("DELETE", "/v2/apps/"+app2.ID, nil).want(200)
	for _, p := range paths {
		r := e.do("GET", p.path, nil, as(limited))
		r.wantError(403, p.msg)
		if !bytes.Equal(r.Body, before[p.path]) {
			t.Errorf("GET %s: 403 body differs once the keyset is gone:\nbefore %s\nafter  %s", p.path, before[p.path], r.Body)
		}
	}
	if r := e.do("GET", "/v2/apps/"+app2.ID, nil, as(limited)); !bytes.Equal(r.Body, appBefore.Body) || r.Status != 403 {
		t.Errorf("GET app %s: %d %s once deleted, want the same 403 as before: %s", app2.ID, r.Status, r.Body, appBefore.Body)
	}
	// Ids that never existed get the same answer.
	e.do("GET", "/v2/keysets/424242", nil, as(limited)).wantError(403, "missing permission: Keyset 424242 · Keyset · Read")
	e.do("GET", "/v2/apps/424242", nil, as(limited)).wantError(403, "missing permission: App 424242 · App · Read")
	e.do("PATCH", "/v2/keysets/424242", map[string]any{"name": "x"}, as(limited)).
		wantError(403, "missing permission: Keyset 424242 · Keyset · Read & write")
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"appId": "424242"}}, as(limited)).
		wantError(403, "missing permission: App 424242 · Keyset · Read & write", "missing permission: App 424242 · Secret key · Read")

	// A key that covers the whole account learns that they are gone.
	e.do("GET", "/v2/keysets/"+theirs, nil, as(accountReader)).wantError(404, "keyset "+theirs+": not found")
	e.do("GET", "/v2/apps/"+app2.ID, nil, as(accountReader)).wantError(404, "app "+app2.ID+": not found")
	e.do("GET", "/v2/keysets/424242", nil, as(accountReader)).wantError(404, "keyset 424242: not found")
}

// Lists hold only what the key may read, and total counts only that.
func TestListsShowOnlyVisible(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app1, app2, app3 := e.createApp("one"), e.createApp("two"), e.createApp("three")
	a1k1 := e.createKeyset(app1.ID, "1.1").Keyset.plain()
	a2k1 := e.createKeyset(app2.ID, "2.1").Keyset.plain()
	a1k2 := e.createKeyset(app1.ID, "1.2").Keyset.plain()
	a3k1 := e.createKeyset(app3.ID, "3.1").Keyset.plain()
	a2k2 := e.createKeyset(app2.ID, "2.2").Keyset.plain()

	mixed, _, _ := e.integration("mixed",
		"app/"+app1.ID+":app:read", "app/"+app3.ID+":app:rw",
		"app/"+app1.ID+":keyset:read", "keyset/"+a2k2.ID+":keyset:rw")
	var al appList
	e.do("GET", "/v2/apps?limit=100", nil, as(mixed)).want(200).decode(&al)
	if diff := cmp.Diff(appList{Apps: []appJSON{app1, app3}, Total: 2, Page: 1, Limit: 100}, al); diff != "" {
		t.Errorf("apps of app-level rows (-want +got):\n%s", diff)
	}
	var kl keysetList
	e.do("GET", "/v2/keysets", nil, as(mixed)).want(200).decode(&kl)
	if diff := cmp.Diff(keysetList{Keysets: []keysetJSON{a1k1, a1k2, a2k2}, Total: 3, Page: 1, Limit: 10}, kl); diff != "" {
		t.Errorf("keysets of app- and keyset-level rows (-want +got):\n%s", diff)
	}
	var seen []keysetJSON
	for page := 1; page <= 3; page++ {
		e.do("GET", "/v2/keysets?limit=1&page="+strconv.Itoa(page), nil, as(mixed)).want(200).decode(&kl)
		if kl.Total != 3 {
			t.Errorf("page %d: total %d, want 3", page, kl.Total)
		}
		seen = append(seen, kl.Keysets...)
	}
	if diff := cmp.Diff([]keysetJSON{a1k1, a1k2, a2k2}, seen); diff != "" {
		t.Errorf("paging one at a time (-want +got):\n%s", diff)
	}

	keysetOnly, _, _ := e.integration("keyset only", "keyset/"+a3k1.ID+":keyset:read")
	e.do("GET", "/v2/apps", nil, as(keysetOnly)).wantError(403, "missing permission: Account · App · Read")
	e.do("GET", "/v2/keysets", nil, as(keysetOnly)).want(200).decode(&kl)
	if diff := cmp.Diff(keysetList{Keysets: []keysetJSON{a3k1}, Total: 1, Page: 1, Limit: 10}, kl); diff != "" {
		t.Errorf("keysets of one keyset row (-want +got):\n%s", diff)
	}
	appOnly, _, _ := e.integration("apps only", "account:app:read")
	e.do("GET", "/v2/keysets", nil, as(appOnly)).wantError(403, "missing permission: Account · Keyset · Read")
	e.do("GET", "/v2/apps", nil, as(appOnly)).want(200).decode(&al)
	if al.Total != 3 || len(al.Apps) != 3 {
		t.Errorf("account:app:read sees %d of %d apps, want 3", len(al.Apps), al.Total)
	}
	secretOnly, _, _ := e.integration("secrets only", "account:secret-key:rw")
	e.do("GET", "/v2/keysets", nil, as(secretOnly)).wantError(403, "missing permission: Account · Keyset · Read")
	_ = a2k1
}

// Creating a keyset needs Keyset · Read & write and Secret key · Read on
// the app; each missing row is named.
func TestCreateKeysetPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app1, app2 := e.createApp("one"), e.createApp("two")
	body := map[string]any{"keyset": map[string]any{"appId": app1.ID, "name": "n"}}
	rwNoSecret, _, _ := e.integration("no secret", "app/"+app1.ID+":keyset:rw")
	secretNoRW, _, _ := e.integration("no rw", "app/"+app1.ID+":secret-key:read")
	readAndSecret, _, _ := e.integration("read only", "app/"+app1.ID+":keyset:read", "app/"+app1.ID+":secret-key:rw")
	both, _, _ := e.integration("both", "app/"+app1.ID+":keyset:rw", "app/"+app1.ID+":secret-key:read")
	keysetLevel, _, _ := e.integration("keyset level", "account:keyset:read") // to check totals

	e.do("POST", "/v2/keysets", body, as(rwNoSecret)).wantError(403, "missing permission: App "+app1.ID+" · Secret key · Read")
	e.do("POST", "/v2/keysets", body, as(secretNoRW)).wantError(403, "missing permission: App "+app1.ID+" · Keyset · Read & write")
	e.do("POST", "/v2/keysets", body, as(readAndSecret)).wantError(403, "missing permission: App "+app1.ID+" · Keyset · Read & write")
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"appId": app2.ID}}, as(both)).wantError(403,
		"missing permission: App "+app2.ID+" · Keyset · Read & write", "missing permission: App "+app2.ID+" · Secret key · Read")
	var kl keysetList
	e.do("GET", "/v2/keysets", nil, as(keysetLevel)).want(200).decode(&kl)
	if kl.Total != 0 {
		t.Errorf("refused creations made %d keysets", kl.Total)
	}
	var k keysetCreated
	e.do("POST", "/v2/keysets", body, as(both)).want(201).decode(&k)
	if len(k.Keyset.SecretKeys) != 1 {
		t.Errorf("create answer secretKeys = %+v", k.Keyset.SecretKeys)
	}
	// An account-level row covers every app.
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"appId": app2.ID}}).want(201)
}

// App writes need App · Read & write: at account level to create, on the
// app to rename or delete.
func TestAppPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app1, app2 := e.createApp("one"), e.createApp("two")
	reader, _, _ := e.integration("reader", "account:app:read")
	appRW, _, _ := e.integration("app 1 rw", "app/"+app1.ID+":app:rw")

	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, as(reader)).wantError(403, "missing permission: Account · App · Read & write")
	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, as(appRW)).wantError(403, "missing permission: Account · App · Read & write")
	e.do("PATCH", "/v2/apps/"+app1.ID, map[string]any{"name": "x"}, as(reader)).wantError(403, "missing permission: App "+app1.ID+" · App · Read & write")
	e.do("DELETE", "/v2/apps/"+app1.ID, nil, as(reader)).wantError(403, "missing permission: App "+app1.ID+" · App · Read & write")
	e.do("PATCH", "/v2/apps/"+app2.ID, map[string]any{"name": "x"}, as(appRW)).wantError(403, "missing permission: App "+app2.ID+" · App · Read & write")
	e.do("GET", "/v2/apps/"+app2.ID, nil, as(appRW)).wantError(403, "missing permission: App "+app2.ID+" · App · Read")
	if n := e.appTotal(); n != 2 {
		t.Errorf("apps = %d after refused writes, want 2", n)
	}
	e.do("GET", "/v2/apps/"+app1.ID, nil, as(appRW)).want(200)
	e.do("PATCH", "/v2/apps/"+app1.ID, map[string]any{"name": "renamed"}, as(appRW)).want(200)
	e.do("DELETE", "/v2/apps/"+app1.ID, nil, as(appRW)).want(200)
}

// A keyset-level Keyset row reaches that keyset and its config, and
// nothing else: not other keysets, not creation, not secret keys.
func TestKeysetLevelRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.createApp("one")
	k := e.createKeyset(app.ID, "mine").Keyset.ID
	other := e.createKeyset(app.ID, "other").Keyset.ID
	key, _, _ := e.integration("one keyset", "keyset/"+k+":keyset:rw")

	e.do("GET", "/v2/keysets/"+k, nil, as(key)).want(200)
	e.do("PATCH", "/v2/keysets/"+k, map[string]any{"name": "renamed", "type": "production"}, as(key)).want(200)
	e.do("GET", "/v2/keysets/"+k+"/config", nil, as(key)).want(200)
	e.do("PATCH", "/v2/keysets/"+k+"/config", map[string]any{"presence": map[string]any{"deltas": true}}, as(key)).want(200)

	e.do("GET", "/v2/keysets/"+other, nil, as(key)).wantError(403, "missing permission: Keyset "+other+" · Keyset · Read")
	e.do("PATCH", "/v2/keysets/"+other+"/config", `{}`, as(key)).wantError(403, "missing permission: Keyset "+other+" · Keyset · Read & write")
	e.do("DELETE", "/v2/keysets/"+other, nil, as(key)).wantError(403, "missing permission: Keyset "+other+" · Keyset · Read & write")
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"appId": app.ID}}, as(key)).wantError(403,
		"missing permission: App "+app.ID+" · Keyset · Read & write", "missing permission: App "+app.ID+" · Secret key · Read")
	e.do("GET", "/v2/apps/"+app.ID, nil, as(key)).wantError(403, "missing permission: App "+app.ID+" · App · Read")
	e.do("GET", "/v2/keysets/"+k+"/secret-keys", nil, as(key)).wantError(403, "missing permission: Keyset "+k+" · Secret key · Read")
	e.do("POST", "/v2/keysets/"+k+"/secret-keys", nil, as(key)).wantError(403, "missing permission: Keyset "+k+" · Secret key · Read & write")

	var kl keysetList
	e.do("GET", "/v2/keysets", nil, as(key)).want(200).decode(&kl)
	if kl.Total != 1 || len(kl.Keysets) != 1 || kl.Keysets[0].ID != k || kl.Keysets[0].Name != "renamed" || kl.Keysets[0].Type != "production" {
		t.Errorf("keyset-level list = %+v", kl)
	}
	e.do("DELETE", "/v2/keysets/"+k, nil, as(key)).want(200)
	// Now gone, and the row covered it: a 404.
	e.do("GET", "/v2/keysets/"+k, nil, as(key)).wantError(404, "keyset "+k+": not found")
	e.do("GET", "/v2/keysets/"+other, nil).want(200)
}

// Secret-key routes need the Secret key resource, not the Keyset one.
func TestSecretKeyPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.createApp("one")
	created := e.createKeyset(app.ID, "k")
	k := created.Keyset.ID
	rotated := created.Keyset.SecretKeys[0].SecretKey[:11]
	e.rotate(k, iso(e.clock.Now().Add(time.Hour)))
	exp := map[string]any{"expiresAt": iso(e.clock.Now().Add(2 * time.Hour))}

	keysetRW, _, _ := e.integration("keyset rw", "account:keyset:rw")
	e.do("GET", "/v2/keysets/"+k+"/secret-keys", nil, as(keysetRW)).wantError(403, "missing permission: Keyset "+k+" · Secret key · Read")
	e.do("POST", "/v2/keysets/"+k+"/secret-keys", nil, as(keysetRW)).wantError(403, "missing permission: Keyset "+k+" · Secret key · Read & write")
	e.do("PATCH", "/v2/keysets/"+k+"/secret-keys/"+rotated, exp, as(keysetRW)).wantError(403, "missing permission: Keyset "+k+" · Secret key · Read & write")
	e.do("DELETE", "/v2/keysets/"+k+"/secret-keys/"+rotated, nil, as(keysetRW)).wantError(403, "missing permission: Keyset "+k+" · Secret key · Read & write")

	secretRead, _, _ := e.integration("secret read", "keyset/"+k+":secret-key:read")
	e.do("GET", "/v2/keysets/"+k+"/secret-keys", nil, as(secretRead)).want(200)
	e.do("POST", "/v2/keysets/"+k+"/secret-keys", nil, as(secretRead)).wantError(403, "missing permission: Keyset "+k+" · Secret key · Read & write")
	e.do("DELETE", "/v2/keysets/"+k+"/secret-keys/"+rotated, nil, as(secretRead)).wantError(403, "missing permission: Keyset "+k+" · Secret key · Read & write")
	e.do("GET", "/v2/keysets/"+k, nil, as(secretRead)).wantError(403, "missing permission: Keyset "+k+" · Keyset · Read")
	if n := len(e.secretKeys(k)); n != 2 {
		t.Errorf("refused requests changed the secret keys: %d, want 2", n)
	}

	appSecretRW, _, _ := e.integration("app secret rw", "app/"+app.ID+":secret-key:rw")
	e.do("PATCH", "/v2/keysets/"+k+"/secret-keys/"+rotated, exp, as(appSecretRW)).want(200)
	e.do("DELETE", "/v2/keysets/"+k+"/secret-keys/"+rotated, nil, as(appSecretRW)).want(200)
	e.do("POST", "/v2/keysets/"+k+"/secret-keys", nil, as(appSecretRW)).want(201)
}
