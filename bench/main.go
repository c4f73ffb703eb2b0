// Command bench measures Keyplane's hot paths against a baseline — a bare
// net/http server doing the least any server must (hash the key, answer
// from memory) — on the same machine, in alternation, and prints a table
// of throughput, latency, peak memory and the ratio keyplane / baseline.
// scripts/bench builds Keyplane and runs it; see the README's
// "Performance" section for the scenarios and their targets.
//
//	bench --keyplane BIN [--quick] [--only P1,P3] [--json FILE]
//	      [--postgres URL] [--profile DIR] [--work DIR]
//	bench seed --database DB [--accounts A] [--apps N] [--keysets-per-app M]
//	bench soak --keyplane BIN [--duration 10m] [--rate N]
//	bench baseline --key-hash HEX --body FILE [--addr 127.0.0.1:0]
//
// Load comes from wrk where it can express it (wrk.go: its figures are the
// ones judged) and from the Go generator (loadgen.go) beside it and for
// the rest. No traffic leaves loopback, and every load stops by itself. A
// scenario is a function registered in scenarios; each adds rows to the
// report.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// As keyplane serve does: the load generator's own collections
		// would otherwise show in the latencies it measures, and the
		// baseline server collects as often as keyplane.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "baseline":
			return baselineMain(args[1:])
		case "seed":
			return seedMain(ctx, args[1:])
		case "soak":
			return soakMain(ctx, args[1:])
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	b := bench{seeds: map[shape]seeded{}}
	fs.StringVar(&b.keyplane, "keyplane", "", "the keyplane binary to measure (scripts/bench builds it)")
	fs.BoolVar(&b.quick, "quick", false, "a short smoke run with small data: checks the harness, measures nothing worth quoting")
	only := fs.String("only", "", "comma-separated scenarios to run (default: all)")
	jsonOut := fs.String("json", "", "also write the figures to this file as JSON")
	fs.StringVar(&b.postgres, "postgres", os.Getenv("KEYPLANE_BENCH_POSTGRES"), "PostgreSQL server URL for P6, P8, P9 and U1 (a database per scenario is made in it); empty skips them")
	fs.StringVar(&b.profileDir, "profile", "", "save a CPU profile of keyplane during each load in this folder")
	fs.StringVar(&b.work, "work", "", "folder for databases and logs (default: a temporary one, removed after)")
	fs.IntVar(&b.conns, "conns", 64, "connections of the throughput scenarios")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if b.keyplane == "" {
		return errors.New("--keyplane BIN is required (scripts/bench builds it)")
	}
	b.self, _ = os.Executable()
	b.dur, b.pairs = 5*time.Second, 3
	if b.quick {
		b.dur, b.pairs = time.Second, 1
	}
	if b.work == "" {
		dir, err := os.MkdirTemp("", "keyplane-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		b.work = dir
	} else if err := os.MkdirAll(b.work, 0o755); err != nil {
		return err
	}
	// Without wrk the scenarios it drives report only the Go generator's
	// figures, and say so.
	if b.wrkBin, _ = exec.LookPath("wrk"); b.wrkBin != "" {
		if err := os.WriteFile(b.path(wrkScriptFile), []byte(wrkScript), 0o644); err != nil {
			return err
		}
	}
	if b.profileDir != "" {
		if err := os.MkdirAll(b.profileDir, 0o755); err != nil {
			return err
		}
	}
	want := map[string]bool{}
	for _, id := range strings.Split(*only, ",") {
		if id = strings.TrimSpace(strings.ToUpper(id)); id != "" {
			want[id] = true
		}
	}
	for id := range want {
		if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.id == id }) {
			return fmt.Errorf("--only: no scenario %s", id)
		}
	}

	host, _ := os.Hostname()
	rep := report{
		Machine: fmt.Sprintf("%s, %d CPUs, %s/%s, %s", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version()),
		Quick:   b.quick, Started: time.Now().UTC().Format(time.RFC3339),
		Conns: b.conns, RunSeconds: b.dur.Seconds(), Pairs: b.pairs,
	}
	var failed []string
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.id] {
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s %s\n", s.id, s.title)
		figs, err := s.run(ctx, &b)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s failed: %v\n", s.id, err)
			failed = append(failed, s.id)
			figs = append(figs, figure{ID: s.id, What: s.title, Note: "failed: " + firstLine(err.Error())})
		}
		rep.Figures = append(rep.Figures, figs...)
	}
	b.closeAll()
	rep.print(os.Stdout)
	if *jsonOut != "" {
		out, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(out, '\n'), 0o644); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenarios failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// bench is what the scenarios share: the binaries, the run lengths, and
// the processes and databases made so far, reused between scenarios.
type bench struct {
	keyplane, self string
	wrkBin         string // wrk, or "" when it is not installed
	quick          bool
	postgres       string
	profileDir     string
	work           string
	conns          int
	dur            time.Duration // of one load run
	pairs          int           // keyplane/baseline alternations per figure
	procs          []*proc
	logs           int // keyplane logs written so far, named keyplane-N.log in work

	smallProc, baseProc *proc
	smallSeed           seeded
	seeds               map[shape]seeded // the cached big databases copied so far
}

// path names a file in the work folder.
func (b *bench) path(name string) string { return filepath.Join(b.work, name) }

// closeAll stops every process still running.
func (b *bench) closeAll() {
	for _, p := range b.procs {
		p.stop()
	}
	b.procs = nil
}

// A scenario measures one thing and returns the rows it adds to the report.
type scenario struct {
	id, title string
	run       func(ctx context.Context, b *bench) ([]figure, error)
}

// figure is one row of the report. Zero fields are not shown.
type figure struct {
	ID         string  `json:"id"`
	What       string  `json:"what"`
	Target     string  `json:"target,omitempty"`
	Throughput float64 `json:"throughput,omitempty"` // answers a second
	P50ms      float64 `json:"p50Ms,omitempty"`
	P99ms      float64 `json:"p99Ms,omitempty"`
	RSSMB      float64 `json:"peakRssMB,omitempty"` // of the server
	Ratio      float64 `json:"ratio,omitempty"`     // keyplane / baseline, median of the pairs
	Value      float64 `json:"value,omitempty"`     // a figure of another kind, in Unit
	Unit       string  `json:"unit,omitempty"`
	// Met says whether the target holds; empty under --quick or where
	// nothing is measured against one.
	Met  string `json:"met,omitempty"`
	Note string `json:"note,omitempty"`
}

// verdict is "yes" or "no" for a full run, "" under --quick, whose short
// runs judge nothing.
func (b *bench) verdict(ok bool) string {
	switch {
	case b.quick:
		return ""
	case ok:
		return "yes"
	}
	return "no"
}

// report is everything a run measured.
type report struct {
	Machine    string   `json:"machine"`
	Started    string   `json:"started"`
	Quick      bool     `json:"quick"`
	Conns      int      `json:"conns"`
	RunSeconds float64  `json:"runSeconds"`
	Pairs      int      `json:"pairs"`
	Figures    []figure `json:"figures"`
}

func (r report) print(w io.Writer) {
	fmt.Fprintf(w, "\nmachine: %s\n", r.Machine)
	fmt.Fprintf(w, "runs of %gs, %d keyplane/baseline pairs per ratio, %d connections unless noted", r.RunSeconds, r.Pairs, r.Conns)
	if r.Quick {
		fmt.Fprint(w, " (--quick: a smoke run, figures not judged)")
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\twhat\tthroughput/s\tp50 ms\tp99 ms\tpeak RSS MB\tratio\tvalue\ttarget\tmet\tnote")
	num := func(v float64, prec int) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.*f", prec, v)
	}
	for _, f := range r.Figures {
		value := "-"
		if f.Unit != "" {
			// A zero here is a measured zero (P9's staleness), not a blank.
			value = fmt.Sprintf("%.2f %s", f.Value, f.Unit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.What, num(f.Throughput, 0),
			num(f.P50ms, 2), num(f.P99ms, 2), num(f.RSSMB, 0), num(f.Ratio, 2), value, f.Target, f.Met, f.Note)
	}
	tw.Flush()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
