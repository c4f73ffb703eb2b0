package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/keyplane/keyplane/internal/pgtest"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/webhook"
)

// receipt is one delivery a test receiver got.
type receipt struct {
	msgID   string // webhook-id
	eventID string // the event's id, from the body
	target  string // the event's target id (the app made)
	body    string
	from    string // the sender's address and port
	sender  int    // the index of the sender process, -1 if unknown
	began   time.Time
	ended   time.Time
}

// hookReceiver is a real HTTP receiver in the test process: it verifies
// every delivery with the Standard Webhooks library, records it and
// answers 204.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []receipt
	count  atomic.Int64
	// delay is how long each answer takes (a receiver doing some work).
	delay time.Duration
	// senders are the processes that may connect; each new connection is
	// attributed to the one holding its other end (see socketPorts).
	senders []int
	conns   map[string]int // remote address → index in senders
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t, conns: map[string]int{}}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Config.ConnState = r.connState
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

// connState attributes a new connection to the sender it comes from,
// while the sender holds it open.
func (r *hookReceiver) connState(c net.Conn, s http.ConnState) {
	r.mu.Lock()
	senders := r.senders
	r.mu.Unlock()
	if s != http.StateNew || len(senders) == 0 {
		return
	}
	_, port, _ := net.SplitHostPort(c.RemoteAddr().String())
	for i, pid := range senders {
		if ports, err := socketPorts(pid); err == nil && ports[port] {
			r.mu.Lock()
			r.conns[c.RemoteAddr().String()] = i
			r.mu.Unlock()
			return
		}
	}
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	began := time.Now()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "short body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		r.t.Errorf("secret %q: %v", secret, err)
		http.Error(w, "no secret", http.StatusInternalServerError)
		return
	}
	// The signature with the library; the timestamp against this test's
	// clock, which a build with the clockoffset tag moves as the servers'
	// (a restarted server may run ahead of it by a lease).
	if err := v.VerifyIgnoringTimestamp(body, req.Header); err != nil {
		r.t.Errorf("delivery %s does not verify: %v", req.Header.Get("webhook-id"), err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	ts, err := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	if d := time.Unix(ts, 0).Sub(wallclock.Now()); err != nil || d < -5*time.Minute || d > 5*time.Minute {
		r.t.Errorf("delivery %s: webhook-timestamp %q is %v from now", req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), d)
	}
	var ev struct {
		ID     string
		Target struct{ ID string }
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		r.t.Errorf("delivery body %s: %v", body, err)
	}
	time.Sleep(r.delay)
	w.WriteHeader(http.StatusNoContent)
	r.mu.Lock()
	sender, ok := r.conns[req.RemoteAddr]
	if !ok {
		sender = -1
	}
	r.got = append(r.got, receipt{msgID: req.Header.Get("webhook-id"), eventID: ev.ID, target: ev.Target.ID, body: string(body),
		from: req.RemoteAddr, sender: sender, began: began, ended: time.Now()})
	r.mu.Unlock()
	r.count.Add(1)
}

// receipts is a copy of what has been received so far.
func (r *hookReceiver) receipts() []receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receipt(nil), r.got...)
}

// register makes the webhook of the receiver on the server at base for
// eventTypes and keeps its signing secret to verify with.
func (r *hookReceiver) register(base, key string, eventTypes ...string) string {
	r.t.Helper()
	events, _ := json.Marshal(eventTypes)
	b := mustCall(r.t, base, "POST", "/v2/webhooks", key, fmt.Sprintf(`{"url":%q,"description":"proof","events":%s}`, r.srv.URL+"/hook", events), http.StatusCreated)
	var w struct{ ID, Secret string }
	if err := json.Unmarshal(b, &w); err != nil || !strings.HasPrefix(w.Secret, "whsec_") {
		r.t.Fatalf("POST /v2/webhooks answered %s (%v)", b, err)
	}
	r.mu.Lock()
	r.secret = w.Secret
	r.mu.Unlock()
	return w.ID
}

// checkReceipts asserts that every app of made reached the receiver, and
// that each event came under one webhook-id, the one its webhook and id
// make (msg_<webhook>_<event>), with the same body every time. It returns
// how many receipts were duplicates.
func checkReceipts(t *testing.T, got []receipt, hookID string, made map[string]bool) (dups int) {
	t.Helper()
	byEvent := map[string]receipt{}
	apps := map[string]bool{}
	for _, r := range got {
		if want := "msg_" + hookID + "_" + r.eventID; r.msgID != want {
			t.Errorf("event %s came as webhook-id %q, want %q", r.eventID, r.msgID, want)
		}
		if first, ok := byEvent[r.eventID]; ok {
			dups++
			if r.msgID != first.msgID || r.body != first.body {
				t.Errorf("event %s came twice, differently: %s %s and %s %s", r.eventID, first.msgID, first.body, r.msgID, r.body)
			}
			continue
		}
		byEvent[r.eventID] = r
		apps[r.target] = true
	}
	missing := 0
	for id := range made {
		if !apps[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events never reached the receiver", missing, len(made))
	}
	return dups
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// Nothing is lost: a server killed with SIGKILL in the middle of a burst
// of 1,000 events, while it writes them and delivers them, loses none.
// After a restart every event acknowledged reaches a real receiver at
// least once, verified with the Standard Webhooks library, and an event
// received twice comes under the same webhook-id. Deliveries the killed
// server had claimed are leased for a minute; the second server is
// started with its clock a lease ahead (the clockoffset build) rather
// than the test waiting for it.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dsn := newDB(t)
			if engine == "postgres" {
				dsn = pgtest.DSN(t)
			}
			kek := filepath.Join(t.TempDir(), "kek")
			key := createIntegration(t, dsn, "hooks", "30d", "account:app:rw", "account:webhook:rw")
			args := []string{"serve", "--addr", "127.0.0.1:0", "--database", dsn, "--kek-file", kek, "--webhooks-allow-private",
				"--rate-limit", "0", "--max-concurrent-per-key", "0"}
			rc := newHookReceiver(t)
			p := startBinary(t, args...)
			hookID := rc.register(p.URL, key, "AppCreated")

			// The burst: 1,000 tickets, each an app to make. A writer whose
			// server died gives its ticket back: the write was not
			// acknowledged (it may have been made all the same, and then
			// its event is delivered too, which the test allows).
			const events = 1000
			tickets := make(chan int, events)
			for i := range events {
				tickets <- i
			}
			var mu sync.Mutex
			made := map[string]bool{}
			// 8 writers each pausing this long: at most about 270 events
			// a second, so the burst lasts seconds.
			const pace = 30 * time.Millisecond
			write := func(base string) {
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						for {
							var i int
							select {
							case i = <-tickets:
							default:
								return
							}
							status, body, err := call(base, "POST", "/v2/apps", key, fmt.Sprintf(`{"name":"burst %d"}`, i))
							if err != nil || status >= 500 {
								tickets <- i
								return
							}
							var app struct{ ID string }
							if status != http.StatusCreated || json.Unmarshal(body, &app) != nil {
								t.Errorf("POST /v2/apps: %d %s", status, body)
								return
							}
							mu.Lock()
							made[app.ID] = true
							mu.Unlock()
							time.Sleep(pace)
						}
					})
				}
				wg.Wait()
			}
			burst := make(chan struct{})
			go func() { defer close(burst); write(p.URL) }()

			// Kill once deliveries flow, with writes still going (they are
			// paced so that the burst outlasts the worker's first poll),
			// or, on a machine too slow to start delivering, before the
			// last writes.
			if !waitFor(20*time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return rc.count.Load() >= 50 || len(made) >= events*9/10
			}) {
				t.Fatalf("neither deliveries nor writes got going within 20 s; %d received", rc.count.Load())
			}
			p.cmd.Process.Kill() // SIGKILL: no shutdown, nothing handed back
			<-p.exited
			<-burst
			mu.Lock()
			acked, received := len(made), rc.count.Load()
			mu.Unlock()
			if acked >= events {
				t.Fatalf("the burst was over (%d events) before the kill; the test must kill it sooner", acked)
			}
			t.Logf("killed after %d of %d events acknowledged and %d deliveries received", acked, events, received)

			// The restart, a lease (and a little) later by its clock, then the
			// rest of the burst.
			ahead := webhook.DefaultLease + 10*time.Second
			if s := os.Getenv("KEYPLANE_CLOCK_OFFSET"); s != "" {
				base, err := time.ParseDuration(s)
				if err != nil {
					t.Fatal(err)
				}
				ahead += base
			}
			env := append(childEnv(), "KEYPLANE_CLOCK_OFFSET="+ahead.String())
			started := time.Now()
			p = startBuiltEnv(t, keyplaneClockBinary(t), env, args...)
			write(p.URL)
			mu.Lock()
			if len(made) != events {
				t.Fatalf("%d events acknowledged after the restart, want %d", len(made), events)
			}
			mu.Unlock()
			all := waitFor(30*time.Second, func() bool {
				apps := map[string]bool{}
				for _, r := range rc.receipts() {
					apps[r.target] = true
				}
				for id := range made {
					if !apps[id] {
						return false
					}
				}
				return true
			})
			if !all {
				t.Errorf("not every event arrived within 30 s of the restart")
			}
			got := rc.receipts()
			dups := checkReceipts(t, got, hookID, made)
			t.Logf("%d events, %d deliveries received, %d of them again (same webhook-id), all within %v of the restart",
				events, len(got), dups, time.Since(started).Round(time.Millisecond))
		})
	}
}
