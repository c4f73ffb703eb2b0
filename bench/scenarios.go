package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx", to make P6's database

	"github.com/keyplane/keyplane"
)

// scenarios are run in this order; later ones reuse what earlier ones
// made (the small database and its server, the baseline).
var scenarios = []scenario{
	{"P1", "GET /v2/keysets/{id}, SQLite", p1},
	{"P2", "POST /v2/keysets, SQLite synchronous=FULL", p2},
	{"P3", "1,000,000 keysets in 100,000 apps, SQLite", p3},
	{"P4", "authenticate + authorize (go test -bench)", p4},
	{"P5", "start-up to ready", p5},
	{"P6", "PostgreSQL, two replicas: P1 and P2", p6},
	{"P7", "1,000,000 keysets in 10,000 accounts, SQLite", p7},
	{"P8", "PATCH /v2/keysets/{id}/config over 1,000 keysets, SQLite and PostgreSQL", p8},
	{"P9", "a key revoked while two PostgreSQL replicas serve it", p9},
}

// latencyConns is how many connections the latency scenarios (P3) use:
// few, so a figure is the cost of one request, not a queue.
const latencyConns = 4

// small is a database of 10 apps × 10 keysets and a keyplane serving it,
// made once and shared by P1, P2 and P3's comparison.
func (b *bench) small(ctx context.Context) (*proc, seeded, error) {
	if b.smallProc != nil {
		return b.smallProc, b.smallSeed, nil
	}
	s, err := seed(ctx, b.path("small.db"), b.path("small.kek"), oneAccount(10, 10), nil)
	if err != nil {
		return nil, s, err
	}
	p, err := b.serve(ctx, "keyplane (small)", s)
	if err != nil {
		return nil, s, err
	}
	b.smallProc, b.smallSeed = p, s
	return p, s, nil
}

// serve starts keyplane on the seeded database with its per-key limits
// off (the load comes from one key) and the flags of extra, and waits
// until it is ready.
func (b *bench) serve(ctx context.Context, label string, s seeded, extra ...string) (*proc, error) {
	args := []string{b.keyplane, "serve", "--database", s.dsn, "--kek-file", s.kek, "--addr", "127.0.0.1:0",
		"--rate-limit", "0", "--max-concurrent-per-key", "0"}
	args = append(args, extra...)
	if b.profileDir != "" {
		args = append(args, "--pprof", "127.0.0.1:0")
	}
	b.logs++
	p, err := startProc(ctx, label, args, nil, b.path(fmt.Sprintf("keyplane-%d.log", b.logs)))
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	if err := waitReady(ctx, p.url(), time.Minute); err != nil {
		return nil, err
	}
	p.ready = time.Since(p.started)
	return p, nil
}

// baseline starts the baseline server answering keyset id's JSON, as
// keyplane answers it, to the seeded API key.
func (b *bench) baseline(ctx context.Context, kp *proc, s seeded) (*proc, error) {
	if b.baseProc != nil {
		return b.baseProc, nil
	}
	status, body, err := get(ctx, "GET", fmt.Sprintf("%s/v2/keysets/%d", kp.url(), s.keyset()), s.key, nil)
	if err != nil || status != 200 {
		return nil, fmt.Errorf("GET keyset for the baseline: %d %s %v", status, body, err)
	}
	file := b.path("baseline-keyset.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		return nil, err
	}
	keyHash := keyplane.HashAPIKey(s.key)
	p, err := startProc(ctx, "baseline", []string{b.self, "baseline", "--key-hash", hex.EncodeToString(keyHash[:]), "--body", file}, nil, "")
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	b.baseProc = p
	return p, nil
}

// measure runs r against p, saving a CPU profile of it under name when
// asked to. Connections and run length not set are the bench's.
func (b *bench) measure(ctx context.Context, p *proc, name string, r runner) (outcome, error) {
	var dur time.Duration
	switch l := r.(type) {
	case load:
		l.conns = cmp.Or(l.conns, b.conns)
		l.dur = cmp.Or(l.dur, b.dur)
		r, dur = l, l.dur
	case wrkLoad:
		l.conns = cmp.Or(l.conns, b.conns)
		l.dur = cmp.Or(l.dur, b.dur)
		r, dur = l, l.dur
	}
	var saved chan error
	p.mu.Lock()
	pp := p.pprof
	p.mu.Unlock()
	if b.profileDir != "" && pp != "" {
		saved = make(chan error, 1)
		secs := max(1, int(dur.Seconds()))
		go func() {
			status, prof, err := get(ctx, "GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pp, secs), "", nil)
			if err == nil && status != 200 {
				err = fmt.Errorf("profile: %d", status)
			}
			if err == nil {
				err = os.WriteFile(filepath.Join(b.profileDir, name+".pprof"), prof, 0o644)
			}
			saved <- err
		}()
	}
	o, err := r.run(ctx)
	if saved != nil {
		if perr := <-saved; perr != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, perr)
		}
	}
	if err == nil && o.ok == 0 {
		err = fmt.Errorf("%s: no request succeeded (%d failed; first: %s)", name, o.errs, o.firstErr)
	}
	if err == nil && o.errs > 0 {
		err = fmt.Errorf("%s: %d of %d requests failed; first: %s", name, o.errs, o.ok+o.errs, o.firstErr)
	}
	return o, err
}

// alternate runs kl against keyplane and bl against the baseline in turn,
// b.pairs times, and returns the median figures of each and the median of
// the pairs' throughput ratios.
func (b *bench) alternate(ctx context.Context, id string, kp []*proc, kl runner, base *proc, bl runner) (k, blf figure, err error) {
	var ko, bo []outcome
	var ratios []float64
	for i := range b.pairs {
		o, err := b.measure(ctx, kp[0], fmt.Sprintf("%s-keyplane-%d", id, i+1), kl)
		if err != nil {
			return k, blf, err
		}
		p, err := b.measure(ctx, base, fmt.Sprintf("%s-baseline-%d", id, i+1), bl)
		if err != nil {
			return k, blf, err
		}
		ko, bo = append(ko, o), append(bo, p)
		ratios = append(ratios, o.throughput()/p.throughput())
	}
	k, blf = medianFigure(ko), medianFigure(bo)
	for _, p := range kp {
		k.RSSMB = max(k.RSSMB, mb(p.peakRSS()))
	}
	blf.RSSMB = mb(base.peakRSS())
	k.Ratio = median(ratios)
	return k, blf, nil
}

// medianFigure is the median throughput, p50 and p99 of runs.
func medianFigure(runs []outcome) figure {
	var tp, p50, p99 []float64
	for _, o := range runs {
		tp = append(tp, o.throughput())
		p50 = append(p50, ms(o.percentile(50)))
		p99 = append(p99, ms(o.percentile(99)))
	}
	return figure{Throughput: median(tp), P50ms: median(p50), P99ms: median(p99)}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(b int64) float64         { return float64(b) / (1 << 20) }

// readRows measures authenticated GETs of path on servers (their loads
// spread over them) against the baseline's GET of basePath, each run in
// turn, twice: with wrk, whose ratio counts, and with the Go generator,
// kept for comparison. It returns the rows of each: keyplane, then the
// baseline; the wrk rows say so when there is no wrk.
func (b *bench) readRows(ctx context.Context, id, what string, servers []*proc, path, key string, base *proc, basePath, baseKey string) (wk, wb, gk, gb figure, err error) {
	wk = figure{ID: id, What: what + " (wrk)", Note: noWrk}
	if b.wrkBin != "" {
		wk, wb, err = b.alternate(ctx, id+"-wrk", servers, b.wrk("get", servers, path, key, nil),
			base, b.wrk("get", []*proc{base}, basePath, baseKey, nil))
		if err != nil {
			return
		}
		wk.ID, wk.What = id, what+" (wrk)"
		wb.ID, wb.What = id, "baseline (bare net/http), wrk"
	}
	var urls []string
	for _, p := range servers {
		urls = append(urls, p.url()+path)
	}
	gk, gb, err = b.alternate(ctx, id+"-go", servers, load{method: "GET", urls: urls, key: key, want: 200},
		base, load{method: "GET", urls: []string{base.url() + basePath}, key: baseKey, want: 200})
	gk.ID, gk.What, gk.Note = id, what+" (go loadgen)", "the Go generator takes more of the shared cores: the wrk row counts"
	gb.ID, gb.What = id, "baseline (bare net/http), go loadgen"
	return
}

// createRows measures durable POST /v2/keysets on servers, b.pairs runs,
// with wrk (the figure that counts) and with the Go generator.
func (b *bench) createRows(ctx context.Context, id, what string, servers []*proc, s seeded) (w, g figure, err error) {
	medianOf := func(name string, r runner) (figure, error) {
		var runs []outcome
		for i := range b.pairs {
			o, err := b.measure(ctx, servers[0], fmt.Sprintf("%s-%s-%d", id, name, i+1), r)
			if err != nil {
				return figure{}, err
			}
			runs = append(runs, o)
		}
		f := medianFigure(runs)
		for _, p := range servers {
			f.RSSMB = max(f.RSSMB, mb(p.peakRSS()))
		}
		return f, nil
	}
	w = figure{Note: noWrk}
	if b.wrkBin != "" {
		if w, err = medianOf("create-wrk", b.wrk("create-keyset", servers, "/v2/keysets", s.key, s.appIDs)); err != nil {
			return
		}
	}
	w.ID, w.What = id, what+" (wrk)"
	var urls []string
	for _, p := range servers {
		urls = append(urls, p.url()+"/v2/keysets")
	}
	if g, err = medianOf("create-go", createLoad(urls, s)); err != nil {
		return
	}
	g.ID, g.What, g.Note = id, what+" (go loadgen)", "for comparison: the wrk row counts"
	return
}

// p1Target is issue 20's: throughput against the baseline, and a p99 no
// worse than the baseline's own by much (an absolute p99 cannot hold on
// two saturated cores).
const p1Target = "≥ 0.85 × baseline; p99 ≤ 1.2 × baseline's p99"

func p1(ctx context.Context, b *bench) ([]figure, error) {
	kp, s, err := b.small(ctx)
	if err != nil {
		return nil, err
	}
	base, err := b.baseline(ctx, kp, s)
	if err != nil {
		return nil, err
	}
	path := fmt.Sprintf("/v2/keysets/%d", s.keyset())
	wk, wb, gk, gb, err := b.readRows(ctx, "P1", "GET keyset, SQLite", []*proc{kp}, path, s.key, base, path, s.key)
	if err != nil {
		return nil, err
	}
	wk.Target = p1Target
	if b.wrkBin != "" {
		wk.Value, wk.Unit = wk.P99ms/wb.P99ms, "× baseline's p99"
		wk.Met = b.verdict(wk.Ratio >= 0.85 && wk.Value <= 1.2)
		return []figure{wk, wb, gk, gb}, nil
	}
	return []figure{wk, gk, gb}, nil
}

// createLoad is POST /v2/keysets spread over the apps, each worker its own.
func createLoad(urls []string, s seeded) load {
	return load{method: "POST", urls: urls, key: s.key, want: 201, body: func(w, i int) []byte {
		return fmt.Appendf(nil, `{"keyset":{"appId":"%d","name":"bench %d-%d"}}`, s.appIDs[w%len(s.appIDs)], w, i)
	}}
}

func p2(ctx context.Context, b *bench) ([]figure, error) {
	kp, s, err := b.small(ctx)
	if err != nil {
		return nil, err
	}
	w, g, err := b.createRows(ctx, "P2", "create keyset, durable", []*proc{kp}, s)
	if err != nil {
		return nil, err
	}
	w.Target = "≥ 4,000 creates/s; p99 ≤ 50 ms"
	if b.wrkBin != "" {
		w.Met = b.verdict(w.Throughput >= 4000 && w.P99ms <= 50)
	}
	return []figure{w, g}, nil
}

// big is the database of P3 and P5: 1,000,000 keysets in 100,000 apps
// (2,000 apps under --quick).
func (b *bench) big(ctx context.Context) (seeded, []figure, error) {
	sh := oneAccount(100000, 10)
	if b.quick {
		sh.apps = 2000
	}
	return b.seedCached(ctx, "P3", "big", sh)
}

// manyAccounts is the database of P7: P3's million keysets in 10,000
// accounts of 10 apps (200 accounts under --quick).
func (b *bench) manyAccounts(ctx context.Context) (seeded, []figure, error) {
	sh := shape{10000, 10, 10}
	if b.quick {
		sh.accounts = 200
	}
	return b.seedCached(ctx, "P7", "accounts", sh)
}

// seedCached makes a database of shape sh named name in the work folder,
// seeded once and then copied from the cache (bigcache.go), and kept for
// the later scenarios of the run. Only the run that seeds reports the
// seeding, as a figure of scenario id.
func (b *bench) seedCached(ctx context.Context, id, name string, sh shape) (seeded, []figure, error) {
	if s, ok := b.seeds[sh]; ok {
		return s, nil, nil
	}
	cached, err := bigCache(sh)
	if err != nil {
		return seeded{}, nil, err
	}
	s, ok, err := loadBig(cached, b.path(name+".db"), b.path(name+".kek"))
	if err != nil {
		return s, nil, fmt.Errorf("cached database %s: %w", cached, err)
	}
	if ok {
		fmt.Fprintf(os.Stderr, "%s database: a copy of %s\n", name, cached)
		b.seeds[sh] = s
		return s, nil, nil
	}
	start := time.Now()
	s, err = seed(ctx, b.path(name+".db"), b.path(name+".kek"), sh, func(done int) {
		fmt.Fprintf(os.Stderr, "\rseeding %s: %d keysets", name, done)
	})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return s, nil, err
	}
	took := time.Since(start)
	if err := saveBig(s, cached); err != nil {
		// A run without the cache still measures: the next one seeds.
		fmt.Fprintf(os.Stderr, "bench: warning: caching the %s database: %v\n", name, err)
	}
	b.seeds[sh] = s
	what := fmt.Sprintf("seed %d keysets (bench seed)", s.keysets())
	if sh.accounts > 1 {
		what = fmt.Sprintf("seed %d keysets in %d accounts (bench seed)", s.keysets(), sh.accounts)
	}
	return s, []figure{{ID: id, What: what, Throughput: float64(s.keysets()) / took.Seconds(), Value: took.Seconds(), Unit: "s"}}, nil
}

func p3(ctx context.Context, b *bench) ([]figure, error) {
	small, ss, err := b.small(ctx)
	if err != nil {
		return nil, err
	}
	s, figs, err := b.big(ctx)
	if err != nil {
		return nil, err
	}
	kp, err := b.serve(ctx, "keyplane (big)", s)
	if err != nil {
		return nil, err
	}
	defer kp.stop()
	deep := s.keysets()/100 - 10
	type probe struct {
		what, path, smallPath string
		p99                   float64 // target, ms
	}
	probes := []probe{
		{"list page 1", "/v2/keysets?page=1&limit=100", "/v2/keysets?page=1&limit=100", 5},
		{fmt.Sprintf("list page %d", deep), fmt.Sprintf("/v2/keysets?page=%d&limit=100", deep), "", 50},
		{"get keyset by id", fmt.Sprintf("/v2/keysets/%d", s.keyset()), fmt.Sprintf("/v2/keysets/%d", ss.keyset()), 5},
	}
	for _, pr := range probes {
		o, err := b.measure(ctx, kp, "P3-"+strings.ReplaceAll(pr.what, " ", "-"), load{method: "GET", urls: []string{kp.url() + pr.path}, key: s.key, want: 200, conns: latencyConns})
		if err != nil {
			return figs, err
		}
		f := medianFigure([]outcome{o})
		f.ID, f.What = "P3", fmt.Sprintf("%s (%d conns)", pr.what, latencyConns)
		f.Target = fmt.Sprintf("p99 ≤ %g ms", pr.p99)
		ok := f.P99ms <= pr.p99
		if pr.smallPath != "" {
			e, err := b.measure(ctx, small, "P3-empty-"+strings.ReplaceAll(pr.what, " ", "-"), load{method: "GET", urls: []string{small.url() + pr.smallPath}, key: ss.key, want: 200, conns: latencyConns})
			if err != nil {
				return figs, err
			}
			ef := medianFigure([]outcome{e})
			f.Value, f.Unit = f.P99ms/ef.P99ms, "× p99 of 100 keysets"
			f.Target += ", ≤ 1.2 × p99 of an empty database"
			ok = ok && f.Value <= 1.2
		}
		f.Met = b.verdict(ok)
		figs = append(figs, f)
	}
	// The probes above repeat one request, which the server answers from
	// its list cache while nothing changes. Pages drawn at random from
	// the whole list are mostly read from the database (the cache keeps
	// 256 pages): the cost of a list after a write, judged by nothing.
	pages := s.keysets() / 100
	o, err := b.measure(ctx, kp, "P3-random-pages", load{urls: []string{kp.url()}, key: s.key, conns: latencyConns,
		next: func(r *rand.Rand) request {
			return request{method: "GET", url: fmt.Sprintf("%s/v2/keysets?page=%d&limit=100", kp.url(), 1+r.IntN(pages)), want: 200}
		}})
	if err != nil {
		return figs, err
	}
	f := medianFigure([]outcome{o})
	f.ID, f.What = "P3", fmt.Sprintf("list random pages 1-%d, mostly uncached (%d conns)", pages, latencyConns)
	figs = append(figs, f)
	rss := mb(kp.peakRSS())
	figs = append(figs, figure{ID: "P3", What: fmt.Sprintf("server peak RSS, %d keysets", s.keysets()), RSSMB: rss, Target: "≤ 150 MB", Met: b.verdict(rss <= 150)})
	return figs, nil
}

// p7 measures an account's reads when the install holds 10,000 accounts
// and a million keysets between them, against P3's one account holding
// the million: page 1 of its keysets and a keyset by id, each run in turns
// on the two servers in the same pass, must keep p99 within 20 % of
// P3's, and the server within 150 MB.
func p7(ctx context.Context, b *bench) ([]figure, error) {
	one, figs, err := b.big(ctx)
	if err != nil {
		return nil, err
	}
	many, mfigs, err := b.manyAccounts(ctx)
	figs = append(figs, mfigs...)
	if err != nil {
		return figs, err
	}
	kp1, err := b.serve(ctx, "keyplane (one account)", one)
	if err != nil {
		return figs, err
	}
	defer kp1.stop()
	kpN, err := b.serve(ctx, "keyplane (many accounts)", many)
	if err != nil {
		return figs, err
	}
	defer kpN.stop()
	probes := []struct{ what, path string }{
		{"list page 1", "/v2/keysets?page=1&limit=100"},
		{"get keyset by id", "/v2/keysets/%d"},
	}
	for _, pr := range probes {
		path := func(s seeded) string {
			if strings.Contains(pr.path, "%d") {
				return fmt.Sprintf(pr.path, s.keyset())
			}
			return pr.path
		}
		var on1, onN []outcome
		for i := range b.pairs {
			name := fmt.Sprintf("P7-%s-%d", strings.ReplaceAll(pr.what, " ", "-"), i)
			o, err := b.measure(ctx, kpN, name, load{method: "GET", urls: []string{kpN.url() + path(many)}, key: many.key, want: 200, conns: latencyConns})
			if err != nil {
				return figs, err
			}
			onN = append(onN, o)
			if o, err = b.measure(ctx, kp1, name+"-one-account", load{method: "GET", urls: []string{kp1.url() + path(one)}, key: one.key, want: 200, conns: latencyConns}); err != nil {
				return figs, err
			}
			on1 = append(on1, o)
		}
		f, f1 := medianFigure(onN), medianFigure(on1)
		f.ID = "P7"
		f.What = fmt.Sprintf("%s, an account among many (%d conns)", pr.what, latencyConns)
		f.Value, f.Unit = f.P99ms/f1.P99ms, "× p99 of P3's one account"
		f.Target = "≤ 1.2 × p99 of one account holding them all"
		f.Note = fmt.Sprintf("one account: p99 %.2f ms", f1.P99ms)
		f.Met = b.verdict(f.Value <= 1.2)
		figs = append(figs, f)
	}
	rss := mb(kpN.peakRSS())
	figs = append(figs, figure{ID: "P7", What: fmt.Sprintf("server peak RSS, %d keysets in many accounts", many.keysets()), RSSMB: rss, Target: "≤ 150 MB", Met: b.verdict(rss <= 150)})
	return figs, nil
}

// benchLine is one result line of go test -bench -benchmem.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`)

func p4(ctx context.Context, b *bench) ([]figure, error) {
	benchtime := "1s"
	if b.quick {
		benchtime = "100ms"
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkAuthHotPath", "-benchmem", "-benchtime", benchtime, "-count", "3", "./control/")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %v\n%s", err, out)
	}
	type agg struct {
		ns            []float64
		bytes, allocs float64
	}
	got := map[string]*agg{}
	var order []string
	for _, line := range strings.Split(string(out), "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		a := got[m[1]]
		if a == nil {
			a = &agg{}
			got[m[1]] = a
			order = append(order, m[1])
		}
		ns, _ := strconv.ParseFloat(m[2], 64)
		a.ns = append(a.ns, ns)
		a.bytes, _ = strconv.ParseFloat(m[3], 64)
		a.allocs, _ = strconv.ParseFloat(m[4], 64)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("no benchmark result in:\n%s", out)
	}
	var figs []figure
	allocs := map[float64]bool{}
	for _, name := range order {
		a := got[name]
		us := median(a.ns) / 1000
		allocs[a.allocs] = true
		figs = append(figs, figure{ID: "P4", What: strings.TrimPrefix(name, "Benchmark"), Value: us, Unit: "µs/op",
			Target: "≤ 2 µs/op", Met: b.verdict(us <= 2), Note: fmt.Sprintf("%.0f B/op, %.0f allocs/op", a.bytes, a.allocs)})
	}
	if len(allocs) > 1 {
		for i := range figs {
			figs[i].Note += "; allocations vary with the number of grants"
		}
	}
	return figs, nil
}

func p5(ctx context.Context, b *bench) ([]figure, error) {
	runs := 3
	if b.quick {
		runs = 1
	}
	startup := func(s func(i int) (seeded, error), label string) (float64, error) {
		var took []float64
		for i := range runs {
			sd, err := s(i)
			if err != nil {
				return 0, err
			}
			p, err := b.serve(ctx, label, sd)
			if err != nil {
				return 0, err
			}
			took = append(took, ms(p.ready))
			if err := p.stop(); err != nil {
				return 0, err
			}
		}
		return median(took), nil
	}
	empty, err := startup(func(i int) (seeded, error) {
		dir := b.path(fmt.Sprintf("empty-%d", i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return seeded{}, err
		}
		return seeded{dsn: filepath.Join(dir, "keyplane.db"), kek: filepath.Join(dir, "kek")}, nil
	}, "keyplane (empty)")
	if err != nil {
		return nil, err
	}
	s, figs, err := b.big(ctx)
	if err != nil {
		return nil, err
	}
	full, err := startup(func(int) (seeded, error) { return s, nil }, "keyplane (big)")
	if err != nil {
		return nil, err
	}
	return append(figs,
		figure{ID: "P5", What: "start-up to ready, new database", Value: empty, Unit: "ms", Target: "≤ 500 ms", Met: b.verdict(empty <= 500)},
		figure{ID: "P5", What: fmt.Sprintf("start-up to ready, %d keysets", s.keysets()), Value: full, Unit: "ms", Target: "≤ 2,000 ms", Met: b.verdict(full <= 2000)},
	), nil
}

// pgReplicas seeds a new PostgreSQL database of shape sh and starts two
// keyplane replicas on it; done stops them and drops the database.
func (b *bench) pgReplicas(ctx context.Context, name string, sh shape) (s seeded, replicas []*proc, done func(), err error) {
	dsn, drop, err := newPostgresDatabase(ctx, b.postgres)
	if err != nil {
		return s, nil, nil, err
	}
	done = func() {
		for _, p := range replicas {
			p.stop()
		}
		drop()
	}
	if s, err = seed(ctx, dsn, b.path(name+"-pg.kek"), sh, nil); err != nil {
		done()
		return s, nil, nil, err
	}
	for i := range 2 {
		p, err := b.serve(ctx, fmt.Sprintf("keyplane (%s, PostgreSQL replica %d)", name, i+1), s)
		if err != nil {
			done()
			return s, nil, nil, err
		}
		replicas = append(replicas, p)
	}
	return s, replicas, done, nil
}

// noPostgres is the row of a scenario that needs PostgreSQL, without it.
func noPostgres(id, what string) figure {
	return figure{ID: id, What: what, Note: "skipped: no --postgres (scripts/bench starts a cluster when it can)"}
}

func p6(ctx context.Context, b *bench) ([]figure, error) {
	if b.postgres == "" {
		return []figure{noPostgres("P6", "PostgreSQL, two replicas")}, nil
	}
	s, replicas, done, err := b.pgReplicas(ctx, "P6", oneAccount(10, 10))
	if err != nil {
		return nil, err
	}
	defer done()
	small, ss, err := b.small(ctx)
	if err != nil {
		return nil, err
	}
	base, err := b.baseline(ctx, small, ss)
	if err != nil {
		return nil, err
	}
	wk, wb, gk, gb, err := b.readRows(ctx, "P6", "GET keyset, 2 replicas", replicas, fmt.Sprintf("/v2/keysets/%d", s.keyset()), s.key,
		base, fmt.Sprintf("/v2/keysets/%d", ss.keyset()), ss.key)
	if err != nil {
		return nil, err
	}
	wk.Target = "≥ 0.70 × baseline"
	figs := []figure{wk, gk, gb}
	if b.wrkBin != "" {
		wk.Met = b.verdict(wk.Ratio >= 0.70)
		figs = []figure{wk, wb, gk, gb}
	}
	w, g, err := b.createRows(ctx, "P6", "create keyset, 2 replicas, synchronous_commit=on", replicas, s)
	if err != nil {
		return figs, err
	}
	w.Target = "≥ 2,500 creates/s across the two"
	if b.wrkBin != "" {
		w.Met = b.verdict(w.Throughput >= 2500)
	}
	return append(figs, w, g), nil
}

// newPostgresDatabase makes a database of its own for this run in the
// server at url, and returns its URL and what drops it.
func newPostgresDatabase(ctx context.Context, url string) (string, func(), error) {
	admin, err := sql.Open("pgx", url)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("keyplane_bench_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	var on string
	if err := admin.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&on); err != nil || on != "on" {
		fmt.Fprintf(os.Stderr, "PostgreSQL: synchronous_commit is %q, not on: its write figures are not durable\n", on)
	}
	drop := func() {
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	u, err := replaceDatabase(url, name)
	if err != nil {
		drop()
		return "", nil, err
	}
	return u, drop, nil
}

// replaceDatabase names another database in a postgres:// URL.
func replaceDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("not a URL: postgres://user@host:port/dbname")
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}
