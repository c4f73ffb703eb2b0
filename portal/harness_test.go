package portal_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/server"
	"github.com/keyplane/keyplane/store"
)

// clock is the server's settable time, so tests can expire sessions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a real server (server.Run, the API and the portal on one port)
// on a fresh database, and a Service on the same database for arranging
// and checking state behind the portal's back.
type env struct {
	t     *testing.T
	base  string
	svc   *control.Service
	clock *clock
	setup string // the setup link the server printed
	dsn   string
	logs  *syncBuffer // the server's log
}

// syncBuffer is a log a server writes while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const password = "correct horse battery"

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with the server's configuration adjusted by
// configure (which may set Addr, when it needs the port beforehand).
func newEnvWith(t *testing.T, configure func(*server.Config)) *env {
	t.Helper()
	dsn := testdb.DSN(t)
	clk := &clock{t: time.Now().UTC()}
	db, err := store.Open(context.Background(), dsn, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, svc: control.New(db, control.Options{Now: clk.Now}), clock: clk, dsn: dsn, logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var setup string
	kek := filepath.Join(t.TempDir(), "kek")
	cfg := server.Config{Addr: "127.0.0.1:0", Database: dsn, Now: clk.Now, KEKFile: kek,
		Logger:    slog.New(slog.NewJSONHandler(e.logs, nil)),
		SetupLink: func(u string) { setup = u },
		Listening: func(a string) { addr <- a }}
	if configure != nil {
		configure(&cfg)
	}
	go func() { done <- server.Run(ctx, cfg) }()
	select {
	case a := <-addr:
		e.base = "http://" + a
	case err := <-done:
		t.Fatalf("server: %v", err)
	}
	e.setup = setup
	// The test's own view reads the secret keys the server sealed.
	if _, err := db.SealSecrets(context.Background(), kek); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return e
}

// user makes a user directly, as `keyplane admin create-user` would.
func (e *env) user(email string, r keyplane.Role) keyplane.User {
	e.t.Helper()
	u, _, err := e.svc.CreateUser(context.Background(), keyplane.Operator(1), control.NewUser{Email: email, Password: password, Role: r})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// client is a cookie-keeping HTTP client that does not follow redirects,
// so tests see each answer.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn signs c in over plain HTTP.
func (e *env) signIn(c *http.Client, email string) {
	e.t.Helper()
	r := e.post(c, "/login", url.Values{"email": {email}, "password": {password}})
	if r.status != http.StatusSeeOther {
		e.t.Fatalf("sign in as %s: %d %s", email, r.status, r.body)
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(c *http.Client, req *http.Request) answer {
	e.t.Helper()
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(b)}
}

// get fetches path. A page holding forms first redirects to itself with
// a form token added; get follows that one redirect, as a browser would,
// so tests see the page.
func (e *env) get(c *http.Client, path string) answer {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+path, nil)
	a := e.do(c, req)
	if loc := a.header.Get("Location"); a.status == http.StatusSeeOther && strings.Contains(loc, "form=") {
		if u, err := url.Parse(loc); err == nil && u.Path == strings.SplitN(path, "?", 2)[0] {
			req, _ := http.NewRequest("GET", e.base+loc, nil)
			return e.do(c, req)
		}
	}
	return a
}

// formToken is a fresh form token, as a page's URL carries one.
func formToken() string { return rand.Text() }

// post sends a form as a same-origin page would (no cross-site markers),
// with a fresh form token unless form carries one: each call is a form
// sent from a page of its own, unless a test sends the same token again.
func (e *env) post(c *http.Client, path string, form url.Values, headers ...string) answer {
	e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("form") {
		form = maps.Clone(form)
		form.Set("form", formToken())
	}
	req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.do(c, req)
}

// api calls the /v2 API with an API key and returns the status.
func (e *env) api(key, path string) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+path, nil)
	req.Header.Set("Authorization", key)
	req.Header.Set("PubNub-Version", "2026-09-03")
	return e.do(http.DefaultClient, req).status
}

// The browser: one Chromium for the whole package, started on first use;
// each test gets its own tab in its own browser context (no shared cookies).
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	dir    string
	why    string // why there is no browser
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	if browser.dir != "" {
		os.RemoveAll(browser.dir)
	}
	os.Exit(code)
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func startBrowser() {
	path := chromiumPath()
	if path == "" {
		browser.why = "no chromium on PATH (scripts/test installs Debian's chromium)"
		return
	}
	dir, err := os.MkdirTemp("", "keyplane-chromium-")
	if err != nil {
		browser.why = err.Error()
		return
	}
	browser.dir = dir
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Env("TMPDIR="+dir),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		// Back and Forward fetch the page again instead of restoring it
		// from the back/forward cache: the harder case for forms that must
		// act once (a restored page still holds its old form; a fetched
		// one must get it from its URL), and the one chromedp follows
		// (after a restore from that cache its DOM queries wait for ever).
		chromedp.Flag("disable-features", "BackForwardCache"),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		browser.why = "starting chromium: " + err.Error()
		return
	}
	browser.ctx = ctx
	browser.cancel = func() { cancel(); cancelAlloc() }
}

// tab opens a browser tab for t. Without a browser the test fails under
// CI=true and is skipped elsewhere. When t fails, a screenshot of the tab
// is saved in t.ArtifactDir() (kept with go test -artifacts -outputdir DIR)
// and its path logged.
func tab(t *testing.T) context.Context {
	t.Helper()
	browser.once.Do(startBrowser)
	if browser.why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests are mandatory under CI=true: %s", browser.why)
		}
		t.Skipf("skipping browser test: %s", browser.why)
	}
	tabCtx, cancelTab := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tabCtx); err != nil {
		cancelTab()
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tabCtx, 60*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			shotCtx, c := context.WithTimeout(tabCtx, 10*time.Second)
			if png, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(100)); err == nil {
				p := filepath.Join(t.ArtifactDir(), "failure.png")
				if err := os.WriteFile(p, png, 0o644); err == nil {
					t.Logf("screenshot of the failure: %s", p)
				}
			}
			c()
		}
		cancel()
		cancelTab()
	})
	return ctx
}

// run runs browser steps, failing the test with what was being done.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
			t.Fatalf("%s: timed out (page %s)", what, loc)
		}
		t.Fatalf("%s: %v", what, err)
	}
}

// text reads the text of the element sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// value reads the value of the input sel.
func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// present counts the elements matching sel right now, without waiting.
func present(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll("+jsString(sel)+").length"))
	if err != nil {
		t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// signInBrowser signs in through the sign-in page.
func signInBrowser(t *testing.T, ctx context.Context, e *env, email string) {
	t.Helper()
	run(t, ctx, "sign in",
		chromedp.Navigate(e.base+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("account-menu")),
	)
}

// screenshot saves a picture of the page for the README when
// KEYPLANE_SCREENSHOTS names a folder.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("KEYPLANE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// auditEvents reads the stored audit trail directly, oldest first.
func auditEvents(t *testing.T, e *env) []keyplane.AuditEvent {
	t.Helper()
	db := testdb.OpenSQL(t, e.dsn)
	rows, err := db.Query(`SELECT type, actor FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []keyplane.AuditEvent
	for rows.Next() {
		var ev keyplane.AuditEvent
		var actor string
		if err := rows.Scan(&ev.Type, &actor); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(actor), &ev.Actor); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}
