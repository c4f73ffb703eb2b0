package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/pgtest"
)

// The idempotency invariant across SIGKILL: writers create apps, each with
// its own Idempotency-Key, while the server is killed at random moments.
// After each restart every request that got no answer is sent again with
// its key: it is answered (first run or replay) or refused with 409 (the
// crash fell between the commit and storing the answer), and in the end
// every app name exists at most once, and exactly once for every request
// that was ever answered 201. A retry never runs an operation twice.
func TestCrashRetriesRunOnce(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dsn := newDB(t)
			if engine == "postgres" {
				dsn = pgtest.DSN(t)
			}
			kek := filepath.Join(t.TempDir(), "kek")
			key := createIntegration(t, dsn, "crash", "30d", fullAccess...)
			serve := func() *process {
				return startBinary(t, "serve", "--addr", "127.0.0.1:0", "--database", dsn, "--kek-file", kek, "--rate-limit", "0", "--max-concurrent-per-key", "0")
			}
			var mu sync.Mutex
			created := map[string]bool{} // app names answered 201
			var unanswered []string      // app names (= their keys) with no answer
			var retried, conflicts int
			kept := map[string]bool{} // names whose retry said the request was carried out
			retry := func(base string) {
				mu.Lock()
				todo := unanswered
				unanswered = nil
				mu.Unlock()
				for _, name := range todo {
					retried++
					status, body, err := callIdem(base, key, name)
					switch {
					case err != nil:
						t.Fatalf("retry of %q: %v", name, err)
					case status == http.StatusCreated:
						mu.Lock()
						created[name] = true
						mu.Unlock()
					case status == http.StatusConflict:
						// Carried out, answer not kept (or still counted as in progress).
						conflicts++
						mu.Lock()
						kept[name] = true
						mu.Unlock()
					default:
						t.Errorf("retry of %q: %d %s", name, status, body)
					}
				}
			}
			rounds := 3
			for round := range rounds {
				p := serve()
				retry(p.URL)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Go(func() {
						for i := 0; ; i++ {
							select {
							case <-stop:
								return
							default:
							}
							name := fmt.Sprintf("app-%d-%d-%d", round, w, i)
							status, body, err := callIdem(p.URL, key, name)
							mu.Lock()
							switch {
							case err != nil || status >= 500:
								unanswered = append(unanswered, name)
								mu.Unlock()
								return // the server died under us
							case status == http.StatusCreated:
								created[name] = true
							default:
								t.Errorf("%s: %d %s", name, status, body)
							}
							mu.Unlock()
						}
					})
				}
				time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond)
				p.cmd.Process.Kill() // SIGKILL: no shutdown, no flush
				<-p.exited
				close(stop)
				wg.Wait()
			}
			p := serve()
			retry(p.URL)

			counts := map[string]int{}
			for page := 1; ; page++ {
				var l struct {
					Apps  []struct{ Name string }
					Total int
				}
				json.Unmarshal(mustCall(t, p.URL, "GET", fmt.Sprintf("/v2/apps?page=%d&limit=100", page), key, "", http.StatusOK), &l)
				for _, a := range l.Apps {
					counts[a.Name]++
				}
				if len(l.Apps) < 100 {
					break
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for name, n := range counts {
				if n > 1 {
					t.Errorf("app %q exists %d times: a retry ran its creation again", name, n)
				}
			}
			for name := range created {
				if counts[name] != 1 {
					t.Errorf("app %q was answered 201 but exists %d times", name, counts[name])
				}
			}
			for name := range kept {
				if counts[name] != 1 {
					t.Errorf("app %q: its retry was refused as carried out, but it exists %d times", name, counts[name])
				}
			}
			if len(created) < rounds*2 {
				t.Fatalf("only %d creations answered in %d rounds; the test needs more", len(created), rounds)
			}
			t.Logf("%d apps over %d kills, each once; %d requests without an answer retried, %d of them 409", len(counts), rounds, retried, conflicts)
		})
	}
}

// callIdem creates the app name with the Idempotency-Key name.
func callIdem(base, key, name string) (int, []byte, error) {
	req, err := http.NewRequest("POST", base+"/v2/apps", strings.NewReader(fmt.Sprintf(`{"name":%q}`, name)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", key)
	req.Header.Set("PubNub-Version", apiVersion)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", name)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
