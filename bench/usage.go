package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/usagebench"
)

// The usage scenarios of issue 5: ingestion (U1) and the two query
// latencies (U2, U3), on SQLite with 10,000 keysets × 365 days × 10
// metrics (100 keysets × 31 days under --quick). Seeding that takes minutes,
// so the seeded database is cached (see usageCacheDir) and each run works on
// a copy of it.
func init() {
	scenarios = append(scenarios,
		scenario{"U1", "usage ingestion, SQLite synchronous=FULL", u1},
		scenario{"U2", "usage query, account, 31 days × 5 metrics", u2},
		scenario{"U3", "usage query, keyset, 31 days × 5 metrics", u3},
	)
}

// usageState is what U1–U3 share within a run: the copy of the seeded
// database, the server on it and its keys. Scenarios run one after the
// other, so a package variable needs no lock.
var usageState struct {
	seeded           usagebench.Seeded
	proc             *proc
	reporter, reader string
	figs             []figure // of seeding, reported by the first scenario
}

// usageCacheDir is where seeded usage databases are kept between runs:
// $KEYPLANE_BENCH_CACHE, else keyplane-bench in the user's cache folder
// ($XDG_CACHE_HOME or ~/.cache).
func usageCacheDir() (string, error) {
	if d := os.Getenv("KEYPLANE_BENCH_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "keyplane-bench"), nil
}

func (b *bench) usageSize() usagebench.Size {
	if b.quick {
		return usagebench.Size{Keysets: 100, Days: 31}
	}
	return usagebench.Size{Keysets: 10000, Days: 365}
}

// usage returns the usage server, seeding or copying its database first.
func (b *bench) usage(ctx context.Context) (*proc, []figure, error) {
	if usageState.proc != nil {
		figs := usageState.figs
		usageState.figs = nil
		return usageState.proc, figs, nil
	}
	dir, err := usageCacheDir()
	if err != nil {
		return nil, nil, err
	}
	size := b.usageSize()
	now := time.Now()
	s, err := usagebench.Cached(ctx, dir, size, now, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	})
	if err != nil {
		return nil, nil, err
	}
	if s.Fresh {
		usageState.figs = append(usageState.figs, figure{ID: "U1",
			What:       fmt.Sprintf("seeding %s (import path below JSON, batches of 10,000, into a growing database)", size),
			Throughput: s.IngestRate(), Value: s.IngestSecs, Unit: "s writing"})
	}
	// A copy, so that U1's writes and the keys made here leave the cache
	// as it was.
	db := b.path("usage.db")
	for _, f := range [][2]string{{s.Path, db}, {usagebench.KEK(s.Path), usagebench.KEK(db)}} {
		if err := copyFile(f[0], f[1]); err != nil {
			return nil, nil, err
		}
	}
	s.Path = db
	if usageState.reporter, usageState.reader, err = usagebench.Keys(ctx, db, now); err != nil {
		return nil, nil, err
	}
	// The seeded days may reach past the default retention when the cache
	// is a few days old: keep them, so no deletion runs during a measurement.
	args := []string{b.keyplane, "serve", "--database", db, "--kek-file", usagebench.KEK(db), "--addr", "127.0.0.1:0",
		"--rate-limit", "0", "--max-concurrent-per-key", "0",
		"--usage-retention-days", strconv.Itoa(size.Days + 30)}
	if b.profileDir != "" {
		args = append(args, "--pprof", "127.0.0.1:0")
	}
	p, err := startProc(ctx, "keyplane (usage)", args, nil, b.path("keyplane-usage.log"))
	if err != nil {
		return nil, nil, err
	}
	b.procs = append(b.procs, p)
	if err := waitReady(ctx, p.url(), time.Minute); err != nil {
		return nil, nil, err
	}
	usageState.seeded, usageState.proc = s, p
	figs := usageState.figs
	usageState.figs = nil
	return p, figs, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// The ingestion targets in points/s: issue 20's for POST /v2/usage-metrics
// on each engine, and issue 5's, kept, for keyplane usage import.
const (
	usageTarget         = 150000
	usagePostgresTarget = 100000
	usageImportTarget   = 50000
)

// u1 measures ingestion into the full database on the three paths usage
// takes: a new day for every keyset over HTTP (inserts), that day's running
// totals again, higher (updates, with rollup deltas), and a further new day
// through `keyplane usage import` while the server runs.
func u1(ctx context.Context, b *bench) ([]figure, error) {
	p, figs, err := b.usage(ctx)
	if err != nil {
		return nil, err
	}
	s := usageState.seeded
	day := s.Last + 1
	client := &http.Client{Timeout: 2 * time.Minute}
	for _, run := range []struct {
		what  string
		scale float64
	}{
		{"a new day", 1},
		{"the same day's totals again, higher (updates)", 1.25},
	} {
		bodies := usagebench.ReportBodies(s.KeysetIDs, day, day+1, run.scale, 5000)
		took, err := usagebench.Report(ctx, client, p.url(), usageState.reporter, bodies, 2)
		if err != nil {
			return figs, err
		}
		rate := float64(bodies.Points) / took.Seconds()
		figs = append(figs, figure{ID: "U1",
			What:       fmt.Sprintf("POST /v2/usage-metrics, %s: %d points in batches of 5,000, 2 clients", run.what, bodies.Points),
			Throughput: rate, Value: took.Seconds(), Unit: "s", Note: "throughput in points/s",
			Target: "≥ 150,000 points/s", Met: b.verdict(rate >= usageTarget)})
	}

	file := b.path("usage.ndjson")
	f, err := os.Create(file)
	if err != nil {
		return figs, err
	}
	lines, err := usagebench.NDJSON(f, s.KeysetIDs, day+1, day+2)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return figs, err
	}
	start := time.Now()
	out, err := exec.CommandContext(ctx, b.keyplane, "usage", "import", "--database", s.Path,
		"--usage-retention-days", strconv.Itoa(s.Size.Days+30), file).CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return figs, fmt.Errorf("usage import: %v: %s", err, out)
	}
	rate := float64(lines) / took.Seconds()
	figs = append(figs, figure{ID: "U1",
		What:       fmt.Sprintf("keyplane usage import, a new day: %d lines, whole command (check pass, then write), server running", lines),
		Throughput: rate, Value: took.Seconds(), Unit: "s", Note: "throughput in points/s",
		Target: "≥ 50,000 points/s (issue 5's)", Met: b.verdict(rate >= usageImportTarget)})
	pg, err := b.u1Postgres(ctx)
	return append(figs, pg...), err
}

// u1Postgres measures ingestion over POST /v2/usage-metrics on two
// PostgreSQL replicas: a day for each of 10,000 keysets (100 under
// --quick), then the same day's totals again, higher, in batches of 5,000
// from 2 clients, one on each replica. The database holds no usage before
// (seeding SQLite's year of it into PostgreSQL on each run would take an
// hour): it measures the writes, not a large table's.
func (b *bench) u1Postgres(ctx context.Context) ([]figure, error) {
	const what = "POST /v2/usage-metrics, PostgreSQL, 2 replicas"
	if b.postgres == "" {
		return []figure{noPostgres("U1", what)}, nil
	}
	sh := oneAccount(1000, 10)
	if b.quick {
		sh = oneAccount(10, 10)
	}
	s, replicas, done, err := b.pgReplicas(ctx, "U1", sh)
	if err != nil {
		return nil, err
	}
	defer done()
	now := time.Now()
	reporter, _, err := usagebench.Keys(ctx, s.dsn, now)
	if err != nil {
		return nil, err
	}
	day := keyplane.DayOf(now)
	client := &http.Client{Timeout: 2 * time.Minute}
	var figs []figure
	for _, run := range []struct {
		what  string
		scale float64
	}{
		{"a new day", 1},
		{"the same day's totals again, higher (updates)", 1.25},
	} {
		bodies := usagebench.ReportBodies(s.keysetIDs, day, day+1, run.scale, 5000)
		// Half the batches to each replica, one client each.
		var halves [2]usagebench.Bodies
		for i, body := range bodies.JSON {
			halves[i%2].JSON = append(halves[i%2].JSON, body)
		}
		start := time.Now()
		errs := make(chan error, 2)
		for i, h := range halves {
			go func() {
				_, err := usagebench.Report(ctx, client, replicas[i].url(), reporter, h, 1)
				errs <- err
			}()
		}
		err := errors.Join(<-errs, <-errs)
		took := time.Since(start)
		if err != nil {
			return figs, err
		}
		rate := float64(bodies.Points) / took.Seconds()
		figs = append(figs, figure{ID: "U1",
			What:       fmt.Sprintf("%s, %s: %d points in batches of 5,000, 2 clients", what, run.what, bodies.Points),
			Throughput: rate, Value: took.Seconds(), Unit: "s", Note: "throughput in points/s; no usage stored before",
			Target: "≥ 100,000 points/s", Met: b.verdict(rate >= usagePostgresTarget)})
	}
	return figs, nil
}

// usageQueries is how many queries U2 and U3 time (after usageWarmup
// untimed ones).
func (b *bench) usageQueries() int {
	if b.quick {
		return 50
	}
	return 400
}

const usageWarmup = 20

// usageLatency times GET /v2/usage-metrics over paths, one request at a
// time, and makes U2's or U3's figure.
func (b *bench) usageLatency(ctx context.Context, id, what string, paths []string, target float64) ([]figure, error) {
	p, figs, err := b.usage(ctx)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: time.Minute}
	if _, err := usagebench.Latencies(ctx, client, p.url(), usageState.reader, paths, usageWarmup); err != nil {
		return figs, err
	}
	lat, err := usagebench.Latencies(ctx, client, p.url(), usageState.reader, paths, b.usageQueries())
	if err != nil {
		return figs, err
	}
	o := outcome{lat: lat}
	slices.Sort(o.lat)
	p50, p99 := ms(o.percentile(50)), ms(o.percentile(99))
	return append(figs, figure{ID: id, What: what, P50ms: p50, P99ms: p99,
		Target: fmt.Sprintf("median ≤ %g ms", target), Met: b.verdict(p50 <= target),
		Note: fmt.Sprintf("%d queries, 1 connection, %s", len(lat), usageState.seeded.Size)}), nil
}

// usageRange is the 31 days the query scenarios ask for: the last 31 seeded.
func usageRange() (from, to keyplane.Day) {
	last := usageState.seeded.Last
	return last - 30, last + 1
}

func u2(ctx context.Context, b *bench) ([]figure, error) {
	if _, _, err := b.usage(ctx); err != nil {
		return nil, err
	}
	from, to := usageRange()
	paths := []string{usagebench.QueryPath("account", usageState.seeded.AccountID, from, to)}
	return b.usageLatency(ctx, "U2", "GET usage-metrics, account, 31 days × 5 metrics", paths, 20)
}

func u3(ctx context.Context, b *bench) ([]figure, error) {
	if _, _, err := b.usage(ctx); err != nil {
		return nil, err
	}
	from, to := usageRange()
	// Many keysets, so the figure is not that of one keyset's pages kept hot.
	ids := usageState.seeded.KeysetIDs
	r := rand.New(rand.NewPCG(5, 5))
	var paths []string
	for range 100 {
		paths = append(paths, usagebench.QueryPath("keyset", ids[r.IntN(len(ids))], from, to))
	}
	return b.usageLatency(ctx, "U3", "GET usage-metrics, keyset, 31 days × 5 metrics", paths, 5)
}
