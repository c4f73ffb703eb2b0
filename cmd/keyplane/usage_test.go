package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/wallclock"
)

// usageOf asks the server for one metric of an entity over [from, to).
func usageOf(t *testing.T, s *testServer, key, entity, id, metric string, from, to time.Time) map[string]float64 {
	t.Helper()
	q := url.Values{"entityType": {entity}, "entityId": {id}, "metrics": {metric},
		"from": {from.Format(time.DateOnly)}, "to": {to.Format(time.DateOnly)}}
	var out struct{ Metrics map[string]map[string]float64 }
	if err := json.Unmarshal(mustCall(t, s.URL, "GET", "/v2/usage-metrics?"+q.Encode(), key, "", http.StatusOK), &out); err != nil {
		t.Fatal(err)
	}
	return out.Metrics[metric]
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var importedRE = regexp.MustCompile(`^imported (\d+) points from (\d+) lines of .+ in [\d.]+ s \(\d+ points/s\)\n$`)

// import: every way to name a keyset, idempotent, and a bad file changes
// nothing and names every bad line.
func TestUsageImport(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	key := createIntegration(t, db, "root", "30d", append(fullAccess, "account:usage:read")...)
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	app := createApp(t, s, key, "A")
	k1, _ := createKeyset(t, s, key, app)
	k2, _ := createKeyset(t, s, key, app)
	var ks struct{ SubscribeKey string }
	json.Unmarshal(mustCall(t, s.URL, "GET", "/v2/keysets/"+k2, key, "", http.StatusOK), &ks)

	today := wallclock.Now().UTC().Truncate(24 * time.Hour)
	d0, d1 := today.AddDate(0, 0, -2).Format(time.DateOnly), today.AddDate(0, 0, -1).Format(time.DateOnly)
	file := writeFile(t, "usage.ndjson", strings.Join([]string{
		fmt.Sprintf(`{"keysetId":%q,"date":%q,"metric":"publish","value":100}`, k1, d0),
		fmt.Sprintf(`{"keysetId":%s,"date":%q,"metric":"publish","value":200}`, k1, d1),
		"",
		fmt.Sprintf(`{"subscribeKey":%q,"date":%q,"metric":"publish","value":5}`, ks.SubscribeKey, d1),
		fmt.Sprintf(`{"keysetId":%q,"date":%q,"metric":"publish","value":250}`, k1, d1), // replaces 200
	}, "\n")+"\n")
	want := map[string]float64{d0: 100, d1: 255}
	for range 2 { // the second import counts nothing twice
		out, errOut, err := runKeyplane(t, nil, "usage", "import", "--database", db, file)
		if err != nil {
			t.Fatalf("usage import: %v (stderr %q)", err, errOut)
		}
		if m := importedRE.FindStringSubmatch(out); m == nil || m[1] != "3" || m[2] != "5" {
			t.Errorf("usage import printed %q, want 3 points from 5 lines", out)
		}
		got := usageOf(t, s, key, "app", app, "publish", today.AddDate(0, 0, -2), today)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("app publish after import: %v, want %v", got, want)
		}
	}

	bad := writeFile(t, "bad.ndjson", strings.Join([]string{
		fmt.Sprintf(`{"keysetId":%q,"date":%q,"metric":"publish","value":999}`, k1, d0),
		`{"keysetId": "1", "date":`,
		fmt.Sprintf(`{"keysetId":"9999","date":%q,"metric":"publish","value":1}`, d0),
		fmt.Sprintf(`{"keysetId":%q,"date":%q,"metric":"publsh","value":1}`, k1, d0),
		fmt.Sprintf(`{"keysetId":%q,"date":%q,"metric":"publish","value":1,"note":"x"}`, k1, d0),
	}, "\n"))
	out, errOut, err := runKeyplane(t, nil, "usage", "import", "--database", db, bad)
	if err == nil || !strings.Contains(err.Error(), "4 problems in 5 lines; nothing was imported") {
		t.Fatalf("bad import: err %v, stdout %q", err, out)
	}
	for _, w := range []string{
		"line 2: invalid JSON",
		"line 3: keysetId: keyset 9999: not found in any account",
		`line 4: metric: unknown metric "publsh"`,
		"line 5: note: unknown field",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("bad import stderr %q does not say %q", errOut, w)
		}
	}
	if got := usageOf(t, s, key, "app", app, "publish", today.AddDate(0, 0, -2), today); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("a refused import changed usage: %v, want %v", got, want)
	}
	if _, _, err := runKeyplane(t, nil, "usage", "import", "--database", db, filepath.Join(t.TempDir(), "missing.ndjson")); err == nil {
		t.Error("importing a missing file succeeded")
	}
}

var simulatedRE = regexp.MustCompile(`^simulated (\d+) points for (\d+) keysets over 30 days \(\d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}\) in [\d.]+ s\n$`)

// simulate: usage for every keyset, every day, the same for the same seed.
func TestUsageSimulate(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	key := createIntegration(t, db, "root", "30d", append(fullAccess, "account:usage:read")...)
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	app := createApp(t, s, key, "A")
	k1, _ := createKeyset(t, s, key, app)
	createKeyset(t, s, key, app)

	today := wallclock.Now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)
	simulate := func(seed string) (string, map[string]float64) {
		t.Helper()
		out, errOut, err := runKeyplane(t, nil, "usage", "simulate", "--database", db, "--days", "30", "--seed", seed)
		if err != nil {
			t.Fatalf("usage simulate: %v (stderr %q)", err, errOut)
		}
		if m := simulatedRE.FindStringSubmatch(out); m == nil || m[1] != fmt.Sprint(2*30*14) || m[2] != "2" {
			t.Errorf("usage simulate printed %q", out)
		}
		return out, usageOf(t, s, key, "keyset", k1, "publish", from, to)
	}
	_, first := simulate("7")
	if len(first) != 30 {
		t.Fatalf("30 days simulated, %d answered", len(first))
	}
	for day, v := range first {
		if v <= 0 {
			t.Errorf("keyset %s published %v on %s", k1, v, day)
		}
	}
	if _, again := simulate("7"); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("the same seed simulated different usage:\n%v\n%v", first, again)
	}
	if _, other := simulate("8"); fmt.Sprint(other) == fmt.Sprint(first) {
		t.Error("another seed simulated the same usage")
	}
	if _, _, err := runKeyplane(t, nil, "usage", "simulate", "--database", db, "--days", "400"); err == nil || !strings.Contains(err.Error(), "--days: must be from 1 to 365") {
		t.Errorf("--days 400: %v", err)
	}
}
