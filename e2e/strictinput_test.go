package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane"
)

// concrete fills the path parameters of an operation's path template with
// values that parse, so the request reaches the operation.
func concrete(path string) string {
	r := strings.NewReplacer("{appId}", "1", "{keysetId}", "1", "{customerId}", "1", "{secretKeyPrefix}", "sec-c-ABCDE")
	return r.Replace(path)
}

// Every /v2 operation refuses a query parameter it does not read with a
// 400 naming it and the ones it takes, rather than answering as if it had
// not been sent: a misspelt page=2 must not quietly answer page 1.
func TestUnknownQueryParameterRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, op := range keyplane.Operations {
		takes := "takes no query parameters"
		if len(op.Query) > 0 {
			takes = "takes only " + strings.Join(op.Query, ", ")
		}
		e.do(op.Method, concrete(op.Path)+"?pgae=2", nil).
			wantError(400, "pgae: unknown query parameter; "+op.String()+" "+takes)
	}
	e.do("GET", "/v2/apps?pgae=2&limit=500", nil).wantError(400,
		"pgae: unknown query parameter; GET /v2/apps takes only page, limit")
	// A known parameter still passes, and an empty query string is no parameter.
	e.do("GET", "/v2/apps?page=1&limit=5", nil).want(200)
	e.do("GET", "/v2/apps?", nil).want(200)
}

// GET /v2/keysets?appId= keeps one app's keysets, within what the key may
// read: an app the key cannot read, of another account, or missing answers
// an empty list alike, never another app's keysets.
func TestListKeysetsByApp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.createApp("a"), e.createApp("b")
	ka1 := e.createKeyset(a.ID, "a1").Keyset
	ka2 := e.createKeyset(a.ID, "a2").Keyset
	kb1 := e.createKeyset(b.ID, "b1").Keyset
	ids := func(l keysetList) []string {
		var out []string
		for _, k := range l.Keysets {
			out = append(out, k.ID)
		}
		return out
	}
	list := func(q string, opts ...option) keysetList {
		t.Helper()
		var l keysetList
		e.do("GET", "/v2/keysets?"+q, nil, opts...).want(200).decode(&l)
		return l
	}
	if l := list("appId=" + a.ID); !cmp.Equal(ids(l), []string{ka1.ID, ka2.ID}) || l.Total != 2 {
		t.Errorf("appId=%s: %v total %d, want [%s %s] total 2", a.ID, ids(l), l.Total, ka1.ID, ka2.ID)
	}
	if l := list("appId=" + a.ID + "&page=2&limit=1"); !cmp.Equal(ids(l), []string{ka2.ID}) || l.Total != 2 {
		t.Errorf("appId with a page: %v total %d", ids(l), l.Total)
	}
	if l := list("appId=" + b.ID); !cmp.Equal(ids(l), []string{kb1.ID}) {
		t.Errorf("appId=%s: %v", b.ID, ids(l))
	}
	if l := list("appId=999999"); len(l.Keysets) != 0 || l.Total != 0 {
		t.Errorf("a missing app: %v total %d, want none", ids(l), l.Total)
	}
	// A key that reads only app a sees nothing of app b, as if it did not exist.
	scoped, _, _ := e.integration("a reader", "app/"+a.ID+":keyset:read")
	if l := list("appId="+b.ID, as(scoped)); len(l.Keysets) != 0 || l.Total != 0 {
		t.Errorf("another app through a scoped key: %v total %d, want none", ids(l), l.Total)
	}
	if l := list("appId="+a.ID, as(scoped)); !cmp.Equal(ids(l), []string{ka1.ID, ka2.ID}) {
		t.Errorf("its own app through a scoped key: %v", ids(l))
	}
	// Another account's app answers as a missing one does.
	_, otherKey := e.otherAccount()
	if l := list("appId="+a.ID, as(otherKey)); len(l.Keysets) != 0 || l.Total != 0 {
		t.Errorf("an app of another account: %v total %d, want none", ids(l), l.Total)
	}
	e.do("GET", "/v2/keysets?appId=abc&limit=0", nil).wantError(400,
		"limit: must be a whole number from 1 to 100", `appId: must be a positive integer, not "abc"`)
	e.do("GET", "/v2/keysets?appId=0", nil).wantError(400, `appId: must be a positive integer, not "0"`)
}

// Audit filters that could never match are refused, saying what would.
func TestAuditFilterValuesRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auditor, _, _ := e.integration("auditor", "account:audit-log:read")
	e.do("GET", "/v2/audit-events?type=KeysetConfigChangd", nil, as(auditor)).wantError(400,
		`type: "KeysetConfigChangd" is not an event type; want one of `+strings.Join(keyplane.EventTypes, ", "))
	e.do("GET", "/v2/audit-events?actor=usr/1", nil, as(auditor)).wantError(400,
		`actor: want operator, system, user, user/ID, integration or integration/ID, not "usr/1"`)
	e.do("GET", "/v2/audit-events?actor=operator/2", nil, as(auditor)).wantError(400,
		`actor: operator (keyplane admin) has no id; want operator, not "operator/2"`)
	e.do("GET", "/v2/audit-events?target=keysets/1", nil, as(auditor)).wantError(400,
		`target: want TYPE or TYPE/ID with TYPE one of account, api-key, app, customer, integration, invitation, keyset, user, webhook (e.g. keyset/12), not "keysets/1"`)
	e.do("GET", "/v2/audit-events?type=KeysetConfigChanged&actor=operator&target=keyset", nil, as(auditor)).want(200)
}

// A body sent as something else than JSON is a 415; JSON types (with
// their parameters) and no Content-Type at all are read as JSON.
func TestBodyContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "json", "application/xml"} {
		e.do("POST", "/v2/apps", `{"name":"x"}`, header("Content-Type", ct)).wantErrorContaining(415, "Content-Type: ")
		e.do("PATCH", "/v2/apps/"+a.ID, `{"name":"x"}`, header("Content-Type", ct)).wantErrorContaining(415, "Content-Type: ")
	}
	e.do("POST", "/v2/apps", `{"name":"x"}`, header("Content-Type", "text/plain")).wantError(415,
		`Content-Type: "text/plain" is not JSON; send application/json (or no Content-Type)`)
	for i, ct := range []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8", "application/merge-patch+json"} {
		e.do("POST", "/v2/apps", map[string]any{"name": "ok " + strconv.Itoa(i)}, header("Content-Type", ct)).want(201)
	}
	// No body, no media type to judge: a bare rotation still works.
	e.do("POST", "/v2/keysets/"+e.createKeyset(a.ID, "k").Keyset.ID+"/secret-keys", nil, header("Content-Type", "text/plain")).want(201)
	if n := e.appTotal(); n != 6 {
		t.Errorf("%d apps, want 6: a refused body must change nothing", n)
	}
}

// Two Authorization headers are refused, as two Idempotency-Keys are:
// which key acts must never be a guess.
func TestTwoAuthorizationHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, _, _ := e.integration("other", "account:app:read")
	e.do("GET", "/v2/apps", nil, func(r *http.Request) {
		r.Header["Authorization"] = []string{e.key, other}
	}).wantError(400, "Authorization: give it once, not 2 times")
	e.do("GET", "/v2/apps", nil, func(r *http.Request) {
		r.Header["Authorization"] = []string{e.key, e.key}
	}).wantError(400, "Authorization: give it once, not 2 times")
}

// A name of invisible characters, or one holding a bidirectional override,
// is a 400 naming the field, for apps, keysets and renames alike, and
// nothing is made.
func TestInvisibleNamesRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.createApp("Alpha")
	before := e.appTotal()
	e.do("POST", "/v2/apps", map[string]any{"name": "\u200b"}).wantError(400, "name: must not contain invisible or text-direction characters (U+200B)")
	e.do("PATCH", "/v2/apps/"+app.ID, map[string]any{"name": "prod\u202Etset"}).wantError(400, "name: must not contain invisible or text-direction characters (U+202E)")
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"name": "\u2066x", "type": "testing", "appId": app.ID}}).
		wantError(400, "keyset.name: must not contain invisible or text-direction characters (U+2066)")
	if e.appTotal() != before || e.keysetTotal() != 0 {
		t.Errorf("refused names made something")
	}
}
