package keyplane

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Day is a calendar day in UTC, counted from 1970-01-01: usage is kept and
// answered per day.
type Day int32

// DayOf is the UTC day t falls on.
func DayOf(t time.Time) Day {
	return Day(t.UTC().Unix() / 86400)
}

// ParseDay reads YYYY-MM-DD, a real calendar date.
func ParseDay(s string) (Day, bool) {
	if len(s) != len(time.DateOnly) {
		return 0, false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return DayOf(t), true
}

// Time is midnight UTC at the start of d.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String renders d as YYYY-MM-DD, the keys of a usage answer.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// MonthStart is the first day of d's month.
func (d Day) MonthStart() Day { return d - Day(d.Time().Day()-1) }

// UsageEntity is what a usage query sums over.
type UsageEntity string

// Usage entities. Account and app totals come from rollups kept as usage is
// reported, so they never scan the keysets' rows.
const (
	UsageAccount UsageEntity = "account"
	UsageApp     UsageEntity = "app"
	UsageKeyset  UsageEntity = "keyset"
	// UsageCustomer sums the keysets an OEM customer holds now.
	UsageCustomer UsageEntity = "customer"
)

// MetricCode is a metric's stored number: its index in usageMetrics, which
// therefore only ever grows at its end.
type MetricCode int16

// usageMetrics are the metric names PubNub's usage API accepts. The order
// is the storage code of each: append only.
var usageMetrics = strings.Fields(`txn_total mtd_txn_total replicated signals edge message_actions free mtd_uuid uuid pn_uuid msgs_total publish subscribe_msgs history_msgs files_msgs push_msgs bytes_stored bytes_stored_blocks bytes_stored_channel_groups bytes_stored_files bytes_stored_messages bytes_stored_push bytes_stored_size_auth bytes_stored_users bytes_stored_memberships accessmanager_audits_transactions accessmanager_grants_v3_transactions accessmanager_grants_transactions accessmanager_replicated accessmanager_edge accessmanager_clienterrors_transactions executions kv_read_transactions kv_write_transactions xhr_transactions functions_replicated functions_edge misfire_client_transactions misfire_eh_transactions fire_transactions fire_eh_transactions fire_client_transactions history_messages_count_transactions history_transactions history_edge history_with_actions_transactions history_clienterrors_transactions history_with_actions_clienterrors_transactions history_with_actions_unauthorized_transactions message_actions_add_transactions message_actions_get_transactions message_actions_remove_transactions subscribe_message_actions_transactions message_actions_clienterrors_transactions message_actions_unauthorized_transactions objects_create_space_transactions objects_create_user_transactions objects_delete_space_transactions objects_delete_user_transactions objects_get_all_spaces_transactions objects_get_all_users_transactions objects_get_space_transactions objects_get_user_space_memberships_transactions objects_get_space_user_memberships_transactions objects_get_user_transactions objects_update_space_transactions objects_update_space_user_memberships_transactions objects_update_user_space_memberships_transactions objects_update_user_transactions internal_publish_objects_transactions objects_replicated objects_edge objects_users objects_spaces objects_memberships objects_errors objects_clienterrors_transactions objects_unauthorized_transactions presence_getuserstate_transactions presence_herenow_global_transactions presence_herenow_transactions presence_leave_transactions presence_setuserstate_transactions presence_heartbeats_transactions presence_wherenow_transactions presence_replicated presence_edge presence_clienterrors_transactions apns_sent_transactions apns_removed_transactions mpns_sent_transactions mpns_removed_transactions gcm_removed_transactions gcm_sent_transactions push_device_writes_transactions push_device_reads_transactions push_notifications_replicated push_notifications_edge push_notifications_apple push_notifications_android push_notifications_microsoft push_device_clienterrors_transactions steam_controller_edge steam_controller_replicated streamcontroller_reads_transactions streamcontroller_writes_transactions streamcontroller_clienterrors_transactions subscribe_transactions subscribe_timeouts_transactions subscribe_objects_transactions subscribe_heartbeats_transactions subscribe_streaming_transactions subscribe_clientclosedconnection_transactions subscribe_edge subscribe_signal_transactions subscribe_files_transactions subscribe_clienterrors_transactions subscribe_unauthorized_transactions publish_transactions publish_edge publish_replicated publish_bytes publish_msg_average_size publish_clienterrors_transactions publish_unauthorized_transactions signal_transactions signal_clienterrors_transactions signal_unauthorized_transactions files_publish_transactions files_delete_file_transactions files_generate_url_transactions files_get_file_transactions files_get_all_files_transactions files_replicated files_edge files_clienterrors_transactions files_unauthorized_transactions events_ingested subscribe_bytes message_ratio mtd_txn_mtd_uuid_ratio channel ip key_ip_ch key_ip_ua pres_pub`)

var metricCodes = func() map[string]MetricCode {
	m := make(map[string]MetricCode, len(usageMetrics))
	for i, n := range usageMetrics {
		m[n] = MetricCode(i)
	}
	return m
}()

// UsageMetrics returns every metric name a query accepts.
func UsageMetrics() []string { return slices.Clone(usageMetrics) }

// Metric returns the code of a metric name.
func Metric(name string) (MetricCode, bool) {
	c, ok := metricCodes[name]
	return c, ok
}

// String is the metric's name.
func (c MetricCode) String() string {
	if c < 0 || int(c) >= len(usageMetrics) {
		return "metric#" + strconv.Itoa(int(c))
	}
	return usageMetrics[c]
}

// metricLabels are the names people read for the metrics most looked at,
// as PubNub's usage documentation and dashboard describe them: the one
// table of them. Every other metric is named by MetricLabel from its id.
var metricLabels = map[string]string{
	"txn_total":       "Total transactions",
	"mtd_txn_total":   "Transactions, month to date",
	"replicated":      "Replicated transactions",
	"edge":            "Edge transactions",
	"signals":         "Signals",
	"message_actions": "Message actions",
	"free":            "Free transactions",
	"uuid":            "Daily active users",
	"mtd_uuid":        "Monthly active users",
	"pn_uuid":         "Active users (PubNub-made IDs)",
	"msgs_total":      "Total messages",
	"publish":         "Messages published",
	"subscribe_msgs":  "Messages delivered",
	"history_msgs":    "Messages from history",
	"files_msgs":      "File messages",
	"push_msgs":       "Push messages",
	"bytes_stored":    "Bytes stored",
	"events_ingested": "Events ingested",
	"message_ratio":   "Messages per transaction",
}

// MetricLabel is the name people read for a usage metric: PubNub's where
// metricLabels has it, else the id in words ("presence_leave_transactions"
// → "Presence leave transactions"). Pages show the id beside it, since the
// API and scripts use the id.
func MetricLabel(name string) string {
	if l, ok := metricLabels[name]; ok {
		return l
	}
	words := strings.ReplaceAll(name, "_", " ")
	if words == "" {
		return ""
	}
	return strings.ToUpper(words[:1]) + words[1:]
}

// derivation is how a derived metric is computed from reported ones: a
// running total over the month of one metric, or the ratio of two on the
// same day (0 when the divisor is 0).
type derivation struct {
	monthToDate string
	num, den    string
}

// derived are the metrics computed at query time rather than reported: a
// month-to-date total follows from the daily ones, and a ratio summed over
// keysets would mean nothing, so app and account answers divide the summed
// parts instead.
var derived = map[string]derivation{
	"mtd_txn_total":            {monthToDate: "txn_total"},
	"mtd_txn_mtd_uuid_ratio":   {num: "mtd_txn_total", den: "mtd_uuid"},
	"publish_msg_average_size": {num: "publish_bytes", den: "publish_transactions"},
	"message_ratio":            {num: "msgs_total", den: "txn_total"},
}

// SumsOverDays reports whether a metric's daily values add up to a total
// over a range: counts do; month-to-date totals, ratios, averages and
// stored sizes (levels, not flows) do not.
func SumsOverDays(name string) bool {
	if d, ok := derived[name]; ok && d.monthToDate == "" {
		return false // a ratio or an average
	}
	return !strings.HasPrefix(name, "mtd_") && !strings.HasPrefix(name, "bytes_stored")
}

// UsageRetention bounds of the number of days usage is kept.
const (
	DefaultUsageRetentionDays = 365
	MinUsageRetentionDays     = 31
	MaxUsageRetentionDays     = 3660
)

// UsageQuery is a parsed GET /v2/usage-metrics: the daily values of some
// metrics of one entity over [From, To).
type UsageQuery struct {
	Entity   UsageEntity
	EntityID int64
	From, To Day
	Metrics  []string
}

// ParseUsageQuery reads the parameters of a usage query. today and the
// retention (days kept) bound the range: nothing older than what is kept,
// no range longer than it. Unknown metric names get PubNub's own answer,
// a 400 whose error is "Bad Request" and whose message lists them.
func ParseUsageQuery(entityType, entityID, from, to, metrics string, today Day, retention int) (UsageQuery, error) {
	var q UsageQuery
	var msgs []string
	switch e := UsageEntity(entityType); e {
	case UsageAccount, UsageApp, UsageKeyset, UsageCustomer:
		q.Entity = e
	case "":
		msgs = append(msgs, "entityType: required; one of account, app, keyset, customer")
	default:
		msgs = append(msgs, fmt.Sprintf("entityType: must be account, app, keyset or customer, not %q", clip(entityType)))
	}
	if entityID == "" {
		msgs = append(msgs, "entityId: required")
	} else if id, err := strconv.ParseInt(entityID, 10, 64); err != nil || id < 1 || entityID[0] == '0' || entityID[0] == '+' {
		msgs = append(msgs, fmt.Sprintf("entityId: must be a positive integer, not %q", clip(entityID)))
	} else {
		q.EntityID = id
	}
	day := func(field, v string) (Day, bool) {
		if v == "" {
			msgs = append(msgs, field+": required, a date YYYY-MM-DD")
			return 0, false
		}
		d, ok := ParseDay(v)
		if !ok {
			msgs = append(msgs, fmt.Sprintf("%s: must be a date YYYY-MM-DD, not %q", field, clip(v)))
		}
		return d, ok
	}
	var fromOK, toOK bool
	q.From, fromOK = day("from", from)
	q.To, toOK = day("to", to)
	if fromOK && toOK {
		oldest := today - Day(retention)
		switch {
		case q.To <= q.From:
			msgs = append(msgs, fmt.Sprintf("to: must be after from (%s); to is exclusive, so one day is from=%s&to=%s", q.From, q.From, q.From+1))
		case int(q.To-q.From) > retention:
			msgs = append(msgs, fmt.Sprintf("from, to: the range spans %d days; at most %d, the days usage is kept", q.To-q.From, retention))
		case q.From < oldest:
			msgs = append(msgs, fmt.Sprintf("from: usage is kept for %d days; the oldest day that can be asked for is %s", retention, oldest))
		}
	}
	if metrics == "" {
		msgs = append(msgs, "metrics: required, a comma-separated list of metric names")
	}
	if err := Invalid(msgs...); err != nil {
		return q, err
	}
	var unknown []string
	for _, m := range strings.Split(metrics, ",") {
		m = strings.TrimSpace(m)
		switch _, ok := metricCodes[m]; {
		case !ok:
			unknown = append(unknown, clip(m))
		case !slices.Contains(q.Metrics, m):
			q.Metrics = append(q.Metrics, m)
		}
	}
	if unknown != nil {
		return q, &Error{Code: CodeInvalid, Wire: "Bad Request", Messages: []string{"Invalid metrics: " + strings.Join(unknown, ", ")}}
	}
	return q, nil
}

// Stored is what q must read: the reported metrics its own need, and the
// first day (the start of From's month when a month-to-date total is asked
// for, since it sums from there).
func (q UsageQuery) Stored() (metrics []MetricCode, from Day) {
	from = q.From
	var add func(name string)
	add = func(name string) {
		if d, ok := derived[name]; ok {
			if d.monthToDate != "" {
				from = q.From.MonthStart()
				add(d.monthToDate)
			} else {
				add(d.num)
				add(d.den)
			}
			return
		}
		if c := metricCodes[name]; !slices.Contains(metrics, c) {
			metrics = append(metrics, c)
		}
	}
	for _, m := range q.Metrics {
		add(m)
	}
	return metrics, from
}

// Answer computes q's answer from the stored daily values read for it
// (metric → day → value; a day without a row counts 0): every metric asked
// for, every day of the range, each date key present.
func (q UsageQuery) Answer(stored map[MetricCode]map[Day]float64) map[string]map[string]float64 {
	memo := map[string]func(Day) float64{}
	var series func(name string) func(Day) float64
	series = func(name string) func(Day) float64 {
		if f, ok := memo[name]; ok {
			return f
		}
		var f func(Day) float64
		switch d, ok := derived[name]; {
		case !ok:
			vals := stored[metricCodes[name]]
			f = func(day Day) float64 { return vals[day] }
		case d.monthToDate != "":
			base := series(d.monthToDate)
			totals := map[Day]float64{}
			var run float64
			for day := q.From.MonthStart(); day < q.To; day++ {
				if day == day.MonthStart() {
					run = 0
				}
				run += base(day)
				totals[day] = run
			}
			f = func(day Day) float64 { return totals[day] }
		default:
			num, den := series(d.num), series(d.den)
			f = func(day Day) float64 {
				if dv := den(day); dv != 0 {
					return num(day) / dv
				}
				return 0
			}
		}
		memo[name] = f
		return f
	}
	out := make(map[string]map[string]float64, len(q.Metrics))
	for _, m := range q.Metrics {
		f := series(m)
		days := make(map[string]float64, q.To-q.From)
		for day := q.From; day < q.To; day++ {
			days[day.String()] = f(day)
		}
		out[m] = days
	}
	return out
}

// UsagePoint is one reported daily value of one metric of one keyset,
// with where the keyset sits so rollups can follow it. A report replaces
// the value stored for the same keyset, day and metric: the data plane
// sends each day's running total, and sending it again counts nothing twice.
type UsagePoint struct {
	AccountID, AppID, KeysetID int64
	Day                        Day
	Metric                     MetricCode
	Value                      float64
}

// MaxUsageValue bounds a reported value: counts and byte sizes well above
// any real day's, yet exact in a float64.
const MaxUsageValue = 1 << 53

// UsageReport is one reported value as the data plane sends it: a line of
// an import file, or an item of POST /v2/usage-metrics. The keyset is
// named by its id or by its subscribe key.
type UsageReport struct {
	KeysetID     *FlexibleID `json:"keysetId"`
	SubscribeKey *string     `json:"subscribeKey"`
	Date         *string     `json:"date"`
	Metric       *string     `json:"metric"`
	Value        *float64    `json:"value"`
}

// FlexibleID is an id written as a string ("12", as PubNub's routes write
// them) or as a number.
type FlexibleID int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexibleID) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 || s[0] == '0' || s[0] == '+' {
		return Invalid("must be a positive integer (a string or a number)")
	}
	*f = FlexibleID(id)
	return nil
}

// Check validates r against today and the retention; a valid report
// returns its day and metric. Messages start with prefix, which names the
// report ("points[3].", "line 12: ").
func (r UsageReport) Check(prefix string, today Day, retention int) (Day, MetricCode, []string) {
	var msgs []string
	bad := func(format string, args ...any) { msgs = append(msgs, prefix+fmt.Sprintf(format, args...)) }
	switch {
	case r.KeysetID == nil && r.SubscribeKey == nil:
		bad("keysetId: required (or subscribeKey)")
	case r.KeysetID != nil && r.SubscribeKey != nil:
		bad("keysetId: give keysetId or subscribeKey, not both")
	case r.SubscribeKey != nil && !strings.HasPrefix(*r.SubscribeKey, "sub-c-"):
		bad("subscribeKey: must be a subscribe key (sub-c-…)")
	}
	var day Day
	if r.Date == nil {
		bad("date: required, YYYY-MM-DD")
	} else if d, ok := ParseDay(*r.Date); !ok {
		bad("date: must be a date YYYY-MM-DD, not %q", clip(*r.Date))
	} else if d < today-Day(retention) {
		bad("date: %s is older than the %d days usage is kept", d, retention)
	} else if d > today+1 {
		bad("date: %s is in the future", d)
	} else {
		day = d
	}
	var code MetricCode
	if r.Metric == nil {
		bad("metric: required")
	} else if c, ok := metricCodes[*r.Metric]; !ok {
		bad("metric: unknown metric %q", clip(*r.Metric))
	} else if d, ok := derived[*r.Metric]; ok {
		from := d.monthToDate
		if from == "" {
			from = d.num + " and " + d.den
		}
		bad("metric: %s is computed from %s; report that instead", *r.Metric, from)
	} else {
		code = c
	}
	if r.Value == nil {
		bad("value: required")
	} else if v := *r.Value; math.IsNaN(v) || v < 0 || v > MaxUsageValue {
		bad("value: must be a number from 0 to %d", int64(MaxUsageValue))
	}
	return day, code, msgs
}
