package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// scopedEnv is a server whose account holds three apps of one keyset
// each, and an App Viewer of the second app.
type scopedEnv struct {
	*env
	apps    []keyplane.App
	keysets []keyplane.Keyset
}

func newScopedEnv(t *testing.T) scopedEnv {
	t.Helper()
	e := scopedEnv{env: newEnv(t)}
	ctx := context.Background()
	op := keyplane.Operator(1)
	for _, name := range []string{"Alpha", "Bravo", "Charlie"} {
		a, err := e.svc.CreateApp(ctx, op, name)
		if err != nil {
			t.Fatal(err)
		}
		kname := name + " keys"
		k, _, _, err := e.svc.CreateKeyset(ctx, op, control.NewKeyset{AppID: a.ID, Name: &kname})
		if err != nil {
			t.Fatal(err)
		}
		e.apps, e.keysets = append(e.apps, a), append(e.keysets, k)
	}
	if _, _, err := e.svc.CreateUser(ctx, op, control.NewUser{Email: "bravo@example.com", Password: password,
		Role: keyplane.RoleAppViewer, Apps: []int64{e.apps[1].ID}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// links are the hrefs of a page's links.
func links(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	return out
}

// An App Viewer of one app sees that app and its keyset, and nothing else,
// on every page: the apps list and its search, the app's page, the usage
// picker and chart; other apps and keysets are refused as the API refuses
// a key with the same rows; the audit log, users and API Management are
// refused and not linked to.
func TestAppViewerSeesOnlyTheirApp(t *testing.T) {
	e := newScopedEnv(t)
	mine, myKeyset := e.apps[1], e.keysets[1]
	c := e.client()
	e.signIn(c, "bravo@example.com")

	for _, path := range []string{"/apps", "/apps?q=a", "/apps?q=" + itoa(e.apps[0].ID)} {
		r := e.get(c, path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.status)
		}
		for _, a := range e.apps {
			if shown := strings.Contains(r.body, ">"+a.Name+"<"); shown != (a.ID == mine.ID && !strings.Contains(path, itoa(e.apps[0].ID))) {
				t.Errorf("%s shows %s: %v", path, a.Name, shown)
			}
		}
	}
	if r := e.get(c, "/apps"); !strings.Contains(r.body, "1 app in") || strings.Contains(r.body, `id="create-app"`) {
		t.Errorf("the apps page should count one app and offer no creation")
	}
	r := e.get(c, "/apps/"+itoa(mine.ID))
	if r.status != http.StatusOK || !strings.Contains(r.body, myKeyset.Name) || strings.Contains(r.body, `id="create-keyset"`) || strings.Contains(r.body, `id="rename"`) {
		t.Errorf("own app page: %d, keyset shown %v", r.status, strings.Contains(r.body, myKeyset.Name))
	}
	if r := e.get(c, "/keysets/"+itoa(myKeyset.ID)); r.status != http.StatusOK || strings.Contains(r.body, `id="save-config"`) {
		t.Errorf("own keyset page: %d", r.status)
	}
	for _, path := range []string{"/apps/" + itoa(e.apps[0].ID), "/keysets/" + itoa(e.keysets[2].ID), "/apps/99999",
		"/account/audit", "/account/users", "/account/api-management", "/usage?entity=account&id=1",
		"/usage?entity=app&id=" + itoa(e.apps[0].ID), "/usage?entity=keyset&id=" + itoa(e.keysets[0].ID)} {
		if r := e.get(c, path); r.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", path, r.status)
		}
	}

	// Usage opens on their app, and offers their app and keyset only.
	r = e.get(c, "/usage")
	if r.status != http.StatusOK || !strings.Contains(r.body, "<h1>Usage · App: "+mine.Name+"</h1>") {
		t.Fatalf("usage: %d", r.status)
	}
	picks := selectOptions(t, r.body, "usage-of")
	want := []string{"app/" + itoa(mine.ID), "keyset/" + itoa(myKeyset.ID)}
	if !slices.Equal(picks, want) {
		t.Errorf("usage picker %v, want %v", picks, want)
	}
	if r := e.get(c, "/usage?of="+want[1]); r.status != http.StatusOK || !strings.Contains(r.body, "<svg") {
		t.Errorf("usage of own keyset: %d", r.status)
	}

	// No page links to what they may not open.
	for _, path := range []string{"/apps", "/account", "/usage"} {
		for _, l := range links(e.get(c, path).body) {
			if l == "/account/audit" || l == "/account/users" || l == "/account/api-management" {
				t.Errorf("%s links to %s", path, l)
			}
		}
	}
}

// The Users page gives a scoped role with its apps: the new person then
// sees only those.
func TestUsersPageGivesScopedRoles(t *testing.T) {
	e := newScopedEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	c := e.client()
	e.signIn(c, "owner@example.com")
	page := e.get(c, "/account/users")
	for _, want := range []string{`value="app-viewer"`, `value="key-admin"`, `name="app" value="` + itoa(e.apps[2].ID) + `"`, `name="keyset" value="` + itoa(e.keysets[0].ID) + `"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the Users page lacks %s", want)
		}
	}
	r := e.post(c, "/account/users", url.Values{"email": {"nope@example.com"}, "role": {"app-admin"}, "password": {password}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "apps: App Admin applies to chosen apps; choose at least one") {
		t.Errorf("a scoped role without apps: %d", r.status)
	}
	r = e.post(c, "/account/users", url.Values{"email": {"charlie@example.com"}, "role": {"app-admin"}, "password": {password}, "app": {itoa(e.apps[2].ID)}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("add an App Admin: %d %s", r.status, r.body)
	}
	p := mustSession(t, e.env, "charlie@example.com")
	if !slices.Equal(p.Grants, keyplane.RoleGrants(keyplane.RoleAppAdmin, e.apps[2].ID)) {
		t.Errorf("grants %v", p.Grants)
	}
	if !strings.Contains(e.get(c, "/account/users").body, "apps "+itoa(e.apps[2].ID)) {
		t.Error("the Users page does not show the new person's app")
	}
	// Now Key Viewer of Alpha's keyset, through the row's form.
	r = e.post(c, "/account/users/"+itoa(p.UserID)+"/role", url.Values{"role": {"key-viewer"}, "keyset": {itoa(e.keysets[0].ID)}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("change role: %d %s", r.status, r.body)
	}
	if p := mustSession(t, e.env, "charlie@example.com"); !slices.Equal(p.Grants, keyplane.RoleGrants(keyplane.RoleKeyViewer, e.keysets[0].ID)) {
		t.Errorf("grants after the change %v", p.Grants)
	}
	// An App Admin is offered the changes of their own app, in the browser
	// too: see TestScopedPersonInBrowser.
}

// A scoped person signs in in a real browser and sees only their app.
func TestScopedPersonInBrowser(t *testing.T) {
	e := newScopedEnv(t)
	ctx := tab(t)
	signInBrowser(t, ctx, e.env, "bravo@example.com")
	run(t, ctx, "apps", chromedp.Navigate(e.base+"/apps"), chromedp.WaitVisible(chromedp.CSS("table")))
	rows := text(t, ctx, "table tbody")
	if !strings.Contains(rows, e.apps[1].Name) || strings.Contains(rows, e.apps[0].Name) || strings.Contains(rows, e.apps[2].Name) {
		t.Errorf("the apps table shows %q, want only %s", rows, e.apps[1].Name)
	}
	if n := present(t, ctx, "#create-app, a[href='/account/audit'], a[href='/account/users'], a[href='/account/api-management']"); n != 0 {
		t.Errorf("an App Viewer is offered %d links or forms beyond their app", n)
	}
	run(t, ctx, "their app", chromedp.Click(chromedp.CSS("a.rowlink")), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := text(t, ctx, "h1"); h != e.apps[1].Name {
		t.Errorf("the app page is %q", h)
	}
	if ks := text(t, ctx, "table tbody"); !strings.Contains(ks, e.keysets[1].Name) {
		t.Errorf("the app's keysets: %q", ks)
	}
	run(t, ctx, "usage", chromedp.Navigate(e.base+"/usage"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := text(t, ctx, "h1"); h != "Usage · App: "+e.apps[1].Name {
		t.Errorf("usage opens on %q", h)
	}
	run(t, ctx, "audit log", chromedp.Navigate(e.base+"/account/audit"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := text(t, ctx, "h1"); h != "Not allowed" {
		t.Errorf("the audit log as an App Viewer: %q", h)
	}
}

// A Key Admin or Key Viewer, whose rows are on keysets and not on apps,
// lands on a page listing their keysets (not a refusal), opens each, and a
// Key Admin changes its configuration; other keysets and apps stay closed.
func TestKeyRolesLandOnTheirKeysets(t *testing.T) {
	e := newScopedEnv(t)
	ctx := context.Background()
	for email, role := range map[string]keyplane.Role{"keyadmin@example.com": keyplane.RoleKeyAdmin, "keyviewer@example.com": keyplane.RoleKeyViewer} {
		if _, _, err := e.svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: email, Password: password, Role: role,
			Keysets: []int64{e.keysets[2].ID}}); err != nil {
			t.Fatal(err)
		}
	}
	mine := e.keysets[2]
	for _, email := range []string{"keyadmin@example.com", "keyviewer@example.com"} {
		c := e.client()
		e.signIn(c, email)
		r := e.get(c, "/")
		if r.status != http.StatusSeeOther {
			t.Fatalf("home: %d", r.status)
		}
		r = e.get(c, r.header.Get("Location"))
		if r.status != http.StatusOK || !strings.Contains(r.body, `href="/keysets/`+itoa(mine.ID)+`"`) || !strings.Contains(r.body, mine.Name) {
			t.Fatalf("%s lands on %d without their keyset", email, r.status)
		}
		for _, k := range e.keysets[:2] {
			if strings.Contains(r.body, k.Name) {
				t.Errorf("%s's landing page shows %s", email, k.Name)
			}
		}
		for _, a := range e.apps {
			if strings.Contains(r.body, `href="/apps/`+itoa(a.ID)+`"`) {
				t.Errorf("%s's landing page links to app %s", email, a.Name)
			}
		}
		if r := e.get(c, "/apps?q=nothing-matches"); r.status != http.StatusOK || strings.Contains(r.body, mine.Name) {
			t.Errorf("a search matching nothing: %d", r.status)
		}
		page := e.get(c, "/keysets/"+itoa(mine.ID))
		if page.status != http.StatusOK {
			t.Fatalf("%s opening their keyset: %d", email, page.status)
		}
		if canSave := strings.Contains(page.body, `id="save-config"`); canSave != (email == "keyadmin@example.com") {
			t.Errorf("%s offered to save the configuration: %v", email, canSave)
		}
		if r := e.get(c, "/usage"); r.status != http.StatusOK || !strings.Contains(r.body, "<h1>Usage · Keyset: "+mine.Name) {
			t.Errorf("%s's usage page: %d", email, r.status)
		}
		if r := e.get(c, "/keysets/"+itoa(e.keysets[0].ID)); r.status != http.StatusForbidden {
			t.Errorf("%s opening another keyset: %d, want 403", email, r.status)
		}
	}
}
