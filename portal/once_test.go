package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// createForm is one form of the portal that makes something, and how a
// test drives and checks it.
type createForm struct {
	name string
	page string // the page holding the form
	// fill fills the form for attempt n (a new e-mail each time, say).
	fill   func(n int) []chromedp.Action[chromedp.Void]
	submit string // the submit button
	done   string // what the page after a success shows
	secret string // the input showing the secret once, if the form makes one
	count  func() int
}

// createForms are every create form, over one account with an app, a
// keyset and an integration to act on.
func createForms(t *testing.T, e *env) []createForm {
	t.Helper()
	ctx := context.Background()
	owner := mustSession(t, e, "owner@example.com")
	app, err := e.svc.CreateApp(ctx, owner, "Telemedicine")
	if err != nil {
		t.Fatal(err)
	}
	ks, _, _, err := e.svc.CreateKeyset(ctx, owner, control.NewKeyset{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := keyplane.ParseGrant("account:app:read")
	in, _, err := e.svc.CreateIntegration(ctx, owner, "Terraform", []keyplane.Grant{g}, e.clock.Now().AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	none := func(int) []chromedp.Action[chromedp.Void] { return nil }
	return []createForm{
		{name: "integration", page: "/account/api-management/new",
			fill: func(n int) []chromedp.Action[chromedp.Void] {
				return []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.ID("name"), fmt.Sprint("CI ", n)), chromedp.SetValue(chromedp.ID("perm-0"), "account:app:read")}
			},
			submit: "#create", done: "#api-key", secret: "#api-key",
			count: func() int {
				ins, _ := e.svc.ListIntegrations(ctx, keyplane.Operator(1))
				return len(ins)
			}},
		{name: "API key", page: "/account/api-management/" + itoa(in.ID),
			fill: func(int) []chromedp.Action[chromedp.Void] {
				return []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.ID("generate-open")), chromedp.WaitVisible(chromedp.ID("generate"))}
			},
			submit: "#generate", done: "#api-key", secret: "#api-key",
			count: func() int {
				i, _ := e.svc.GetIntegration(ctx, keyplane.Operator(1), in.ID)
				return len(i.Keys)
			}},
		{name: "app", page: "/apps",
			fill: func(n int) []chromedp.Action[chromedp.Void] {
				return []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.ID("app-name"), fmt.Sprint("Gaming ", n))}
			},
			submit: "#create-app", done: "#create-keyset",
			count: func() int {
				_, total, _ := e.svc.ListApps(ctx, owner, keyplane.Page{Page: 1, Limit: 10})
				return total
			}},
		{name: "keyset", page: "/apps/" + itoa(app.ID),
			fill: func(n int) []chromedp.Action[chromedp.Void] {
				return []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.ID("keyset-name"), fmt.Sprint("prod ", n))}
			},
			submit: "#create-keyset", done: "#new-secret", secret: "#new-secret",
			count: func() int {
				_, total, _ := e.svc.ListKeysets(ctx, owner, keyplane.Page{Page: 1, Limit: 10})
				return total
			}},
		{name: "user", page: "/account/users",
			fill: func(n int) []chromedp.Action[chromedp.Void] {
				return []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.ID("user-email"), fmt.Sprintf("new%d@example.com", n))}
			},
			submit: `form[action="/account/users"] button[type=submit]`, done: "#new-password", secret: "#new-password",
			count: func() int {
				us, _ := e.svc.ListUsers(ctx, keyplane.Operator(1))
				return len(us)
			}},
		{name: "secret key rotation", page: "/keysets/" + itoa(ks.ID), fill: none,
			submit: `form[action$="/rotate"] button[type=submit]`, done: "#rotated-secret", secret: "#rotated-secret",
			count: func() int {
				n := 0
				for _, ev := range auditEvents(t, e) {
					if ev.Type == keyplane.EventSecretKeyRotated {
						n++
					}
				}
				return n
			}},
	}
}

// Each create form, in Chromium: sent once it makes one thing, shows its
// secret once, and then a reload, going back and sending it again, and
// going back and forward make nothing more, and the secret's page says it
// can no longer be shown. A double click on a fresh form makes one thing
// and shows its secret.
func TestCreateFormsActOnceInBrowser(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	for _, f := range createForms(t, e) {
		t.Run(f.name, func(t *testing.T) {
			ctx := tab(t)
			signInBrowser(t, ctx, e, "owner@example.com")
			before := f.count()
			open := append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(e.base + f.page), chromedp.WaitVisible(chromedp.CSS(f.submit + ", #generate-open"))}, f.fill(1)...)
			run(t, ctx, "fill the form", open...)
			run(t, ctx, "send it", chromedp.Click(chromedp.CSS(f.submit)), chromedp.WaitVisible(chromedp.CSS(f.done)))
			if f.secret != "" && value(t, ctx, f.secret) == "" {
				t.Fatal("no secret shown")
			}
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			if strings.Contains(loc, "sec-c-") || strings.Contains(loc, "si_") {
				t.Errorf("a secret in the URL: %s", loc)
			}
			if n := f.count(); n != before+1 {
				t.Fatalf("sent once: %d made, want 1", n-before)
			}
			gone := func(what string) {
				t.Helper()
				if f.secret == "" {
					return
				}
				if h := text(t, ctx, "h1"); h != "Shown once" || !strings.Contains(text(t, ctx, "main"), "can no longer be shown") {
					t.Errorf("%s: the secret's page says %q", what, h)
				}
				if present(t, ctx, f.secret) != 0 {
					t.Errorf("%s: the secret is shown again", what)
				}
			}

			run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1")))
			gone("reload")

			// Back fetches the form's page again (never cached), from its
			// URL, which holds the form token; the browser puts back what
			// was typed. Sent as it stands, it is the same form again.
			run(t, ctx, "back to the form", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(f.submit+", #generate-open")))
			page, _ := chromedp.Run(ctx, chromedp.Location())
			if !strings.Contains(page, "form=") {
				t.Errorf("the form's page %s carries no form token", page)
			}
			// Clicked from script: the generate form is folded away again.
			run(t, ctx, "send it again", chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(f.submit)+`).click()`))
			settledURL(t, ctx, strings.SplitN(strings.TrimPrefix(page, e.base), "?", 2)[0])
			run(t, ctx, "the answer", chromedp.WaitVisible(chromedp.CSS("h1")))
			gone("back and send again")

			run(t, ctx, "back and forward", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(f.submit+", #generate-open")),
				chromedp.NavigateForward(), chromedp.WaitVisible(chromedp.CSS("h1")))
			gone("back and forward")
			if n := f.count(); n != before+1 {
				t.Fatalf("after reload, back and send again, back and forward: %d made, want 1", n-before)
			}

			// A double click: two clicks as fast as the browser takes them.
			run(t, ctx, "a fresh form", append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(e.base + f.page), chromedp.WaitVisible(chromedp.CSS(f.submit + ", #generate-open"))}, f.fill(2)...)...)
			// Both clicks are dispatched in one task, so the second always
			// lands on the form (two mouse clicks sent one after the other
			// could straddle the navigation on a loaded machine, the second
			// then landing on the next page): the form is sent twice.
			run(t, ctx, "double click", chromedp.Evaluate[chromedp.Void](`(b => { b.click(); b.click(); })(document.querySelector(`+jsString(f.submit)+`))`),
				chromedp.WaitVisible(chromedp.CSS(f.done)))
			if f.secret != "" && value(t, ctx, f.secret) == "" {
				t.Error("double click: no secret shown")
			}
			if n := f.count(); n != before+2 {
				t.Errorf("double click: %d made, want 1", n-before-1)
			}
		})
	}
}

// The same form sent many times at once (what a double click or an
// impatient retry does to the server) acts once: every answer leads to
// the same page, which shows the secret once and then says it is gone.
// Sent again with other values it acts no more; without a token it is
// refused and acts not at all.
func TestFormSentTwiceActsOnce(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	c := e.client()
	e.signIn(c, "owner@example.com")
	count := func() int {
		ins, _ := e.svc.ListIntegrations(context.Background(), keyplane.Operator(1))
		return len(ins)
	}
	form := url.Values{"name": {"ci"}, "perm": {"account:app:read"}, "target": {""}, "expiration": {"30"}, "action": {"create"}, "form": {formToken()}}

	const n = 8
	var wg sync.WaitGroup
	answers := make([]answer, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.base+"/account/api-management/new", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			res.Body.Close()
			answers[i] = answer{status: res.StatusCode, header: res.Header}
		})
	}
	wg.Wait()
	loc := answers[0].header.Get("Location")
	for i, a := range answers {
		if errs[i] != nil || a.status != http.StatusSeeOther || a.header.Get("Location") != loc {
			t.Errorf("sending %d: %v %d %s, want 303 to %s", i, errs[i], a.status, a.header.Get("Location"), loc)
		}
	}
	if got := count(); got != 1 {
		t.Fatalf("%d sent at once made %d integrations, want 1", n, got)
	}
	if !strings.HasPrefix(loc, "/account/api-management/new/shown?form=") {
		t.Fatalf("answer leads to %s", loc)
	}
	r := e.get(c, loc)
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="api-key" value="si_`) {
		t.Fatalf("the key's page: %d", r.status)
	}
	if r := e.get(c, loc); r.status != http.StatusGone || !strings.Contains(r.body, "can no longer be shown") || strings.Contains(r.body, "si_") {
		t.Errorf("the key's page again: %d", r.status)
	}
	// Another session of the same user cannot take it, nor replay the form.
	other := e.client()
	e.signIn(other, "owner@example.com")
	if r := e.get(other, loc); r.status != http.StatusGone {
		t.Errorf("the key's page in another session: %d", r.status)
	}
	// Sent again later: the same answer, nothing made.
	if r := e.post(c, "/account/api-management/new", form); r.status != http.StatusSeeOther || r.header.Get("Location") != loc {
		t.Errorf("sent again: %d %s", r.status, r.header.Get("Location"))
	}
	changed := url.Values{}
	for k, v := range form {
		changed[k] = v
	}
	changed.Set("name", "ci 2")
	if r := e.post(c, "/account/api-management/new", changed); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already sent") {
		t.Errorf("sent again with another name: %d", r.status)
	}
	delete(changed, "form")
	changed.Set("form", "")
	if r := e.post(c, "/account/api-management/new", changed); r.status != http.StatusBadRequest || !strings.Contains(r.body, "form token") {
		t.Errorf("sent without a token: %d", r.status)
	}
	if got := count(); got != 1 {
		t.Errorf("%d integrations, want 1", got)
	}
	// Pages with forms carry their token in their URL.
	req, _ := http.NewRequest("GET", e.base+"/apps", nil)
	if a := e.do(c, req); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/apps?form=") {
		t.Errorf("GET /apps: %d %s, want a redirect adding a form token", a.status, a.header.Get("Location"))
	}
}
