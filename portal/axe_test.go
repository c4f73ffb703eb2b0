package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeVersion is the axe-core scripts/test installs from the npm registry;
// the test refuses another, so that a result means the same everywhere.
const axeVersion = "4.14.1"

// axeTags are the rules run: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeExceptions are the violations accepted, each with its reason, keyed
// by "page rule" (a page of siteTour, or * for every page, and an axe rule
// id). It is the one place an exception may be made.
var axeExceptions = map[string]string{}

// axeSource reads axe-core: the file KEYPLANE_AXE names (scripts/test sets
// it), or where scripts/test installs it. Without it the test fails under
// CI=true and is skipped elsewhere, saying how to get it.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KEYPLANE_AXE")
	if path == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			path = filepath.Join(dir, "keyplane", "axe-core-"+axeVersion, "node_modules", "axe-core", "axe.min.js")
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		why := fmt.Sprintf("no axe-core at %q (scripts/test installs axe-core@%s from the npm registry and sets KEYPLANE_AXE): %v", path, axeVersion, err)
		if os.Getenv("CI") == "true" {
			t.Fatalf("the accessibility tests are mandatory under CI=true: %s", why)
		}
		t.Skipf("skipping the accessibility test: %s", why)
	}
	return string(b)
}

// axeViolation is the part of an axe result a failure message needs.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct {
		Target         []any
		FailureSummary string
	}
}

// axeCheck runs axe-core on the page the tab shows (injected through the
// DevTools protocol, which the Content Security Policy does not govern)
// and fails t for each violation not excepted.
func axeCheck(t *testing.T, ctx context.Context, src, page string) {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[string](`typeof axe === "undefined" ? "" : axe.version`))
	if err != nil {
		t.Fatal(err)
	}
	if loaded == "" {
		if loaded, err = chromedp.Run(ctx, chromedp.Evaluate[string](src+";\naxe.version")); err != nil {
			t.Fatalf("injecting axe-core: %v", err)
		}
	}
	if loaded != axeVersion {
		t.Fatalf("axe-core %s, want %s (scripts/test installs it)", loaded, axeVersion)
	}
	tags, _ := json.Marshal(axeTags)
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: `+string(tags)+`}, resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: running axe-core: %v", page, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if axeExceptions[page+" "+v.ID] != "" || axeExceptions["* "+v.ID] != "" {
			continue
		}
		var where []string
		for i, n := range v.Nodes {
			if i == 5 {
				where = append(where, fmt.Sprintf("and %d more", len(v.Nodes)-5))
				break
			}
			where = append(where, fmt.Sprintf("%v: %s", n.Target, strings.ReplaceAll(n.FailureSummary, "\n", " ")))
		}
		t.Errorf("%s: %s (%s): %s\n\t%s", page, v.ID, v.Impact, v.Help, strings.Join(where, "\n\t"))
	}
}

// Every page, signed out and signed in as the Owner, has no violation of
// the WCAG 2.1 A and AA rules axe-core checks, but the exceptions named in
// axeExceptions; at a desktop's width and a phone's, and with the account
// menu open.
func TestEveryPageIsAccessible(t *testing.T) {
	src := axeSource(t)
	st := newSiteTour(t)
	ctx := tab(t)
	for _, width := range []int64{1280, 390} {
		run(t, ctx, "window width", chromedp.EmulateViewport(width, 900))
		for _, page := range st.signedOut {
			st.visit(t, ctx, page)
			axeCheck(t, ctx, src, page.name)
		}
		signInBrowser(t, ctx, st.e, "owner@example.com")
		run(t, ctx, "open the account menu", chromedp.Click(chromedp.ID("account-menu")), chromedp.WaitVisible(chromedp.CSS(`.account-menu a[href="/account"]`)))
		axeCheck(t, ctx, src, "menu")
		for _, page := range st.signedIn {
			st.visit(t, ctx, page)
			axeCheck(t, ctx, src, page.name)
		}
		run(t, ctx, "sign out", chromedp.Click(chromedp.ID("account-menu")), chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("sign-in")))
	}
}
