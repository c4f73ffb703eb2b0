package e2e

import (
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/hooktest"
	"github.com/keyplane/keyplane/server"
)

type webhookWire struct {
	ID             string
	URL            string
	Events         []string
	Enabled        bool
	DisabledReason *string
	Secret         string
}

type deliveryWire struct {
	ID             string
	MessageID      string
	Status         string
	Attempts       int
	ResponseStatus *int
	LatencyMs      *int64
	EventType      string
}

// Webhooks over the API: registered with the Webhooks row, their secret
// shown once, every event they want delivered to a real receiver and
// verified there by the Standard Webhooks project's own library, tested,
// redelivered with the same webhook-id, changed and deleted.
func TestWebhooksOverTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *server.Config) {
		c.WebhooksAllowPrivate = true
		c.WebhookPoll = 5 * time.Millisecond
	})
	r := hooktest.Start(t)
	key, _, _ := e.integration("SIEM feeder", "account:webhook:rw")
	reader, _, _ := e.integration("dashboard", "account:webhook:read")

	var w webhookWire
	e.do("POST", "/v2/webhooks", map[string]any{"url": r.URL + "/keyplane", "description": "SIEM", "events": []string{"AppCreated", "WebhookTested"}}, as(key)).want(201).decode(&w)
	e.remember(w.Secret)
	if !strings.HasPrefix(w.Secret, "whsec_") || !w.Enabled || w.URL != r.URL+"/keyplane" {
		t.Fatalf("created %+v", w)
	}
	if strings.Contains(string(e.do("GET", "/v2/webhooks/"+w.ID, nil, as(reader)).want(200).Body), w.Secret) {
		t.Error("GET shows the secret again")
	}
	if strings.Contains(string(e.do("GET", "/v2/audit-events?type=WebhookCreated", nil, as(e.auditKey())).want(200).Body), "whsec_") {
		t.Error("the audit log holds the secret")
	}

	app := e.createApp("Telemedicine")
	got := r.Next(t, "AppCreated")
	v, err := standardwebhooks.NewWebhook(w.Secret)
	if err != nil {
		t.Fatal(err)
	}
	// The server's clock is the test's, started at the real time: within
	// the library's five minutes.
	if err := v.Verify(got.Body, got.Header); err != nil {
		t.Errorf("Standard Webhooks verification: %v", err)
	}
	if !strings.Contains(string(got.Body), `"id":"`+app.ID+`"`) {
		t.Errorf("body %s does not name the app", got.Body)
	}
	// Delivered: the list says so, with the receiver's answer.
	var ds struct{ Deliveries []deliveryWire }
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.do("GET", "/v2/webhooks/"+w.ID+"/deliveries", nil, as(reader)).want(200).decode(&ds)
		if len(ds.Deliveries) == 1 && ds.Deliveries[0].Status == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %+v", ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
	d := ds.Deliveries[0]
	if d.Attempts != 1 || d.ResponseStatus == nil || *d.ResponseStatus != 204 || d.LatencyMs == nil || d.MessageID != got.Header.Get("webhook-id") {
		t.Errorf("delivery %+v", d)
	}
	e.do("GET", "/v2/webhooks/"+w.ID+"/deliveries?status=failed", nil, as(reader)).want(200).decode(&ds)
	if len(ds.Deliveries) != 0 {
		t.Errorf("failed deliveries: %+v", ds)
	}

	// A test event, to this webhook alone.
	var td deliveryWire
	e.do("POST", "/v2/webhooks/"+w.ID+"/test", nil, as(key)).want(202).decode(&td)
	if td.EventType != keyplane.EventWebhookTested || td.Status != "pending" {
		t.Errorf("test delivery %+v", td)
	}
	r.Next(t, keyplane.EventWebhookTested)

	// A redelivery carries the same webhook-id.
	e.do("POST", "/v2/webhooks/"+w.ID+"/deliveries/"+d.ID+"/retry", nil, as(key)).want(202)
	again := r.Next(t, "AppCreated")
	if again.Header.Get("webhook-id") != got.Header.Get("webhook-id") || string(again.Body) != string(got.Body) {
		t.Errorf("redelivery: id %q body %s; first: id %q", again.Header.Get("webhook-id"), again.Body, got.Header.Get("webhook-id"))
	}
	e.do("POST", "/v2/webhooks/"+w.ID+"/deliveries/999999/retry", nil, as(key)).wantError(404, "delivery 999999: not found")

	// Rotation with an overlap: two signatures, each verifying.
	var rot webhookWire
	e.do("POST", "/v2/webhooks/"+w.ID+"/rotate-secret", map[string]any{"previousExpiresAt": keyplane.FormatTime(e.clock.Now().Add(time.Hour))}, as(key)).want(200).decode(&rot)
	e.remember(rot.Secret)
	if rot.Secret == w.Secret || !strings.HasPrefix(rot.Secret, "whsec_") {
		t.Fatalf("rotated secret %q", rot.Secret)
	}
	e.createApp("second")
	got = r.Next(t, "AppCreated")
	for _, s := range []string{w.Secret, rot.Secret} {
		v, _ := standardwebhooks.NewWebhook(s)
		if err := v.Verify(got.Body, got.Header); err != nil {
			t.Errorf("during the overlap: %v", err)
		}
	}

	// Changes: events, and off.
	var changed webhookWire
	e.do("PATCH", "/v2/webhooks/"+w.ID, map[string]any{"events": []string{"*"}, "enabled": false}, as(key)).want(200).decode(&changed)
	if changed.Enabled || changed.DisabledReason == nil || changed.Events[0] != "*" {
		t.Errorf("changed %+v", changed)
	}
	e.do("POST", "/v2/webhooks/"+w.ID+"/test", nil, as(key)).wantErrorContaining(409, "is disabled")
	var list struct{ Webhooks []webhookWire }
	e.do("GET", "/v2/webhooks", nil, as(reader)).want(200).decode(&list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].Secret != "" {
		t.Errorf("list %+v", list)
	}
	e.do("DELETE", "/v2/webhooks/"+w.ID, nil, as(key)).want(200)
	e.do("GET", "/v2/webhooks/"+w.ID, nil, as(key)).wantError(404, "webhook "+w.ID+": not found")
}

// auditKey is a key that reads the audit log.
func (e *env) auditKey() string {
	e.t.Helper()
	k, _, _ := e.integration("auditor", "account:audit-log:read")
	return k
}

// Who may do what: the Webhooks row at Read lists, at Read & write
// changes; without it, 403 naming the row.
func TestWebhookPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader, _, _ := e.integration("dashboard", "account:webhook:read")
	e.do("GET", "/v2/webhooks", nil).wantError(403, "missing permission: Account · Webhooks · Read")
	e.do("GET", "/v2/webhooks", nil, as(reader)).want(200)
	e.do("POST", "/v2/webhooks", map[string]any{"url": "https://203.0.113.9/", "events": []string{"*"}}, as(reader)).
		wantError(403, "missing permission: Account · Webhooks · Read & write")
	e.do("DELETE", "/v2/webhooks/1", nil, as(reader)).wantError(403, "missing permission: Account · Webhooks · Read & write")
}

// No SSRF: without --webhooks-allow-private, a destination inside a
// private network, the machine itself or the cloud's metadata service is
// refused when registered, saying why, and nothing is made.
func TestWebhookDestinationsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, _, _ := e.integration("automation", "account:webhook:rw")
	for _, c := range []struct{ url, want string }{
		{"http://203.0.113.9/hook", "url: must be https"},
		{"https://127.0.0.1:8443/hook", "is a loopback address"},
		{"https://[::1]/hook", "is a loopback address"},
		{"https://10.1.2.3/hook", "is a private address"},
		{"https://192.168.1.1/hook", "is a private address"},
		{"https://172.20.0.1/hook", "is a private address"},
		{"https://100.64.0.1/hook", "carrier-grade NAT"},
		{"https://169.254.169.254/latest/meta-data", "is the cloud metadata address"},
		{"https://[fd00:ec2::254]/", "is the cloud metadata address"},
		{"https://[fd12:3456::1]/", "unique-local"},
		{"https://[fe80::1]/", "link-local"},
		{"https://224.0.0.1/", "multicast"},
		{"https://0.0.0.0/", `"this network"`},
		{"https://[::ffff:10.0.0.1]/", "is a private address"},
		{"https://localhost/hook", "resolves to"},
		{"https://user:pw@203.0.113.9/", "must not hold a user name or password"},
		{"ftp://203.0.113.9/", "webhooks are sent over https"},
		{"hooks.example.com", "not an absolute URL"},
	} {
		e.do("POST", "/v2/webhooks", map[string]any{"url": c.url, "events": []string{"*"}}, as(key)).wantErrorContaining(400, c.want)
	}
	for _, c := range []struct {
		events any
		want   string
	}{
		{[]string{}, "events: name at least one event type"},
		{[]string{"*", "AppCreated"}, `"*" stands for every event; give it alone`},
		{[]string{"AppMade"}, `events: "AppMade" is not an event type`},
	} {
		e.do("POST", "/v2/webhooks", map[string]any{"url": "https://203.0.113.9/", "events": c.events}, as(key)).wantErrorContaining(400, c.want)
	}
	e.do("POST", "/v2/webhooks", map[string]any{}, as(key)).wantError(400, "url: required", `events: required; event types, or ["*"] for every event`)
	var list struct{ Webhooks []webhookWire }
	e.do("GET", "/v2/webhooks", nil, as(key)).want(200).decode(&list)
	if len(list.Webhooks) != 0 {
		t.Errorf("refused registrations made webhooks: %+v", list)
	}
}
