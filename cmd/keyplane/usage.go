package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/usagesim"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"
)

// usageBatch is how many points an import or simulation writes per
// transaction: large enough to amortize a commit, small enough to leave
// the write lock to a server in between.
const usageBatch = 10000

// maxImportProblems bounds the bad lines an import lists.
const maxImportProblems = 100

// usageCmd holds what the usage commands share.
type usageCmd struct {
	database  string
	retention int
	stdout    io.Writer
	stderr    io.Writer
}

func usageCommand(getenv func(string) string, stdout, stderr io.Writer, api *apiCLI) *cobra.Command {
	u := &usageCmd{stdout: stdout, stderr: stderr}
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Query usage from a server, or load it into a database (import the data plane's counters, simulate demo usage)",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	imp, sim := u.importCmd(getenv), u.simulateCmd(getenv)
	// --database belongs to the operator commands only: get talks to a
	// server, and a --database flag there would suggest otherwise.
	for _, c := range []*cobra.Command{imp, sim} {
		databaseFlag(c, &u.database, getenv)
	}
	cmd.AddCommand(api.usageGet(), imp, sim)
	return cmd
}

// open opens the database with the usage retention the server would use.
func (u *usageCmd) open(ctx context.Context) (*control.Service, func(), error) {
	if err := mustExist("--database", u.database); err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, u.database, wallclock.Now())
	if err != nil {
		return nil, nil, err
	}
	return control.New(db, control.Options{UsageRetentionDays: u.retention}), func() { db.Close() }, nil
}

// progress draws a one-line progress report on a terminal, and nothing
// elsewhere (a log file should not fill with carriage returns).
type progress struct {
	w    io.Writer
	on   bool
	last time.Time
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok {
		return &progress{w: w}
	}
	fi, err := f.Stat()
	return &progress{w: w, on: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

// show redraws the line, at most ten times a second.
func (p *progress) show(format string, args ...any) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r\033[K"+format, args...)
}

// done clears the line.
func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func bar(frac float64) string {
	const width = 30
	n := int(frac * width)
	n = max(0, min(n, width))
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func (u *usageCmd) importCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import usage from an NDJSON file, all of it or nothing",
		Long: `Import usage counters from FILE, one JSON object a line:

  {"keysetId":"12","date":"2026-11-01","metric":"publish","value":1234}
  {"subscribeKey":"sub-c-…","date":"2026-11-01","metric":"publish","value":1234}

Each value is the day's total for that keyset and metric: it replaces what is
stored, so importing a file again counts nothing twice, and a later line
replaces an earlier one. The whole file is checked first; if any line is bad
(malformed JSON, an unknown keyset or metric, a date outside the retention),
every bad line is listed by number (the first 100) and nothing is imported.
Then it is written in transactions of 10,000 points, while servers keep
running; should it be interrupted, import the same file again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			svc, closeDB, err := u.open(ctx)
			if err != nil {
				return err
			}
			defer closeDB()
			path := args[0]
			start := time.Now()
			var problems []string
			lines, err := eachUsageBatch(path, newProgress(u.stderr), "checking", func(batch []keyplane.UsageReport, names []string, bad []string) error {
				problems = append(problems, bad...)
				if err := svc.CheckUsage(ctx, batch, func(i int) string { return names[i] }); err != nil {
					if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
						return err
					}
					problems = append(problems, keyplane.ErrorMessages(err)...)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(problems) > 0 {
				for i, p := range problems {
					if i == maxImportProblems {
						fmt.Fprintf(u.stderr, "… and %d more\n", len(problems)-i)
						break
					}
					fmt.Fprintln(u.stderr, p)
				}
				return fmt.Errorf("%s: %d problems in %d lines; nothing was imported", path, len(problems), lines)
			}
			var points int
			if _, err := eachUsageBatch(path, newProgress(u.stderr), "importing", func(batch []keyplane.UsageReport, names []string, _ []string) error {
				n, err := svc.ImportUsage(ctx, batch, func(i int) string { return names[i] })
				points += n
				if err != nil {
					return fmt.Errorf("%s: after %d points were imported: %w; import the file again to finish", path, points, err)
				}
				return nil
			}); err != nil {
				return err
			}
			took := time.Since(start)
			fmt.Fprintf(u.stdout, "imported %d points from %d lines of %s in %.1f s (%.0f points/s)\n",
				points, lines, path, took.Seconds(), float64(points)/took.Seconds())
			return nil
		},
	}
	retentionFlag(cmd, &u.retention, getenv)
	return cmd
}

// eachUsageBatch reads the reports of an NDJSON file in batches of
// usageBatch, calling fn with each batch, the name of each report
// ("line 12: ") and the problems of the lines in it that could not be read.
// Blank lines are skipped. It returns the number of lines read. The file is
// read and decoded one batch ahead, while fn stores the batch before: on
// two cores an import decodes and writes at once. After fn fails, nothing
// more is read.
func eachUsageBatch(path string, pr *progress, verb string, fn func(batch []keyplane.UsageReport, names, bad []string) error) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	type chunk struct {
		batch      []keyplane.UsageReport
		names, bad []string
	}
	chunks := make(chan chunk, 1)
	stop := make(chan struct{})
	// Set by the reader before it closes chunks, read after.
	var line int
	var readErr error
	go func() {
		defer close(chunks)
		cr := &countingReader{r: f}
		sc := bufio.NewScanner(cr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var c chunk
		send := func() bool {
			if len(c.batch) == 0 && len(c.bad) == 0 {
				return true
			}
			select {
			case chunks <- c:
				c = chunk{}
				return true
			case <-stop:
				return false
			}
		}
		for sc.Scan() {
			line++
			text := sc.Bytes()
			if len(strings.TrimSpace(string(text))) == 0 {
				continue
			}
			name := fmt.Sprintf("line %d: ", line)
			r, err := keyplane.DecodeUsageReport(text)
			if err != nil {
				for _, m := range keyplane.ErrorMessages(err) {
					c.bad = append(c.bad, name+strings.TrimPrefix(m, "body: "))
				}
			} else {
				c.batch = append(c.batch, r)
				c.names = append(c.names, name)
			}
			if len(c.batch) == usageBatch && !send() {
				return
			}
			if fi.Size() > 0 {
				frac := float64(cr.n) / float64(fi.Size())
				pr.show("%s %s %3.0f%%  line %d", verb, bar(frac), 100*frac, line)
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				err = fmt.Errorf("%s: line %d: longer than 1 MiB", path, line+1)
			}
			readErr = err
			return
		}
		send()
	}()
	var fnErr error
	for c := range chunks {
		if fnErr == nil {
			if fnErr = fn(c.batch, c.names, c.bad); fnErr != nil {
				close(stop)
			}
		}
	}
	pr.done()
	if fnErr != nil {
		return line, fnErr
	}
	return line, readErr
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (u *usageCmd) simulateCmd(getenv func(string) string) *cobra.Command {
	var days int
	var seed int64
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Fill a database with realistic demo usage for every keyset",
		Long: `Simulate usage for every keyset of every account over the last --days days
(today included): a weekly rhythm, growth, noise and a few spikes, with
keysets of very different sizes. The same --seed gives the same numbers. For
demos, screenshots and benchmarks; it replaces whatever usage those days hold.

Metrics: ` + strings.Join(usagesim.Metrics, ", ") + ".",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 || days > u.retention {
				return fmt.Errorf("--days: must be from 1 to %d (the usage retention)", u.retention)
			}
			ctx := cmd.Context()
			svc, closeDB, err := u.open(ctx)
			if err != nil {
				return err
			}
			defer closeDB()
			keysets, err := allKeysets(ctx, svc)
			if err != nil {
				return err
			}
			if len(keysets) == 0 {
				return errors.New("no keysets to simulate usage for; create some first")
			}
			start := time.Now()
			today := keyplane.DayOf(wallclock.Now())
			from := today - keyplane.Day(days-1)
			pr := newProgress(u.stderr)
			var batch []keyplane.UsageReport
			var points int
			flush := func() error {
				n, err := svc.ImportUsage(ctx, batch, func(int) string { return "" })
				points += n
				batch = batch[:0]
				return err
			}
			for i, k := range keysets {
				id := keyplane.FlexibleID(k.ID)
				usagesim.Keyset(seed, k.ID, from, today+1, func(p usagesim.Point) {
					date, metric, value := p.Day.String(), p.Metric, p.Value
					batch = append(batch, keyplane.UsageReport{KeysetID: &id, Date: &date, Metric: &metric, Value: &value})
				})
				if len(batch) >= usageBatch {
					if err := flush(); err != nil {
						return err
					}
				}
				pr.show("simulating %s keyset %d of %d", bar(float64(i+1)/float64(len(keysets))), i+1, len(keysets))
			}
			if err := flush(); err != nil {
				return err
			}
			pr.done()
			took := time.Since(start)
			fmt.Fprintf(u.stdout, "simulated %d points for %d keysets over %d days (%s to %s) in %.1f s\n",
				points, len(keysets), days, from, today, took.Seconds())
			return nil
		},
	}
	cmd.Flags().IntVar(&days, "days", 90, "how many days, ending today")
	cmd.Flags().Int64Var(&seed, "seed", 1, "the random seed; the same seed makes the same usage")
	retentionFlag(cmd, &u.retention, getenv)
	return cmd
}

// allKeysets lists every keyset of every account, as an operator sees them.
func allKeysets(ctx context.Context, svc *control.Service) ([]keyplane.Keyset, error) {
	accounts, err := svc.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []keyplane.Keyset
	for _, a := range accounts {
		p := keyplane.Principal{AccountID: a.ID, Grants: []keyplane.Grant{{Level: keyplane.LevelAccount, Resource: keyplane.ResourceKeyset, Access: keyplane.AccessRead}}}
		for page := 1; ; page++ {
			ks, total, err := svc.ListKeysets(ctx, p, keyplane.Page{Page: page, Limit: keyplane.MaxLimit})
			if err != nil {
				return nil, err
			}
			out = append(out, ks...)
			if len(ks) == 0 || page*keyplane.MaxLimit >= total {
				break
			}
		}
	}
	return out, nil
}
