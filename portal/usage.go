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

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 720.0, 160.0
	chartGap       = 1.0
)

type usagePage struct {
	Entity, ID, From, To string
	Name                 string // what the numbers are of, as people read it
	Metrics              []string
	Choices              []string
	Charts               []usageChart
	Errors               []string
	// Of are the account, apps and keysets whose usage the user may read,
	// to pick from.
	Of []usageOf
}

// usageOf is one choice of the Usage page's picker.
type usageOf struct {
	Entity, ID, Name string
}

// usageChoices are what the user may see the usage of: the account when
// an Account row allows it, then each app and keyset the lists show them
// that a row lets them read usage of, as control answers (Can).
func (p *Portal) usageChoices(r *http.Request, s *session) []usageOf {
	var out []usageOf
	if s.CanAccountUsage {
		out = append(out, usageOf{string(keyplane.UsageAccount), strconv.FormatInt(s.P.AccountID, 10), s.Account.Name})
	}
	need := keyplane.OpGetUsage.Needs
	// A list the user may not read (a Key role reads no apps) offers nothing.
	apps, _ := p.allApps(r.Context(), s.P)
	for _, a := range apps {
		if p.svc.Can(s.P, keyplane.Target{AppID: a.ID}, need...) == nil {
			out = append(out, usageOf{string(keyplane.UsageApp), strconv.FormatInt(a.ID, 10), a.Name})
		}
	}
	ks, _ := p.allKeysets(r.Context(), s.P)
	for _, k := range ks {
		if p.svc.Can(s.P, k.Target(), need...) == nil {
			out = append(out, usageOf{string(keyplane.UsageKeyset), strconv.FormatInt(k.ID, 10), k.Name})
		}
	}
	return out
}

type usageChart struct {
	Metric      string
	Total, Peak string
	Bars        []usageBar
	Rows        []usageRow // the numbers, for screen readers and copying
	W, H        float64
	FirstDay    string
	LastDay     string
}

type usageBar struct {
	X, Y, W, H float64
	Title      string
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
		Metrics: q["metrics"], Choices: usageMetricChoices,
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
	for _, o := range page.Of {
		if o.Entity == page.Entity && o.ID == page.ID && o.Entity != string(keyplane.UsageAccount) {
			page.Name = o.Name
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
		return s.Account.Name
	case keyplane.UsageApp:
		return "App " + id
	case keyplane.UsageKeyset:
		return "Keyset " + id
	case keyplane.UsageCustomer:
		return "Customer " + id
	}
	return entity + " " + id
}

// chartOf draws one metric's days as bars scaled to the busiest day.
func chartOf(metric string, days map[string]float64) usageChart {
	keys := make([]string, 0, len(days))
	for d := range days {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	c := usageChart{Metric: metric, W: chartW, H: chartH}
	var total, peak float64
	for _, d := range keys {
		total += days[d]
		peak = max(peak, days[d])
	}
	w := chartW / float64(max(len(keys), 1))
	for i, d := range keys {
		v := days[d]
		h := 0.0
		if peak > 0 {
			h = math.Max(v/peak*chartH, 0)
		}
		c.Bars = append(c.Bars, usageBar{
			X: float64(i) * w, Y: chartH - h, W: math.Max(w-chartGap, 0.5), H: h,
			Title: d + ": " + number(v),
		})
		c.Rows = append(c.Rows, usageRow{Day: d, Value: number(v)})
	}
	if len(keys) > 0 {
		c.FirstDay, c.LastDay = keys[0], keys[len(keys)-1]
	}
	c.Peak = number(peak)
	if keyplane.SumsOverDays(metric) {
		c.Total = number(total)
	}
	return c
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
