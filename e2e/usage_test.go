package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// point is one reported value, as a usage reporter sends it.
type point struct {
	KeysetID     string  `json:"keysetId,omitempty"`
	SubscribeKey string  `json:"subscribeKey,omitempty"`
	Date         string  `json:"date"`
	Metric       string  `json:"metric"`
	Value        float64 `json:"value"`
}

// usageEnv is an env whose clock stands on a chosen day, with a key that
// reports usage and one that reads all of it.
type usageEnv struct {
	*env
	reporter, reader string
}

func newUsageEnv(t *testing.T, today string) *usageEnv {
	t.Helper()
	e := newEnv(t)
	day, err := time.Parse(time.DateOnly, today)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(day.Add(15 * time.Hour))
	// Keys made before the move may have expired.
	e.key, e.admin, _ = e.integration("CI/CD Pipeline", fullGrants...)
	u := &usageEnv{env: e}
	u.reporter, _, _ = e.integration("reporter", "account:usage-report:write")
	u.reader, _, _ = e.integration("reader", "account:usage:read")
	return u
}

// report sends points with the reporter key and wants them all accepted.
func (u *usageEnv) report(pts ...point) {
	u.t.Helper()
	var out struct{ Accepted int }
	u.do("POST", "/v2/usage-metrics", map[string]any{"points": pts}, as(u.reporter)).want(200).decode(&out)
	if out.Accepted == 0 {
		u.t.Errorf("report accepted %d points", out.Accepted)
	}
}

func usagePath(entity, id, from, to string, metrics ...string) string {
	return "/v2/usage-metrics?" + url.Values{
		"entityType": {entity}, "entityId": {id}, "from": {from}, "to": {to},
		"metrics": {strings.Join(metrics, ",")},
	}.Encode()
}

// usage queries with key and returns metric → date → value.
func (u *usageEnv) usage(key, entity, id, from, to string, metrics ...string) map[string]map[string]float64 {
	u.t.Helper()
	var out struct {
		Metrics map[string]map[string]float64 `json:"metrics"`
	}
	u.do("GET", usagePath(entity, id, from, to, metrics...), nil, as(key)).want(200).decode(&out)
	return out.Metrics
}

// series is a shorthand for one metric's expected days.
type series map[string]float64

// Every entity type sums what it holds, deleted keysets included; every
// day of the range is present, a day without data as 0.
func TestUsageEntities(t *testing.T) {
	t.Parallel()
	u := newUsageEnv(t, "2026-11-23")
	appA, appB := u.createApp("A").ID, u.createApp("B").ID
	k1, k2 := u.createKeyset(appA, "k1").Keyset, u.createKeyset(appA, "k2").Keyset
	k3 := u.createKeyset(appB, "k3").Keyset
	u.report(
		point{KeysetID: k1.ID, Date: "2026-11-20", Metric: "publish", Value: 100},
		point{KeysetID: k1.ID, Date: "2026-11-21", Metric: "publish", Value: 110},
		point{SubscribeKey: k2.SubscribeKey, Date: "2026-11-20", Metric: "publish", Value: 5},
		point{KeysetID: k3.ID, Date: "2026-11-21", Metric: "publish", Value: 1000},
		point{KeysetID: k3.ID, Date: "2026-11-21", Metric: "subscribe_msgs", Value: 7.5},
	)
	from, to := "2026-11-19", "2026-11-23"
	for _, c := range []struct {
		entity, id string
		want       map[string]map[string]float64
	}{
		{"keyset", k1.ID, map[string]map[string]float64{
			"publish":        series{"2026-11-19": 0, "2026-11-20": 100, "2026-11-21": 110, "2026-11-22": 0},
			"subscribe_msgs": series{"2026-11-19": 0, "2026-11-20": 0, "2026-11-21": 0, "2026-11-22": 0}}},
		{"app", appA, map[string]map[string]float64{
			"publish":        series{"2026-11-19": 0, "2026-11-20": 105, "2026-11-21": 110, "2026-11-22": 0},
			"subscribe_msgs": series{"2026-11-19": 0, "2026-11-20": 0, "2026-11-21": 0, "2026-11-22": 0}}},
		{"app", appB, map[string]map[string]float64{
			"publish":        series{"2026-11-19": 0, "2026-11-20": 0, "2026-11-21": 1000, "2026-11-22": 0},
			"subscribe_msgs": series{"2026-11-19": 0, "2026-11-20": 0, "2026-11-21": 7.5, "2026-11-22": 0}}},
		{"account", fmt.Sprint(u.account), map[string]map[string]float64{
			"publish":        series{"2026-11-19": 0, "2026-11-20": 105, "2026-11-21": 1110, "2026-11-22": 0},
			"subscribe_msgs": series{"2026-11-19": 0, "2026-11-20": 0, "2026-11-21": 7.5, "2026-11-22": 0}}},
	} {
		got := u.usage(u.reader, c.entity, c.id, from, to, "publish", "subscribe_msgs")
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", c.entity, c.id, diff)
		}
	}

	// A deleted keyset's usage stays in the totals it was part of.
	u.do("DELETE", "/v2/keysets/"+k3.ID, nil).want(200)
	got := u.usage(u.reader, "account", fmt.Sprint(u.account), "2026-11-21", "2026-11-22", "publish")
	if got["publish"]["2026-11-21"] != 1110 {
		t.Errorf("account publish after deleting keyset %s: %v, want 1110", k3.ID, got)
	}
	u.do("GET", usagePath("keyset", k3.ID, from, to, "publish"), nil, as(u.reader)).wantError(404, "keyset "+k3.ID+": not found")
	u.do("GET", usagePath("app", "999", from, to, "publish"), nil, as(u.reader)).wantError(404, "app 999: not found")
	u.do("GET", usagePath("account", "999", from, to, "publish"), nil, as(u.reader)).wantError(404, "account 999: not found")
}

// Dates: from inclusive, to exclusive, month ends and a leap day.
func TestUsageDateEdges(t *testing.T) {
	t.Parallel()
	u := newUsageEnv(t, "2028-03-10")
	ks := u.createKeyset(u.createApp("A").ID, "k").Keyset.ID
	u.report(
		point{KeysetID: ks, Date: "2028-01-31", Metric: "publish", Value: 31},
		point{KeysetID: ks, Date: "2028-02-01", Metric: "publish", Value: 1},
		point{KeysetID: ks, Date: "2028-02-28", Metric: "publish", Value: 28},
		point{KeysetID: ks, Date: "2028-02-29", Metric: "publish", Value: 29},
		point{KeysetID: ks, Date: "2028-03-01", Metric: "publish", Value: 301},
	)
	for _, c := range []struct {
		from, to string
		want     series
	}{
		{"2028-02-29", "2028-03-01", series{"2028-02-29": 29}},
		{"2028-01-31", "2028-02-02", series{"2028-01-31": 31, "2028-02-01": 1}},
		{"2028-02-28", "2028-03-02", series{"2028-02-28": 28, "2028-02-29": 29, "2028-03-01": 301}},
	} {
		got := u.usage(u.reader, "keyset", ks, c.from, c.to, "publish")
		if diff := cmp.Diff(map[string]map[string]float64{"publish": c.want}, got); diff != "" {
			t.Errorf("from %s to %s (-want +got):\n%s", c.from, c.to, diff)
		}
	}
	bad := func(from, to string, msgs ...string) {
		t.Helper()
		u.do("GET", usagePath("keyset", ks, from, to, "publish"), nil, as(u.reader)).wantError(400, msgs...)
	}
	bad("2027-02-29", "2027-03-01", `from: must be a date YYYY-MM-DD, not "2027-02-29"`)
	bad("2028-02-30", "2028-03-01", `from: must be a date YYYY-MM-DD, not "2028-02-30"`)
	bad("2028-3-1", "2028-03-02", `from: must be a date YYYY-MM-DD, not "2028-3-1"`)
	bad("2028-03-01", "2028-03-01", "to: must be after from (2028-03-01); to is exclusive, so one day is from=2028-03-01&to=2028-03-02")
	bad("2028-03-02", "2028-03-01", "to: must be after from (2028-03-02); to is exclusive, so one day is from=2028-03-02&to=2028-03-03")
	bad("2026-01-01", "2028-03-01", "from, to: the range spans 790 days; at most 365, the days usage is kept")
	bad("2027-03-09", "2027-03-10", "from: usage is kept for 365 days; the oldest day that can be asked for is 2027-03-11")
	// The oldest day kept is asked for without complaint.
	u.usage(u.reader, "keyset", ks, "2027-03-11", "2027-03-12", "publish")
}

// mtd_* metrics are month-to-date running totals, from the first of the
// month even when the range starts later, and restart each month.
func TestUsageMonthToDate(t *testing.T) {
	t.Parallel()
	u := newUsageEnv(t, "2026-11-23")
	app := u.createApp("A").ID
	k1, k2 := u.createKeyset(app, "k1").Keyset.ID, u.createKeyset(app, "k2").Keyset.ID
	u.report(
		point{KeysetID: k1, Date: "2026-10-30", Metric: "txn_total", Value: 10},
		point{KeysetID: k1, Date: "2026-10-31", Metric: "txn_total", Value: 20},
		point{KeysetID: k1, Date: "2026-11-01", Metric: "txn_total", Value: 1},
		point{KeysetID: k2, Date: "2026-11-01", Metric: "txn_total", Value: 2},
		point{KeysetID: k1, Date: "2026-11-03", Metric: "txn_total", Value: 4},
		point{KeysetID: k1, Date: "2026-11-01", Metric: "mtd_uuid", Value: 3},
		point{KeysetID: k1, Date: "2026-11-02", Metric: "mtd_uuid", Value: 5},
		point{KeysetID: k2, Date: "2026-11-02", Metric: "mtd_uuid", Value: 1},
		point{KeysetID: k1, Date: "2026-11-03", Metric: "mtd_uuid", Value: 7},
	)
	got := u.usage(u.reader, "app", app, "2026-10-31", "2026-11-04", "mtd_txn_total", "txn_total", "mtd_uuid", "mtd_txn_mtd_uuid_ratio")
	want := map[string]map[string]float64{
		// 10 on the 30th counts toward the 31st though the range starts there.
		"mtd_txn_total":          series{"2026-10-31": 30, "2026-11-01": 3, "2026-11-02": 3, "2026-11-03": 7},
		"txn_total":              series{"2026-10-31": 20, "2026-11-01": 3, "2026-11-02": 0, "2026-11-03": 4},
		"mtd_uuid":               series{"2026-10-31": 0, "2026-11-01": 3, "2026-11-02": 6, "2026-11-03": 7},
		"mtd_txn_mtd_uuid_ratio": series{"2026-10-31": 0, "2026-11-01": 1, "2026-11-02": 0.5, "2026-11-03": 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Derived metrics are computed, never reported.
	u.do("POST", "/v2/usage-metrics", map[string]any{"points": []point{{KeysetID: k1, Date: "2026-11-01", Metric: "mtd_txn_total", Value: 1}}}, as(u.reporter)).
		wantError(400, "points[0].metric: mtd_txn_total is computed from txn_total; report that instead")
}

// Usage & Monitoring Read at the level asked about: an App row covers the
// app and its keysets, never the account; a keyset row only its keyset.
// Refusals name the missing row and never tell what exists.
func TestUsagePermissions(t *testing.T) {
	t.Parallel()
	u := newUsageEnv(t, "2026-11-23")
	appA, appB := u.createApp("A").ID, u.createApp("B").ID
	kA, kB := u.createKeyset(appA, "a").Keyset.ID, u.createKeyset(appB, "b").Keyset.ID
	u.report(point{KeysetID: kA, Date: "2026-11-22", Metric: "publish", Value: 1})
	appKey, _, _ := u.integration("app A", "app/"+appA+":usage:read")
	ksKey, _, _ := u.integration("keyset B", "keyset/"+kB+":usage:read")
	noUsage, _, _ := u.integration("apps only", "account:app:read", "account:keyset:read")
	account := fmt.Sprint(u.account)
	q := func(key, entity, id string) *resp {
		return u.do("GET", usagePath(entity, id, "2026-11-22", "2026-11-23", "publish"), nil, as(key))
	}
	for _, c := range []struct {
		key, entity, id string
		status          int
		msg             string
	}{
		{u.reader, "account", account, 200, ""},
		{u.reader, "app", appB, 200, ""},
		{u.reader, "keyset", kA, 200, ""},
		{appKey, "app", appA, 200, ""},
		{appKey, "keyset", kA, 200, ""},
		{appKey, "account", account, 403, "missing permission: Account · Usage & Monitoring · Read"},
		{appKey, "app", appB, 403, "missing permission: App " + appB + " · Usage & Monitoring · Read"},
		{appKey, "keyset", kB, 403, "missing permission: Keyset " + kB + " · Usage & Monitoring · Read"},
		{appKey, "app", "999", 403, "missing permission: App 999 · Usage & Monitoring · Read"},
		{appKey, "keyset", "999", 403, "missing permission: Keyset 999 · Usage & Monitoring · Read"},
		{ksKey, "keyset", kB, 200, ""},
		{ksKey, "keyset", kA, 403, "missing permission: Keyset " + kA + " · Usage & Monitoring · Read"},
		{ksKey, "app", appB, 403, "missing permission: App " + appB + " · Usage & Monitoring · Read"},
		{noUsage, "account", account, 403, "missing permission: Account · Usage & Monitoring · Read"},
		{u.reporter, "keyset", kA, 403, "missing permission: Keyset " + kA + " · Usage & Monitoring · Read"},
	} {
		r := q(c.key, c.entity, c.id)
		if c.status == 200 {
			r.want(200)
		} else {
			r.wantError(c.status, c.msg)
		}
	}
	if got := u.usage(appKey, "keyset", kA, "2026-11-22", "2026-11-23", "publish"); got["publish"]["2026-11-22"] != 1 {
		t.Errorf("app key reads keyset %s: %v", kA, got)
	}
	// Reading does not let a key report, nor the default key.
	for _, key := range []string{u.reader, u.key} {
		u.do("POST", "/v2/usage-metrics", map[string]any{"points": []point{{KeysetID: kA, Date: "2026-11-22", Metric: "publish", Value: 9}}}, as(key)).
			wantError(403, "missing permission: Account · Usage reporting · Write")
	}
}

// Sending a batch again counts nothing twice; a new value replaces the old
// one, in the keyset and in every total; within a batch the last wins.
func TestUsageReportingIsIdempotent(t *testing.T) {
	t.Parallel()
	u := newUsageEnv(t, "2026-11-23")
	app := u.createApp("A").ID
	k1, k2 := u.createKeyset(app, "k1").Keyset.ID, u.createKeyset(app, "k2").Keyset.ID
	batch := []point{
		{KeysetID: k1, Date: "2026-11-22", Metric: "publish", Value: 100},
		{KeysetID: k2, Date: "2026-11-22", Metric: "publish", Value: 50},
	}
	account := fmt.Sprint(u.account)
	total := func() float64 {
		t.Helper()
		return u.usage(u.reader, "account", account, "2026-11-22", "2026-11-23", "publish")["publish"]["2026-11-22"]
	}
	for range 3 {
		u.report(batch...)
		if got := total(); got != 150 {
			t.Fatalf("account total after sending the batch again: %v, want 150", got)
		}
	}
	u.report(point{KeysetID: k1, Date: "2026-11-22", Metric: "publish", Value: 120},
		point{KeysetID: k1, Date: "2026-11-22", Metric: "publish", Value: 130})
	if got := total(); got != 180 {
		t.Errorf("account total after k1 went to 130: %v, want 180", got)
	}
	if got := u.usage(u.reader, "app", app, "2026-11-22", "2026-11-23", "publish")["publish"]["2026-11-22"]; got != 180 {
		t.Errorf("app total: %v, want 180", got)
	}
	u.report(point{KeysetID: k2, Date: "2026-11-22", Metric: "publish", Value: 0})
	if got := total(); got != 130 {
		t.Errorf("account total after k2 went to 0: %v, want 130", got)
	}
}

// Bad queries and bad batches: clear 400s, PubNub's own body for unknown
// metrics, and a refused batch changes nothing.
func TestUsageBadInput(t *testing.T) {
	t.Parallel()
	u := newUsageEnv(t, "2026-11-23")
	ks := u.createKeyset(u.createApp("A").ID, "k")
	r := u.do("GET", usagePath("keyset", ks.Keyset.ID, "2026-11-01", "2026-11-02", "publish", "nope"), nil, as(u.reader))
	if r.Status != 400 || string(r.Body) != `{"statusCode":400,"error":"Bad Request","message":["Invalid metrics: nope"]}`+"\n" {
		t.Errorf("unknown metric: %d %s, want PubNub's body", r.Status, r.Body)
	}
	u.do("GET", usagePath("keyset", ks.Keyset.ID, "2026-11-01", "2026-11-02", "nope", "publish", "zip"), nil, as(u.reader)).
		wantError(400, "Invalid metrics: nope, zip")
	u.do("GET", "/v2/usage-metrics", nil, as(u.reader)).wantError(400,
		"entityType: required; one of account, app, keyset, customer", "entityId: required",
		"from: required, a date YYYY-MM-DD", "to: required, a date YYYY-MM-DD",
		"metrics: required, a comma-separated list of metric names")
	u.do("GET", usagePath("org", "1", "2026-11-01", "2026-11-02", "publish"), nil, as(u.reader)).
		wantError(400, `entityType: must be account, app, keyset or customer, not "org"`)
	u.do("GET", usagePath("app", "01", "2026-11-01", "2026-11-02", "publish"), nil, as(u.reader)).
		wantError(400, `entityId: must be a positive integer, not "01"`)
	u.do("GET", usagePath("app", "1", "2026-11-01", "2026-11-02", "publish")+"&from=2026-11-01", nil, as(u.reader)).
		wantError(400, "from: given 2 times; give it once")
	// Every metric of PubNub's list is accepted.
	u.usage(u.reader, "keyset", ks.Keyset.ID, "2026-11-01", "2026-11-02", allMetrics...)

	good := point{KeysetID: ks.Keyset.ID, Date: "2026-11-22", Metric: "publish", Value: 1}
	refuse := func(body any, msgs ...string) {
		t.Helper()
		u.do("POST", "/v2/usage-metrics", body, as(u.reporter)).wantError(400, msgs...)
	}
	refuse(map[string]any{"points": []any{good,
		map[string]any{"keysetId": "999", "date": "2026-11-22", "metric": "publish", "value": 1},
		map[string]any{"subscribeKey": "sub-c-missing", "date": "2026-11-22", "metric": "publish", "value": 1},
		map[string]any{"keysetId": ks.Keyset.ID, "date": "2026-11-31", "metric": "pubish", "value": -1},
		map[string]any{"keysetId": ks.Keyset.ID, "date": "2025-11-22", "metric": "publish", "value": 1},
		map[string]any{"keysetId": ks.Keyset.ID, "date": "2026-11-25", "metric": "publish", "value": 1},
		map[string]any{"date": "2026-11-22", "metric": "publish", "value": 1},
	}},
		"points[1].keysetId: keyset 999: not found in this account",
		`points[2].subscribeKey: no keyset in this account has subscribe key "sub-c-missing"`,
		`points[3].date: must be a date YYYY-MM-DD, not "2026-11-31"`,
		`points[3].metric: unknown metric "pubish"`,
		"points[3].value: must be a number from 0 to 9007199254740992",
		"points[4].date: 2025-11-22 is older than the 365 days usage is kept",
		"points[5].date: 2026-11-25 is in the future",
		"points[6].keysetId: required (or subscribeKey)",
	)
	refuse(map[string]any{"points": []any{map[string]any{"keysetId": "12", "date": "2026-11-22", "metric": "publish", "value": 1, "extra": true}}},
		"points[0].extra: unknown field")
	refuse(map[string]any{"points": []any{map[string]any{"keysetId": "x", "date": "2026-11-22", "metric": "publish", "value": 1}}},
		"points[0].keysetId: must be a positive integer (a string or a number)")
	refuse(map[string]any{}, "points: required, a list of {keysetId or subscribeKey, date, metric, value}")
	refuse(map[string]any{"points": []any{}}, "points: empty; send at least one")
	many := make([]point, 5001)
	for i := range many {
		many[i] = good
	}
	refuse(map[string]any{"points": many}, "points: 5001 given; at most 5000 a request")
	// Nothing of the refused batches was stored.
	if got := u.usage(u.reader, "keyset", ks.Keyset.ID, "2026-11-22", "2026-11-23", "publish"); got["publish"]["2026-11-22"] != 0 {
		t.Errorf("a refused batch left %v", got)
	}
	// A number id works as a string id does.
	u.do("POST", "/v2/usage-metrics", `{"points":[{"keysetId":`+ks.Keyset.ID+`,"date":"2026-11-22","metric":"publish","value":2}]}`, as(u.reporter)).want(200)
}

// allMetrics is PubNub's list of metric names (reference, section 9.3).
var allMetrics = strings.Fields(`txn_total mtd_txn_total replicated signals edge message_actions free mtd_uuid uuid pn_uuid msgs_total publish subscribe_msgs history_msgs files_msgs push_msgs bytes_stored bytes_stored_blocks bytes_stored_channel_groups bytes_stored_files bytes_stored_messages bytes_stored_push bytes_stored_size_auth bytes_stored_users bytes_stored_memberships accessmanager_audits_transactions accessmanager_grants_v3_transactions accessmanager_grants_transactions accessmanager_replicated accessmanager_edge accessmanager_clienterrors_transactions executions kv_read_transactions kv_write_transactions xhr_transactions functions_replicated functions_edge misfire_client_transactions misfire_eh_transactions fire_transactions fire_eh_transactions fire_client_transactions history_messages_count_transactions history_transactions history_edge history_with_actions_transactions history_clienterrors_transactions history_with_actions_clienterrors_transactions history_with_actions_unauthorized_transactions message_actions_add_transactions message_actions_get_transactions message_actions_remove_transactions subscribe_message_actions_transactions message_actions_clienterrors_transactions message_actions_unauthorized_transactions objects_create_space_transactions objects_create_user_transactions objects_delete_space_transactions objects_delete_user_transactions objects_get_all_spaces_transactions objects_get_all_users_transactions objects_get_space_transactions objects_get_user_space_memberships_transactions objects_get_space_user_memberships_transactions objects_get_user_transactions objects_update_space_transactions objects_update_space_user_memberships_transactions objects_update_user_space_memberships_transactions objects_update_user_transactions internal_publish_objects_transactions objects_replicated objects_edge objects_users objects_spaces objects_memberships objects_errors objects_clienterrors_transactions objects_unauthorized_transactions presence_getuserstate_transactions presence_herenow_global_transactions presence_herenow_transactions presence_leave_transactions presence_setuserstate_transactions presence_heartbeats_transactions presence_wherenow_transactions presence_replicated presence_edge presence_clienterrors_transactions apns_sent_transactions apns_removed_transactions mpns_sent_transactions mpns_removed_transactions gcm_removed_transactions gcm_sent_transactions push_device_writes_transactions push_device_reads_transactions push_notifications_replicated push_notifications_edge push_notifications_apple push_notifications_android push_notifications_microsoft push_device_clienterrors_transactions steam_controller_edge steam_controller_replicated streamcontroller_reads_transactions streamcontroller_writes_transactions streamcontroller_clienterrors_transactions subscribe_transactions subscribe_timeouts_transactions subscribe_objects_transactions subscribe_heartbeats_transactions subscribe_streaming_transactions subscribe_clientclosedconnection_transactions subscribe_edge subscribe_signal_transactions subscribe_files_transactions subscribe_clienterrors_transactions subscribe_unauthorized_transactions publish_transactions publish_edge publish_replicated publish_bytes publish_msg_average_size publish_clienterrors_transactions publish_unauthorized_transactions signal_transactions signal_clienterrors_transactions signal_unauthorized_transactions files_publish_transactions files_delete_file_transactions files_generate_url_transactions files_get_file_transactions files_get_all_files_transactions files_replicated files_edge files_clienterrors_transactions files_unauthorized_transactions events_ingested subscribe_bytes message_ratio mtd_txn_mtd_uuid_ratio channel ip key_ip_ch key_ip_ua pres_pub`)

// An OEM customer's usage sums the keysets it holds now, across apps; it
// needs Usage & Monitoring Read at Account level.
func TestUsageByCustomer(t *testing.T) {
	t.Parallel()
	u := newUsageEnv(t, "2026-11-23")
	u.setPartner(true)
	oem, _, _ := u.integration("partner portal", "account:oem-customer:rw")
	appA, appB := u.createApp("A").ID, u.createApp("B").ID
	k1, k2 := u.createKeyset(appA, "k1").Keyset.ID, u.createKeyset(appB, "k2").Keyset.ID
	k3 := u.createKeyset(appB, "k3").Keyset.ID
	c := u.createCustomer(oem, map[string]any{"externalId": "acme", "name": "Acme", "keysetIds": []int64{num(t, k1), num(t, k2)}})
	u.report(
		point{KeysetID: k1, Date: "2026-11-22", Metric: "publish", Value: 10},
		point{KeysetID: k2, Date: "2026-11-22", Metric: "publish", Value: 5},
		point{KeysetID: k3, Date: "2026-11-22", Metric: "publish", Value: 1000}, // not Acme's
		point{KeysetID: k2, Date: "2026-11-01", Metric: "txn_total", Value: 7},
		point{KeysetID: k1, Date: "2026-11-22", Metric: "txn_total", Value: 3},
	)
	got := u.usage(u.reader, "customer", c.ID, "2026-11-21", "2026-11-23", "publish", "mtd_txn_total")
	want := map[string]map[string]float64{
		"publish":       series{"2026-11-21": 0, "2026-11-22": 15},
		"mtd_txn_total": series{"2026-11-21": 7, "2026-11-22": 10},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("customer %s (-want +got):\n%s", c.ID, diff)
	}
	appKey, _, _ := u.integration("app A", "app/"+appA+":usage:read")
	u.do("GET", usagePath("customer", c.ID, "2026-11-21", "2026-11-23", "publish"), nil, as(appKey)).
		wantError(403, "missing permission: Account · Usage & Monitoring · Read")
	u.do("GET", usagePath("customer", "999", "2026-11-21", "2026-11-23", "publish"), nil, as(u.reader)).
		wantErrorContaining(404, "999")
}
