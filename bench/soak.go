package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// soakMain is `bench soak`: a mixed workload held at a fixed rate — half
// the peak it measures first, unless told — for a bounded time, reporting
// per window the errors, latency, server memory and goroutines, and at the
// end how they drifted. A server that leaks, slows down or starts failing
// as it runs shows here where a short benchmark would not.
//
//	bench soak --keyplane BIN [--duration 10m] [--rate N] [--conns 32] [--windows 10]
func soakMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	var b bench
	fs.StringVar(&b.keyplane, "keyplane", "", "the keyplane binary (scripts/soak builds it)")
	dur := fs.Duration("duration", 10*time.Minute, "how long the soak lasts")
	rate := fs.Float64("rate", 0, "requests a second; 0: half the peak measured first")
	conns := fs.Int("conns", 32, "connections")
	windows := fs.Int("windows", 10, "windows the report splits the run into")
	fs.StringVar(&b.work, "work", "", "folder for the database and logs (default: a temporary one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if b.keyplane == "" {
		return fmt.Errorf("soak: --keyplane BIN is required (scripts/soak builds it)")
	}
	if *dur <= 0 || *windows < 1 || *conns < 1 || *rate < 0 {
		return fmt.Errorf("soak: --duration, --windows and --conns must be positive, --rate not negative")
	}
	if b.work == "" {
		dir, err := os.MkdirTemp("", "keyplane-soak-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		b.work = dir
	}
	b.profileDir = b.work // serve with --pprof, to count goroutines
	defer b.closeAll()
	s, err := seed(ctx, b.path("soak.db"), b.path("soak.kek"), oneAccount(20, 10), nil)
	if err != nil {
		return err
	}
	kp, err := b.serve(ctx, "keyplane (soak)", s)
	if err != nil {
		return err
	}
	m := newMix(kp.url(), s)
	if *rate == 0 {
		fmt.Fprintln(os.Stderr, "measuring the peak of the mix for 10 s…")
		w, err := m.run(ctx, *conns, 10*time.Second, 0)
		if err != nil {
			return err
		}
		*rate = w.throughput() / 2
		fmt.Fprintf(os.Stderr, "peak %.0f requests/s; soaking at %.0f/s for %s\n", w.throughput(), *rate, *dur)
	}
	const row = "%6v %11v %7v %8v %8v %7v %11v\n"
	fmt.Printf(row, "window", "requests/s", "errors", "p50 ms", "p99 ms", "RSS MB", "goroutines")
	var rows []soakWindow
	step := *dur / time.Duration(*windows)
	for i := range *windows {
		w, err := m.run(ctx, *conns, step, *rate)
		if err != nil {
			return err
		}
		w.rss, w.goroutines = kp.memory("VmRSS"), goroutines(ctx, kp)
		rows = append(rows, w)
		fmt.Printf(row, i+1, fmt.Sprintf("%.0f", w.throughput()), w.errs, fmt.Sprintf("%.2f", ms(w.percentile(50))),
			fmt.Sprintf("%.2f", ms(w.percentile(99))), fmt.Sprintf("%.0f", mb(w.rss)), w.goroutines)
	}
	first, last := rows[0], rows[len(rows)-1]
	errs := 0
	for _, w := range rows {
		errs += w.errs
	}
	fmt.Printf("\nerrors: %d; p99 %.2f → %.2f ms (%+.0f%%); RSS %.0f → %.0f MB; goroutines %d → %d; peak RSS %.0f MB\n",
		errs, ms(first.percentile(99)), ms(last.percentile(99)), 100*(ms(last.percentile(99))/ms(first.percentile(99))-1),
		mb(first.rss), mb(last.rss), first.goroutines, last.goroutines, mb(kp.peakRSS()))
	if errs > 0 {
		return fmt.Errorf("soak: %d requests failed; first: %s", errs, firstErrOf(rows))
	}
	return nil
}

type soakWindow struct {
	outcome
	rss        int64
	goroutines int
}

func firstErrOf(rows []soakWindow) string {
	for _, w := range rows {
		if w.firstErr != "" {
			return w.firstErr
		}
	}
	return ""
}

// mix is the soak's workload: mostly reads, as an API's traffic is, and
// enough writes to grow and churn the database.
type mix struct {
	base string
	s    seeded
	// keysets are ids a request may read or change; creates add to them.
	mu      sync.Mutex
	keysets []int64
}

func newMix(base string, s seeded) *mix {
	return &mix{base: base, s: s, keysets: slices.Clone(s.keysetIDs)}
}

// next is one request of the mix.
func (m *mix) next(r *rand.Rand) request {
	m.mu.Lock()
	id := m.keysets[r.IntN(len(m.keysets))]
	m.mu.Unlock()
	get := func(path string) request { return request{"GET", m.base + path, nil, 200} }
	switch n := r.IntN(100); {
	case n < 55:
		return get(fmt.Sprintf("/v2/keysets/%d", id))
	case n < 70:
		return get("/v2/keysets?page=1&limit=25")
	case n < 80:
		return get(fmt.Sprintf("/v2/keysets/%d/config", id))
	case n < 90:
		return request{"PATCH", fmt.Sprintf("%s/v2/keysets/%d/config", m.base, id),
			fmt.Appendf(nil, `{"presence":{"announceMax":%d}}`, 10+r.IntN(90)), 200}
	case n < 95:
		return get("/v2/apps?page=1&limit=25")
	default:
		return request{"POST", m.base + "/v2/keysets",
			fmt.Appendf(nil, `{"keyset":{"appId":"%d","name":"soak %d"}}`, m.s.appIDs[r.IntN(len(m.s.appIDs))], r.Uint32()), 201}
	}
}

// answered keeps the keysets the mix creates, for later requests.
func (m *mix) answered(q request, body []byte) {
	if q.method != "POST" {
		return
	}
	if id, err := strconv.ParseInt(jsonID(body), 10, 64); err == nil {
		m.mu.Lock()
		m.keysets = append(m.keysets, id)
		m.mu.Unlock()
	}
}

// run sends the mix on conns connections for d, at rate requests a second
// in all (0: as fast as answered).
func (m *mix) run(ctx context.Context, conns int, d time.Duration, rate float64) (soakWindow, error) {
	o, err := load{urls: []string{m.base}, key: m.s.key, conns: conns, dur: d, rate: rate, next: m.next, answered: m.answered}.run(ctx)
	return soakWindow{outcome: o}, err
}

// jsonID finds the first "id":"…" in a create's answer, without decoding
// the whole of it.
func jsonID(b []byte) string {
	_, rest, ok := strings.Cut(string(b), `"id":"`)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// goroutines asks the server's profiler how many goroutines it runs.
func goroutines(ctx context.Context, p *proc) int {
	p.mu.Lock()
	pp := p.pprof
	p.mu.Unlock()
	if pp == "" {
		return 0
	}
	status, body, err := get(ctx, "GET", "http://"+pp+"/debug/pprof/goroutine?debug=1", "", nil)
	if err != nil || status != 200 {
		return 0
	}
	_, rest, _ := strings.Cut(string(body), "total ")
	n, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]))
	return n
}
