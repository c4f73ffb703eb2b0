package portal_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// An app's keysets table shows each keyset's subscribe and publish keys as
// text (selectable without script) with a copy button beside each once the
// script runs.
func TestKeysetsTableCopiesKeys(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	owner := mustSession(t, e, "owner@example.com")
	app, _ := e.svc.CreateApp(context.Background(), owner, "Telemedicine")
	k, _, _, err := e.svc.CreateKeyset(context.Background(), owner, control.NewKeyset{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "owner@example.com")
	body := e.get(c, "/apps/"+itoa(app.ID)).body
	for _, want := range []string{`<code id="sub-` + itoa(k.ID) + `">` + k.SubscribeKey + `</code>`, `<code id="pub-` + itoa(k.ID) + `">` + k.PublishKey + `</code>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the keysets table lacks %s", want)
		}
	}

	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")
	sub := `button[data-copy="sub-` + itoa(k.ID) + `"]`
	run(t, ctx, "app page", chromedp.Navigate(e.base+"/apps/"+itoa(app.ID)), chromedp.WaitVisible(chromedp.CSS(sub)))
	run(t, ctx, "copy the subscribe key", chromedp.Click(chromedp.CSS(sub)), chromedp.WaitVisible(chromedp.CSS(sub+".copied")))
	if got := text(t, ctx, "#sub-"+itoa(k.ID)); got != k.SubscribeKey {
		t.Errorf("subscribe key shown %q", got)
	}
}

// A missing page, signed in, keeps the layout and its navigation and
// offers the way back (to the page linked from, and to the apps); signed
// out, it offers to sign in. /favicon.ico is our icon.
func TestNotFoundKeepsTheWayBack(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	c := e.client()
	if r := e.get(c, "/nowhere"); r.status != http.StatusNotFound || !strings.Contains(r.body, `href="/login"`) || strings.Contains(r.body, `class="mainnav"`) {
		t.Errorf("signed out: %d", r.status)
	}
	r := e.get(c, "/favicon.ico")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(r.body, "<svg") {
		t.Errorf("/favicon.ico: %d %s", r.status, r.header.Get("Content-Type"))
	}

	ctx := tab(t)
	signInBrowser(t, ctx, e, "owner@example.com")
	run(t, ctx, "a link to a page that is not there",
		chromedp.Navigate(e.base+"/apps"),
		chromedp.WaitVisible(chromedp.ID("create-app")),
		chromedp.Evaluate[chromedp.Void](`(() => { const a = document.createElement("a"); a.href = "/apps/nowhere/at/all"; a.id = "dead"; a.textContent = "dead"; document.body.append(a); })()`),
		chromedp.Click(chromedp.ID("dead")),
		chromedp.WaitVisible(chromedp.ID("go-back")),
	)
	if h := text(t, ctx, "h1"); h != "Page not found" {
		t.Errorf("h1 %q", h)
	}
	if n := present(t, ctx, `.mainnav a[href="/apps"], #account-menu, a.button[href="/apps"]`); n != 3 {
		t.Errorf("%d of the navigation, the account menu and the way to the apps", n)
	}
	if n := present(t, ctx, `a[href="/login"]`); n != 0 {
		t.Error("a signed-in person is offered to sign in")
	}
	run(t, ctx, "back", chromedp.Click(chromedp.ID("go-back")), chromedp.WaitVisible(chromedp.ID("create-app")))
}
