package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/pgtest"
)

// Acknowledged means durable: writers hammer a server that is killed with
// SIGKILL at a random moment, again and again; after each restart every
// write a client saw acknowledged is there, and the database passes its
// integrity check.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct{ name, dsn string }{
		{"sqlite", ""}, {"postgres", "postgres"},
	} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			dsn := newDB(t)
			if engine.dsn == "postgres" {
				dsn = pgtest.DSN(t)
			}
			kek := filepath.Join(t.TempDir(), "kek")
			key := createIntegration(t, dsn, "crash", "30d", fullAccess...)
			serve := func() *process {
				return startBinary(t, "serve", "--addr", "127.0.0.1:0", "--database", dsn, "--kek-file", kek, "--rate-limit", "0", "--max-concurrent-per-key", "0")
			}
			type acked struct {
				kind, id, detail string
			}
			var mu sync.Mutex
			var done []acked
			rounds := 4
			for round := range rounds {
				p := serve()
				app := createApp(t, &testServer{URL: p.URL}, key, fmt.Sprintf("round %d", round))
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
							var a acked
							var status int
							var body []byte
							var err error
							switch (w + i) % 3 {
							case 0:
								name := fmt.Sprintf("app %d-%d-%d", round, w, i)
								status, body, err = call(p.URL, "POST", "/v2/apps", key, fmt.Sprintf(`{"name":%q}`, name))
								a = acked{kind: "app", detail: name}
							case 1:
								status, body, err = call(p.URL, "POST", "/v2/keysets", key, fmt.Sprintf(`{"keyset":{"appId":%q,"name":"k%d-%d"}}`, app, w, i))
								a = acked{kind: "keyset"}
							case 2:
								ret := []int{1, 7, 30}[i%3]
								status, body, err = call(p.URL, "POST", "/v2/keysets", key, fmt.Sprintf(`{"keyset":{"appId":%q},"config":{"messagePersistence":{"enabled":true,"retention":%d}}}`, app, ret))
								a = acked{kind: "config", detail: fmt.Sprint(ret)}
							}
							if err != nil || status >= 500 {
								return // the server died under us: not acknowledged
							}
							if status != http.StatusCreated {
								t.Errorf("%s: %d %s", a.kind, status, body)
								return
							}
							var out struct {
								ID     string
								Keyset struct{ ID string }
							}
							json.Unmarshal(body, &out)
							a.id = out.ID + out.Keyset.ID
							mu.Lock()
							done = append(done, a)
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
			mu.Lock()
			defer mu.Unlock()
			if len(done) < rounds*2 {
				t.Fatalf("only %d writes were acknowledged in %d rounds; the test needs more", len(done), rounds)
			}
			for _, a := range done {
				switch a.kind {
				case "app":
					var got struct{ Name string }
					json.Unmarshal(mustCall(t, p.URL, "GET", "/v2/apps/"+a.id, key, "", http.StatusOK), &got)
					if got.Name != a.detail {
						t.Errorf("acknowledged app %s is %q, want %q", a.id, got.Name, a.detail)
					}
				case "keyset":
					mustCall(t, p.URL, "GET", "/v2/keysets/"+a.id, key, "", http.StatusOK)
					mustCall(t, p.URL, "GET", "/v2/keysets/"+a.id+"/secret-keys", key, "", http.StatusOK)
				case "config":
					var got struct {
						MessagePersistence struct{ Retention int }
					}
					json.Unmarshal(mustCall(t, p.URL, "GET", "/v2/keysets/"+a.id+"/config", key, "", http.StatusOK), &got)
					if fmt.Sprint(got.MessagePersistence.Retention) != a.detail {
						t.Errorf("acknowledged keyset %s has retention %d, want %s", a.id, got.MessagePersistence.Retention, a.detail)
					}
				}
			}
			t.Logf("%d acknowledged writes over %d kills, all present", len(done), rounds)
			if engine.name == "sqlite" {
				db := openSQL(t, dsn)
				var res string
				if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
					t.Errorf("integrity_check: %q %v", res, err)
				}
			}
		})
	}
}
