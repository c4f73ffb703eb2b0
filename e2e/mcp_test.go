package e2e

import (
	"fmt"
	"testing"
)

// mcpClient calls the API exactly as PubNub's MCP server does (reference
// §18): the raw key in Authorization, its PubNub-Version, Content-Type on
// every request, GETs included, and it reads only the fields it needs from
// generic JSON.
type mcpClient struct {
	e       *env
	version string
}

func (c mcpClient) call(method, path string, body any) (int, map[string]any) {
	c.e.t.Helper()
	r := c.e.do(method, path, body, version(c.version), as(c.e.key), header("Content-Type", "application/json"))
	var m map[string]any
	r.decode(&m) // it parses every answer, errors included, as JSON
	return r.Status, m
}

// listAll is the MCP paging loop: page 1, 2, … with limit=100 until it
// holds total items. It never stops on an empty page, so a wrong total
// would loop forever; the test bounds it.
func (c mcpClient) listAll(path, field string) ([]map[string]any, int) {
	c.e.t.Helper()
	var items []map[string]any
	pages := 0
	for page := 1; ; page++ {
		status, m := c.call("GET", fmt.Sprintf("%s?page=%d&limit=100", path, page), nil)
		if status != 200 {
			c.e.t.Fatalf("GET %s page %d: %d %v", path, page, status, m)
		}
		pages++
		for _, it := range m[field].([]any) {
			items = append(items, it.(map[string]any))
		}
		total := int(m["total"].(float64))
		if len(items) >= total {
			return items, pages
		}
		if page > 50 {
			c.e.t.Fatalf("GET %s: still %d of %d items after %d pages", path, len(items), total, page)
		}
	}
}

func TestPubNubMCPClient(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"2025-11-15", "2026-03-23"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			c := mcpClient{e: e, version: v}

			// It creates an app named after the keyset when the user gives none.
			status, app := c.call("POST", "/v2/apps", map[string]any{"name": "chat-prod"})
			appID, _ := app["id"].(string)
			if status != 201 || appID == "" {
				t.Fatalf("create app: %d %v", status, app)
			}
			status, created := c.call("POST", "/v2/keysets", map[string]any{
				"keyset": map[string]any{"name": "chat-prod", "appId": appID, "type": "testing"},
				"config": map[string]any{
					"messagePersistence": map[string]any{"enabled": true, "retention": 7},
					"presence":           map[string]any{"announceMax": 50, "interval": 20, "debounce": 5, "activeNoticeChannel": "notices"},
					"files":              map[string]any{"enabled": true, "retention": 7, "region": "us-east-1"},
					"appContext":         map[string]any{"enabled": true, "region": "aws-iad-1"},
				},
			})
			if status != 201 {
				t.Fatalf("create keyset: %d %v", status, created)
			}
			ks := created["keyset"].(map[string]any)
			pub, _ := ks["publishKey"].(string)
			sub, _ := ks["subscribeKey"].(string)
			if !pubKeyRE.MatchString(pub) || !subKeyRE.MatchString(sub) {
				t.Errorf("keyset.publishKey/subscribeKey = %q %q", pub, sub)
			}
			ksID := ks["id"].(string)

			status, got := c.call("GET", "/v2/keysets/"+ksID, nil)
			if status != 200 || got["id"] != ksID || got["publishKey"] != pub || got["subscribeKey"] != sub || got["type"] != "testing" {
				t.Errorf("GET keyset: %d %v", status, got)
			}
			status, cfg := c.call("GET", "/v2/keysets/"+ksID+"/config", nil)
			if status != 200 || cfg["messagePersistence"].(map[string]any)["retention"] != float64(7) {
				t.Errorf("GET config: %d %v", status, cfg)
			}

			// Only the section being changed; a 2xx with the JSON config.
			status, cfg = c.call("PATCH", "/v2/keysets/"+ksID+"/config", map[string]any{"messagePersistence": map[string]any{"enabled": false}})
			mp, _ := cfg["messagePersistence"].(map[string]any)
			if status/100 != 2 || mp["enabled"] != false || mp["retention"] != float64(7) || cfg["files"].(map[string]any)["enabled"] != true {
				t.Errorf("PATCH config: %d %v", status, cfg)
			}
			// Its error parsing: a JSON body with the fixture's shape.
			status, bad := c.call("PATCH", "/v2/keysets/"+ksID+"/config", map[string]any{"presence": map[string]any{"interval": 5}})
			if status != 400 || bad["error"] != "BadRequest" || bad["statusCode"] != float64(400) {
				t.Errorf("bad PATCH config: %d %v", status, bad)
			}

			status, renamed := c.call("PATCH", "/v2/apps/"+appID, map[string]any{"name": "chat"})
			if status/100 != 2 || renamed["name"] != "chat" || renamed["id"] != appID {
				t.Errorf("PATCH app: %d %v", status, renamed)
			}

			// 150 apps: two pages of 100, then it has them all.
			for i := range 149 {
				e.createApp(fmt.Sprintf("app %03d", i))
			}
			apps, pages := c.listAll("/v2/apps", "apps")
			if len(apps) != 150 || pages != 2 {
				t.Errorf("listing 150 apps took %d pages and found %d", pages, len(apps))
			}
			seen := map[string]bool{}
			for _, a := range apps {
				seen[a["id"].(string)] = true
			}
			if len(seen) != 150 {
				t.Errorf("the pages held %d distinct apps, want 150", len(seen))
			}

			// Keysets filtered by appId on the client.
			other := apps[1]["id"].(string)
			for range 2 {
				e.createKeyset(other, "other")
			}
			keysets, _ := c.listAll("/v2/keysets", "keysets")
			var ofApp []string
			for _, k := range keysets {
				if k["appId"] == appID {
					ofApp = append(ofApp, k["id"].(string))
				}
				if _, ok := k["appId"].(string); !ok {
					t.Errorf("keyset list item without a string appId: %v", k)
				}
			}
			if len(keysets) != 3 || len(ofApp) != 1 || ofApp[0] != ksID {
				t.Errorf("keysets %d, of app %s: %v; want 3 and [%s]", len(keysets), appID, ofApp, ksID)
			}
		})
	}
}
