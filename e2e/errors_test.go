package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Bad app bodies are 400s (413 when too big) naming the problem, and write
// nothing.
func TestAppBodyRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("keep")
	for _, tc := range []struct {
		body string
		msgs []string
	}{
		{`{"name":12}`, []string{"name: must be a string"}},
		{`{"name":null}`, []string{"name: required"}},
		{`{"name":true}`, []string{"name: must be a string"}},
		{`{"name":"x","region":"eu"}`, []string{"region: unknown field"}},
		{`{"Name":"x"}`, []string{"Name: unknown field"}},
		{`{"name":"x","name":"y"}`, []string{"name: duplicate field"}},
		{`{}`, []string{"name: required"}},
		{``, []string{"body: required"}},
		{`   `, []string{"body: required"}},
		{`[]`, []string{"body: must be a JSON object"}},
		{`"x"`, []string{"body: must be a JSON object"}},
		{`{"name":"x"} {"name":"y"}`, []string{"body: unexpected data after the JSON object"}},
		{`{"name":"` + strings.Repeat("n", 256) + `"}`, []string{"name: at most 255 characters"}},
		{`{"name":"   "}`, []string{"name: required, and not only spaces"}},
		{`{"name":""}`, []string{"name: required, and not only spaces"}},
		{`{"name":"tab\tname"}`, []string{"name: must not contain control characters"}},
	} {
		e.do("POST", "/v2/apps", tc.body).wantError(400, tc.msgs...)
		e.do("PATCH", "/v2/apps/"+a.ID, tc.body).wantError(400, tc.msgs...)
	}
	for _, body := range []string{`{"name":`, `{"name":"x",}`, `{name:"x"}`, `{"name":"x"`} {
		e.do("POST", "/v2/apps", body).wantErrorContaining(400, "body: invalid JSON")
		e.do("PATCH", "/v2/apps/"+a.ID, body).wantErrorContaining(400, "body: invalid JSON")
	}
	// 255 characters is still a name.
	long := strings.Repeat("é", 255)
	e.do("PATCH", "/v2/apps/"+a.ID, map[string]any{"name": long}).want(200)
	e.do("PATCH", "/v2/apps/"+a.ID, map[string]any{"name": "keep"}).want(200)

	// Over 1 MiB.
	huge := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
	e.do("POST", "/v2/apps", huge).wantError(413, "body: larger than 1048576 bytes")
	e.do("PATCH", "/v2/apps/"+a.ID, huge).wantError(413, "body: larger than 1048576 bytes")

	var l appList
	e.do("GET", "/v2/apps", nil).want(200).decode(&l)
	if diff := cmp.Diff(appList{Apps: []appJSON{a}, Total: 1, Page: 1, Limit: 10}, l); diff != "" {
		t.Errorf("apps after refused requests (-want +got):\n%s", diff)
	}
}

// Bad keyset bodies.
func TestKeysetBodyRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "keep").Keyset
	for _, tc := range []struct {
		body string
		msgs []string
	}{
		{`{}`, []string{"keyset: required"}},
		{`{"keyset":{}}`, []string{"keyset.appId: required"}},
		{`{"keyset":null}`, []string{"keyset: must be an object"}},
		{`{"keyset":{"appId":"abc"}}`, []string{`keyset.appId: must be a numeric id such as "12", not "abc"`}},
		{`{"keyset":{"appId":"0"}}`, []string{`keyset.appId: must be a numeric id such as "12", not "0"`}},
		{`{"keyset":{"appId":"-3"}}`, []string{`keyset.appId: must be a numeric id such as "12", not "-3"`}},
		{`{"keyset":{"appId":true}}`, []string{"keyset.appId: must be a string"}},
		{`{"keyset":{"appId":"` + a.ID + `","type":"staging"}}`, []string{"keyset.type: must be testing or production"}},
		{`{"keyset":{"appId":"` + a.ID + `","type":7}}`, []string{"keyset.type: must be a string"}},
		{`{"keyset":{"appId":"` + a.ID + `","name":"   "}}`, []string{"keyset.name: required, and not only spaces"}},
		{`{"keyset":{"appId":"` + a.ID + `","name":"` + strings.Repeat("k", 256) + `"}}`, []string{"keyset.name: at most 255 characters"}},
		{`{"keyset":{"appId":"` + a.ID + `","name":12}}`, []string{"keyset.name: must be a string"}},
		{`{"keyset":{"appId":"` + a.ID + `","color":"red"}}`, []string{"keyset.color: unknown field"}},
		{`{"keyset":{"appId":"` + a.ID + `"},"plan":"pro"}`, []string{"plan: unknown field"}},
		{`{"keyset":{"appId":"` + a.ID + `","name":" ","type":"staging"}}`, []string{"keyset.name: required, and not only spaces", "keyset.type: must be testing or production"}},
		{``, []string{"body: required"}},
	} {
		e.do("POST", "/v2/keysets", tc.body).wantError(400, tc.msgs...)
	}
	e.do("POST", "/v2/keysets", `{"keyset":{"appId":"999"}}`).wantError(404, "app 999: not found")
	e.do("POST", "/v2/keysets", `{"keyset":{"appId":"`+a.ID+`","name":"`+strings.Repeat("k", 1<<20)+`"}}`).
		wantError(413, "body: larger than 1048576 bytes")

	for _, tc := range []struct {
		body string
		msgs []string
	}{
		{`{}`, []string{"body: give name, type or both"}},
		{`{"name":null}`, []string{"body: give name, type or both"}},
		{`{"type":"staging"}`, []string{"type: must be testing or production"}},
		{`{"type":""}`, []string{"type: must be testing or production"}},
		{`{"name":"   "}`, []string{"name: required, and not only spaces"}},
		{`{"name":"` + strings.Repeat("k", 256) + `"}`, []string{"name: at most 255 characters"}},
		{`{"name":"x","type":"staging"}`, []string{"type: must be testing or production"}},
		{`{"name":12}`, []string{"name: must be a string"}},
		{`{"appId":"` + a.ID + `"}`, []string{"appId: unknown field"}},
		{``, []string{"body: required"}},
		{`[]`, []string{"body: must be a JSON object"}},
	} {
		e.do("PATCH", "/v2/keysets/"+k.ID, tc.body).wantError(400, tc.msgs...)
	}
	e.do("PATCH", "/v2/keysets/"+k.ID, `{"name":`).wantErrorContaining(400, "body: invalid JSON")
	e.do("PATCH", "/v2/keysets/"+k.ID, `{"name":"`+strings.Repeat("k", 1<<20)+`"}`).wantError(413, "body: larger than 1048576 bytes")
	e.do("PATCH", "/v2/keysets/"+k.ID+"/config", `{"presence":{"activeNoticeChannel":"`+strings.Repeat("c", 1<<20)+`"}}`).
		wantError(413, "body: larger than 1048576 bytes")

	var l keysetList
	e.do("GET", "/v2/keysets", nil).want(200).decode(&l)
	if diff := cmp.Diff(keysetList{Keysets: []keysetJSON{k.plain()}, Total: 1, Page: 1, Limit: 10}, l); diff != "" {
		t.Errorf("keysets after refused requests (-want +got):\n%s", diff)
	}
}

// Path ids must be positive integers (400); unknown ones are 404.
func TestPathIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	e.createKeyset(a.ID, "k")
	for _, bad := range []string{"abc", "0", "-1", "1.5", "1e3", "99999999999999999999", "%20"} {
		shown := bad
		if bad == "%20" {
			shown = " "
		}
		appMsg := `appId: must be a positive integer, not "` + shown + `"`
		ksMsg := `keysetId: must be a positive integer, not "` + shown + `"`
		e.do("GET", "/v2/apps/"+bad, nil).wantError(400, appMsg)
		e.do("PATCH", "/v2/apps/"+bad, map[string]any{"name": "x"}).wantError(400, appMsg)
		e.do("DELETE", "/v2/apps/"+bad, nil).wantError(400, appMsg)
		e.do("GET", "/v2/keysets/"+bad, nil).wantError(400, ksMsg)
		e.do("PATCH", "/v2/keysets/"+bad, map[string]any{"name": "x"}).wantError(400, ksMsg)
		e.do("DELETE", "/v2/keysets/"+bad, nil).wantError(400, ksMsg)
		e.do("GET", "/v2/keysets/"+bad+"/config", nil).wantError(400, ksMsg)
		e.do("PATCH", "/v2/keysets/"+bad+"/config", `{}`).wantError(400, ksMsg)
		e.do("GET", "/v2/keysets/"+bad+"/secret-keys", nil).wantError(400, ksMsg)
		e.do("POST", "/v2/keysets/"+bad+"/secret-keys", nil).wantError(400, ksMsg)
		e.do("PATCH", "/v2/keysets/"+bad+"/secret-keys/sec-c-ABCDE", map[string]any{"expiresAt": "2030-01-01T00:00:00Z"}).wantError(400, ksMsg)
		e.do("DELETE", "/v2/keysets/"+bad+"/secret-keys/sec-c-ABCDE", nil).wantError(400, ksMsg)
	}
	for _, unknown := range []string{"999", "9223372036854775807"} {
		e.do("GET", "/v2/apps/"+unknown, nil).wantError(404, "app "+unknown+": not found")
		e.do("PATCH", "/v2/apps/"+unknown, map[string]any{"name": "x"}).wantError(404, "app "+unknown+": not found")
		e.do("DELETE", "/v2/apps/"+unknown, nil).wantError(404, "app "+unknown+": not found")
		msg := "keyset " + unknown + ": not found"
		e.do("GET", "/v2/keysets/"+unknown, nil).wantError(404, msg)
		e.do("PATCH", "/v2/keysets/"+unknown, map[string]any{"name": "x"}).wantError(404, msg)
		e.do("DELETE", "/v2/keysets/"+unknown, nil).wantError(404, msg)
		e.do("GET", "/v2/keysets/"+unknown+"/config", nil).wantError(404, msg)
		e.do("PATCH", "/v2/keysets/"+unknown+"/config", `{}`).wantError(404, msg)
		e.do("GET", "/v2/keysets/"+unknown+"/secret-keys", nil).wantError(404, msg)
		e.do("POST", "/v2/keysets/"+unknown+"/secret-keys", nil).wantError(404, msg)
		e.do("PATCH", "/v2/keysets/"+unknown+"/secret-keys/sec-c-ABCDE", map[string]any{"expiresAt": iso(e.clock.Now().Add(3600e9))}).wantError(404, msg)
		e.do("DELETE", "/v2/keysets/"+unknown+"/secret-keys/sec-c-ABCDE", nil).wantError(404, msg)
	}
	if e.appTotal() != 1 || e.keysetTotal() != 1 {
		t.Errorf("refused requests changed the lists")
	}
}

// page ≥ 1 and limit 1–100, anything else is a 400.
func TestListQueryRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pageMsg := "page: must be a whole number, 1 or more"
	limitMsg := "limit: must be a whole number from 1 to 100"
	for _, tc := range []struct {
		query string
		msgs  []string
	}{
		{"page=0", []string{pageMsg}},
		{"page=-1", []string{pageMsg}},
		{"page=x", []string{pageMsg}},
		{"page=", []string{pageMsg}},
		{"page=1.5", []string{pageMsg}},
		{"limit=0", []string{limitMsg}},
		{"limit=101", []string{limitMsg}},
		{"limit=-5", []string{limitMsg}},
		{"limit=ten", []string{limitMsg}},
		{"limit=", []string{limitMsg}},
		{"page=0&limit=101", []string{pageMsg, limitMsg}},
	} {
		for _, list := range []string{"/v2/apps", "/v2/keysets"} {
			e.do("GET", list+"?"+tc.query, nil).wantError(400, tc.msgs...)
		}
	}
	// Out-of-range pages answer an empty page, not an error.
	var l appList
	e.do("GET", "/v2/apps?page=7&limit=100", nil).want(200).decode(&l)
	if len(l.Apps) != 0 || l.Total != 0 || l.Page != 7 || l.Limit != 100 {
		t.Errorf("page 7 of nothing = %+v", l)
	}
}

// Unknown routes under /v2 are a JSON 404, wrong methods a JSON 405 with
// Allow. (Paths outside /v2 and the service routes are the Admin Portal's.)
func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "k").Keyset.ID
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v2/oem/access-token"},
		{"POST", "/v2/oem/access-token"}, // O9, for PubNub's Illuminate: not built
		{"POST", "/v2/keysets/" + k + "/config/gcm"},
		{"GET", "/v2/apps/"},
		{"GET", "/v2"},
		{"GET", "/v2/keysets/" + k + "/secret-keys/sec-c-ABCDE/extra"},
	} {
		e.do(tc.method, tc.path, nil).wantError(404, tc.method+" "+tc.path+": no such route")
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/v2/apps", "GET, POST"},
		{"DELETE", "/v2/apps", "GET, POST"},
		{"POST", "/v2/apps/" + a.ID, "GET, PATCH, DELETE"},
		{"PUT", "/v2/apps/" + a.ID, "GET, PATCH, DELETE"},
		{"PATCH", "/v2/keysets", "GET, POST"},
		{"PUT", "/v2/keysets/" + k, "GET, PATCH, DELETE"},
		{"POST", "/v2/keysets/" + k + "/config", "GET, PATCH"},
		{"DELETE", "/v2/keysets/" + k + "/config", "GET, PATCH"},
		{"DELETE", "/v2/keysets/" + k + "/secret-keys", "GET, POST"},
		{"GET", "/v2/keysets/" + k + "/secret-keys/sec-c-ABCDE", "PATCH, DELETE"},
		{"POST", "/v2/keysets/" + k + "/secret-keys/sec-c-ABCDE", "PATCH, DELETE"},
		{"DELETE", "/v2/oem/customers/1", "GET, PUT"},
	} {
		r := e.do(tc.method, tc.path, nil)
		r.wantError(405, tc.method+" "+tc.path+": method not allowed; allowed: "+tc.allow)
		if got := r.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}
