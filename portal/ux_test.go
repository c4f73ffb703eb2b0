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

// overflowJS lists what sticks out of the page on the right, when the
// document is wider than the window: the deepest elements past its edge.
const overflowJS = `(() => {
	const de = document.documentElement;
	if (de.scrollWidth <= de.clientWidth) return "";
	const out = [];
	for (const el of document.querySelectorAll("body *")) {
		const r = el.getBoundingClientRect();
		if (r.right > de.clientWidth + 0.5 && ![...el.children].some(c => c.getBoundingClientRect().right > de.clientWidth + 0.5)) {
			out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\s+/g, ".") : "") + " (right " + Math.round(r.right) + ")");
		}
	}
	return "document " + de.scrollWidth + " px wide in " + de.clientWidth + ": " + out.slice(0, 8).join(", ");
})()`

// phoneShots are the pages whose 390 px screenshots the README shows.
var phoneShots = map[string]bool{"keyset": true, "usage-keyset": true}

// At 390 px wide (a phone) no page is wider than the screen: tables scroll
// inside their cards and the header folds into one menu, which opens
// without script and holds the main links.
func TestEveryPageFitsAPhone(t *testing.T) {
	st := newSiteTour(t)
	ctx := tab(t)
	run(t, ctx, "a phone's screen", chromedp.EmulateViewport(390, 844))
	check := func(page sitePage) {
		t.Helper()
		st.visit(t, ctx, page)
		if what, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS)); err != nil {
			t.Fatal(err)
		} else if what != "" {
			t.Errorf("%s overflows at 390 px: %s", page.name, what)
		}
		if phoneShots[page.name] {
			screenshot(t, ctx, "phone-"+page.name)
		}
	}
	for _, page := range st.signedOut {
		check(page)
	}
	signInBrowser(t, ctx, st.e, "owner@example.com")
	if n := present(t, ctx, ".mainnav a"); n == 0 {
		t.Fatal("no main navigation")
	}
	visible := func(sel string) bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const el = document.querySelector(`+jsString(sel)+`); return !!el && el.checkVisibility(); })()`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if visible(".mainnav") {
		t.Error("the main navigation is not folded into the menu at 390 px")
	}
	run(t, ctx, "open the menu", chromedp.Click(chromedp.ID("account-menu")), chromedp.WaitVisible(chromedp.CSS(`.account-menu .narrow-only a[href="/usage"]`)))
	if !visible(`.account-menu a[href="/account/audit"]`) {
		t.Error("the menu lacks the account's links")
	}
	screenshot(t, ctx, "phone-menu")
	for _, page := range st.signedIn {
		check(page)
	}
}

// In the browser: the audit log opens newest first, an event opens on its
// own page with the change, and its target leads to the target's page.
func TestAuditEventInBrowser(t *testing.T) {
	st := newSiteTour(t)
	ctx := tab(t)
	signInBrowser(t, ctx, st.e, "owner@example.com")
	run(t, ctx, "the audit log", chromedp.Navigate(st.e.base+"/account/audit"), chromedp.WaitVisible(chromedp.CSS("a.event-link")))
	// The browser's own sign-in is the newest; the change before it.
	if first := text(t, ctx, "tbody tr td:nth-child(2)"); first != keyplane.EventSignInSucceeded {
		t.Errorf("the newest event is %q", first)
	}
	run(t, ctx, "the configuration changes", chromedp.Navigate(st.e.base+"/account/audit?type="+keyplane.EventKeysetConfigChanged), chromedp.WaitVisible(chromedp.CSS("a.event-link")))
	run(t, ctx, "the event", chromedp.Click(chromedp.CSS("a.event-link")), chromedp.WaitVisible(chromedp.ID("event-changes")))
	if ch := text(t, ctx, "#event-changes tbody"); !strings.Contains(ch, "presence.interval") || !strings.Contains(ch, "10") || !strings.Contains(ch, "30") {
		t.Errorf("the change shown: %q", ch)
	}
	screenshot(t, ctx, "audit-event")
	run(t, ctx, "its target", chromedp.Click(chromedp.ID("event-target")), chromedp.WaitVisible(chromedp.ID("save-config")))
}
