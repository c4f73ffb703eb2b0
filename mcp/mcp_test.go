package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/mcp"
	"github.com/keyplane/keyplane/server"
	"github.com/keyplane/keyplane/store"
)

// testServer is a real Keyplane server on 127.0.0.1 over a fresh database
// (this run's engine), with the operator's way in to make keys.
type testServer struct {
	t       *testing.T
	base    string
	svc     *control.Service
	account int64
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerWith(t, nil)
}

// startServerWith starts a server whose configuration tune changes first.
func startServerWith(t *testing.T, tune func(*server.Config)) *testServer {
	t.Helper()
	dsn := testdb.DSN(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	cfg := server.Config{Addr: "127.0.0.1:0", Database: dsn, KEKFile: filepath.Join(t.TempDir(), "kek"),
		Listening: func(a string) { addrc <- a }}
	if tune != nil {
		tune(&cfg)
	}
	go func() { done <- server.Run(ctx, cfg) }()
	s := &testServer{t: t}
	select {
	case addr := <-addrc:
		s.base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server.Run returned before listening: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("server did not listen within 20 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})
	db, err := store.Open(context.Background(), dsn, wallclock.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s.svc = control.New(db, control.Options{})
	as, err := s.svc.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.account = as[0].ID
	return s
}

var fullAccess = []string{"account:app:rw", "account:keyset:rw", "account:secret-key:rw", "account:usage:read"}

// key makes an integration named name with grants and returns its key.
func (s *testServer) key(name string, grants ...string) string {
	s.t.Helper()
	var gs []keyplane.Grant
	for _, g := range grants {
		pg, err := keyplane.ParseGrant(g)
		if err != nil {
			s.t.Fatal(err)
		}
		gs = append(gs, pg)
	}
	_, k, err := s.svc.CreateIntegration(context.Background(), keyplane.Operator(s.account), name, gs, wallclock.Now().Add(30*24*time.Hour))
	if err != nil {
		s.t.Fatal(err)
	}
	return k.Key
}

func (s *testServer) client(key string) *client.Client {
	s.t.Helper()
	c, err := client.New(s.base, key)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// inMemory connects an SDK client to a server whose tools use c, over the
// SDK's in-memory transport.
func inMemory(t *testing.T, c *client.Client) *sdk.ClientSession {
	t.Helper()
	srv := mcp.NewServer(func(context.Context, *sdk.CallToolRequest) (*client.Client, error) { return c, nil }, mcp.Options{})
	ct, st := sdk.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	return connect(t, ct)
}

func connect(t *testing.T, tr sdk.Transport) *sdk.ClientSession {
	t.Helper()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool that must succeed and returns its structured answer,
// checking that the text content holds the same JSON.
func call(t *testing.T, cs *sdk.ClientSession, tool string, args any) map[string]any {
	t.Helper()
	res := callRaw(t, cs, tool, args)
	if res.IsError {
		t.Fatalf("%s %v: tool error %q", tool, args, text(res))
	}
	var fromText map[string]any
	if err := json.Unmarshal([]byte(text(res)), &fromText); err != nil {
		t.Fatalf("%s: text content %q is not JSON: %v", tool, text(res), err)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil || out == nil {
		t.Fatalf("%s: structured content %s: %v", tool, b, err)
	}
	if fmt.Sprint(out) != fmt.Sprint(fromText) {
		t.Errorf("%s: structured content %v differs from its text %v", tool, out, fromText)
	}
	return out
}

// fails calls a tool that must fail with a tool error holding every one of
// msgs.
func fails(t *testing.T, cs *sdk.ClientSession, tool string, args any, msgs ...string) {
	t.Helper()
	res := callRaw(t, cs, tool, args)
	if !res.IsError {
		t.Errorf("%s %v: succeeded (%s), want an error", tool, args, text(res))
		return
	}
	for _, m := range msgs {
		if !strings.Contains(text(res), m) {
			t.Errorf("%s %v: error %q does not say %q", tool, args, text(res), m)
		}
	}
}

func callRaw(t *testing.T, cs *sdk.ClientSession, tool string, args any) *sdk.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("CallTool %s: %v", tool, err)
	}
	return res
}

func text(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func toolNames(t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%#v is not an object", v)
	}
	return m
}

func items(t *testing.T, v any) []map[string]any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%#v is not a list", v)
	}
	var out []map[string]any
	for _, e := range l {
		out = append(out, obj(t, e))
	}
	return out
}

// The tools PubNub's agents call, with its argument shapes, and ours.
func TestToolList(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cs := inMemory(t, s.client(s.key("k", fullAccess...)))
	if got, want := toolNames(t, cs), []string{"get_usage_metrics", "manage_apps", "manage_customers", "manage_keysets", "manage_secret_keys", "manage_webhooks", "whoami"}; !slices.Equal(got, want) {
		t.Errorf("tools = %v, want %v", got, want)
	}
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"manage_apps":       {"data", "operation"},
		"manage_keysets":    {"data", "operation"},
		"get_usage_metrics": {"entityId", "entityType", "from", "metrics", "to"},
	}
	for _, tl := range res.Tools {
		b, _ := json.Marshal(tl.InputSchema)
		var sch struct {
			Properties map[string]json.RawMessage
			Required   []string
		}
		json.Unmarshal(b, &sch)
		if tl.Name == "manage_keysets" && !strings.Contains(string(b), `"enum":["get","list","create","update"]`) {
			t.Errorf("manage_keysets schema does not list the operations: %s", b)
		}
		// data.config names every section of a configuration (it named 6 of
		// 9 when it was written by hand).
		if tl.Name == "manage_keysets" {
			for _, section := range []string{"accessManager", "files", "streamController", "appContext", "dataSync", "apns", "fcm", "messagePersistence", "presence"} {
				if !strings.Contains(string(b), section+" {") {
					t.Errorf("manage_keysets' data.config does not describe %s", section)
				}
			}
		}
		if w, ok := want[tl.Name]; ok {
			var got []string
			for p := range sch.Properties {
				got = append(got, p)
			}
			slices.Sort(got)
			if !slices.Equal(got, w) {
				t.Errorf("%s arguments = %v, want PubNub's %v", tl.Name, got, w)
			}
		}
	}
}

// Every operation of every tool against a real server, in PubNub's shapes.
func TestTools(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cs := inMemory(t, s.client(s.key("k", fullAccess...)))

	// manage_apps
	app := obj(t, call(t, cs, "manage_apps", map[string]any{"operation": "create", "data": map[string]any{"name": "Chat"}})["app"])
	appID := app["id"].(string)
	if app["name"] != "Chat" {
		t.Errorf("create app = %v", app)
	}
	app = obj(t, call(t, cs, "manage_apps", map[string]any{"operation": "update", "data": map[string]any{"id": appID, "name": "Chat 2"}})["app"])
	if app["id"] != appID || app["name"] != "Chat 2" {
		t.Errorf("update app = %v", app)
	}
	list := call(t, cs, "manage_apps", map[string]any{"operation": "list"})
	if as := items(t, list["apps"]); len(as) != 1 || as[0]["name"] != "Chat 2" || list["total"] != 1.0 {
		t.Errorf("list apps = %v", list)
	}

	// manage_keysets: create in an app, with configuration
	out := call(t, cs, "manage_keysets", map[string]any{"operation": "create", "data": map[string]any{
		"name": "prod", "appId": appID, "type": "production",
		"config": map[string]any{"messagePersistence": map[string]any{"enabled": true, "retention": 30}},
	}})
	ks := obj(t, out["keyset"])
	ksID := ks["id"].(string)
	if ks["appId"] != appID || ks["type"] != "production" || !strings.HasPrefix(ks["publishKey"].(string), "pub-c-") || !strings.HasPrefix(ks["subscribeKey"].(string), "sub-c-") {
		t.Errorf("create keyset = %v", ks)
	}
	if mp := obj(t, obj(t, out["config"])["messagePersistence"]); mp["enabled"] != true || mp["retention"] != 30.0 {
		t.Errorf("create keyset config = %v", out["config"])
	}
	if strings.Contains(fmt.Sprint(out), "sec-c-") {
		t.Errorf("create keyset shows a secret key: %v", out)
	}
	// without an app: one named after the keyset is made first
	out = call(t, cs, "manage_keysets", map[string]any{"operation": "create", "data": map[string]any{"name": "solo", "type": "testing", "config": map[string]any{}}})
	if a := obj(t, out["app"]); a["name"] != "solo" || obj(t, out["keyset"])["appId"] != a["id"] {
		t.Errorf("create keyset without an app = %v", out)
	}
	// get: the keyset and its configuration
	out = call(t, cs, "manage_keysets", map[string]any{"operation": "get", "data": map[string]any{"id": ksID}})
	if obj(t, out["keyset"])["subscribeKey"] != ks["subscribeKey"] || obj(t, obj(t, out["config"])["presence"])["announceMax"] != 20.0 {
		t.Errorf("get keyset = %v", out)
	}
	// list: all, and one app's
	if l := items(t, call(t, cs, "manage_keysets", map[string]any{"operation": "list"})["keysets"]); len(l) != 2 {
		t.Errorf("list keysets = %v", l)
	}
	if l := items(t, call(t, cs, "manage_keysets", map[string]any{"operation": "list", "data": map[string]any{"appId": appID}})["keysets"]); len(l) != 1 || l[0]["id"] != ksID {
		t.Errorf("list keysets of app %s = %v", appID, l)
	}
	// update merges: persistence stays, presence changes
	out = call(t, cs, "manage_keysets", map[string]any{"operation": "update", "data": map[string]any{"id": ksID, "config": map[string]any{"presence": map[string]any{"announceMax": 50}}}})
	cfg := obj(t, out["config"])
	if obj(t, cfg["presence"])["announceMax"] != 50.0 || obj(t, cfg["messagePersistence"])["retention"] != 30.0 {
		t.Errorf("update keyset config = %v", cfg)
	}

	// manage_secret_keys: list by prefix, rotate with a grace period, delete the old one
	l := items(t, call(t, cs, "manage_secret_keys", map[string]any{"operation": "list", "data": map[string]any{"id": ksID}})["secretKeys"])
	if len(l) != 1 || l[0]["role"] != "main" || len(l[0]["prefix"].(string)) != keyplane.SecretKeyPrefixLen {
		t.Errorf("list secret keys = %v", l)
	}
	oldPrefix := l[0]["prefix"].(string)
	rot := call(t, cs, "manage_secret_keys", map[string]any{"operation": "rotate", "data": map[string]any{"id": ksID, "oldKeyExpiresInSeconds": 3600}})
	if k, _ := rot["secretKey"].(string); !strings.HasPrefix(k, "sec-c-") || strings.HasPrefix(k, oldPrefix) {
		t.Errorf("rotate = %v", rot)
	}
	l = items(t, call(t, cs, "manage_secret_keys", map[string]any{"operation": "list", "data": map[string]any{"id": ksID}})["secretKeys"])
	if len(l) != 2 || strings.Contains(fmt.Sprint(l), rot["secretKey"].(string)) {
		t.Errorf("list after rotate = %v (whole keys must not be listed)", l)
	}
	call(t, cs, "manage_secret_keys", map[string]any{"operation": "delete", "data": map[string]any{"id": ksID, "prefix": oldPrefix}})
	if l = items(t, call(t, cs, "manage_secret_keys", map[string]any{"operation": "list", "data": map[string]any{"id": ksID}})["secretKeys"]); len(l) != 1 || l[0]["role"] != "main" {
		t.Errorf("list after delete = %v", l)
	}

	// get_usage_metrics: what a reporter sent, in PubNub's shape
	reporter := s.client(s.key("reporter", "account:usage-report:write"))
	day := wallclock.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	if _, err := reporter.ReportUsage(context.Background(), []client.UsagePoint{{KeysetID: ksID, Date: day, Metric: "publish", Value: 42}}); err != nil {
		t.Fatal(err)
	}
	u := call(t, cs, "get_usage_metrics", map[string]any{"entityType": "app", "entityId": appID, "from": day, "to": wallclock.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly), "metrics": []string{"publish", "subscribe_msgs"}})
	m := obj(t, u["metrics"])
	if obj(t, m["publish"])[day] != 42.0 || len(obj(t, m["publish"])) != 2 || obj(t, m["subscribe_msgs"])[day] != 0.0 {
		t.Errorf("get_usage_metrics = %v", u)
	}
}

// Refusals come back as tool errors carrying the server's status and
// messages; mistakes in the arguments are named before anything is sent.
func TestToolErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	admin := s.client(s.key("admin", fullAccess...))
	app, err := admin.CreateApp(context.Background(), "A")
	if err != nil {
		t.Fatal(err)
	}
	cs := inMemory(t, admin)
	// A day the server keeps usage for, whatever the date.
	from, to := wallclock.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly), wallclock.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)

	// The server's validation, every message.
	fails(t, cs, "manage_keysets", map[string]any{"operation": "create", "data": map[string]any{"name": "k", "appId": app.ID, "type": "production",
		"config": map[string]any{"messagePersistence": map[string]any{"enabled": true, "retention": 14}, "presence": map[string]any{"announceMax": 500}}}},
		"400 BadRequest", "messagePersistence.retention", "presence.announceMax")
	fails(t, cs, "manage_keysets", map[string]any{"operation": "create", "data": map[string]any{"name": "k", "appId": app.ID, "type": "production",
		"config": map[string]any{"files": map[string]any{"enabled": true, "region": "mars-1", "retention": 14}}}}, "400 BadRequest", "files.region", "files.retention")
	fails(t, cs, "manage_keysets", map[string]any{"operation": "get", "data": map[string]any{"id": "999"}}, "404 NotFound", "999")
	fails(t, cs, "manage_apps", map[string]any{"operation": "update", "data": map[string]any{"id": app.ID, "name": "   "}}, "400 BadRequest", "name")
	fails(t, cs, "get_usage_metrics", map[string]any{"entityType": "app", "entityId": app.ID, "from": from, "to": to, "metrics": []string{"pubish"}},
		"400 Bad Request", "Invalid metrics: pubish")
	fails(t, cs, "manage_secret_keys", map[string]any{"operation": "rotate", "data": map[string]any{"id": "999"}}, "404 NotFound")

	// What the arguments lack, named before any request.
	fails(t, cs, "manage_apps", map[string]any{"operation": "create"}, "data.name: required for 'create'")
	// Values outside the schema's choices, refused by the SDK with them.
	fails(t, cs, "manage_apps", map[string]any{"operation": "delete"}, "delete", "[list create update]")
	fails(t, cs, "manage_keysets", map[string]any{"operation": "create", "data": map[string]any{"name": "k", "appId": app.ID, "type": "staging"}}, "staging", "[testing production]")
	fails(t, cs, "get_usage_metrics", map[string]any{"entityType": "user", "entityId": "1", "from": from, "to": to, "metrics": []string{"publish"}}, "user", "[account app keyset customer]")
	fails(t, cs, "manage_keysets", map[string]any{"operation": "update", "data": map[string]any{"id": "1"}}, "data.config: required for 'update'")
	fails(t, cs, "manage_keysets", map[string]any{"operation": "create", "data": map[string]any{"appId": app.ID}}, "data.name: required", "data.type: required")
	fails(t, cs, "get_usage_metrics", map[string]any{"entityType": "app", "entityId": "", "from": "yesterday", "to": to, "metrics": []string{}},
		"entityId: required", `from "yesterday"`, "metrics: at least one")
	fails(t, cs, "manage_secret_keys", map[string]any{"operation": "delete", "data": map[string]any{"id": "1"}}, "data.prefix: required")
	// An argument the schema does not know is refused by the SDK.
	fails(t, cs, "manage_apps", map[string]any{"operation": "create", "data": map[string]any{"name": "x", "colour": "red"}}, "colour")

	// A key without the row: the server's 403, naming it, and nothing made.
	reader := inMemory(t, s.client(s.key("reader", "account:app:read")))
	fails(t, reader, "manage_apps", map[string]any{"operation": "create", "data": map[string]any{"name": "B"}}, "403 Forbidden", "missing permission")
	fails(t, reader, "manage_keysets", map[string]any{"operation": "list"}, "403 Forbidden")
	fails(t, reader, "get_usage_metrics", map[string]any{"entityType": "app", "entityId": app.ID, "from": from, "to": to, "metrics": []string{"publish"}}, "403 Forbidden")
	if l := items(t, call(t, reader, "manage_apps", map[string]any{"operation": "list"})["apps"]); len(l) != 1 {
		t.Errorf("apps after a refused create = %v", l)
	}
	// No apps visible: an empty list, not a missing one.
	gone, err := admin.CreateApp(context.Background(), "gone")
	if err != nil {
		t.Fatal(err)
	}
	none := inMemory(t, s.client(s.key("none", "app/"+gone.ID+":app:read")))
	if err := admin.DeleteApp(context.Background(), gone.ID); err != nil {
		t.Fatal(err)
	}
	if l := call(t, none, "manage_apps", map[string]any{"operation": "list"}); fmt.Sprint(l["apps"]) != "[]" || l["total"] != 0.0 {
		t.Errorf("list with no apps visible = %v", l)
	}
}

// keyed adds an Authorization header to every request.
type keyed struct {
	key string
	rt  http.RoundTripper
}

func (k keyed) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", k.key)
	return k.rt.RoundTrip(r)
}

// overHTTP connects an SDK client to the server's /mcp with header as
// Authorization.
func overHTTP(t *testing.T, s *testServer, header string) *sdk.ClientSession {
	t.Helper()
	return connect(t, &sdk.StreamableClientTransport{Endpoint: s.base + "/mcp", HTTPClient: &http.Client{Transport: keyed{header, http.DefaultTransport}}, MaxRetries: -1})
}

// /mcp: streamable HTTP, the key of each request, whoami, and the API's
// 401 for a request without a good key.
func TestStreamableHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	key := s.key("assistant", "account:app:rw", "account:keyset:read")
	cs := overHTTP(t, s, "Bearer "+key)
	if got := toolNames(t, cs); len(got) != 7 || !slices.Contains(got, "whoami") || !slices.Contains(got, "manage_customers") {
		t.Errorf("tools over /mcp = %v", got)
	}
	who := call(t, cs, "whoami", map[string]any{})
	if obj(t, who["integration"])["name"] != "assistant" || who["accountId"] != fmt.Sprint(s.account) || who["partner"] != false ||
		!strings.HasPrefix(obj(t, who["key"])["prefix"].(string), "si_") || strings.Contains(fmt.Sprint(who), key) {
		t.Errorf("whoami = %v", who)
	}
	var rows []string
	for _, p := range items(t, who["permissions"]) {
		rows = append(rows, p["grant"].(string))
	}
	if fmt.Sprint(rows) != "[account:app:read-write account:keyset:read]" {
		t.Errorf("whoami permissions = %v", rows)
	}
	app := obj(t, call(t, cs, "manage_apps", map[string]any{"operation": "create", "data": map[string]any{"name": "Over HTTP"}})["app"])
	got, err := s.client(key).GetApp(context.Background(), app["id"].(string))
	if err != nil || got.Name != "Over HTTP" {
		t.Errorf("the app made over /mcp: %v %v", got, err)
	}
	// The key's rows bound the tools: keyset read only.
	fails(t, cs, "manage_keysets", map[string]any{"operation": "create", "data": map[string]any{"name": "k", "appId": app["id"], "type": "testing"}},
		"403 Forbidden", "missing permission")

	// The bare key works too, as PubNub sends it; each request is
	// authorized by its own key.
	other := overHTTP(t, s, s.key("reader", "account:app:read"))
	if who := call(t, other, "whoami", map[string]any{}); obj(t, who["integration"])["name"] != "reader" {
		t.Errorf("whoami with a bare key = %v", who)
	}
	fails(t, other, "manage_apps", map[string]any{"operation": "create", "data": map[string]any{"name": "no"}}, "403 Forbidden")

	// Without a good key: the API's 401 body, before any MCP.
	initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	last := "x" // a mistyped last character: never the real one
	if key[len(key)-1] == 'x' {
		last = "y"
	}
	for _, auth := range []string{"", "si_notakey", "Bearer " + key[:len(key)-1] + last} {
		req, _ := http.NewRequest("POST", s.base+"/mcp", strings.NewReader(initialize))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			StatusCode int
			Error      string
			Message    []string
		}
		if resp.StatusCode != 401 || json.Unmarshal(body, &e) != nil || e.StatusCode != 401 || e.Error != "Unauthorized" || len(e.Message) == 0 {
			t.Errorf("POST /mcp with Authorization %q: %d %s", auth, resp.StatusCode, body)
		}
		if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("POST /mcp with Authorization %q: WWW-Authenticate %q", auth, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// OEM customers: refused with the server's reason outside a partner
// account, then every operation, and usage by customer.
func TestCustomers(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.client(s.key("partner", append(fullAccess, "account:oem-customer:rw")...))
	cs := inMemory(t, c)
	fails(t, cs, "manage_customers", map[string]any{"operation": "list"}, "403 Forbidden", "partner")
	if who := call(t, cs, "whoami", map[string]any{}); who["partner"] != false {
		t.Errorf("whoami before enrolment = %v", who)
	}
	if _, err := s.svc.SetPartner(context.Background(), keyplane.Operator(s.account), s.account, true); err != nil {
		t.Fatal(err)
	}
	if who := call(t, cs, "whoami", map[string]any{}); who["partner"] != true {
		t.Errorf("whoami after enrolment = %v", who)
	}

	app, err := c.CreateApp(context.Background(), "Partner app")
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for range 3 {
		k, err := c.CreateKeyset(context.Background(), client.NewKeyset{AppID: app.ID})
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k.Keyset.ID)
	}
	cu := obj(t, call(t, cs, "manage_customers", map[string]any{"operation": "create", "data": map[string]any{"externalId": "acme-1", "name": "Acme", "keysetIds": []string{ks[0]}}})["customer"])
	id := cu["id"].(string)
	if cu["externalId"] != "acme-1" || cu["name"] != "Acme" || len(items(t, cu["keysets"])) != 1 || items(t, cu["keysets"])[0]["id"] != ks[0] {
		t.Errorf("create customer = %v", cu)
	}
	cu = obj(t, call(t, cs, "manage_customers", map[string]any{"operation": "assign_keysets", "data": map[string]any{"id": id, "keysetIds": []string{ks[1]}}})["customer"])
	if len(items(t, cu["keysets"])) != 2 {
		t.Errorf("assign keysets = %v", cu)
	}
	if cu = obj(t, call(t, cs, "manage_customers", map[string]any{"operation": "update", "data": map[string]any{"id": id, "name": "Acme Inc"}})["customer"]); cu["name"] != "Acme Inc" || cu["externalId"] != "acme-1" {
		t.Errorf("update customer = %v", cu)
	}
	if cu = obj(t, call(t, cs, "manage_customers", map[string]any{"operation": "get", "data": map[string]any{"id": id}})["customer"]); cu["name"] != "Acme Inc" || len(items(t, cu["keysets"])) != 2 {
		t.Errorf("get customer = %v", cu)
	}
	if cu = obj(t, call(t, cs, "manage_customers", map[string]any{"operation": "keyset_customer", "data": map[string]any{"keysetId": ks[1]}})["customer"]); cu["id"] != id {
		t.Errorf("keyset_customer = %v", cu)
	}
	l := call(t, cs, "manage_customers", map[string]any{"operation": "list", "data": map[string]any{"appId": app.ID}})
	if cs := items(t, l["customers"]); len(cs) != 1 || cs[0]["keysetCount"] != 2.0 || l["total"] != 1.0 {
		t.Errorf("list customers = %v", l)
	}
	// The server's refusals, with its messages.
	fails(t, cs, "manage_customers", map[string]any{"operation": "create", "data": map[string]any{"externalId": "acme-1", "name": "Again"}}, "409 Conflict", "acme-1")
	fails(t, cs, "manage_customers", map[string]any{"operation": "keyset_customer", "data": map[string]any{"keysetId": ks[2]}}, "404 NotFound")
	fails(t, cs, "manage_customers", map[string]any{"operation": "assign_keysets", "data": map[string]any{"id": id}}, "data.keysetIds: required for 'assign_keysets'")

	// Usage by customer: the keysets it holds.
	day := wallclock.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	reporter := s.client(s.key("reporter", "account:usage-report:write"))
	if _, err := reporter.ReportUsage(context.Background(), []client.UsagePoint{
		{KeysetID: ks[0], Date: day, Metric: "publish", Value: 5}, {KeysetID: ks[1], Date: day, Metric: "publish", Value: 7}, {KeysetID: ks[2], Date: day, Metric: "publish", Value: 100},
	}); err != nil {
		t.Fatal(err)
	}
	u := call(t, cs, "get_usage_metrics", map[string]any{"entityType": "customer", "entityId": id, "from": day, "to": wallclock.Now().UTC().Format(time.DateOnly), "metrics": []string{"publish"}})
	if v := obj(t, obj(t, u["metrics"])["publish"])[day]; v != 12.0 {
		t.Errorf("usage of customer %s on %s = %v, want 12", id, day, v)
	}
}

// The tools answer apps, keysets and customers as the API writes them
// (times to the millisecond, UTC), and their output schemas say a time is a
// string.
func TestToolResultsAreTheAPIs(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	key := s.key("k", append(fullAccess, "account:oem-customer:rw")...)
	if _, err := s.svc.SetPartner(context.Background(), keyplane.Operator(s.account), s.account, true); err != nil {
		t.Fatal(err)
	}
	c := s.client(key)
	cs := inMemory(t, c)
	ctx := context.Background()
	app, err := c.CreateApp(ctx, "Chat")
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID, Name: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	expires := wallclock.Now().Add(time.Hour)
	if _, err := c.RotateSecretKey(ctx, k.Keyset.ID, &expires); err != nil {
		t.Fatal(err)
	}
	cu, err := c.CreateCustomer(ctx, client.NewCustomer{ExternalID: "acme", Name: "Acme", KeysetIDs: []string{k.Keyset.ID}})
	if err != nil {
		t.Fatal(err)
	}

	// api answers GET path, decoded as the tools' answers are.
	api := func(path string) map[string]any {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", key)
		req.Header.Set("PubNub-Version", client.Version)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %v", path, res.StatusCode, err)
		}
		return m
	}
	same := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want the API's %v", what, got, want)
		}
	}

	same("manage_apps list", call(t, cs, "manage_apps", map[string]any{"operation": "list"})["apps"], api("/v2/apps")["apps"])
	keyset := call(t, cs, "manage_keysets", map[string]any{"operation": "get", "data": map[string]any{"id": k.Keyset.ID}})["keyset"]
	same("manage_keysets get", keyset, api("/v2/keysets/"+k.Keyset.ID))
	customer := call(t, cs, "manage_customers", map[string]any{"operation": "get", "data": map[string]any{"id": cu.ID}})["customer"]
	wantCustomer := obj(t, api("/v2/oem/customers/" + cu.ID)["result"])
	for _, ks := range items(t, wantCustomer["keysets"]) {
		ks["id"] = fmt.Sprint(ks["id"]) // the OEM routes write keyset ids as numbers, the tools as strings
	}
	same("manage_customers get", customer, wantCustomer)
	same("manage_customers list", call(t, cs, "manage_customers", map[string]any{"operation": "list"})["customers"], api("/v2/oem/customers")["result"])
	keys := items(t, call(t, cs, "manage_secret_keys", map[string]any{"operation": "list", "data": map[string]any{"id": k.Keyset.ID}})["secretKeys"])
	wantKeys := items(t, api("/v2/keysets/" + k.Keyset.ID + "/secret-keys")["secretKeys"])
	if len(keys) != 2 || len(wantKeys) != 2 {
		t.Fatalf("manage_secret_keys list = %v, want the API's %v", keys, wantKeys)
	}
	for i := range keys {
		same("manage_secret_keys list expiresAt", keys[i]["expiresAt"], wantKeys[i]["expiresAt"])
	}

	// The output schemas: a time is a string, nullable where the Go field
	// is a pointer, with the field's description.
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]string{}
	for _, tl := range res.Tools {
		b, _ := json.Marshal(tl.OutputSchema)
		schemas[tl.Name] = string(b)
	}
	for tool, want := range map[string]string{
		"manage_apps":        `"createdAt":{"type":"string"}`,
		"manage_keysets":     `"updatedAt":{"type":"string"}`,
		"manage_customers":   `"assignedAt":{"type":"string"}`,
		"manage_secret_keys": `"expiresAt":{"description":"when a rotated key stops working; null for the main key","type":["null","string"]}`,
		"whoami":             `"lastUsedAt":{"type":["null","string"]}`,
		"manage_webhooks":    `"nextAttemptAt":{"type":["null","string"]}`,
	} {
		if !strings.Contains(schemas[tool], want) {
			t.Errorf("%s output schema %s, want %s", tool, schemas[tool], want)
		}
	}
}

// An integration's allowed networks hold over /mcp too, checked against
// the address of the /mcp request (not the in-process transport's), for
// the request and for every API call its tools make; a client cannot name
// another address by sending the header the handler uses for it.
func TestStreamableHTTPFollowsAllowedNetworks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx := context.Background()
	newIntegration := func(name, cidr string) (keyplane.Integration, string) {
		g, _ := keyplane.ParseGrant("account:app:rw")
		in, k, err := s.svc.CreateIntegrationWith(ctx, keyplane.Operator(s.account), control.NewIntegration{Name: name, Grants: []keyplane.Grant{g},
			Networks: []netip.Prefix{netip.MustParsePrefix(cidr)}, Expires: wallclock.Now().Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return in, k.Key
	}
	local, localKey := newIntegration("local", "127.0.0.0/8")
	cs := overHTTP(t, s, "Bearer "+localKey)
	call(t, cs, "manage_apps", map[string]any{"operation": "create", "data": map[string]any{"name": "from loopback"}})
	ik, err := s.svc.GetIntegration(ctx, keyplane.Operator(s.account), local.ID)
	if err != nil || ik.Keys[0].LastUsedFrom != "127.0.0.1" {
		t.Errorf("the key's last use over /mcp: %+v %v, want from 127.0.0.1", ik.Keys, err)
	}

	_, farKey := newIntegration("far", "203.0.113.0/24")
	initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	req, _ := http.NewRequest("POST", s.base+"/mcp", strings.NewReader(initialize))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+farKey)
	req.Header.Set("Keyplane-Mcp-Client-Address", "203.0.113.9") // ignored
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Message []string }
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusForbidden || len(body.Message) != 1 || body.Message[0] != "this integration's keys are not allowed from 127.0.0.1" {
		t.Errorf("POST /mcp from outside the networks: %d %v, want 403 naming 127.0.0.1", resp.StatusCode, body.Message)
	}
}
