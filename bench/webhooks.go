package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// W1 of issue 19: webhooks under a steady stream of events. Keyplane
// (SQLite, durable) takes 1,000 app creates a second for 60 s (5 s under
// --quick), each an AppCreated event, while its delivery worker sends
// every event to a receiver in the bench's own process on loopback, which
// verifies each signature (Standard Webhooks) and times it from the
// event's own time to its arrival. The event's time is taken when its
// write begins, before the commit it waits for, so the latency reported
// is an upper bound of commit to receipt.
func init() {
	scenarios = append(scenarios, scenario{"W1", "webhooks: 1,000 events/s delivered to a local receiver, SQLite", w1})
}

// Targets of W1.
const (
	w1Rate      = 1000 // events a second
	w1P99       = time.Second
	w1RSSGrowth = 1.2 // end RSS over RSS after the warm-up, at most
)

// hookSink is W1's receiver: it keeps, for each event, when its first
// delivery arrived and how long after the event's time that was.
type hookSink struct {
	verifier *standardwebhooks.Webhook
	mu       sync.Mutex
	first    map[string]time.Duration // event id → event time to first receipt
	targets  map[string]bool          // the apps whose events arrived
	dups     int
	bad      int
	badWhy   string
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := time.Now()
	h.mu.Lock()
	v := h.verifier
	h.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = v.Verify(body, r.Header)
	}
	var ev struct {
		ID, At string
		Target struct{ ID string }
	}
	var at time.Time
	if err == nil {
		if err = json.Unmarshal(body, &ev); err == nil {
			at, err = time.Parse(time.RFC3339Nano, ev.At)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.bad++
		if h.badWhy == "" {
			h.badWhy = err.Error()
		}
		http.Error(w, "bad delivery", http.StatusBadRequest)
		return
	}
	if _, seen := h.first[ev.ID]; seen {
		h.dups++
	} else {
		h.first[ev.ID] = got.Sub(at)
		h.targets[ev.Target.ID] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

func w1(ctx context.Context, b *bench) ([]figure, error) {
	const what = "webhooks: app creates at 1,000/s, each event delivered to a local receiver"
	dur, warm := 60*time.Second, 10*time.Second
	if b.quick {
		dur, warm = 5*time.Second, time.Second
	}
	s, err := seed(ctx, b.path("w1.db"), b.path("w1.kek"), oneAccount(10, 10), nil)
	if err != nil {
		return nil, err
	}
	// A key that may register webhooks, made as an operator makes one.
	cmd := exec.CommandContext(ctx, b.keyplane, "admin", "create-integration", "--database", s.dsn, "--name", "bench W1",
		"--expires-in", "1d", "--grant", "account:app:rw", "--grant", "account:webhook:rw")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("keyplane admin create-integration: %v", err)
	}
	key := strings.TrimSpace(string(out))

	kp, err := b.serve(ctx, "keyplane (W1)", s, "--webhooks-allow-private")
	if err != nil {
		return nil, err
	}
	defer kp.stop()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sink := &hookSink{first: map[string]time.Duration{}, targets: map[string]bool{}}
	rs := &http.Server{Handler: sink, ReadHeaderTimeout: 10 * time.Second}
	go rs.Serve(ln)
	defer rs.Close()

	status, body, err := get(ctx, "POST", kp.url()+"/v2/webhooks", key,
		fmt.Appendf(nil, `{"url":"http://%s/hook","description":"bench W1","events":["AppCreated"]}`, ln.Addr()))
	if err != nil || status != http.StatusCreated {
		return nil, fmt.Errorf("POST /v2/webhooks: %d %s %v", status, body, err)
	}
	var hook struct{ Secret string }
	if err := json.Unmarshal(body, &hook); err != nil {
		return nil, err
	}
	v, err := standardwebhooks.NewWebhook(hook.Secret)
	if err != nil {
		return nil, err
	}
	sink.mu.Lock()
	sink.verifier = v
	sink.mu.Unlock()

	// The server's memory, sampled each second through the run.
	type sample struct {
		at  time.Duration
		rss int64
	}
	var samples []sample
	start := time.Now()
	sampled := make(chan struct{})
	sctx, stopSampling := context.WithCancel(ctx)
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			samples = append(samples, sample{time.Since(start), kp.memory("VmRSS")})
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	var mu sync.Mutex
	var made []string
	o, err := b.measure(ctx, kp, "W1", load{method: "POST", urls: []string{kp.url() + "/v2/apps"}, key: key, want: http.StatusCreated,
		conns: 64, dur: dur, rate: w1Rate,
		body: func(w, i int) []byte { return fmt.Appendf(nil, `{"name":"w1 %d-%d"}`, w, i) },
		answered: func(_ request, body []byte) {
			var app struct{ ID string }
			if json.Unmarshal(body, &app) == nil {
				mu.Lock()
				made = append(made, app.ID)
				mu.Unlock()
			}
		}})
	if err != nil {
		stopSampling()
		<-sampled
		return nil, err
	}

	// Then until every acknowledged event has arrived, or a minute.
	missing := func() int {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		n := 0
		for _, id := range made {
			if !sink.targets[id] {
				n++
			}
		}
		return n
	}
	drained := time.Now()
	for missing() > 0 && time.Since(drained) < time.Minute && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	drain := time.Since(drained)
	stopSampling()
	<-sampled
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	sink.mu.Lock()
	lat := make([]time.Duration, 0, len(sink.first))
	for _, d := range sink.first {
		lat = append(lat, d)
	}
	dups, bad, badWhy := sink.dups, sink.bad, sink.badWhy
	sink.mu.Unlock()
	slices.Sort(lat)
	lost := missing()
	if bad > 0 {
		return nil, fmt.Errorf("%d deliveries did not verify; first: %s", bad, badWhy)
	}
	d := outcome{ok: len(lat), lat: lat}

	rssAt := func(at time.Duration) int64 {
		for _, x := range samples {
			if x.at >= at {
				return x.rss
			}
		}
		return samples[len(samples)-1].rss
	}
	first, warmed, last := samples[0].rss, rssAt(warm), samples[len(samples)-1].rss
	growth := float64(last) / float64(warmed)

	f := figure{ID: "W1", What: fmt.Sprintf("%s, %v, event time → receipt", what, dur),
		Throughput: o.throughput(), P50ms: ms(d.percentile(50)), P99ms: ms(d.percentile(99)), RSSMB: mb(kp.peakRSS()),
		Target: fmt.Sprintf("%d events/s; p99 ≤ %v; none lost", w1Rate, w1P99),
		Met:    b.verdict(o.throughput() >= 0.98*w1Rate && d.percentile(99) <= w1P99 && lost == 0),
		Note: fmt.Sprintf("%d events acknowledged (write p99 %.1f ms), %d delivered, %d lost, %d sent again; last arrived %v after the load",
			len(made), ms(o.percentile(99)), len(lat), lost, dups, drain.Round(time.Millisecond))}
	r := figure{ID: "W1", What: "webhooks: server RSS through the run", RSSMB: mb(kp.peakRSS()),
		Value: growth, Unit: fmt.Sprintf("× RSS after %v", warm), Target: fmt.Sprintf("flat: end ≤ %.1f × after the warm-up", w1RSSGrowth),
		Met:  b.verdict(growth <= w1RSSGrowth),
		Note: fmt.Sprintf("RSS %.0f MB at the start, %.0f MB after %v, %.0f MB at the end", mb(first), mb(warmed), warm, mb(last))}
	if lost > 0 {
		return []figure{f, r}, fmt.Errorf("%d acknowledged events never reached the receiver within a minute", lost)
	}
	return []figure{f, r}, nil
}
