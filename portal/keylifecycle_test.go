package portal_test

import (
	"context"
	"net/http"
	"net/url"

	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
)

// The key lifecycle in the browser: Roll beside a key shows the new key
// once and keeps the old one for the chosen overlap; Suspend and Resume;
// allowed networks edited on the integration's page; the banner and the
// filter of keys that expire soon; the Owner's key policy.
func TestKeyLifecycleInBrowser(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	g, _ := keyplane.ParseGrant("account:app:read")
	in, k, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(1), "Deployer", []keyplane.Grant{g}, e.clock.Now().Add(10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")

	// The key expires within 14 days: the banner says so on every page,
	// and leads to the keys that do.
	if b := text(t, ctx, "#key-notices"); !strings.Contains(b, "1 key expires soon") {
		t.Errorf("banner %q", b)
	}
	run(t, ctx, "the banner's link",
		chromedp.Click(chromedp.CSS(`#key-notices a[href$="show=expiring"]`)),
		chromedp.WaitVisible(chromedp.ID("notice-keys")))
	if row := text(t, ctx, "#notice-keys tbody"); !strings.Contains(row, "Deployer") || !strings.Contains(row, "Expires in 10 days") {
		t.Errorf("expiring keys %q", row)
	}
	run(t, ctx, "unused keys", chromedp.Click(chromedp.ID("show-unused")), chromedp.WaitVisible(chromedp.ID("notice-keys")))
	if row := text(t, ctx, "#notice-keys tbody"); !strings.Contains(row, "No key has gone unused") {
		t.Errorf("unused keys %q", row)
	}

	// Roll, with a 1-hour overlap.
	page := e.base + "/account/api-management/" + itoa(in.ID)
	run(t, ctx, "Roll", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("roll-"+itoa(k.ID))),
		chromedp.Click(chromedp.ID("roll-"+itoa(k.ID))), chromedp.WaitVisible(chromedp.ID("overlap")),
		chromedp.SetValue(chromedp.ID("overlap"), "3600"),
		chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("api-key")))
	newKey := value(t, ctx, "#api-key")
	if err := keyplane.CheckAPIKey(newKey); err != nil || newKey == k.Key {
		t.Fatalf("rolled key %q: %v", newKey, err)
	}
	if old := text(t, ctx, "#old-key"); !strings.Contains(old, k.Prefix) {
		t.Errorf("the roll's page says %q", old)
	}
	for _, key := range []string{k.Key, newKey} {
		if s := e.api(key, "/v2/apps"); s != http.StatusOK {
			t.Errorf("during the overlap: %d", s)
		}
	}
	e.clock.Advance(time.Hour)
	if s := e.api(k.Key, "/v2/apps"); s != http.StatusUnauthorized {
		t.Errorf("the old key after its overlap: %d, want 401", s)
	}
	run(t, ctx, "back", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.ID("suspend")))

	// Suspend, then resume.
	run(t, ctx, "Suspend", chromedp.Click(chromedp.ID("suspend")), chromedp.WaitVisible(chromedp.ID("suspended-badge")))
	if s := e.api(newKey, "/v2/apps"); s != http.StatusForbidden {
		t.Errorf("a suspended integration's key: %d, want 403", s)
	}
	run(t, ctx, "Resume", chromedp.Click(chromedp.ID("resume")), chromedp.WaitVisible(chromedp.ID("suspend")))
	if s := e.api(newKey, "/v2/apps"); s != http.StatusOK {
		t.Errorf("after resuming: %d", s)
	}

	// Networks: a bad one is shown beside the field; a good one applies.
	run(t, ctx, "a bad network",
		chromedp.SetValue(chromedp.ID("networks"), "10.1.2.3/8"),
		chromedp.Click(chromedp.ID("save-networks")), chromedp.WaitVisible(chromedp.ID("networks-error")))
	if msg := text(t, ctx, "#networks-error"); !strings.Contains(msg, "did you mean 10.0.0.0/8") {
		t.Errorf("networks error %q", msg)
	}
	run(t, ctx, "a good network",
		chromedp.SetValue(chromedp.ID("networks"), "203.0.113.0/24\n2001:db8::/32"),
		chromedp.Click(chromedp.ID("save-networks")), chromedp.WaitVisible(chromedp.CSS(".notice.ok")))
	if now := text(t, ctx, "#networks-now"); now != "203.0.113.0/24, 2001:db8::/32" {
		t.Errorf("networks shown %q", now)
	}
	if s := e.api(newKey, "/v2/apps"); s != http.StatusForbidden {
		t.Errorf("from 127.0.0.1, outside the networks: %d, want 403", s)
	}

	// The Owner's key policy.
	run(t, ctx, "key policy", chromedp.Navigate(e.base+"/account/api-management"), chromedp.WaitVisible(chromedp.ID("save-policy")),
		chromedp.SetValue(chromedp.ID("max-days"), "90"), chromedp.SetValue(chromedp.ID("notice-days"), "7,1"),
		chromedp.Click(chromedp.ID("save-policy")), chromedp.WaitVisible(chromedp.CSS(".notice.ok")))
	if got := text(t, ctx, "#policy-max"); got != "90 days" {
		t.Errorf("policy shows %q", got)
	}
	pol, err := e.svc.AccountPolicy(context.Background(), keyplane.Operator(1))
	if err != nil || pol.MaxKeyLifetime != 90*24*time.Hour || keyplane.FormatNoticeDays(pol.NoticeDays) != "7,1" {
		t.Errorf("stored policy %+v %v", pol, err)
	}
	var types []string
	for _, ev := range auditEvents(t, e) {
		types = append(types, ev.Type)
	}
	for _, want := range []string{keyplane.EventApiKeyRolled, keyplane.EventServiceIntegrationSuspended, keyplane.EventServiceIntegrationResumed,
		keyplane.EventServiceIntegrationNetworksChanged, keyplane.EventAccountKeyPolicyChanged} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("no %s in the audit log %v", want, types)
		}
	}
}

// Without a browser: a Viewer is offered none of the buttons, and forged
// posts are refused; an Admin may not set the key policy; a roll of
// another integration's key is not found.
func TestKeyLifecycleRefusals(t *testing.T) {
	e := newEnv(t)
	e.user("viewer@example.com", keyplane.RoleViewer)
	e.user("admin@example.com", keyplane.RoleAdmin)
	g, _ := keyplane.ParseGrant("account:app:read")
	in, k, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(1), "Deployer", []keyplane.Grant{g}, e.clock.Now().Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(1), "Other", []keyplane.Grant{g}, e.clock.Now().Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	base := "/account/api-management/" + itoa(in.ID)

	viewer := e.client()
	e.signIn(viewer, "viewer@example.com")
	page := e.get(viewer, base)
	for _, id := range []string{`id="roll-`, `id="suspend"`, `id="save-networks"`} {
		if strings.Contains(page.body, id) {
			t.Errorf("a Viewer is offered %s", id)
		}
	}
	for _, path := range []string{base + "/suspend", base + "/networks", base + "/keys/" + itoa(k.ID) + "/roll", "/account/api-management/policy"} {
		if r := e.post(viewer, path, url.Values{"overlap": {"3600"}}); r.status != http.StatusForbidden {
			t.Errorf("a Viewer's POST %s: %d, want 403", path, r.status)
		}
	}

	admin := e.client()
	e.signIn(admin, "admin@example.com")
	if r := e.post(admin, "/account/api-management/policy", url.Values{"max-days": {"30"}, "notice-days": {"7"}}); r.status != http.StatusForbidden {
		t.Errorf("an Admin setting the key policy: %d, want 403", r.status)
	}
	if r := e.post(admin, "/account/api-management/"+itoa(other.ID)+"/keys/"+itoa(k.ID)+"/roll", url.Values{"overlap": {"3600"}}); r.status != http.StatusNotFound {
		t.Errorf("rolling a key through another integration: %d, want 404", r.status)
	}
	if r := e.post(admin, base+"/keys/"+itoa(k.ID)+"/roll", url.Values{"overlap": {"12345"}}); r.status != http.StatusBadRequest {
		t.Errorf("an overlap not offered: %d, want 400", r.status)
	}
	// An Admin rolls: redirected to the page that shows the new key once.
	r := e.post(admin, base+"/keys/"+itoa(k.ID)+"/roll", url.Values{"overlap": {"0"}})
	if loc := r.header.Get("Location"); r.status != http.StatusSeeOther || !strings.Contains(loc, "/roll/shown?form=") {
		t.Fatalf("an Admin's roll: %d to %q", r.status, loc)
	}
	shown := e.get(admin, r.header.Get("Location"))
	if !strings.Contains(shown.body, "API key rolled") {
		t.Errorf("the shown page: %d", shown.status)
	}
	if again := e.get(admin, r.header.Get("Location")); strings.Contains(again.body, `id="api-key"`) {
		t.Errorf("the rolled key was shown twice")
	}
	ik, err := e.svc.GetIntegration(context.Background(), keyplane.Operator(1), in.ID)
	if err != nil || len(ik.Keys) != 2 || ik.Keys[0].ReplacedBy != ik.Keys[1].ID {
		t.Errorf("after the roll: %+v %v", ik.Keys, err)
	}
}
