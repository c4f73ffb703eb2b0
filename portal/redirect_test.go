package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
)

// Every next= that some browser reads as another host or scheme, signed in
// through the real form in Chromium and then, already signed in, asked of
// GET /login: the browser ends on the test server, and the other site,
// which would have been reached, is never asked for anything.
func TestSignInNextStaysOnSiteInBrowser(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	var hits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `<!doctype html><title>evil</title><h1>evil</h1>`)
	}))
	t.Cleanup(evil.Close)
	host := strings.TrimPrefix(evil.URL, "http://")
	for _, next := range []string{
		"//" + host + "/",
		"///" + host + "/",
		"/\\" + host + "/",
		"\\/" + host + "/",
		"/\t/" + host + "/",
		"/\t\\" + host + "/",
		"/\r\n/" + host + "/",
		"\t//" + host + "/",
		" //" + host + "/",
		"/ /" + host + "/",
		"http://" + host + "/",
		"javascript:location='http://" + host + "/'",
	} {
		t.Run(fmt.Sprintf("%q", next), func(t *testing.T) {
			before := hits.Load()
			ctx := tab(t)
			run(t, ctx, "sign in with next",
				chromedp.Navigate(e.base+"/login?next="+url.QueryEscape(next)),
				chromedp.WaitVisible(chromedp.ID("email")),
				chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
				chromedp.SendKeys(chromedp.ID("password"), password),
				chromedp.Click(chromedp.ID("sign-in")),
			)
			// The portal's CSP (form-action 'self') already stops Chromium
			// from following a form's redirect to another site, leaving it
			// on the sign-in page; a person must land on a page of the site.
			if got := settledURL(t, ctx, "/login"); !strings.HasPrefix(got, e.base+"/") || strings.HasPrefix(got, e.base+"/login") {
				t.Errorf("after signing in: %s, want a page of %s other than /login", got, e.base)
			}
			// No CSP applies to a plain navigation: this redirect escaped.
			run(t, ctx, "GET /login signed in", chromedp.Navigate(e.base+"/login?next="+url.QueryEscape(next)))
			if got := settledURL(t, ctx, "/login"); !strings.HasPrefix(got, e.base+"/") {
				t.Errorf("signed in, GET /login: %s, want a page of %s", got, e.base)
			}
			if n := hits.Load() - before; n != 0 {
				t.Errorf("the other site was asked %d times", n)
			}
		})
	}
}

// settledURL waits until the tab has left the page at path, and returns
// where it is then, or after 10 s where it still is. It asks the tab's
// navigation history, not the page: a page of another site runs in another
// renderer, where evaluating script from here fails.
func settledURL(t *testing.T, ctx context.Context, path string) string {
	t.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
		if err != nil || h.CurrentIndex < 0 || int(h.CurrentIndex) >= len(h.Entries) {
			continue
		}
		last = h.Entries[h.CurrentIndex].URL
		if u, err := url.Parse(last); err == nil && u.Path != path {
			return last
		}
	}
	return last
}
