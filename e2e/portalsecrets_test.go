package e2e

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/portal"
	"github.com/keyplane/keyplane/server"
)

// The portal's secrets (the setup token, passwords right and wrong, the
// session token) stay out of the server's log, over real HTTP: they are
// recorded for this test's check and for the whole run's scan.
func TestPortalSecretsStayOutOfLogs(t *testing.T) {
	t.Parallel()
	links := make(chan string, 1)
	e := newEnvWith(t, func(c *server.Config) { c.SetupLink = func(u string) { links <- u } })
	var link string
	select {
	case link = <-links:
	default:
		t.Fatal("no setup link was given on a first start")
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("token")
	e.remember(token)
	password := "Pw-" + rand.Text()
	wrong := "Wrong-" + rand.Text()
	e.remember(password)
	e.remember(wrong)

	noFollow := &http.Client{Transport: e.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", e.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		res.Body.Close()
		return res
	}
	res, err := noFollow.Get(e.base + "/setup?token=" + url.QueryEscape(token))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET the setup link: %v %v", res, err)
	}
	res.Body.Close()
	res = post("/setup", url.Values{"token": {token}, "email": {"owner@example.com"}, "password": {password}, "confirm": {password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /setup: %d, want 303", res.StatusCode)
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == portal.CookieName {
			session = c
		}
	}
	if session == nil || session.Value == "" {
		t.Fatalf("no session cookie after setup: %v", res.Header)
	}
	e.remember(session.Value)
	if res := post("/login", url.Values{"email": {"owner@example.com"}, "password": {wrong}}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d, want 401", res.StatusCode)
	}
	res = post("/login", url.Values{"email": {"owner@example.com"}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d, want 303", res.StatusCode)
	}
	for _, c := range res.Cookies() {
		if c.Name == portal.CookieName {
			e.remember(c.Value)
		}
	}
	req, _ := http.NewRequest("GET", e.base+"/account", nil)
	req.AddCookie(session)
	// A page with a form first redirects to itself with a form token.
	if res, err := noFollow.Do(req); err != nil || res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account?form=") {
		t.Errorf("GET /account with the session: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if res := post("/logout", nil, session); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign out: %d", res.StatusCode)
	}
	// The secrets made here are checked against this server's log when the
	// test ends (newEnvWith) and against every log of the run (TestMain).
	if strings.Contains(e.logs.String(), password) {
		t.Errorf("the log holds the Owner's password")
	}
}
