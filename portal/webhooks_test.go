package portal_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/server"
)

// receiver is a real HTTP receiver of webhooks in the test process: it
// answers status and keeps what it was sent.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	got    []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusNoContent}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), b})
		status := rc.status
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) answer(status int) { rc.mu.Lock(); rc.status = status; rc.mu.Unlock() }

// wait waits until the receiver holds n deliveries, and returns them.
func (rc *receiver) wait(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]received(nil), rc.got...)
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d deliveries, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newWebhookEnv is a server that sends webhooks to the test's own
// receivers on 127.0.0.1 (--webhooks-allow-private), looking for due
// deliveries often.
func newWebhookEnv(t *testing.T) *env {
	t.Helper()
	e := newEnvWith(t, func(c *server.Config) {
		c.WebhooksAllowPrivate = true
		c.WebhookPoll = 20 * time.Millisecond
	})
	e.svc.ConfigureWebhooks(control.WebhookConfig{AllowPrivate: true})
	return e
}

var secretRE = regexp.MustCompile(`value="(whsec_[^"]+)"`)

// An Owner adds a webhook in the portal: the signing secret is shown once
// (reloading says so, sending the form again makes no second webhook), a
// test event reaches the receiver signed with that secret, the delivery is
// listed with its response code, Redeliver sends it again with the same
// webhook-id, and rotating and deleting act once too.
func TestWebhookPagesInPortal(t *testing.T) {
	e := newWebhookEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	owner := mustSession(t, e, "owner@example.com")
	rc := newReceiver(t)
	c := e.client()
	e.signIn(c, "owner@example.com")

	page := e.get(c, "/account/webhooks")
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="create-webhook"`) {
		t.Fatalf("webhooks page: %d %.300s", page.status, page.body)
	}
	// Wrong input is shown beside its field, in the API's words, and
	// makes nothing.
	bad := e.post(c, "/account/webhooks", url.Values{"url": {"ftp://x.example"}, "scope": {"all"}})
	if bad.status != http.StatusBadRequest || !regexp.MustCompile(`id="url-err"><ul class="errors"><li>url: scheme`).MatchString(bad.body) {
		t.Fatalf("bad url: %d %s", bad.status, bad.body)
	}
	bad = e.post(c, "/account/webhooks", url.Values{"url": {rc.srv.URL}, "scope": {"some"}})
	if bad.status != http.StatusBadRequest || !regexp.MustCompile(`id="new-events-err"><ul class="errors"><li>events: name at least one event type`).MatchString(bad.body) {
		t.Fatalf("no events: %d %s", bad.status, bad.body)
	}
	if ws, _ := e.svc.ListWebhooks(context.Background(), owner); len(ws) != 0 {
		t.Fatalf("a refused form made %v", ws)
	}

	form := url.Values{"form": {formToken()}, "url": {rc.srv.URL + "/hook"}, "description": {"SIEM"}, "scope": {"some"},
		"event": {keyplane.EventAppCreated, keyplane.EventWebhookTested}}
	r := e.post(c, "/account/webhooks", form)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/webhooks/shown?form=") {
		t.Fatalf("create: %d %s %.300s", r.status, loc, r.body)
	}
	shown := e.get(c, loc)
	m := secretRE.FindStringSubmatch(shown.body)
	if shown.status != http.StatusOK || m == nil {
		t.Fatalf("shown: %d %.1000s", shown.status, shown.body)
	}
	secret := html.UnescapeString(m[1]) // html/template writes a + of the base64 as &#43;
	if again := e.get(c, loc); again.status != http.StatusGone || strings.Contains(again.body, secret) {
		t.Fatalf("shown twice: %d", again.status)
	}
	if twice := e.post(c, "/account/webhooks", form); twice.status != http.StatusSeeOther || twice.header.Get("Location") != loc {
		t.Fatalf("the form sent again: %d %s", twice.status, twice.header.Get("Location"))
	}
	ws, err := e.svc.ListWebhooks(context.Background(), owner)
	if err != nil || len(ws) != 1 || ws[0].Description != "SIEM" || len(ws[0].Events) != 2 {
		t.Fatalf("webhooks: %+v %v", ws, err)
	}
	wh := ws[0]
	base := "/account/webhooks/" + itoa(wh.ID)
	list := e.get(c, "/account/webhooks")
	if !strings.Contains(list.body, html.EscapeString(rc.srv.URL+"/hook")) || !strings.Contains(list.body, "Enabled") {
		t.Fatalf("the list does not show the webhook: %.2000s", list.body)
	}

	// Send test event: the receiver gets it, signed with the secret shown.
	if r := e.post(c, base+"/test", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != base+"?done=webhook-tested" {
		t.Fatalf("test: %d %s %.300s", r.status, r.header.Get("Location"), r.body)
	}
	got := rc.wait(t, 1)
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(got[0].body, got[0].header); err != nil {
		t.Fatalf("the test event does not verify with the secret shown: %v", err)
	}
	if !strings.Contains(string(got[0].body), `"type":"WebhookTested"`) {
		t.Fatalf("the test event: %s", got[0].body)
	}
	msgID := got[0].header.Get("webhook-id")
	// The delivery is listed, delivered, with the receiver's status.
	var ds []keyplane.WebhookDelivery
	for deadline := time.Now().Add(10 * time.Second); ; {
		ds, err = e.svc.ListWebhookDeliveries(context.Background(), owner, wh.ID, keyplane.DeliveryDelivered, 0)
		if err != nil || len(ds) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || len(ds) != 1 || ds[0].MessageID() != msgID {
		t.Fatalf("deliveries: %+v %v", ds, err)
	}
	wp := e.get(c, base)
	for _, want := range []string{"WebhookTested", msgID, "delivered", "204", `id="redeliver-` + itoa(ds[0].EventID) + `"`} {
		if !strings.Contains(wp.body, want) {
			t.Errorf("the webhook's page lacks %q", want)
		}
	}
	// Redeliver: the same webhook-id again.
	if r := e.post(c, base+"/deliveries/"+itoa(ds[0].EventID)+"/retry", nil); r.status != http.StatusSeeOther {
		t.Fatalf("redeliver: %d %.300s", r.status, r.body)
	}
	if got := rc.wait(t, 2); got[1].header.Get("webhook-id") != msgID {
		t.Fatalf("redelivered as %q, want %q", got[1].header.Get("webhook-id"), msgID)
	}

	// Edit: an event type that is none is refused beside the events.
	if r := e.post(c, base, url.Values{"url": {rc.srv.URL + "/hook"}, "scope": {"some"}, "event": {"Nope"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, `&#34;Nope&#34; is not an event type`) {
		t.Fatalf("edit with a bad event: %d %.3000s", r.status, r.body)
	}
	if r := e.post(c, base, url.Values{"url": {rc.srv.URL + "/hook2"}, "description": {"chat"}, "scope": {"all"}}); r.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %.300s", r.status, r.body)
	}
	if w, _ := e.svc.GetWebhook(context.Background(), owner, wh.ID); w.URL != rc.srv.URL+"/hook2" || w.Description != "chat" || len(w.Events) != 1 || w.Events[0] != "*" {
		t.Fatalf("after edit: %+v", w)
	}

	// Rotate, with an overlap: the new secret is shown once.
	if r := e.get(c, base+"/rotate"); r.status != http.StatusOK || !strings.Contains(r.body, "The old secret keeps signing for") {
		t.Fatalf("rotate form: %d %.300s", r.status, r.body)
	}
	r = e.post(c, base+"/rotate", url.Values{"overlap": {"86400"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), base+"/rotate/shown?form=") {
		t.Fatalf("rotate: %d %s", r.status, r.header.Get("Location"))
	}
	rot := e.get(c, r.header.Get("Location"))
	if m := secretRE.FindStringSubmatch(rot.body); m == nil || m[1] == secret || !strings.Contains(rot.body, `id="old-secret"`) {
		t.Fatalf("rotated: %d %.1000s", rot.status, rot.body)
	}
	if r := e.post(c, base+"/rotate", url.Values{"overlap": {"999"}}); r.status != http.StatusBadRequest {
		t.Fatalf("an overlap not offered: %d", r.status)
	}

	// Turn off and on.
	if r := e.post(c, base+"/disable", nil); r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.status)
	}
	if p := e.get(c, base); !strings.Contains(p.body, `id="disabled-reason"`) || !strings.Contains(p.body, `id="enable"`) || strings.Contains(p.body, `id="send-test"`) {
		t.Fatalf("a disabled webhook's page: %.3000s", p.body)
	}
	// A webhook turned off on request is no cause for the banner.
	if p := e.get(c, "/apps"); strings.Contains(p.body, `id="webhook-notice"`) {
		t.Fatal("the banner shows for a webhook turned off on request")
	}
	if r := e.post(c, base+"/enable", nil); r.status != http.StatusSeeOther {
		t.Fatalf("enable: %d", r.status)
	}

	// Delete, after a confirmation.
	if r := e.get(c, base+"/delete"); r.status != http.StatusOK || !strings.Contains(r.body, `id="confirm"`) {
		t.Fatalf("delete form: %d", r.status)
	}
	if r := e.post(c, base+"/delete", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/account/webhooks?done=webhook-deleted" {
		t.Fatalf("delete: %d %s", r.status, r.header.Get("Location"))
	}
	if ws, _ := e.svc.ListWebhooks(context.Background(), owner); len(ws) != 0 {
		t.Fatalf("after delete: %+v", ws)
	}
}

// A receiver answering 410 Gone has its webhook disabled by the server:
// every page then carries a banner for who may read webhooks (not for a
// scoped role), and the webhook's page says why.
func TestDisabledWebhookBanner(t *testing.T) {
	e := newWebhookEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	e.user("viewer@example.com", keyplane.RoleViewer)
	owner := mustSession(t, e, "owner@example.com")
	ctx := context.Background()
	app, err := e.svc.CreateApp(ctx, owner, "Telemedicine")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateUser(ctx, owner, control.NewUser{Email: "app@example.com", Password: password, Role: keyplane.RoleAppViewer, Apps: []int64{app.ID}}); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t)
	rc.answer(http.StatusGone)
	wh, err := e.svc.CreateWebhook(ctx, owner, control.NewWebhook{URL: rc.srv.URL, Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.TestWebhook(ctx, owner, wh.ID); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, 1)
	for deadline := time.Now().Add(10 * time.Second); ; {
		w, err := e.svc.GetWebhook(ctx, owner, wh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !w.Enabled() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook was not disabled after a 410")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, who := range []string{"owner@example.com", "viewer@example.com"} {
		c := e.client()
		e.signIn(c, who)
		p := e.get(c, "/apps")
		if !strings.Contains(p.body, `id="webhook-notice"`) || !strings.Contains(p.body, "1 webhook was disabled") {
			t.Errorf("%s: no banner: %.3000s", who, p.body)
		}
		wp := e.get(c, "/account/webhooks/"+itoa(wh.ID))
		if !strings.Contains(wp.body, keyplane.DisabledGone) {
			t.Errorf("%s: the webhook's page does not say why it is off", who)
		}
		if who == "viewer@example.com" {
			for _, form := range []string{`id="enable"`, `id="create-webhook"`, `id="rotate"`, `id="redeliver-`} {
				if strings.Contains(wp.body+e.get(c, "/account/webhooks").body, form) {
					t.Errorf("a Viewer is offered %s", form)
				}
			}
			before, _ := e.svc.GetWebhook(ctx, owner, wh.ID)
			if r := e.post(c, "/account/webhooks/"+itoa(wh.ID)+"/enable", nil); r.status != http.StatusForbidden {
				t.Errorf("a Viewer's forged enable: %d", r.status)
			}
			if r := e.post(c, "/account/webhooks", url.Values{"url": {rc.srv.URL}, "scope": {"all"}}); r.status != http.StatusForbidden {
				t.Errorf("a Viewer's forged create: %d", r.status)
			}
			if after, _ := e.svc.GetWebhook(ctx, owner, wh.ID); after.Enabled() != before.Enabled() {
				t.Error("a Viewer turned the webhook on")
			}
		}
	}
	c := e.client()
	e.signIn(c, "app@example.com")
	if p := e.get(c, "/apps"); strings.Contains(p.body, "webhook-notice") || strings.Contains(p.body, `href="/account/webhooks"`) {
		t.Error("an App Viewer is shown webhooks")
	}
	if r := e.get(c, "/account/webhooks"); r.status != http.StatusForbidden {
		t.Errorf("an App Viewer reads webhooks: %d", r.status)
	}
}

// In the browser, without a line of the page's script needed: add a
// webhook, copy its secret from the page shown once, send a test event
// and see it delivered on the webhook's page.
func TestWebhookInBrowser(t *testing.T) {
	e := newWebhookEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	rc := newReceiver(t)
	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")
	run(t, ctx, "add a webhook",
		chromedp.Navigate(e.base+"/account/webhooks"), chromedp.WaitVisible(chromedp.ID("create-webhook")),
		chromedp.SendKeys(chromedp.ID("webhook-url"), rc.srv.URL+"/keyplane"),
		chromedp.SendKeys(chromedp.ID("webhook-description"), "SIEM"),
		chromedp.Click(chromedp.ID("create-webhook")), chromedp.WaitVisible(chromedp.ID("webhook-secret")))
	secret := value(t, ctx, "#webhook-secret")
	if !strings.HasPrefix(secret, keyplane.WebhookSecretPrefix) {
		t.Fatalf("the secret shown: %q", secret)
	}
	screenshot(t, ctx, "webhook-created")
	run(t, ctx, "its page", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.ID("send-test")),
		chromedp.Click(chromedp.ID("send-test")), chromedp.WaitVisible(chromedp.CSS(".notice.ok")))
	got := rc.wait(t, 1)
	v, _ := standardwebhooks.NewWebhook(secret)
	if err := v.Verify(got[0].body, got[0].header); err != nil {
		t.Fatalf("the delivery does not verify with the secret the page showed: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("deliveries")))
		if present(t, ctx, "#deliveries .badge.active") == 2 { // WebhookCreated and WebhookTested
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery is not shown delivered: %s", text(t, ctx, "#deliveries"))
		}
	}
	screenshot(t, ctx, "webhook")
}
