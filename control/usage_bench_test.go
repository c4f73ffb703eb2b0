package control_test

import (
	"context"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/usagesim"
)

// BenchmarkImportUsage measures the import path below the JSON decoding:
// validation, keyset lookup and the store's write of batches of 10,000
// points (what usage import and simulate do), into a fresh database.
func BenchmarkImportUsage(b *testing.B) {
	const keysets, days, batchSize = 100, 60, 10000
	ctx := context.Background()
	var points int
	for b.Loop() {
		b.StopTimer()
		svc, p, clk := setup(b)
		today := keyplane.DayOf(clk.Now())
		var reports []keyplane.UsageReport
		for a := range keysets / 10 {
			app, err := svc.CreateApp(ctx, p, "app")
			if err != nil {
				b.Fatal(err)
			}
			_ = a
			for range 10 {
				k, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: app.ID})
				if err != nil {
					b.Fatal(err)
				}
				id := keyplane.FlexibleID(k.ID)
				usagesim.Keyset(1, k.ID, today-days+1, today+1, func(pt usagesim.Point) {
					date, metric, value := pt.Day.String(), pt.Metric, pt.Value
					reports = append(reports, keyplane.UsageReport{KeysetID: &id, Date: &date, Metric: &metric, Value: &value})
				})
			}
		}
		name := func(int) string { return "" }
		b.StartTimer()
		for i := 0; i < len(reports); i += batchSize {
			n, err := svc.ImportUsage(ctx, reports[i:min(i+batchSize, len(reports))], name)
			if err != nil {
				b.Fatal(err)
			}
			points += n
		}
	}
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
}
