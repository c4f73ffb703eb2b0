// Package usagesim makes believable demo usage for keysets: a weekly
// rhythm, steady growth, noise and a few spikes, the same every time for
// the same seed, so demos and benchmarks can be reproduced.
package usagesim

import (
	"math"
	"math/rand/v2"

	"github.com/keyplane/keyplane"
)

// Metrics are the metrics a simulation reports for every keyset and day.
var Metrics = []string{
	"publish", "publish_transactions", "publish_bytes", "subscribe_msgs", "signals",
	"history_msgs", "message_actions", "edge", "replicated", "msgs_total", "txn_total",
	"uuid", "mtd_uuid", "bytes_stored",
}

// Point is one simulated value.
type Point struct {
	Day    keyplane.Day
	Metric string
	Value  float64
}

// Keyset simulates usage of one keyset over [from, to), calling emit for
// every metric of every day in order. Each keyset gets its own scale and
// character from seed and its id.
func Keyset(seed, keysetID int64, from, to keyplane.Day, emit func(Point)) {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(keysetID)))
	// Keysets differ by orders of magnitude, as real ones do.
	scale := math.Exp(r.NormFloat64()*1.2 + 7) // median ≈ 1,100 publishes a day
	fanout := 2 + r.Float64()*18
	msgSize := 150 + r.Float64()*1500
	usersPerMsg := 0.02 + r.Float64()*0.1
	growth := 0.001 + r.Float64()*0.004 // per day
	weekend := 0.45 + r.Float64()*0.4
	stored := scale * 50 * msgSize

	var mtdUsers float64
	for d := from; d < to; d++ {
		f := scale * math.Exp(growth*float64(d-from)) * (1 + r.NormFloat64()*0.08)
		if wd := d.Time().Weekday(); wd == 0 || wd == 6 {
			f *= weekend
		}
		if r.Float64() < 0.02 { // a launch, an incident, a viral day
			f *= 2.5 + r.Float64()*4
		}
		publish := math.Round(math.Max(f, 0))
		subscribe := math.Round(publish * fanout)
		signals := math.Round(publish * 0.1)
		history := math.Round(publish * 0.05)
		actions := math.Round(publish * 0.02)
		edge := math.Round((history + actions) * 0.6)
		users := math.Round(publish*usersPerMsg) + 1
		if d == d.MonthStart() || d == from {
			mtdUsers = 0
		}
		// Most of a day's users were seen earlier in the month.
		mtdUsers = math.Round(math.Max(mtdUsers+users*0.15, users))
		stored += publish * msgSize * 0.3
		for _, v := range [...]struct {
			m string
			v float64
		}{
			{"publish", publish}, {"publish_transactions", publish},
			{"publish_bytes", math.Round(publish * msgSize)},
			{"subscribe_msgs", subscribe}, {"signals", signals},
			{"history_msgs", history}, {"message_actions", actions},
			{"edge", edge}, {"replicated", publish + signals},
			{"msgs_total", publish + subscribe + signals},
			{"txn_total", publish + signals + history + actions + math.Round(subscribe/10)},
			{"uuid", users}, {"mtd_uuid", mtdUsers},
			{"bytes_stored", math.Round(stored)},
		} {
			emit(Point{Day: d, Metric: v.m, Value: v.v})
		}
	}
}
