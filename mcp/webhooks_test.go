package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyplane/keyplane/internal/hooktest"
	"github.com/keyplane/keyplane/server"
)

// webhookServer is a server that sends webhooks to loopback receivers
// and looks for due deliveries often.
func webhookServer(t *testing.T) *testServer {
	t.Helper()
	return startServerWith(t, func(c *server.Config) {
		c.WebhooksAllowPrivate = true
		c.WebhookPoll = 5 * time.Millisecond
	})
}

// verifies tells whether d verifies with secret, as a receiver using the
// Standard Webhooks project's own library checks it.
func verifies(t *testing.T, secret string, d hooktest.Delivery) bool {
	t.Helper()
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return v.Verify(d.Body, d.Header) == nil
}

// Every operation of manage_webhooks over /mcp against a real server and a
// real receiver that verifies the signatures: the secret shown once (at
// creation and rotation), the API's own answers, a test event, deliveries,
// a redelivery with the same webhook-id, and the key's rows bounding it.
func TestWebhooks(t *testing.T) {
	t.Parallel()
	s := webhookServer(t)
	r := hooktest.Start(t)
	key := s.key("hooks", "account:webhook:rw")
	cs := overHTTP(t, s, "Bearer "+key)
	ctx := context.Background()
	wh := func(op string, data map[string]any) map[string]any {
		t.Helper()
		return call(t, cs, "manage_webhooks", map[string]any{"operation": op, "data": data})
	}

	// What the arguments lack, named before anything is sent.
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "create", "data": map[string]any{}}, "data.url: required for 'create'", "data.events: required for 'create'")
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "update", "data": map[string]any{"id": "1"}}, "one is required for 'update'")
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "retry", "data": map[string]any{"id": "1"}}, "data.deliveryId: required for 'retry'")
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "deliveries", "data": map[string]any{"id": "1", "limit": 500}}, "data.limit 500: want 1 to 100")
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "deliveries", "data": map[string]any{"id": "1", "status": "lost"}}, "lost", "[pending delivered failed]")
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "rotate-secret", "data": map[string]any{"id": "1"}}, "rotate-secret")
	// The server's validation, with its messages.
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "create", "data": map[string]any{"url": r.URL, "events": []string{"NoSuchEvent"}}}, "400 BadRequest", "NoSuchEvent")
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "get", "data": map[string]any{"id": "999"}}, "404 NotFound")
	if l := wh("list", nil); fmt.Sprint(l["webhooks"]) != "[]" || l["total"] != 0.0 {
		t.Errorf("list with no webhooks = %v", l)
	}

	// create: the secret, this once, and said so.
	out := wh("create", map[string]any{"url": r.URL + "/hook", "description": "SIEM", "events": []string{"AppCreated", "WebhookTested"}})
	w := obj(t, out["webhook"])
	id, secret := w["id"].(string), w["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || w["url"] != r.URL+"/hook" || w["description"] != "SIEM" || w["enabled"] != true {
		t.Errorf("create = %v", out)
	}
	if note, _ := out["note"].(string); !strings.Contains(note, "shown this once") {
		t.Errorf("create note = %q", note)
	}

	// get and list: never the secret, and the API's answers as they are.
	api := s.client(key)
	got := wh("get", map[string]any{"id": id})
	list := wh("list", nil)
	if strings.Contains(fmt.Sprint(got, list), secret) || strings.Contains(fmt.Sprint(got, list), "whsec_") {
		t.Errorf("get or list shows the secret: %v %v", got, list)
	}
	want, err := api.GetWebhook(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if g := obj(t, got["webhook"]); !reflect.DeepEqual(g, jsonOf(t, want)) {
		t.Errorf("get = %v, want the API's %v", g, jsonOf(t, want))
	}
	if l := items(t, list["webhooks"]); len(l) != 1 || l[0]["id"] != id || list["total"] != 1.0 {
		t.Errorf("list = %v", list)
	}

	// test: the event reaches the receiver, signed with the secret.
	d := obj(t, wh("test", map[string]any{"id": id})["delivery"])
	if d["eventType"] != "WebhookTested" || d["webhookId"] != id {
		t.Errorf("test = %v", d)
	}
	first := r.Next(t, "WebhookTested")
	if !verifies(t, secret, first) {
		t.Errorf("the test event does not verify with the secret shown at creation")
	}
	// deliveries: delivered, with the receiver's answer, as the API lists them.
	var ds []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds = items(t, wh("deliveries", map[string]any{"id": id, "status": "delivered"})["deliveries"])
		if len(ds) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(ds) != 1 || ds[0]["id"] != d["id"] || ds[0]["responseStatus"] != 204.0 || ds[0]["messageId"] != first.Header.Get("webhook-id") {
		t.Fatalf("delivered deliveries = %v", ds)
	}
	wantDs, err := api.WebhookDeliveries(ctx, id, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if all := wh("deliveries", map[string]any{"id": id, "limit": 5})["deliveries"]; !reflect.DeepEqual(all, jsonOf(t, wantDs)) {
		t.Errorf("deliveries = %v, want the API's %v", all, jsonOf(t, wantDs))
	}
	// retry: sent again with the same webhook-id.
	if rd := obj(t, wh("retry", map[string]any{"id": id, "deliveryId": d["id"]})["delivery"]); rd["id"] != d["id"] || rd["status"] != "pending" {
		t.Errorf("retry = %v", rd)
	}
	if again := r.Next(t, "WebhookTested"); again.Header.Get("webhook-id") != first.Header.Get("webhook-id") {
		t.Errorf("redelivery webhook-id %q, first %q", again.Header.Get("webhook-id"), first.Header.Get("webhook-id"))
	}

	// update: only what is given changes; a disabled webhook is not tested.
	up := obj(t, wh("update", map[string]any{"id": id, "enabled": false, "description": ""})["webhook"])
	if up["enabled"] != false || up["description"] != "" || up["url"] != r.URL+"/hook" || fmt.Sprint(up["events"]) != "[AppCreated WebhookTested]" {
		t.Errorf("update = %v", up)
	}
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "test", "data": map[string]any{"id": id}}, "409 Conflict", "disabled")
	up = obj(t, wh("update", map[string]any{"id": id, "enabled": true, "events": []string{"*"}})["webhook"])
	if up["enabled"] != true || fmt.Sprint(up["events"]) != "[*]" {
		t.Errorf("update = %v", up)
	}

	// rotate_secret with an overlap: both secrets sign until it ends.
	out = wh("rotate_secret", map[string]any{"id": id, "oldSecretExpiresInSeconds": 3600})
	rotated := obj(t, out["webhook"])["secret"].(string)
	if !strings.HasPrefix(rotated, "whsec_") || rotated == secret || !strings.Contains(out["note"].(string), "signs beside it until") {
		t.Errorf("rotate_secret = %v", out)
	}
	wh("test", map[string]any{"id": id})
	if both := r.Next(t, "WebhookTested"); !verifies(t, rotated, both) || !verifies(t, secret, both) {
		t.Errorf("a delivery in the overlap verifies with the new secret %v, the old %v; want both", verifies(t, rotated, both), verifies(t, secret, both))
	}
	// and without one, the old secret stops at once.
	out = wh("rotate_secret", map[string]any{"id": id})
	latest := obj(t, out["webhook"])["secret"].(string)
	if !strings.Contains(out["note"].(string), "no longer signs") {
		t.Errorf("rotate_secret note = %v", out["note"])
	}
	wh("test", map[string]any{"id": id})
	if last := r.Next(t, "WebhookTested"); !verifies(t, latest, last) || verifies(t, rotated, last) {
		t.Errorf("after a rotation without overlap: verifies with the new secret %v, the previous %v", verifies(t, latest, last), verifies(t, rotated, last))
	}
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "rotate_secret", "data": map[string]any{"id": id, "oldSecretExpiresInSeconds": 8 * 24 * 3600}},
		"400 BadRequest", "at most 7 days")

	// A key with the Read row: reads, and gets the server's 403 otherwise.
	reader := overHTTP(t, s, "Bearer "+s.key("dashboard", "account:webhook:read"))
	if l := items(t, call(t, reader, "manage_webhooks", map[string]any{"operation": "list"})["webhooks"]); len(l) != 1 {
		t.Errorf("reader's list = %v", l)
	}
	for _, op := range []map[string]any{
		{"operation": "create", "data": map[string]any{"url": r.URL, "events": []string{"*"}}},
		{"operation": "rotate_secret", "data": map[string]any{"id": id}},
		{"operation": "delete", "data": map[string]any{"id": id}},
	} {
		fails(t, reader, "manage_webhooks", op, "403 Forbidden", "missing permission")
	}
	none := overHTTP(t, s, "Bearer "+s.key("apps only", "account:app:read"))
	fails(t, none, "manage_webhooks", map[string]any{"operation": "list"}, "403 Forbidden", "missing permission")

	// delete: gone, with its deliveries.
	if del := wh("delete", map[string]any{"id": id}); del["deleted"] != id {
		t.Errorf("delete = %v", del)
	}
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "get", "data": map[string]any{"id": id}}, "404 NotFound")
	fails(t, cs, "manage_webhooks", map[string]any{"operation": "deliveries", "data": map[string]any{"id": id}}, "404 NotFound")
}

// jsonOf is v encoded and decoded again, as a tool's structured answer is
// read.
func jsonOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
