// Package usagebench seeds SQLite databases with usage and measures how
// fast usage goes in (reports over HTTP, imports) and how fast queries come
// back, for the usage scenarios of scripts/bench (U1–U3). Seeding the full
// size (10,000 keysets × 365 days × 10 metrics) takes minutes, so a seeded
// database is kept in a cache folder and reused while it is recent.
package usagebench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/httpapi"
	"github.com/keyplane/keyplane/internal/usagesim"
	"github.com/keyplane/keyplane/store"
)

// Metrics are the ten metrics a seeded database holds for every keyset and
// day: the first ten the simulator makes.
var Metrics = usagesim.Metrics[:10]

// QueryMetrics are the five metrics the query scenarios ask for.
var QueryMetrics = []string{"publish", "subscribe_msgs", "signals", "msgs_total", "edge"}

// Size is how much usage a seeded database holds.
type Size struct {
	Keysets, Days int
	// KeysetsPerApp groups keysets into apps (100 when 0).
	KeysetsPerApp int
}

func (s Size) perApp() int {
	if s.KeysetsPerApp > 0 {
		return s.KeysetsPerApp
	}
	return 100
}

// Points is how many usage points the size holds.
func (s Size) Points() int { return s.Keysets * s.Days * len(Metrics) }

func (s Size) String() string {
	return fmt.Sprintf("%d keysets × %d days × %d metrics", s.Keysets, s.Days, len(Metrics))
}

// Seeded describes a seeded database: where its usage lies, and how long
// writing it took (an ingestion figure of its own: the import path, below
// JSON, into a database growing to its full size).
type Seeded struct {
	Path      string  `json:"-"`
	Size      Size    `json:"size"`
	AccountID int64   `json:"accountId"`
	AppIDs    []int64 `json:"appIds"`
	KeysetIDs []int64 `json:"keysetIds"`
	// First and Last are the first and last day with usage (UTC).
	First, Last keyplane.Day
	Points      int     `json:"points"`
	IngestSecs  float64 `json:"ingestSeconds"`
	SeededAt    string  `json:"seededAt"`
	// Fresh says Cached seeded it just now rather than reusing it.
	Fresh bool `json:"-"`
}

// KEK is the key-encryption key file of the database at path: its secret
// keys are sealed, as a server's are.
func KEK(path string) string { return path + ".kek" }

// IngestRate is the points per second the seeding wrote.
func (s Seeded) IngestRate() float64 { return float64(s.Points) / s.IngestSecs }

// cacheFormat changes when what Seed writes changes, so older cached
// databases are not reused.
const cacheFormat = 1

// maxCacheAge is how long a cached database is reused: its days stay in the
// retention window and near today.
const maxCacheAge = 7 * 24 * time.Hour

// Cached returns a database of size under dir, seeding it first when there
// is none, it is older than a week, or the schema has moved on. The key names
// the size, the newest migration and cacheFormat. logf reports progress.
func Cached(ctx context.Context, dir string, size Size, now time.Time, logf func(string, ...any)) (Seeded, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Seeded{}, err
	}
	name := fmt.Sprintf("usage-f%d-s%d-%dk-%dd-%da.db", cacheFormat, store.NewestSchema(), size.Keysets, size.Days, size.perApp())
	path := filepath.Join(dir, name)
	if s, err := readSidecar(path); err == nil {
		if at, err := time.Parse(time.RFC3339, s.SeededAt); err == nil && now.Sub(at) < maxCacheAge && now.Sub(at) >= 0 {
			logf("usage: reusing %s (%s, seeded %s)", path, size, s.SeededAt)
			return s, nil
		}
	}
	for _, f := range []string{path, path + "-wal", path + "-shm", KEK(path), path + ".json"} {
		os.Remove(f)
	}
	tmp := path + ".seeding"
	for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(f)
	}
	logf("usage: seeding %s (%s); this is done once and cached", path, size)
	s, err := Seed(ctx, tmp, KEK(path), size, now, logf)
	if err != nil {
		return s, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return s, err
	}
	s.Path, s.Fresh = path, true
	b, _ := json.MarshalIndent(s, "", "  ")
	return s, os.WriteFile(path+".json", b, 0o644)
}

func readSidecar(path string) (Seeded, error) {
	var s Seeded
	b, err := os.ReadFile(path + ".json")
	if err != nil {
		return s, err
	}
	if _, err := os.Stat(path); err != nil {
		return s, err
	}
	s.Path = path
	return s, json.Unmarshal(b, &s)
}

// batchSize is the points of one import transaction, as usage import writes.
const batchSize = 10000

// FreeDays is how many days before today a seeded database's usage ends:
// the days after it are left for the ingestion scenarios to write anew.
const FreeDays = 3

// Seed makes a SQLite database at path, its secret keys sealed with the
// key in the file kek, holding size: apps of keysets in the first account,
// and simulated usage of every keyset over the size's days ending FreeDays
// before now's day, written the way usage import writes it (batches of
// 10,000 through control.ImportUsage, below JSON).
func Seed(ctx context.Context, path, kek string, size Size, now time.Time, logf func(string, ...any)) (Seeded, error) {
	s := Seeded{Path: path, Size: size, SeededAt: now.UTC().Format(time.RFC3339)}
	db, err := store.Open(ctx, path, now)
	if err != nil {
		return s, err
	}
	defer db.Close()
	if _, err := db.SealSecrets(ctx, kek); err != nil {
		return s, err
	}
	// Its first days lie past the default retention (it ends FreeDays ago).
	svc := control.New(db, control.Options{Now: func() time.Time { return now }, UsageRetentionDays: keyplane.MaxUsageRetentionDays})
	accounts, err := svc.Accounts(ctx)
	if err != nil {
		return s, err
	}
	s.AccountID = accounts[0].ID
	p := keyplane.Principal{AccountID: s.AccountID, Grants: mustGrants("account:app:rw", "account:keyset:rw", "account:secret-key:rw")}
	start := time.Now()
	for i := range size.Keysets {
		if i%size.perApp() == 0 {
			a, err := svc.CreateApp(ctx, p, fmt.Sprintf("bench app %d", len(s.AppIDs)+1))
			if err != nil {
				return s, err
			}
			s.AppIDs = append(s.AppIDs, a.ID)
		}
		name := fmt.Sprintf("bench keyset %d", i+1)
		k, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: s.AppIDs[len(s.AppIDs)-1], Name: &name})
		if err != nil {
			return s, err
		}
		s.KeysetIDs = append(s.KeysetIDs, k.ID)
		if (i+1)%1000 == 0 {
			logf("usage: %d of %d keysets made (%.0f s)", i+1, size.Keysets, time.Since(start).Seconds())
		}
	}
	s.Last = keyplane.DayOf(now) - FreeDays
	s.First = s.Last - keyplane.Day(size.Days-1)
	name := func(int) string { return "" }
	var took time.Duration
	batch := make([]keyplane.UsageReport, 0, batchSize+len(Metrics)*size.Days)
	flush := func() error {
		t := time.Now()
		n, err := svc.ImportUsage(ctx, batch, name)
		took += time.Since(t)
		s.Points += n
		batch = batch[:0]
		return err
	}
	lastLog := time.Now()
	for _, id := range s.KeysetIDs {
		batch = appendReports(batch, id, s.First, s.Last+1)
		if len(batch) >= batchSize {
			if err := flush(); err != nil {
				return s, err
			}
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			logf("usage: %d of %d points written (%.0f points/s)", s.Points, size.Points(), float64(s.Points)/took.Seconds())
		}
	}
	if err := flush(); err != nil {
		return s, err
	}
	s.IngestSecs = took.Seconds()
	logf("usage: seeded %d points in %.0f s of writing (%.0f points/s)", s.Points, took.Seconds(), s.IngestRate())
	return s, nil
}

// appendReports appends the simulated reports of one keyset over [from, to).
func appendReports(out []keyplane.UsageReport, keysetID int64, from, to keyplane.Day) []keyplane.UsageReport {
	id := keyplane.FlexibleID(keysetID)
	usagesim.Keyset(1, keysetID, from, to, func(pt usagesim.Point) {
		if !slices.Contains(Metrics, pt.Metric) {
			return
		}
		date, metric, value := pt.Day.String(), pt.Metric, pt.Value
		out = append(out, keyplane.UsageReport{KeysetID: &id, Date: &date, Metric: &metric, Value: &value})
	})
	return out
}

func mustGrants(rows ...string) []keyplane.Grant {
	var gs []keyplane.Grant
	for _, r := range rows {
		g, err := keyplane.ParseGrant(r)
		if err != nil {
			panic(err)
		}
		gs = append(gs, g)
	}
	return gs
}

// Keys makes the two Service Integrations the scenarios use, in the
// database at path (a server may be running on it): one that reports usage
// and one that reads all of it. Their keys last a day.
func Keys(ctx context.Context, path string, now time.Time) (reporter, reader string, err error) {
	db, err := store.Open(ctx, path, now)
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	svc := control.New(db, control.Options{Now: func() time.Time { return now }})
	accounts, err := svc.Accounts(ctx)
	if err != nil {
		return "", "", err
	}
	mk := func(name, row string) (string, error) {
		_, k, err := svc.CreateIntegration(ctx, keyplane.Operator(accounts[0].ID), name+" "+now.Format("150405.000"), mustGrants(row), now.Add(24*time.Hour))
		return k.Key, err
	}
	if reporter, err = mk("bench reporter", "account:usage-report:write"); err != nil {
		return "", "", err
	}
	reader, err = mk("bench reader", "account:usage:read")
	return reporter, reader, err
}

// Bodies are POST /v2/usage-metrics bodies, encoded ahead of time so that a
// measurement times the server, not the encoding.
type Bodies struct {
	JSON   [][]byte
	Points int
}

// appendJSON appends r as a reporter writes it: keysetId, date, metric, value.
func appendJSON(b []byte, r keyplane.UsageReport) []byte {
	b = fmt.Appendf(b, `{"keysetId":"%d","date":%q,"metric":%q,"value":`, int64(*r.KeysetID), *r.Date, *r.Metric)
	return append(strconv.AppendFloat(b, *r.Value, 'f', -1, 64), '}')
}

// ReportBodies encodes simulated usage of keysets over [from, to), each
// value multiplied by scale (a later running total of the same days), as
// request bodies of at most perRequest points each, in keyset order.
func ReportBodies(keysetIDs []int64, from, to keyplane.Day, scale float64, perRequest int) Bodies {
	var out Bodies
	var body []byte
	n := 0
	flush := func() {
		if n > 0 {
			out.JSON = append(out.JSON, append(body, "]}"...))
			out.Points += n
		}
		body, n = nil, 0
	}
	for _, id := range keysetIDs {
		for _, r := range appendReports(nil, id, from, to) {
			*r.Value = math.Round(*r.Value * scale)
			if n == 0 {
				body = append(body, `{"points":[`...)
			} else {
				body = append(body, ',')
			}
			body = appendJSON(body, r)
			if n++; n == perRequest {
				flush()
			}
		}
	}
	flush()
	return out
}

// NDJSON writes simulated usage of keysets over [from, to) as usage import
// reads it, one report a line, and says how many lines it wrote.
func NDJSON(w io.Writer, keysetIDs []int64, from, to keyplane.Day) (int, error) {
	var buf []byte
	n := 0
	for _, id := range keysetIDs {
		for _, r := range appendReports(nil, id, from, to) {
			buf = append(appendJSON(buf, r), '\n')
			n++
		}
		if len(buf) > 1<<20 {
			if _, err := w.Write(buf); err != nil {
				return n, err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return n, err
}

// version is the PubNub-Version the scenarios send: the newest release.
var version = httpapi.Releases[len(httpapi.Releases)-1]

// Report sends bodies to the server at base with the reporter key, from
// workers concurrent clients, each request all or nothing; it returns the
// time from the first request to the last answer.
func Report(ctx context.Context, c *http.Client, base, key string, bodies Bodies, workers int) (time.Duration, error) {
	next := make(chan []byte)
	errc := make(chan error, workers)
	start := time.Now()
	for range workers {
		go func() {
			for body := range next {
				if err := call(ctx, c, "POST", base+"/v2/usage-metrics", key, body); err != nil {
					errc <- err
					for range next { // drain, so the sender finishes
					}
					return
				}
			}
			errc <- nil
		}()
	}
	for _, b := range bodies.JSON {
		next <- b
	}
	close(next)
	var errs []error
	for range workers {
		errs = append(errs, <-errc)
	}
	return time.Since(start), errors.Join(errs...)
}

// QueryPath is the GET /v2/usage-metrics path of a query of QueryMetrics
// over [from, to).
func QueryPath(entity string, id int64, from, to keyplane.Day) string {
	return "/v2/usage-metrics?" + url.Values{
		"entityType": {entity}, "entityId": {fmt.Sprint(id)},
		"from": {from.String()}, "to": {to.String()},
		"metrics": {strings.Join(QueryMetrics, ",")},
	}.Encode()
}

// Latencies asks the server at base for each path in turn, n times in all
// (cycling through paths), one request at a time, and returns each
// request's time from sending to the last byte of the answer.
func Latencies(ctx context.Context, c *http.Client, base, key string, paths []string, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := range n {
		t := time.Now()
		if err := call(ctx, c, "GET", base+paths[i%len(paths)], key, nil); err != nil {
			return out, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

// call makes one request and wants a 200, reading the whole answer.
func call(ctx context.Context, c *http.Client, method, u, key string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", key)
	req.Header.Set("PubNub-Version", version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, strings.SplitN(u, "?", 2)[0], resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return nil
}
