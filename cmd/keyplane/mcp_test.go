package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// keyplane mcp as an assistant runs it: the built binary, a subprocess
// speaking MCP on its stdin and stdout, calling a real server.
func TestMCPStdio(t *testing.T) {
	t.Parallel()
	bin := keyplaneBinary(t)
	e := newAPIEnv(t)

	start := func(key string) *sdk.ClientSession {
		t.Helper()
		cmd := exec.Command(bin, "mcp")
		cmd.Env = append(childEnv(), "KEYPLANE_URL="+e.srv.URL, "KEYPLANE_API_KEY="+key)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
		if err != nil {
			t.Fatalf("connect to keyplane mcp: %v", err)
		}
		t.Cleanup(func() {
			if err := cs.Close(); err != nil {
				t.Errorf("closing keyplane mcp: %v", err)
			}
		})
		return cs
	}
	callTool := func(cs *sdk.ClientSession, name string, args map[string]any) (map[string]any, string, bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			t.Fatalf("CallTool %s: %v", name, err)
		}
		var text string
		for _, c := range res.Content {
			if tc, ok := c.(*sdk.TextContent); ok {
				text += tc.Text
			}
		}
		var out map[string]any
		if !res.IsError {
			if err := json.Unmarshal([]byte(text), &out); err != nil {
				t.Fatalf("%s: %q is not JSON", name, text)
			}
		}
		return out, text, res.IsError
	}

	cs := start(e.key)
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	if want := []string{"get_usage_metrics", "manage_apps", "manage_customers", "manage_keysets", "manage_secret_keys", "manage_webhooks", "whoami"}; !slices.Equal(names, want) {
		t.Errorf("tools = %v, want %v", names, want)
	}
	out, text, isErr := callTool(cs, "manage_apps", map[string]any{"operation": "create", "data": map[string]any{"name": "From stdio"}})
	if isErr {
		t.Fatalf("manage_apps create: %s", text)
	}
	appID, _ := out["app"].(map[string]any)["id"].(string)
	out, text, isErr = callTool(cs, "manage_keysets", map[string]any{"operation": "create", "data": map[string]any{"name": "k", "appId": appID, "type": "testing"}})
	if isErr || !strings.HasPrefix(out["keyset"].(map[string]any)["subscribeKey"].(string), "sub-c-") {
		t.Fatalf("manage_keysets create: %s", text)
	}
	if out, text, isErr := callTool(cs, "whoami", map[string]any{}); isErr || out["integration"].(map[string]any)["name"] != "cli" {
		t.Errorf("whoami over stdio: %s", text)
	}
	// The app is on the server, as the CLI sees it.
	if got := decode(t, outputJSON, e.ok("apps", "get", appID, "-o", "json")); got["name"] != "From stdio" {
		t.Errorf("apps get %s = %v", appID, got)
	}
	// The server's refusal, with its messages, as a tool error.
	_, text, isErr = callTool(cs, "manage_keysets", map[string]any{"operation": "update", "data": map[string]any{"id": "999", "config": map[string]any{}}})
	if !isErr || !strings.Contains(text, "404 NotFound") {
		t.Errorf("update of a missing keyset: error %v, %q", isErr, text)
	}

	// A key the server refuses: every call is a tool error saying so; the
	// server process keeps serving.
	bad := start("si_" + strings.Repeat("a", 49))
	for range 2 {
		if _, text, isErr := callTool(bad, "manage_apps", map[string]any{"operation": "list"}); !isErr || !strings.Contains(text, "401 Unauthorized") {
			t.Errorf("list with a bad key: error %v, %q", isErr, text)
		}
	}
}

// keyplane mcp refuses to start without a key, before speaking MCP.
func TestMCPNeedsKey(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	e.failsWith(map[string]string{"KEYPLANE_API_KEY": ""}, "", exitUsage, []string{"no API key"}, "mcp")
}
