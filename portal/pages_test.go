package portal_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/usagesim"
)

// sitePage is one page of the portal as the whole-site browser tests
// visit it: by address, or by steps from the page before when only a form
// leads there (a key shown once).
type sitePage struct {
	name  string // also the name of its screenshot
	path  string // from the server's base; "" when steps lead there
	steps []chromedp.Action[chromedp.Void]
	ready string // a CSS selector present once the page is shown
}

// siteTour is every page of the portal, with an account holding one of
// everything each page shows: apps and keysets, a Service Integration
// with keys, a second user, a month of usage, and the audit trail all that
// left. The Owner (owner@example.com) signs in to see the pages of signedIn;
// signedOut are seen by nobody signed in, setup on a fresh install (its
// own server, since the setup link works only while nobody can sign in).
type siteTour struct {
	e                   *env
	signedOut, signedIn []sitePage
}

func newSiteTour(t *testing.T) siteTour {
	t.Helper()
	fresh := newEnv(t)
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	e.user("viewer@example.com", keyplane.RoleViewer)
	owner := mustSession(t, e, "owner@example.com")
	ctx := context.Background()
	app, err := e.svc.CreateApp(ctx, owner, "Telemedicine")
	if err != nil {
		t.Fatal(err)
	}
	prod := keyplane.KeysetProduction
	name := "prod"
	k, _, _, err := e.svc.CreateKeyset(ctx, owner, control.NewKeyset{AppID: app.ID, Name: &name, Type: &prod})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := e.svc.CreateKeyset(ctx, owner, control.NewKeyset{AppID: app.ID}); err != nil {
		t.Fatal(err)
	}
	g1, _ := keyplane.ParseGrant("account:app:rw")
	g2, _ := keyplane.ParseGrant(fmt.Sprintf("app/%d:keyset:read", app.ID))
	in, key, err := e.svc.CreateIntegration(ctx, owner, "CI/CD Pipeline", []keyplane.Grant{g1, g2}, e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	today := keyplane.DayOf(e.clock.Now())
	id := keyplane.FlexibleID(k.ID)
	var reports []keyplane.UsageReport
	usagesim.Keyset(1, k.ID, today-29, today+1, func(pt usagesim.Point) {
		d, m, v := pt.Day.String(), pt.Metric, pt.Value
		reports = append(reports, keyplane.UsageReport{KeysetID: &id, Date: &d, Metric: &m, Value: &v})
	})
	if _, err := e.svc.ImportUsage(ctx, reports, func(int) string { return "" }); err != nil {
		t.Fatal(err)
	}
	// A webhook of every event, registered on the loopback address by the
	// test's own Service: the server (without --webhooks-allow-private)
	// never dials it, so its deliveries show a refused attempt.
	e.svc.ConfigureWebhooks(control.WebhookConfig{AllowPrivate: true})
	wh, err := e.svc.CreateWebhook(ctx, owner, control.NewWebhook{URL: "http://127.0.0.1:9/keyplane-events", Description: "SIEM", Events: []string{keyplane.AllEvents}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateConfig(ctx, owner, k.ID, keyplane.ConfigPatch{Presence: &keyplane.PresencePatch{Interval: keyplane.Opt[int]{Set: true, V: 30}}}); err != nil {
		t.Fatal(err)
	}
	last, err := e.svc.ListAuditEvents(ctx, owner, keyplane.AuditQuery{Limit: 1, NewestFirst: true}, "")
	if err != nil || len(last.Events) != 1 || last.Events[0].Type != keyplane.EventKeysetConfigChanged {
		t.Fatalf("the config change's event: %+v %v", last, err)
	}
	ins := "/account/api-management/" + itoa(in.ID)
	hook := "/account/webhooks/" + itoa(wh.ID)
	return siteTour{e: e,
		signedOut: []sitePage{
			{name: "setup", path: fresh.setup, ready: "#confirm"},
			{name: "login", path: "/login", ready: "#sign-in"},
			{name: "sso", path: "/login/sso", ready: "#sso-continue"},
		},
		signedIn: []sitePage{
			{name: "apps", path: "/apps", ready: "#create-app"},
			{name: "app", path: "/apps/" + itoa(app.ID), ready: "#create-keyset"},
			{name: "keyset", path: "/keysets/" + itoa(k.ID), ready: "#save-config"},
			{name: "keyset-delete", path: "/keysets/" + itoa(k.ID) + "/delete", ready: "#confirm"},
			{name: "app-delete", path: "/apps/" + itoa(app.ID) + "/delete", ready: "#confirm"},
			{name: "usage", path: "/usage", ready: ".chart svg"},
			{name: "usage-keyset", path: "/usage?entity=keyset&id=" + itoa(k.ID), ready: ".chart svg"},
			{name: "account", path: "/account", ready: ".side"},
			{name: "two-factor", path: "/account/two-factor", ready: "#add-passkey"},
			{name: "api-management", path: "/account/api-management", ready: "#create-integration"},
			{name: "integration-new", path: "/account/api-management/new", ready: "#perm-0"},
			{name: "integration", path: ins, ready: "#generate-open"},
			{name: "revoke", path: ins + "/keys/" + itoa(key.ID) + "/revoke", ready: "#confirm"},
			{name: "integration-delete", path: ins + "/delete", ready: "#confirm"},
			{name: "key-created", steps: []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(e.base + ins), chromedp.WaitVisible(chromedp.ID("generate-open")),
				chromedp.Click(chromedp.ID("generate-open")), chromedp.WaitVisible(chromedp.ID("generate")),
				chromedp.Click(chromedp.ID("generate")),
			}, ready: "#api-key"},
			{name: "users", path: "/account/users", ready: "#user-email"},
			{name: "sso-config", path: "/account/sso", ready: "#save-sso"},
			{name: "webhooks", path: "/account/webhooks", ready: "#create-webhook"},
			{name: "webhook", path: hook, ready: "#deliveries"},
			{name: "webhook-rotate", path: hook + "/rotate", ready: "#confirm"},
			{name: "webhook-delete", path: hook + "/delete", ready: "#confirm"},
			{name: "webhook-secret", steps: []chromedp.Action[chromedp.Void]{
				chromedp.Navigate(e.base + hook + "/rotate"), chromedp.WaitVisible(chromedp.ID("confirm")),
				chromedp.Click(chromedp.ID("confirm")),
			}, ready: "#webhook-secret"},
			{name: "audit", path: "/account/audit", ready: "table"},
			{name: "audit-event", path: "/account/audit/" + itoa(last.Events[0].ID), ready: "#event-changes"},
			{name: "not-found", path: "/nowhere", ready: "#go-back, h1"},
		},
	}
}

// visit shows page in the tab, signed in or not as the tour left it.
func (st siteTour) visit(t *testing.T, ctx context.Context, page sitePage) {
	t.Helper()
	steps := page.steps
	if page.path != "" {
		u := page.path
		if u[0] == '/' {
			u = st.e.base + u
		}
		steps = []chromedp.Action[chromedp.Void]{chromedp.Navigate(u)}
	}
	run(t, ctx, page.name, append(steps, chromedp.WaitVisible(chromedp.CSS(page.ready)))...)
}
