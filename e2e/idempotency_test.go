package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/server"
)

// idem sends Idempotency-Key: key.
func idem(key string) option { return header("Idempotency-Key", key) }

// A retried POST with the same key and request gets the first answer, byte
// for byte, marked as a replay, and runs nothing; JSON spacing and field
// order do not make another request.
func TestIdempotencyReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.do("POST", "/v2/apps", `{"name":"Telemedicine"}`, idem("create-app-1")).want(201)
	if got := first.Header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("first answer carries Idempotent-Replayed: %q", got)
	}
	e.clock.Advance(time.Second)
	for _, body := range []string{`{"name":"Telemedicine"}`, "{ \"name\" :\n \"Telemedicine\" }"} {
		again := e.do("POST", "/v2/apps", body, idem("create-app-1")).want(201)
		if !bytes.Equal(again.Body, first.Body) {
			t.Errorf("replayed body %s, want the first %s", again.Body, first.Body)
		}
		if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
			t.Errorf("replay headers %v, want Idempotent-Replayed: true and the first Content-Type", again.Header)
		}
	}
	if n := e.appTotal(); n != 1 {
		t.Errorf("%d apps after a replayed create, want 1", n)
	}

	// The answers that carry a secret key replay it too: the secret was
	// shown to this caller, and the answer is kept sealed like the key.
	app := e.createApp("keysets")
	body := map[string]any{"keyset": map[string]any{"appId": app.ID, "name": "prod"}}
	ks := e.do("POST", "/v2/keysets", body, idem("ks-1")).want(201)
	again := e.do("POST", "/v2/keysets", body, idem("ks-1")).want(201)
	if !bytes.Equal(ks.Body, again.Body) || e.keysetTotal() != 1 {
		t.Errorf("keyset create replay: %s, then %s; %d keysets, want the same answer and 1", ks.Body, again.Body, e.keysetTotal())
	}
	var created keysetCreated
	ks.decode(&created)
	rot := e.do("POST", "/v2/keysets/"+created.Keyset.ID+"/secret-keys", nil, idem("rot-1")).want(201)
	rot2 := e.do("POST", "/v2/keysets/"+created.Keyset.ID+"/secret-keys", nil, idem("rot-1")).want(201)
	if !bytes.Equal(rot.Body, rot2.Body) {
		t.Errorf("rotation replay %s, want %s", rot2.Body, rot.Body)
	}
	if keys := e.secretKeys(created.Keyset.ID); len(keys) != 1 || !strings.Contains(string(rot.Body), keys[0].SecretKey) {
		t.Errorf("after one rotation replayed: keys %v, want only the rotated key of %s", keys, rot.Body)
	}

	// A POST that runs nothing (the authorization check) replays as well.
	check := `{"method":"GET","path":"/v2/apps"}`
	c1 := e.do("POST", "/v2/authz/check", check, idem("check-1")).want(200)
	c2 := e.do("POST", "/v2/authz/check", check, idem("check-1")).want(200)
	if !bytes.Equal(c1.Body, c2.Body) || c2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("authz check replay: %s %v", c2.Body, c2.Header)
	}
}

// The same key with another request is a 422 naming the problem, and runs
// nothing; a refused request (4xx) does not use the key up.
func TestIdempotencyMismatchAndRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/v2/apps", map[string]any{"name": "one"}, idem("k")).want(201)
	e.do("POST", "/v2/apps", map[string]any{"name": "two"}, idem("k")).wantErrorContaining(422, "Idempotency-Key: already used for another request")
	e.do("POST", "/v2/authz/check", `{"method":"GET","path":"/v2/apps"}`, idem("k")).wantErrorContaining(422, "Idempotency-Key: already used")
	if n := e.appTotal(); n != 1 {
		t.Errorf("%d apps, want 1", n)
	}

	// A 400 leaves the key free: the corrected request runs.
	e.do("POST", "/v2/apps", map[string]any{"name": ""}, idem("fix-me")).want(400)
	e.do("POST", "/v2/apps", map[string]any{"name": "fixed"}, idem("fix-me")).want(201)
	// So does a 403 of a key without the row.
	weak, _, _ := e.integration("reader", "account:app:read")
	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, idem("w"), as(weak)).want(403)
	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, idem("w"), as(weak)).want(403)
	if n := e.appTotal(); n != 2 {
		t.Errorf("%d apps, want 2", n)
	}
}

// Keys belong to their caller: another integration's same key is another key.
func TestIdempotencyPerCaller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, _, _ := e.integration("other", fullGrants...)
	a := e.do("POST", "/v2/apps", map[string]any{"name": "same"}, idem("shared")).want(201)
	b := e.do("POST", "/v2/apps", map[string]any{"name": "same"}, idem("shared"), as(other)).want(201)
	if b.Header.Get("Idempotent-Replayed") != "" || bytes.Equal(a.Body, b.Body) {
		t.Errorf("another caller's request was answered as a replay: %s", b.Body)
	}
	// A second key of the same integration is the same caller.
	second, err := e.svc.CreateAPIKey(t.Context(), keyplane.Operator(e.account), e.admin.ID, e.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.remember(second.Key)
	c := e.do("POST", "/v2/apps", map[string]any{"name": "same"}, idem("shared"), as(second.Key)).want(201)
	if !bytes.Equal(a.Body, c.Body) || c.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the same integration's other key got %s, want the replay of %s", c.Body, a.Body)
	}
	if n := e.appTotal(); n != 2 {
		t.Errorf("%d apps, want 2", n)
	}
}

// Keys expire after 24 hours: then the same key runs the request again.
func TestIdempotencyExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/v2/apps", map[string]any{"name": "daily"}, idem("day")).want(201)
	e.clock.Advance(24*time.Hour - time.Millisecond)
	e.do("POST", "/v2/apps", map[string]any{"name": "daily"}, idem("day")).want(201)
	if n := e.appTotal(); n != 1 {
		t.Fatalf("%d apps just before expiry, want 1", n)
	}
	e.clock.Advance(time.Millisecond)
	r := e.do("POST", "/v2/apps", map[string]any{"name": "daily"}, idem("day")).want(201)
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("an expired key was replayed")
	}
	if n := e.appTotal(); n != 2 {
		t.Errorf("%d apps after the key expired, want 2", n)
	}
	// A server may be given another lifetime.
	short := newEnvWith(t, func(c *server.Config) { c.IdempotencyTTL = time.Hour })
	short.do("POST", "/v2/apps", map[string]any{"name": "hourly"}, idem("hour")).want(201)
	short.clock.Advance(time.Hour)
	short.do("POST", "/v2/apps", map[string]any{"name": "hourly"}, idem("hour")).want(201)
	if n := short.appTotal(); n != 2 {
		t.Errorf("%d apps after an hour with a one-hour lifetime, want 2", n)
	}
}

// The header is checked before anything runs.
func TestIdempotencyKeyValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		values []string
		msg    string
	}{
		{"too long", []string{strings.Repeat("k", 256)}, "Idempotency-Key: must be 1 to 255 characters, not 256"},
		{"empty", []string{""}, "Idempotency-Key: must be 1 to 255 characters, not 0"},
		{"tab", []string{"a\tb"}, "Idempotency-Key: must be printable ASCII; character 2 is not"},
		{"not ASCII", []string{"clé"}, "Idempotency-Key: must be printable ASCII; character 3 is not"},
		{"twice", []string{"a", "b"}, "Idempotency-Key: give it once, not 2 times"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do("POST", "/v2/apps", map[string]any{"name": "x"}, func(r *http.Request) {
				r.Header["Idempotency-Key"] = tc.values
			}).wantError(400, tc.msg)
		})
	}
	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, idem(strings.Repeat("k", 255))).want(201)
	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, idem(" ~printable ASCII~ ")).want(201)
	if n := e.appTotal(); n != 2 {
		t.Errorf("%d apps, want 2", n)
	}
}

// THE invariant: the key is recorded in the operation's own transaction, so
// requests racing with one key create exactly one app. Each answer is the
// original, its replay, or a 409 saying the first is in progress.
func TestIdempotencyConcurrentCreatesOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 8
	var wg sync.WaitGroup
	answers := make([]*resp, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", e.base+"/v2/apps", strings.NewReader(`{"name":"raced"}`))
			req.Header.Set("PubNub-Version", latest)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", e.key)
			req.Header.Set("Idempotency-Key", "race")
			res, err := e.client.Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			data, _ := io.ReadAll(res.Body)
			res.Body.Close()
			answers[i] = &resp{t: t, method: "POST", path: "/v2/apps", Status: res.StatusCode, Header: res.Header, Body: data}
		})
	}
	close(start)
	wg.Wait()
	var originals int
	var body []byte
	for _, a := range answers {
		if a == nil {
			continue
		}
		e.check(a, latest)
		switch {
		case a.Status == 201 && a.Header.Get("Idempotent-Replayed") == "":
			originals++
			body = a.Body
		case a.Status == 201, a.Status == 409:
		default:
			t.Errorf("answer %d: %s", a.Status, a.Body)
		}
	}
	for _, a := range answers {
		if a != nil && a.Status == 201 && !bytes.Equal(a.Body, body) {
			t.Errorf("a replay %s differs from the original %s", a.Body, body)
		}
	}
	if originals != 1 {
		t.Errorf("%d original answers, want exactly 1", originals)
	}
	if got := e.appTotal(); got != 1 {
		t.Errorf("%d apps after %d racing requests with one key, want 1", got, n)
	}
}
