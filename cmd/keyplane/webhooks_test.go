package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyplane/keyplane/internal/testdb"
)

// The webhooks commands against a real server sending to a real receiver
// in this process: create prints the secret alone, test and retry reach
// the receiver signed with it (the same webhook-id again), deliveries and
// update show and change what the API holds, rotate-secret prints the new
// secret, and bad input is a usage error or the API's own message.
func TestCLIWebhooks(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	var bodies [][]byte
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r.Header.Clone()), append(bodies, b)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer rc.Close()
	wait := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			have := len(got)
			mu.Unlock()
			if have >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the receiver got %d deliveries, want %d", have, n)
			}
		}
	}

	db := testdb.DSN(t)
	e := &apiEnv{t: t, db: db, key: createIntegration(t, db, "hooks", "30d", "account:webhook:rw"),
		srv: startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db, "--webhooks-allow-private")}

	e.fails(2, []string{"give --url"}, "webhooks", "create")
	e.fails(2, []string{`"Nope" is not an event type`}, "webhooks", "create", "--url", rc.URL, "--event", "Nope")

	r := e.ok("webhooks", "create", "--url", rc.URL+"/hook", "--description", "SIEM", "--event", "WebhookTested,AppCreated")
	secret := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(secret, "whsec_") || strings.Contains(secret, "\n") || !strings.Contains(r.stderr, "registered webhook 1") {
		t.Fatalf("create printed %q, stderr %q", r.stdout, r.stderr)
	}
	list := decode(t, outputJSON, e.ok("webhooks", "list", "-o", "json"))
	hooks := list["webhooks"].([]any)
	if len(hooks) != 1 || obj(t, hooks[0])["description"] != "SIEM" || obj(t, hooks[0])["secret"] != nil {
		t.Fatalf("list: %v", list)
	}

	d := decode(t, outputJSON, e.ok("webhooks", "test", "1", "-o", "json"))
	wait(1)
	v, _ := standardwebhooks.NewWebhook(secret)
	mu.Lock()
	first, body := got[0], bodies[0]
	mu.Unlock()
	if err := v.Verify(body, first); err != nil {
		t.Fatalf("the test event does not verify with the secret printed: %v", err)
	}
	if first.Get("webhook-id") != str(t, d, "messageId") {
		t.Errorf("webhook-id %q, the test answered %q", first.Get("webhook-id"), d["messageId"])
	}
	// The delivery is listed as delivered once the worker has recorded it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out := e.ok("webhooks", "deliveries", "1", "--status", "delivered").stdout
		if strings.Contains(out, "WebhookTested") && strings.Contains(out, "200") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: %s", out)
		}
	}
	e.ok("webhooks", "retry", "1", str(t, d, "id"))
	wait(2)
	mu.Lock()
	if got[1].Get("webhook-id") != first.Get("webhook-id") {
		t.Errorf("redelivered as %q, want %q", got[1].Get("webhook-id"), first.Get("webhook-id"))
	}
	mu.Unlock()
	e.fails(2, []string{"--limit 0"}, "webhooks", "deliveries", "1", "--limit", "0")
	e.fails(2, []string{"status: must be pending, delivered or failed"}, "webhooks", "deliveries", "1", "--status", "lost")

	e.fails(2, []string{"nothing to change"}, "webhooks", "update", "1")
	e.fails(2, []string{"not both"}, "webhooks", "update", "1", "--enable", "--disable")
	up := decode(t, outputJSON, e.ok("webhooks", "update", "1", "--disable", "--description", "chat", "-o", "json"))
	if up["enabled"] != false || up["description"] != "chat" || up["disabledReason"] != "turned off on request" {
		t.Errorf("update: %v", up)
	}
	e.fails(1, []string{"disabled"}, "webhooks", "test", "1")
	e.ok("webhooks", "update", "1", "--enable", "--event", "*")

	rot := e.ok("webhooks", "rotate-secret", "1", "--previous-expires-in", "1d")
	if s := strings.TrimSpace(rot.stdout); !strings.HasPrefix(s, "whsec_") || s == secret || !strings.Contains(rot.stderr, "the old one signs too until") {
		t.Errorf("rotate-secret printed %q, stderr %q", rot.stdout, rot.stderr)
	}
	e.fails(2, []string{"at most 7 days"}, "webhooks", "rotate-secret", "1", "--previous-expires-in", "8d")

	e.ok("webhooks", "delete", "1")
	e.fails(3, []string{"not found"}, "webhooks", "get", "1")
}
