package usagebench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/store"
)

// A seeded database holds every point of its size, in its account's
// rollups too, and is reused from the cache rather than seeded again.
func TestCachedSeedsOnceAndHoldsItsSize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	size := Size{Keysets: 5, Days: 4, KeysetsPerApp: 2}
	s, err := Cached(ctx, dir, size, now, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Fresh || s.Points != size.Points() || len(s.KeysetIDs) != 5 || len(s.AppIDs) != 3 || s.Last != keyplane.DayOf(now)-FreeDays || s.First != s.Last-3 {
		t.Fatalf("seeded %+v", s)
	}
	again, err := Cached(ctx, dir, size, now.Add(time.Hour), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if again.Fresh || again.Path != s.Path || again.Points != s.Points {
		t.Errorf("second Cached: %+v, want the first database reused", again)
	}

	db, err := store.Open(ctx, s.Path, now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	metrics := make([]keyplane.MetricCode, len(Metrics))
	for i, m := range Metrics {
		metrics[i], _ = keyplane.Metric(m)
	}
	err = db.Read(ctx, func(tx control.Tx) error {
		total, err := tx.Usage(keyplane.UsageAccount, s.AccountID, metrics, s.First, s.Last+1)
		if err != nil {
			return err
		}
		var sum float64
		n := 0
		for _, ks := range s.KeysetIDs {
			got, err := tx.Usage(keyplane.UsageKeyset, ks, metrics, s.First, s.Last+1)
			if err != nil {
				return err
			}
			for _, days := range got {
				for _, v := range days {
					sum += v
					n++
				}
			}
		}
		var acc float64
		for _, days := range total {
			for _, v := range days {
				acc += v
			}
		}
		if n != size.Points() || acc != sum || sum == 0 {
			t.Errorf("%d keyset points summing to %v, account total %v; want %d points", n, sum, acc, size.Points())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Bodies and import files are what reporters send, and take the fast
// decoders' path with the values simulated.
func TestBodiesAndNDJSONDecode(t *testing.T) {
	ids := []int64{3, 4}
	day := keyplane.Day(20415)
	b := ReportBodies(ids, day, day+2, 2, 7)
	if b.Points != 2*2*len(Metrics) || len(b.JSON) != (b.Points+6)/7 {
		t.Fatalf("%d points in %d bodies", b.Points, len(b.JSON))
	}
	var fromBodies []keyplane.UsageReport
	for _, body := range b.JSON {
		pts, err := keyplane.DecodeUsageBatch(body)
		if err != nil || pts == nil {
			t.Fatalf("%s: %v", body, err)
		}
		fromBodies = append(fromBodies, *pts...)
	}
	var buf bytes.Buffer
	n, err := NDJSON(&buf, ids, day, day+2)
	if err != nil || n != b.Points {
		t.Fatalf("NDJSON: %d lines, %v", n, err)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		r, err := keyplane.DecodeUsageReport(line)
		if err != nil {
			t.Fatalf("line %d %s: %v", i+1, line, err)
		}
		// The bodies carry each value doubled (scale 2), rounded.
		if *r.Metric != *fromBodies[i].Metric || *r.Date != *fromBodies[i].Date || *fromBodies[i].Value != float64(int64(*r.Value*2+0.5)) {
			t.Errorf("line %d: %s; body point %v %v %v", i+1, line, *fromBodies[i].Metric, *fromBodies[i].Date, *fromBodies[i].Value)
		}
	}
}
