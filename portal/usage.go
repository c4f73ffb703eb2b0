package portal

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// usageMetricChoices are the metrics the Usage page offers as checkboxes:
// the ones people look at first. Any other metric of the API can still be
// asked for in the address.
var usageMetricChoices = []string{
	"publish", "subscribe_msgs", "signals", "message_actions", "history_msgs", "msgs_total",
	"txn_total", "mtd_txn_total", "uuid", "mtd_uuid", "edge", "replicated", "bytes_stored",
}

// defaultUsageMetrics are shown when none is picked.
var defaultUsageMetrics = []string{"publish", "subscribe_msgs", "txn_total"}

type usagePage struct {
	Entity, ID, From, To string
	Name                 string // what the numbers are of, as people read it
	Metrics              []string
	Choices              []metricChoice
	Charts               []usageChart
	Errors               []string
	// Of are the account, apps and keysets whose usage the user may read,
	// to pick from; Current is the value of the one shown.
	Of      []usageOf
	Current string
}

// metricChoice is a metric the page offers, by its name and id.
type metricChoice struct{ ID, Label string }

// usageOf is one choice of the Usage page's picker: Value is "entity/id".
type usageOf struct {
	Entity, ID, Name, Label, Value string
}

// usageChoices are what the user may see the usage of: the account when
// an Account row allows it, then each app and keyset the lists show them
// that a row lets them read usage of, as control answers (Can).
func (p *Portal) usageChoices(r *http.Request, s *session) []usageOf {
	var out []usageOf
	add := func(entity keyplane.UsageEntity, id int64, name, label string) {
		ids := strconv.FormatInt(id, 10)
		out = append(out, usageOf{Entity: string(entity), ID: ids, Name: name, Label: label, Value: string(entity) + "/" + ids})
	}
	if s.CanAccountUsage {
		add(keyplane.UsageAccount, s.P.AccountID, s.Account.Name, "Account: "+s.Account.Name)
	}
	need := keyplane.OpGetUsage.Needs
	// A list the user may not read (a Key role reads no apps) offers nothing.
	apps, _ := p.allApps(r.Context(), s.P)
	appName := map[int64]string{}
	for _, a := range apps {
		appName[a.ID] = a.Name
		if p.svc.Can(s.P, keyplane.Target{AppID: a.ID}, need...) == nil {
			add(keyplane.UsageApp, a.ID, a.Name, "App: "+a.Name)
		}
	}
	ks, _ := p.allKeysets(r.Context(), s.P)
	for _, k := range ks {
		if p.svc.Can(s.P, k.Target(), need...) == nil {
			label := "Keyset: " + k.Name
			if n := appName[k.AppID]; n != "" {
				label += " (" + n + ")"
			}
			add(keyplane.UsageKeyset, k.ID, k.Name, label)
		}
	}
	return out
}

// usageChart is one metric's bar chart. Its geometry is in percent of the
// plot, so that the SVG stretches to any width without stretching its
// text, and the value axis is HTML beside it.
type usageChart struct {
	Metric, Label     string
	Total, Peak       string
	Bars              []usageBar
	Ticks             []string   // value axis labels, from the top one down to 0
	Grid              []float64  // the value ticks' heights, in percent from the top
	Dates             []dateTick // date axis labels
	Rows              []usageRow // the numbers, for screen readers and copying
	FirstDay, LastDay string
}

type usageBar struct {
	X, Y, W, H float64 // percent
	Title      string  // the day and its value, the bar's accessible name
}

// dateTick is one label of the date axis, at X percent.
type dateTick struct {
	X      float64
	Anchor string // SVG text-anchor
	Label  string
}

type usageRow struct{ Day, Value string }

// usage shows daily usage of the account, an app or a keyset as bar charts
// drawn on the server, through the same operation (and the same Usage &
// Monitoring rows) as GET /v2/usage-metrics.
func (p *Portal) usage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	today := p.now().UTC().Truncate(24 * time.Hour)
	page := usagePage{
		Entity: q.Get("entity"), ID: q.Get("id"), From: q.Get("from"), To: q.Get("to"),
		Metrics: q["metrics"],
	}
	for _, m := range usageMetricChoices {
		page.Choices = append(page.Choices, metricChoice{ID: m, Label: keyplane.MetricLabel(m)})
	}
	// The picker sends "entity/id" as of; links from an app or keyset
	// send entity and id.
	if of := q.Get("of"); of != "" {
		page.Entity, page.ID, _ = strings.Cut(of, "/")
	}
	page.Of = p.usageChoices(r, s)
	if page.Entity == "" {
		// The first thing the user may see the usage of: the account for
		// an account-wide role, their first app or keyset for a scoped one.
		page.Entity, page.ID = string(keyplane.UsageAccount), strconv.FormatInt(s.P.AccountID, 10)
		if len(page.Of) > 0 {
			page.Entity, page.ID = page.Of[0].Entity, page.Of[0].ID
		}
	}
	if page.From == "" {
		page.From = today.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	if page.To == "" {
		page.To = today.AddDate(0, 0, 1).Format(time.DateOnly)
	}
	if len(page.Metrics) == 0 {
		page.Metrics = defaultUsageMetrics
	}
	page.Name = usageName(page.Entity, page.ID, s)
	page.Current = page.Entity + "/" + page.ID
	for _, o := range page.Of {
		if o.Value == page.Current {
			page.Name = o.Label
		}
	}
	m, err := p.svc.UsageMetrics(r.Context(), s.P, control.UsageParams{
		EntityType: page.Entity, EntityID: page.ID, From: page.From, To: page.To,
		Metrics: strings.Join(page.Metrics, ","),
	})
	status := http.StatusOK
	switch c := keyplane.ErrorCode(err); {
	case err == nil:
		for _, metric := range page.Metrics {
			if days, ok := m[metric]; ok {
				page.Charts = append(page.Charts, chartOf(metric, days))
			}
		}
	case c == keyplane.CodeInvalid:
		page.Errors, status = keyplane.ErrorMessages(err), http.StatusBadRequest
	default:
		return err
	}
	p.render(w, r, status, "usage", s, "Usage · "+page.Name, page)
	return nil
}

func usageName(entity, id string, s *session) string {
	switch keyplane.UsageEntity(entity) {
	case keyplane.UsageAccount:
		return "Account: " + s.Account.Name
	case keyplane.UsageApp:
		return "App " + id
	case keyplane.UsageKeyset:
		return "Keyset " + id
	case keyplane.UsageCustomer:
		return "Customer " + id
	}
	return entity + " " + id
}

// chartOf draws one metric's days as bars on a value axis of round ticks
// (1, 2 or 5 times a power of ten), the top one at or above the busiest
// day, with a date tick every few days.
func chartOf(metric string, days map[string]float64) usageChart {
	keys := make([]string, 0, len(days))
	for d := range days {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	c := usageChart{Metric: metric, Label: keyplane.MetricLabel(metric)}
	var total, peak float64
	for _, d := range keys {
		total += days[d]
		peak = max(peak, days[d])
	}
	step, top := roundTicks(peak)
	// Counted in steps, not added up, so that a fractional step does
	// not drift (0.1 + 0.2).
	for i := math.Round(top / step); i >= 0; i-- {
		v := i * step
		c.Ticks = append(c.Ticks, compact(v))
		c.Grid = append(c.Grid, 100-v/top*100)
	}
	n := len(keys)
	w := 100 / float64(max(n, 1))
	every := dateStep(n)
	for i, d := range keys {
		v := days[d]
		h := math.Max(v/top*100, 0)
		label := d
		if t, err := time.Parse(time.DateOnly, d); err == nil {
			label = t.Format("Jan 2, 2006")
			if i%every == 0 {
				tick := dateTick{X: (float64(i) + 0.5) * w, Anchor: "middle", Label: t.Format("Jan 2")}
				if i == 0 {
					tick.X, tick.Anchor = 0, "start"
				}
				// A label whose middle is this near the right edge would be cut.
				if i == 0 || tick.X < 94 {
					c.Dates = append(c.Dates, tick)
				}
			}
		}
		c.Bars = append(c.Bars, usageBar{X: float64(i) * w, Y: 100 - h, W: w * 0.8, H: h, Title: label + ": " + number(v)})
		c.Rows = append(c.Rows, usageRow{Day: d, Value: number(v)})
	}
	if n > 0 {
		c.FirstDay, c.LastDay = keys[0], keys[n-1]
	}
	c.Peak = number(peak)
	if keyplane.SumsOverDays(metric) {
		c.Total = number(total)
	}
	return c
}

// roundTicks chooses the step of a value axis, a round number, and its
// top, the first multiple of the step at or above peak, for about four
// intervals.
func roundTicks(peak float64) (step, top float64) {
	if peak <= 0 {
		return 1, 1
	}
	rough := peak / 4
	exp := math.Floor(math.Log10(rough))
	var m float64 // the step is m×10^exp
	switch f := rough / math.Pow(10, exp); {
	case f <= 1:
		m = 1
	case f <= 2:
		m = 2
	case f <= 5:
		m = 5
	default:
		m = 10
	}
	// Below 1, divide by a power of ten rather than multiply by its
	// inverse, which is not exact in binary: 3×0.1 is 0.30000000000000004,
	// 3/10 is 0.3.
	scale := func(x float64) float64 {
		if exp < 0 {
			return x / math.Pow(10, -exp)
		}
		return x * math.Pow(10, exp)
	}
	step = scale(m)
	k := math.Ceil(peak/step - 1e-9)
	return step, scale(k * m)
}

// dateStep is how many days apart the date axis labels are: every day
// for a week or less, weekly up to two months, else about eight labels.
func dateStep(days int) int {
	switch {
	case days <= 8:
		return 1
	case days <= 62:
		return 7
	}
	return (days + 7) / 8
}

// compact renders an axis value short: 1,500 → 1.5K, 2000000 → 2M.
func compact(v float64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}} {
		if math.Abs(v) >= u.div {
			return strconv.FormatFloat(math.Round(v/u.div*10)/10, 'f', -1, 64) + u.suffix
		}
	}
	if v != math.Trunc(v) {
		return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
	}
	return number(v)
}

// number renders a value with thousands separators, and fractions only
// when there are any.
func number(v float64) string {
	if v != math.Trunc(v) || math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := strconv.FormatInt(int64(v), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
