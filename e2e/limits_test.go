package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/httpapi"
	"github.com/keyplane/keyplane/server"
)

// Each key has its own token bucket: a burst passes, the next request is a
// 429 with Retry-After and the JSON body, other keys are untouched, and
// tokens come back at the rate.
func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *server.Config) { c.Limits = httpapi.Limits{Rate: 2, Burst: 3} })
	other, _, _ := e.integration("other", "account:app:read")
	for i, want := range []string{"2", "1", "0"} {
		r := e.do("GET", "/v2/apps", nil).want(200)
		if r.Header.Get("RateLimit-Limit") != "3" || r.Header.Get("RateLimit-Remaining") != want || r.Header.Get("RateLimit-Reset") == "" {
			t.Errorf("request %d: RateLimit headers %q %q %q, want 3, %s and a reset", i+1,
				r.Header.Get("RateLimit-Limit"), r.Header.Get("RateLimit-Remaining"), r.Header.Get("RateLimit-Reset"), want)
		}
	}
	r := e.do("GET", "/v2/apps", nil)
	r.wantError(429, "rate limit: this API key may make 2 requests a second (bursts of 3); retry in 1 s")
	if r.Header.Get("Retry-After") != "1" || r.Header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("429 headers: Retry-After %q, RateLimit-Remaining %q", r.Header.Get("Retry-After"), r.Header.Get("RateLimit-Remaining"))
	}
	// A refused request changes nothing.
	e.do("POST", "/v2/apps", map[string]any{"name": "refused"}).want(429)
	e.do("GET", "/v2/apps", nil, as(other)).want(200)
	e.clock.Advance(600 * time.Millisecond) // one token back at 2 a second
	var l appList
	e.do("GET", "/v2/apps", nil).want(200).decode(&l)
	if l.Total != 0 {
		t.Errorf("the refused POST made an app: %+v", l)
	}
}

// One key may have only so many requests in progress; the others wait
// their turn without holding up other keys.
func TestConcurrentRequestsPerKey(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *server.Config) { c.Limits = httpapi.Limits{Concurrent: 1} })
	other, _, _ := e.integration("other", "account:app:read")

	// A request whose body arrives slowly stays in progress. If the first
	// GET below reaches the server before it (a loaded machine may send
	// them in either order), the slow request is the one refused: start
	// it again.
	var pw *io.PipeWriter
	var done chan int
	for attempt := 1; ; attempt++ {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		req, err := http.NewRequest("POST", e.base+"/v2/apps", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", e.key)
		req.Header.Set("PubNub-Version", latest)
		req.Header.Set("Content-Type", "application/json")
		done = make(chan int, 1)
		go func() {
			res, err := e.client.Do(req)
			if err != nil {
				t.Error(err)
				done <- 0
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
		io.WriteString(pw, `{"name":`)
		// The server logs a refused slow request as soon as it answers,
		// while the client may still wait to send the rest of the body.
		const slowRefused = `"method":"POST","path":"/v2/apps","status":429`
		before := strings.Count(e.logs.String(), slowRefused)
		refused, lostRace := false, false
		deadline := time.Now().Add(5 * time.Second)
		for !refused && !lostRace {
			if strings.Count(e.logs.String(), slowRefused) > before {
				if attempt == 5 {
					t.Fatalf("the slow request was refused in each of %d attempts", attempt)
				}
				lostRace = true
				continue
			}
			r := e.do("GET", "/v2/apps", nil)
			if r.Status == 429 {
				r.wantError(429, "rate limit: this API key already has 1 requests in progress, the most it may; retry when one ends")
				if r.Header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
				}
				refused = true
				continue
			}
			if time.Now().After(deadline) {
				pw.Close()
				t.Fatal("a second request of the key was never refused while the first was in progress")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if refused {
			break
		}
		pw.Close()
		<-done
	}
	e.do("GET", "/v2/apps", nil, as(other)).want(200)
	io.WriteString(pw, `"slow"}`)
	pw.Close()
	if status := <-done; status != 201 {
		t.Errorf("the slow request answered %d", status)
	}
	e.do("GET", "/v2/apps", nil).want(200)
	if !strings.Contains(e.logs.String(), `"status":429`) {
		t.Error("the refusals were not logged")
	}
}
