package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/usagesim"
)

// The seed's flow, as a person follows it: sign in → account name → My
// Account → Organization Settings → API Management → Create Service
// Integration with rows → copy the key → the API takes it → generate a
// second key → revoke the first → the API refuses it; a fourth active key
// is refused with a clear message.
func TestSeedFlowInBrowser(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	ctx := tab(t)

	signInBrowser(t, ctx, e, "owner@example.com")
	run(t, ctx, "account name → My Account",
		chromedp.Click(chromedp.ID("account-menu")),
		chromedp.WaitVisible(chromedp.CSS(`.account-menu a[href="/account"]`)),
		chromedp.Click(chromedp.CSS(`.account-menu a[href="/account"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.side a[href="/account"][aria-current="page"]`)),
	)
	screenshot(t, ctx, "my-account")
	run(t, ctx, "Organization Settings → API Management",
		chromedp.Click(chromedp.CSS(`.side a[href="/account/api-management"]`)),
		chromedp.WaitVisible(chromedp.ID("create-integration")),
	)
	run(t, ctx, "Create Service Integration",
		chromedp.Click(chromedp.ID("create-integration")),
		chromedp.WaitVisible(chromedp.ID("perm-0")),
		chromedp.SendKeys(chromedp.ID("name"), "CI/CD Pipeline"),
		chromedp.SetValue(chromedp.ID("perm-0"), "account:app:read-write"),
		chromedp.SetValue(chromedp.ID("perm-1"), "account:keyset:read"),
		chromedp.SetValue(chromedp.ID("expiration"), "30"),
	)
	screenshot(t, ctx, "create-integration")
	run(t, ctx, "create", chromedp.Click(chromedp.ID("create")), chromedp.WaitVisible(chromedp.ID("api-key")))
	if w := text(t, ctx, ".notice.warn"); !strings.Contains(w, "will not be shown again") {
		t.Errorf("warning %q", w)
	}
	run(t, ctx, "copy the key", chromedp.Click(chromedp.ID("copy-key")), chromedp.WaitVisible(chromedp.CSS("#copy-key.copied")))
	key1 := value(t, ctx, "#api-key")
	if err := keyplane.CheckAPIKey(key1); err != nil {
		t.Fatalf("shown key %q: %v", key1, err)
	}
	screenshot(t, ctx, "key-created")
	if s := e.api(key1, "/v2/apps"); s != http.StatusOK {
		t.Fatalf("GET /v2/apps with the new key: %d", s)
	}
	if s := e.api(key1, "/v2/keysets"); s != http.StatusOK {
		t.Fatalf("GET /v2/keysets with the new key: %d", s)
	}

	run(t, ctx, "integration page",
		chromedp.Click(chromedp.ID("done")),
		chromedp.WaitVisible(chromedp.ID("generate-open")),
	)
	if got := text(t, ctx, "table tbody"); !strings.Contains(got, "Account") || !strings.Contains(got, "Read & write") {
		t.Errorf("permissions table %q", got)
	}
	generate := func(days string) {
		t.Helper()
		run(t, ctx, "+ Generate API Key",
			chromedp.Click(chromedp.ID("generate-open")),
			chromedp.WaitVisible(chromedp.ID("generate")),
			chromedp.SetValue(chromedp.CSS("#expiration"), days),
			chromedp.Click(chromedp.ID("generate")),
		)
	}
	generate("7")
	run(t, ctx, "second key shown", chromedp.WaitVisible(chromedp.ID("api-key")))
	key2 := value(t, ctx, "#api-key")
	if key2 == key1 || e.api(key2, "/v2/apps") != http.StatusOK {
		t.Fatalf("second key %q does not work", key2)
	}
	run(t, ctx, "back", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.ID("generate-open")))
	screenshot(t, ctx, "integration")

	run(t, ctx, "revoke the first key",
		chromedp.Click(chromedp.CSS(`a[id^="revoke-"]`)), // keys are listed oldest first
		chromedp.WaitVisible(chromedp.ID("confirm")),
	)
	if h := text(t, ctx, "#confirm-heading"); !strings.Contains(h, key1[:10]) {
		t.Fatalf("confirmation %q does not name the first key (%s…)", h, key1[:10])
	}
	run(t, ctx, "confirm", chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.CSS(".notice.ok")))
	if s := e.api(key1, "/v2/apps"); s != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d, want 401", s)
	}
	if s := e.api(key2, "/v2/apps"); s != http.StatusOK {
		t.Fatalf("second key after revoking the first: %d", s)
	}

	// Two more make three active keys; a fourth is refused, clearly.
	for range 2 {
		generate("7")
		run(t, ctx, "key shown", chromedp.WaitVisible(chromedp.ID("api-key")))
		run(t, ctx, "back", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.ID("generate-open")))
	}
	// At 3 of 3, Generate API Key is disabled and says why; a request sent
	// anyway is refused with the API's reason.
	if n := present(t, ctx, "#generate-open[disabled][aria-describedby=generate-full]"); n != 1 {
		t.Error("Generate API Key is not disabled at 3 active keys")
	}
	if why := text(t, ctx, "#generate-full"); !strings.Contains(why, "at most 3 active keys: revoke one first") {
		t.Errorf("reason %q", why)
	}
	c := e.client()
	e.signIn(c, "owner@example.com")
	if r := e.post(c, "/account/api-management/"+itoa(ins0(t, e).ID)+"/keys", url.Values{"expiration": {"7"}}); r.status != http.StatusConflict || !strings.Contains(r.body, "already has 3 active API keys") {
		t.Errorf("a fourth key sent anyway: %d", r.status)
	}
	ins, err := e.svc.ListIntegrations(context.Background(), keyplane.Operator(1))
	if err != nil || len(ins) != 1 || len(ins[0].Keys) != 4 {
		t.Fatalf("stored: %+v %v", ins, err)
	}
	run(t, ctx, "the integrations table", chromedp.Navigate(e.base+"/account/api-management"), chromedp.WaitVisible(chromedp.CSS("td a.rowlink")))
	if row := text(t, ctx, "tbody tr"); !strings.Contains(row, "CI/CD Pipeline") || !strings.Contains(row, "3 of 3") {
		t.Errorf("table row %q", row)
	}
	screenshot(t, ctx, "api-management")
	e.user("viewer@example.com", keyplane.RoleViewer)
	run(t, ctx, "users", chromedp.Navigate(e.base+"/account/users"), chromedp.WaitVisible(chromedp.ID("user-email")))
	screenshot(t, ctx, "users")
}

// ins0 is the only Service Integration of e.
func ins0(t *testing.T, e *env) control.IntegrationKeys {
	t.Helper()
	ins, err := e.svc.ListIntegrations(context.Background(), keyplane.Operator(1))
	if err != nil || len(ins) != 1 {
		t.Fatalf("integrations %+v %v", ins, err)
	}
	return ins[0]
}

// A Viewer sees API Management and apps but no write action, and a forged
// POST is refused with 403 and changes nothing.
func TestViewerCannotWrite(t *testing.T) {
	e := newEnv(t)
	e.user("viewer@example.com", keyplane.RoleViewer)
	admin := e.user("admin@example.com", keyplane.RoleAdmin).Principal()
	g, _ := keyplane.ParseGrant("account:app:read")
	in, key, err := e.svc.CreateIntegration(context.Background(), admin, "Terraform", []keyplane.Grant{g}, e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	app, err := e.svc.CreateApp(context.Background(), admin, "Telemedicine")
	if err != nil {
		t.Fatal(err)
	}

	ctx := tab(t)
	signInBrowser(t, ctx, e, "viewer@example.com")
	run(t, ctx, "API Management", chromedp.Navigate(e.base+"/account/api-management"), chromedp.WaitVisible(chromedp.CSS("table")))
	if n := present(t, ctx, "#create-integration"); n != 0 {
		t.Error("a Viewer is offered Create Service Integration")
	}
	run(t, ctx, "integration page", chromedp.Navigate(e.base+"/account/api-management/"+itoa(in.ID)), chromedp.WaitVisible(chromedp.CSS("table")))
	if n := present(t, ctx, "#generate-open, a[id^=revoke-], #delete-integration"); n != 0 {
		t.Errorf("a Viewer is offered %d write actions on an integration", n)
	}
	run(t, ctx, "apps", chromedp.Navigate(e.base+"/apps/"+itoa(app.ID)), chromedp.WaitVisible(chromedp.CSS("table")))
	if n := present(t, ctx, "#create-keyset, #rename, a[href$='/delete']"); n != 0 {
		t.Errorf("a Viewer is offered %d write actions on an app", n)
	}
	run(t, ctx, "the create form itself", chromedp.Navigate(e.base+"/account/api-management/new"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := text(t, ctx, "h1"); h != "Not allowed" {
		t.Errorf("GET the create form as a Viewer: %q", h)
	}

	// Forged POSTs, with the Viewer's session, from the same origin.
	c := e.client()
	e.signIn(c, "viewer@example.com")
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/account/api-management/new", url.Values{"name": {"x"}, "perm": {"account:app:read"}, "target": {""}, "expiration": {"30"}, "action": {"create"}}},
		{"/account/api-management/" + itoa(in.ID) + "/keys", url.Values{"expiration": {"30"}}},
		{"/account/api-management/" + itoa(in.ID) + "/keys/" + itoa(key.ID) + "/revoke", nil},
		{"/account/api-management/" + itoa(in.ID) + "/delete", nil},
		{"/account/users", url.Values{"email": {"evil@example.com"}, "role": {"admin"}}},
		{"/apps", url.Values{"name": {"forged"}}},
		{"/apps/" + itoa(app.ID) + "/rename", url.Values{"name": {"forged"}}},
		{"/apps/" + itoa(app.ID) + "/keysets", url.Values{"name": {"forged"}, "type": {"testing"}}},
		{"/apps/" + itoa(app.ID) + "/delete", nil},
	} {
		if r := e.post(c, f.path, f.form); r.status != http.StatusForbidden || !strings.Contains(r.body, "Not allowed") {
			t.Errorf("forged POST %s: %d, want 403", f.path, r.status)
		}
	}
	if s := e.api(key.Key, "/v2/apps"); s != http.StatusOK {
		t.Errorf("the integration's key after the forged revoke: %d", s)
	}
	ins, _ := e.svc.ListIntegrations(context.Background(), keyplane.Operator(1))
	users, _ := e.svc.ListUsers(context.Background(), keyplane.Operator(1))
	apps, total, _ := e.svc.ListApps(context.Background(), admin, keyplane.Page{Page: 1, Limit: 10})
	if len(ins) != 1 || len(ins[0].Keys) != 1 || len(users) != 2 || total != 1 || apps[0].Name != "Telemedicine" {
		t.Errorf("forged POSTs changed something: %d integrations, %d users, apps %+v", len(ins), len(users), apps)
	}
}

// An invalid form is shown again with an error beside each field at fault,
// and nothing is created.
func TestInvalidFormShowsInlineErrors(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")
	run(t, ctx, "create form with mistakes",
		chromedp.Navigate(e.base+"/account/api-management/new"),
		chromedp.WaitVisible(chromedp.ID("perm-0")),
		chromedp.SetValue(chromedp.ID("perm-0"), "app:keyset:read"), // an App-level row without its app
		chromedp.SetValue(chromedp.ID("perm-1"), "account:usage:read"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.CSS("#row-0-err .errors")),
	)
	if msg := text(t, ctx, "#name-err"); !strings.Contains(msg, "name: required") {
		t.Errorf("name error %q", msg)
	}
	if msg := text(t, ctx, "#row-0-err"); !strings.Contains(msg, "Choose the app") {
		t.Errorf("row error %q", msg)
	}
	if inv, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("name"), "aria-invalid")); inv.Value != "true" {
		t.Error("the name input is not marked invalid")
	}
	if v := value(t, ctx, "#perm-1"); v != "account:usage:read" {
		t.Errorf("row 2 was not kept: %q", v)
	}
	screenshot(t, ctx, "create-integration-errors")
	if ins, _ := e.svc.ListIntegrations(context.Background(), keyplane.Operator(1)); len(ins) != 0 {
		t.Errorf("an invalid form created %d integrations", len(ins))
	}

	// The keyset configuration shows the API's own validation messages.
	owner := mustSession(t, e, "owner@example.com")
	app, _ := e.svc.CreateApp(context.Background(), owner, "Telemedicine")
	for _, n := range []string{"Gaming", "Fleet tracking"} {
		a, _ := e.svc.CreateApp(context.Background(), owner, n)
		e.svc.CreateKeyset(context.Background(), owner, control.NewKeyset{AppID: a.ID})
	}
	run(t, ctx, "apps", chromedp.Navigate(e.base+"/apps"), chromedp.WaitVisible(chromedp.ID("create-app")))
	screenshot(t, ctx, "apps")
	run(t, ctx, "app page", chromedp.Navigate(e.base+"/apps/"+itoa(app.ID)), chromedp.WaitVisible(chromedp.ID("create-keyset")))
	run(t, ctx, "create keyset",
		chromedp.SendKeys(chromedp.ID("keyset-name"), "prod"),
		chromedp.Click(chromedp.CSS(`input[name=type][value=production]`)),
		chromedp.Click(chromedp.ID("create-keyset")),
		chromedp.WaitVisible(chromedp.ID("new-secret")),
	)
	if s := value(t, ctx, "#new-secret"); !strings.HasPrefix(s, "sec-c-") {
		t.Errorf("secret shown %q", s)
	}
	// Message Persistence is on by default (PubNub's defaults): an empty
	// retention is null, which it cannot be while enabled.
	run(t, ctx, "keyset page with a bad interval and persistence without retention",
		chromedp.Click(chromedp.CSS(`#created a.button`)),
		chromedp.WaitVisible(chromedp.ID("save-config")),
		chromedp.Clear(chromedp.ID("cfg-presence-interval")),
		chromedp.SendKeys(chromedp.ID("cfg-presence-interval"), "5"),
		// Not set: chromedp's SetValue cannot set an empty value (it sends
		// none, so the select ends with nothing chosen).
		chromedp.Evaluate[chromedp.Void](`document.getElementById("cfg-messagePersistence-retention").value = ""`),
		chromedp.Click(chromedp.ID("save-config")),
		chromedp.WaitVisible(chromedp.CSS("#cfg-presence-interval-err .errors")),
	)
	if msg := text(t, ctx, "#cfg-presence-interval-err"); !strings.Contains(msg, "presence.interval") {
		t.Errorf("interval error %q", msg)
	}
	if msg := text(t, ctx, "#cfg-messagePersistence-retention-err"); !strings.Contains(msg, "messagePersistence.retention") {
		t.Errorf("retention error %q", msg)
	}
	screenshot(t, ctx, "keyset-errors")
	ks, _, _ := e.svc.ListKeysets(context.Background(), owner, keyplane.Page{Page: 1, Limit: 10})
	ks = ks[len(ks)-1:] // the one made in the browser
	cfg, _ := e.svc.GetConfig(context.Background(), owner, ks[0].ID)
	if cfg.Presence.Interval != 10 || cfg.MessagePersistence.Retention == nil || *cfg.MessagePersistence.Retention != 7 {
		t.Errorf("an invalid config form changed the config: %+v", cfg)
	}
	// Fixed, it saves.
	run(t, ctx, "fix and save",
		chromedp.Clear(chromedp.ID("cfg-presence-interval")),
		chromedp.SendKeys(chromedp.ID("cfg-presence-interval"), "30"),
		chromedp.SetValue(chromedp.ID("cfg-messagePersistence-retention"), "30"),
		chromedp.Click(chromedp.ID("save-config")),
		chromedp.WaitVisible(chromedp.CSS(".notice.ok")),
	)
	cfg, _ = e.svc.GetConfig(context.Background(), owner, ks[0].ID)
	if cfg.Presence.Interval != 30 || !cfg.MessagePersistence.Enabled || cfg.MessagePersistence.Retention == nil || *cfg.MessagePersistence.Retention != 30 {
		t.Errorf("saved config: %+v", cfg)
	}
	screenshot(t, ctx, "keyset")

	// A month of simulated usage, charted on the Usage page.
	all, _, _ := e.svc.ListKeysets(context.Background(), owner, keyplane.Page{Page: 1, Limit: 100})
	today := keyplane.DayOf(e.clock.Now())
	var reports []keyplane.UsageReport
	for _, k := range all {
		id := keyplane.FlexibleID(k.ID)
		usagesim.Keyset(1, k.ID, today-29, today+1, func(pt usagesim.Point) {
			d, m, v := pt.Day.String(), pt.Metric, pt.Value
			reports = append(reports, keyplane.UsageReport{KeysetID: &id, Date: &d, Metric: &m, Value: &v})
		})
	}
	if _, err := e.svc.ImportUsage(context.Background(), reports, func(int) string { return "" }); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "usage", chromedp.Navigate(e.base+"/usage"), chromedp.WaitVisible(chromedp.CSS(".chart svg rect")))
	if n := text(t, ctx, ".chart h2"); n != "Messages published publish" {
		t.Errorf("the first chart is %q, want Messages published (publish)", n)
	}
	screenshot(t, ctx, "usage")
}

// A form on another site that posts to the portal is refused by the
// browser's own cross-origin markers, even with the session cookie sent.
func TestCrossOriginPostRefusedInBrowser(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	evil := newEvilSite(t, e.base+"/apps")
	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")
	run(t, ctx, "the other site's form",
		chromedp.Navigate(evil),
		chromedp.WaitVisible(chromedp.ID("go")),
		chromedp.Click(chromedp.ID("go")),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	if h := text(t, ctx, "h1"); h != "Request refused" {
		t.Errorf("cross-origin POST answered %q", h)
	}
	owner := mustSession(t, e, "owner@example.com")
	if _, total, _ := e.svc.ListApps(context.Background(), owner, keyplane.Page{Page: 1, Limit: 10}); total != 0 {
		t.Errorf("the cross-origin POST created %d apps", total)
	}
}

// The setup link printed at first start creates the Owner and signs them in.
func TestSetupLinkInBrowser(t *testing.T) {
	e := newEnv(t)
	if e.setup == "" {
		t.Fatal("no setup link on a fresh install")
	}
	ctx := tab(t)
	run(t, ctx, "setup",
		chromedp.Navigate(e.setup),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("email"), "founder@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("confirm"), password),
		chromedp.Submit(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("create-integration")),
	)
	users, _ := e.svc.ListUsers(context.Background(), keyplane.Operator(1))
	if len(users) != 1 || users[0].Role != keyplane.RoleOwner || users[0].Email != "founder@example.com" {
		t.Fatalf("users %+v", users)
	}
	if r := e.get(e.client(), strings.TrimPrefix(e.setup, e.base)); r.status != http.StatusNotFound {
		t.Errorf("the used setup link: %d, want 404", r.status)
	}
}
