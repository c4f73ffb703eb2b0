package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

func TestUsageRollupsStayTheSumOfTheirKeysets(t *testing.T) { each(t, testUsageRollups) }

// Batches that insert, replace (with other values, the same value, 0) and
// repeat points, larger than one statement's rows, keep every app and account
// rollup equal to the sum of its keysets' values, and re-sending a batch
// changes nothing.
func testUsageRollups(t *testing.T, db *DB, _ string) {
	const apps, keysetsPerApp, days = 3, 7, 40
	metrics := []keyplane.MetricCode{0, 11, 12}
	r := rand.New(rand.NewPCG(1, 2))
	type key struct {
		keyset int64
		metric keyplane.MetricCode
		day    keyplane.Day
	}
	model := map[key]float64{}
	first := keyplane.DayOf(t0) - days
	appOf := func(keyset int64) int64 { return (keyset-1)/keysetsPerApp + 1 }
	randomBatch := func(n int) []keyplane.UsagePoint {
		seen := map[key]bool{}
		var out []keyplane.UsagePoint
		for len(out) < n {
			k := key{int64(r.IntN(apps*keysetsPerApp) + 1), metrics[r.IntN(len(metrics))], first + keyplane.Day(r.IntN(days))}
			if seen[k] {
				continue
			}
			seen[k] = true
			v := float64(r.IntN(5)) * 0.5 // 0 and repeated values included
			if r.IntN(4) == 0 {
				v = float64(r.Int64N(1 << 40))
			}
			out = append(out, keyplane.UsagePoint{AccountID: 1, AppID: appOf(k.keyset), KeysetID: k.keyset, Day: k.day, Metric: k.metric, Value: v})
		}
		return out
	}
	put := func(batch []keyplane.UsagePoint) {
		t.Helper()
		write(t, db, func(tx control.Tx) error { return tx.PutUsage(batch) })
		for _, p := range batch {
			model[key{p.KeysetID, p.Metric, p.Day}] = p.Value
		}
	}
	check := func(when string) {
		t.Helper()
		wantApp := map[int64]map[keyplane.MetricCode]map[keyplane.Day]float64{}
		wantAccount := map[keyplane.MetricCode]map[keyplane.Day]float64{}
		add := func(m map[keyplane.MetricCode]map[keyplane.Day]float64, k key, v float64) {
			if m[k.metric] == nil {
				m[k.metric] = map[keyplane.Day]float64{}
			}
			m[k.metric][k.day] += v
		}
		for k, v := range model {
			if wantApp[appOf(k.keyset)] == nil {
				wantApp[appOf(k.keyset)] = map[keyplane.MetricCode]map[keyplane.Day]float64{}
			}
			add(wantApp[appOf(k.keyset)], k, v)
			add(wantAccount, k, v)
		}
		err := db.Read(context.Background(), func(tx control.Tx) error {
			compare := func(what string, got, want map[keyplane.MetricCode]map[keyplane.Day]float64) {
				for _, m := range metrics {
					for d := first; d < first+days; d++ {
						if got[m][d] != want[m][d] {
							t.Errorf("%s: %s %s %s = %v, want the sum of its keysets, %v", when, what, m, d, got[m][d], want[m][d])
						}
					}
				}
			}
			for app := int64(1); app <= apps; app++ {
				got, err := tx.Usage(keyplane.UsageApp, app, metrics, first, first+days)
				if err != nil {
					return err
				}
				compare(fmt.Sprintf("app %d", app), got, wantApp[app])
			}
			got, err := tx.Usage(keyplane.UsageAccount, 1, metrics, first, first+days)
			if err != nil {
				return err
			}
			compare("account", got, wantAccount)
			// And each keyset reads back what was last written.
			for ks := int64(1); ks <= apps*keysetsPerApp; ks++ {
				got, err := tx.Usage(keyplane.UsageKeyset, ks, metrics, first, first+days)
				if err != nil {
					return err
				}
				for _, m := range metrics {
					for d := first; d < first+days; d++ {
						if want := model[key{ks, m, d}]; got[m][d] != want {
							t.Errorf("%s: keyset %d %s %s = %v, want %v", when, ks, m, d, got[m][d], want)
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		batch := randomBatch(50 + r.IntN(1100)) // some over usageWriteRows
		put(batch)
		check(fmt.Sprintf("batch %d", i))
		put(batch)
		check(fmt.Sprintf("batch %d sent again", i))
	}
	if t.Failed() {
		return
	}
	// A batch that sets every value to 0 leaves rollups of 0.
	var zero []keyplane.UsagePoint
	for k := range model {
		zero = append(zero, keyplane.UsagePoint{AccountID: 1, AppID: appOf(k.keyset), KeysetID: k.keyset, Day: k.day, Metric: k.metric})
	}
	put(zero)
	check("all set to 0")
}
