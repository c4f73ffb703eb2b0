package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/store"
	"github.com/keyplane/keyplane/webhook"
)

// clock stands still until the test moves it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP server on 127.0.0.1 that answers with the status
// the test sets and keeps what it gets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []received
	signal chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusNoContent, signal: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), b})
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
		r.signal <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) answer(status int) {
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
}

// wait waits for the next request, failing after 10 s of real time.
func (r *receiver) wait(t *testing.T) received {
	t.Helper()
	select {
	case <-r.signal:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

// quiet checks that no request comes for a moment: the worker polls every
// 5 ms, so a delivery that was due would have come.
func (r *receiver) quiet(t *testing.T) {
	t.Helper()
	select {
	case <-r.signal:
		t.Fatal("a delivery came that was not due")
	case <-time.After(300 * time.Millisecond):
	}
}

type fixture struct {
	svc   *control.Service
	clock *clock
	p     keyplane.Principal
	stop  func()
}

// start opens a fresh database with a KEK, the operations on it and a
// delivery worker polling every 5 ms, stopped when the test ends.
func start(t *testing.T, allowPrivate bool) *fixture {
	t.Helper()
	return startWith(t, webhook.Options{AllowPrivate: allowPrivate, Poll: 5 * time.Millisecond})
}

// startWith is start with the worker's options o (its clock is the
// fixture's).
func startWith(t *testing.T, o webhook.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	c := &clock{now: time.Now().UTC().Truncate(time.Millisecond)}
	db, err := store.Open(ctx, testdb.DSN(t), c.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.SealSecrets(ctx, filepath.Join(t.TempDir(), "kek")); err != nil {
		t.Fatal(err)
	}
	svc := control.New(db, control.Options{Now: c.Now})
	// Registration may name 127.0.0.1 (the receiver); whether the worker
	// may reach it is the test's choice.
	svc.ConfigureWebhooks(control.WebhookConfig{AllowPrivate: true})
	as, err := svc.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Now = c.Now
		webhook.New(svc, o).Run(wctx)
	}()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return &fixture{svc: svc, clock: c, p: keyplane.Operator(as[0].ID), stop: stop}
}

func (f *fixture) create(t *testing.T, u string, events ...string) keyplane.Webhook {
	t.Helper()
	w, err := f.svc.CreateWebhook(context.Background(), f.p, control.NewWebhook{URL: u, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (f *fixture) app(t *testing.T, name string) keyplane.App {
	t.Helper()
	a, err := f.svc.CreateApp(context.Background(), f.p, name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A delivery is the event as the audit log shows it, signed so that the
// Standard Webhooks project's own Go library verifies it with the secret
// shown at creation.
func TestDeliveryIsSignedAsStandardWebhooks(t *testing.T) {
	t.Parallel()
	f := start(t, true)
	r := newReceiver(t)
	w := f.create(t, r.URL+"/hook?token=x", keyplane.EventAppCreated)
	if !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("secret %q", w.Secret)
	}
	f.app(t, "Telemedicine")
	got := r.wait(t)

	v, err := standardwebhooks.NewWebhook(w.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(got.body, got.header); err != nil {
		t.Errorf("the Standard Webhooks library refuses the delivery: %v\nheaders %v", err, got.header)
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + strings.Repeat("A", 43) + "=")
	if other.Verify(got.body, got.header) == nil {
		t.Error("another secret verifies the delivery")
	}
	if other.Verify(append(got.body, ' '), got.header) == nil {
		t.Error("an altered body verifies")
	}
	// The body is the event as GET /v2/audit-events shows it.
	page, err := f.svc.ListAuditEvents(context.Background(), f.p, keyplane.AuditQuery{Types: []string{keyplane.EventAppCreated}}, "")
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("audit events: %v %v", page, err)
	}
	want, _ := keyplane.EncodeAuditEvent(page.Events[0])
	if string(got.body) != string(want) {
		t.Errorf("body\n%s\nwant\n%s", got.body, want)
	}
	var ev keyplane.AuditEventJSON
	if err := json.Unmarshal(got.body, &ev); err != nil || ev.Type != keyplane.EventAppCreated {
		t.Errorf("body %s: %v", got.body, err)
	}
	if id := got.header.Get("webhook-id"); id != keyplane.WebhookMessageID(w.ID, page.Events[0].ID) {
		t.Errorf("webhook-id %q", id)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	ds, err := f.svc.ListWebhookDeliveries(context.Background(), f.p, w.ID, "", 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v %v", ds, err)
	}
	waitStatus(t, f, w.ID, ds[0].EventID, keyplane.DeliveryDelivered)

	// A rotation with an overlap signs with both secrets: a receiver
	// holding either verifies.
	until := f.clock.Now().Add(time.Hour)
	rotated, err := f.svc.RotateWebhookSecret(context.Background(), f.p, w.ID, &until)
	if err != nil {
		t.Fatal(err)
	}
	f.app(t, "second")
	got = r.wait(t)
	if n := len(strings.Fields(got.header.Get("webhook-signature"))); n != 2 {
		t.Errorf("%d signatures during the overlap, want 2", n)
	}
	for _, s := range []string{w.Secret, rotated.Secret} {
		v, _ := standardwebhooks.NewWebhook(s)
		if err := v.Verify(got.body, got.header); err != nil {
			t.Errorf("during the overlap, a secret does not verify: %v", err)
		}
	}
	// After the overlap only the new one signs.
	f.clock.Advance(time.Hour + time.Second)
	f.app(t, "third")
	got = r.wait(t)
	old, _ := standardwebhooks.NewWebhook(w.Secret)
	if err := old.VerifyIgnoringTimestamp(got.body, got.header); err == nil {
		t.Error("the old secret still verifies after its overlap")
	}
	cur, _ := standardwebhooks.NewWebhook(rotated.Secret)
	if err := cur.VerifyIgnoringTimestamp(got.body, got.header); err != nil {
		t.Errorf("the new secret: %v", err)
	}
}

func waitStatus(t *testing.T, f *fixture, webhookID, eventID int64, want keyplane.DeliveryStatus) keyplane.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, err := f.svc.ListWebhookDeliveries(context.Background(), f.p, webhookID, "", keyplane.MaxDeliveriesLimit)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.EventID == eventID && d.Status == want && (d.LastAttemptAt != nil || want == keyplane.DeliveryPending) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery of event %d never became %s: %+v", eventID, want, ds)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An event committed by this process wakes the worker: the delivery
// comes at once, not at the next poll (an hour away here). A burst
// larger than the worker's slots, and than what it claims at once, is
// delivered whole, each event once, and every delivery is recorded as
// delivered (the outcomes are written many to a transaction).
func TestCommitWakesWorkerAndBurstIsRecorded(t *testing.T) {
	t.Parallel()
	f := startWith(t, webhook.Options{AllowPrivate: true, Poll: time.Hour, Senders: 3})
	r := newReceiver(t)
	w := f.create(t, r.URL+"/hook", keyplane.EventAppCreated)
	// The worker's first look came before the webhook existed, so only
	// the commit's notice can bring this one before the hour is up.
	time.Sleep(50 * time.Millisecond)
	f.app(t, "First")
	r.wait(t)

	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := f.svc.CreateApp(context.Background(), f.p, "Burst "+strconv.Itoa(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for range n {
		r.wait(t)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, err := f.svc.ListWebhookDeliveries(context.Background(), f.p, w.ID, keyplane.DeliveryDelivered, keyplane.MaxDeliveriesLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == n+1 {
			for _, d := range ds {
				if d.Attempts != 1 || d.LastStatus != http.StatusNoContent {
					t.Errorf("delivery %+v: want one attempt answered 204", d)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries recorded as delivered", len(ds), n+1)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ids := map[string]bool{}
	r.mu.Lock()
	for _, g := range r.got {
		ids[g.header.Get("webhook-id")] = true
	}
	got := len(r.got)
	r.mu.Unlock()
	if got != n+1 || len(ids) != n+1 {
		t.Errorf("%d requests, %d webhook-ids; want %d of each", got, len(ids), n+1)
	}
}

// A failing receiver is tried again on the documented schedule, by the
// moved clock, with the same webhook-id each time; after 24 hours of
// failures the delivery is given up and the webhook disabled, audited.
func TestRetriesThenDisablesAfterADay(t *testing.T) {
	t.Parallel()
	f := start(t, true)
	r := newReceiver(t)
	r.answer(http.StatusServiceUnavailable)
	w := f.create(t, r.URL, keyplane.EventAppCreated)
	f.app(t, "flaky")
	first := r.wait(t)
	id := first.header.Get("webhook-id")
	for i, at := range keyplane.WebhookRetrySchedule[1:] {
		prev := keyplane.WebhookRetrySchedule[i]
		// The clock moves once the attempt is recorded, as it would
		// after a real attempt.
		waitAttempts(t, f, w.ID, i+1)
		// Just before it is due, nothing comes.
		f.clock.Advance(at - prev - time.Millisecond)
		r.quiet(t)
		f.clock.Advance(time.Millisecond)
		got := r.wait(t)
		if got.header.Get("webhook-id") != id {
			t.Errorf("attempt %d: webhook-id %q, want %q", i+2, got.header.Get("webhook-id"), id)
		}
	}
	ds, err := f.svc.ListWebhookDeliveries(context.Background(), f.p, w.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	d := waitStatus(t, f, w.ID, ds[0].EventID, keyplane.DeliveryFailed)
	if d.Attempts != len(keyplane.WebhookRetrySchedule) || d.LastStatus != 503 {
		t.Errorf("given up after %d attempts, last status %d: %+v", d.Attempts, d.LastStatus, d)
	}
	got, err := f.svc.GetWebhook(context.Background(), f.p, w.ID)
	if err != nil || got.Enabled() || got.DisabledReason != keyplane.DisabledFailing {
		t.Fatalf("webhook after a day of failures: %+v %v", got, err)
	}
	page, err := f.svc.ListAuditEvents(context.Background(), f.p, keyplane.AuditQuery{Types: []string{keyplane.EventWebhookDisabled}}, "")
	if err != nil || len(page.Events) != 1 || page.Events[0].Actor != keyplane.WebhookActor || page.Events[0].TargetID != w.ID {
		t.Fatalf("WebhookDisabled events: %+v %v", page.Events, err)
	}
	// Disabled, it gets nothing more, whatever the clock says.
	f.app(t, "while disabled")
	f.clock.Advance(48 * time.Hour)
	r.quiet(t)
	// Enabled again, a redelivery of the failed one goes with the same
	// webhook-id. (Events recorded while it was disabled were not queued
	// for it.)
	r.answer(http.StatusOK)
	on := true
	if _, err := f.svc.UpdateWebhook(context.Background(), f.p, w.ID, control.WebhookPatch{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RetryWebhookDelivery(context.Background(), f.p, w.ID, d.EventID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.wait(t)
		if got.header.Get("webhook-id") == id {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the redelivery did not come")
		}
	}
	waitStatus(t, f, w.ID, d.EventID, keyplane.DeliveryDelivered)
}

// A 410 Gone disables the webhook at once.
func TestGoneDisables(t *testing.T) {
	t.Parallel()
	f := start(t, true)
	r := newReceiver(t)
	r.answer(http.StatusGone)
	w := f.create(t, r.URL, keyplane.AllEvents)
	r.wait(t) // its own creation
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := f.svc.GetWebhook(context.Background(), f.p, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Enabled() {
			if got.DisabledReason != keyplane.DisabledGone {
				t.Errorf("reason %q", got.DisabledReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a 410 did not disable the webhook")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.app(t, "after")
	r.quiet(t)
}

// Without --webhooks-allow-private, a name that resolves to loopback is
// refused on the connection itself: the worker never reaches it.
func TestDeliveryRefusesPrivateDestinations(t *testing.T) {
	t.Parallel()
	f := start(t, false)
	r := newReceiver(t)
	u, _ := url.Parse(r.URL)
	// Registered while private targets were allowed (as the fixture's
	// operations are), sent by a worker that does not allow them.
	w := f.create(t, "https://localhost:"+u.Port()+"/hook", keyplane.EventAppCreated)
	f.app(t, "x")
	ds, err := f.svc.ListWebhookDeliveries(context.Background(), f.p, w.ID, "", 0)
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, _ = f.svc.ListWebhookDeliveries(context.Background(), f.p, w.ID, "", 0)
		if ds[0].Attempts > 0 && ds[0].LastAttemptAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt: %+v", ds[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(ds[0].LastError, "is a loopback address") || ds[0].LastStatus != 0 {
		t.Errorf("delivery to localhost: %+v", ds[0])
	}
	r.quiet(t)

	// The client alone refuses too, on the address it dials.
	c := webhook.NewClient(false, 5*time.Second)
	if _, err := c.Get(r.URL); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("guarded client to %s: %v", r.URL, err)
	}
}

// waitAttempts waits until the only delivery of a webhook has n attempts
// recorded.
func waitAttempts(t *testing.T, f *fixture, webhookID int64, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, err := f.svc.ListWebhookDeliveries(context.Background(), f.p, webhookID, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		// Recorded at the standing clock's time: an attempt in flight
		// still shows the one before.
		if len(ds) == 1 && ds[0].Attempts == n && ds[0].LastAttemptAt != nil && ds[0].LastAttemptAt.Equal(f.clock.Now()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempt %d never recorded: %+v", n, ds)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
