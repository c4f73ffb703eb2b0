package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/wallclock"
)

// usage get against a real server: a table of dates by metrics, the API's
// object in json and yaml, and the server's refusals with their exit codes.
func TestCLIUsageGet(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	e.key = createIntegration(t, e.db, "reader", "30d", append(fullAccess, "account:usage:read")...)
	app, keyset, _ := e.createKeysetCLI("k")

	today := wallclock.Now().UTC().Truncate(24 * time.Hour)
	d0, d1 := today.AddDate(0, 0, -2).Format(time.DateOnly), today.AddDate(0, 0, -1).Format(time.DateOnly)
	file := writeFile(t, "usage.ndjson", strings.Join([]string{
		fmt.Sprintf(`{"keysetId":%q,"date":%q,"metric":"publish","value":100}`, keyset, d0),
		fmt.Sprintf(`{"keysetId":%q,"date":%q,"metric":"publish","value":250}`, keyset, d1),
		fmt.Sprintf(`{"keysetId":%q,"date":%q,"metric":"subscribe_msgs","value":7}`, keyset, d1),
	}, "\n")+"\n")
	if _, errOut, err := runKeyplane(t, nil, "usage", "import", "--database", e.db, file); err != nil {
		t.Fatalf("usage import: %v\n%s", err, errOut)
	}
	from, to := d0, today.Format(time.DateOnly)

	// The table: a header, then one row per date of [from, to), in order.
	r := e.ok("usage", "get", "--entity-type", "app", "--entity-id", app, "--from", from, "--to", to, "--metrics", "publish,subscribe_msgs")
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	want := [][]string{{"DATE", "publish", "subscribe_msgs"}, {d0, "100", "0"}, {d1, "250", "7"}}
	if len(lines) != len(want) {
		t.Fatalf("usage get table:\n%s\nwant %d lines", r.stdout, len(want))
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("usage get table line %d = %q, want %q", i, got, w)
		}
	}

	// json and yaml: the API's object, at each level.
	for _, f := range []string{outputJSON, outputYAML} {
		for _, ent := range [][2]string{{"keyset", keyset}, {"app", app}, {"account", "1"}} {
			out := decode(t, f, e.ok("usage", "get", "--entity-type", ent[0], "--entity-id", ent[1], "--from", from, "--to", to, "--metrics", "publish", "-o", f))
			m := obj(t, out["metrics"])
			p := obj(t, m["publish"])
			if len(m) != 1 || len(p) != 2 || p[d0] != 100.0 || p[d1] != 250.0 {
				t.Errorf("usage get %s %s -o %s = %v", ent[0], ent[1], f, out)
			}
		}
	}

	// Without --from and --to: the 30 days up to today, today included.
	out := decode(t, outputJSON, e.ok("usage", "get", "--entity-type", "keyset", "--entity-id", keyset, "--metrics", "publish", "-o", "json"))
	p := obj(t, obj(t, out["metrics"])["publish"])
	if len(p) != 30 || p[today.Format(time.DateOnly)] != 0.0 || p[d1] != 250.0 {
		t.Errorf("usage get with the default range = %v", p)
	}

	// --from takes what audit list takes: a span back from now, as its UTC day.
	out = decode(t, outputJSON, e.ok("usage", "get", "--entity-type", "keyset", "--entity-id", keyset, "--metrics", "publish", "--from", "2d", "--to", to, "-o", "json"))
	if p := obj(t, obj(t, out["metrics"])["publish"]); len(p) != 2 || p[d0] != 100.0 || p[d1] != 250.0 {
		t.Errorf("usage get --from 2d = %v, want %s and %s", p, d0, d1)
	}
	e.fails(exitUsage, []string{`--from "soon": want an RFC 3339 time`, "a span back from now (30m, 24h, 7d, 2w, 1y)"},
		"usage", "get", "--entity-type", "app", "--entity-id", app, "--metrics", "publish", "--from", "soon")

	// The server's refusals, with every message and the CLI's exit codes.
	e.fails(exitUsage, []string{"400 Bad Request: Invalid metrics: pubish"},
		"usage", "get", "--entity-type", "app", "--entity-id", app, "--metrics", "pubish")
	e.fails(exitUsage, []string{"400 BadRequest", "to"},
		"usage", "get", "--entity-type", "app", "--entity-id", app, "--from", to, "--to", from, "--metrics", "publish")
	e.fails(exitNotFound, []string{"404 NotFound"},
		"usage", "get", "--entity-type", "account", "--entity-id", "999", "--metrics", "publish")
	noUsage := createIntegration(t, e.db, "no usage", "30d", fullAccess...)
	e.failsWith(map[string]string{"KEYPLANE_API_KEY": noUsage}, "", exitAuth, []string{"403 Forbidden", "Usage"},
		"usage", "get", "--entity-type", "app", "--entity-id", app, "--metrics", "publish")

	// Mistakes caught before anything is sent.
	e.fails(exitUsage, []string{"--metrics: required"}, "usage", "get", "--entity-type", "app", "--entity-id", app)
	e.fails(exitUsage, []string{"--entity-type \"apps\""}, "usage", "get", "--entity-type", "apps", "--entity-id", app, "--metrics", "publish")
	e.fails(exitUsage, []string{"--entity-id: required"}, "usage", "get", "--entity-type", "app", "--metrics", "publish")
	e.fails(exitUsage, []string{"--from \"2026-13-01\""}, "usage", "get", "--entity-type", "app", "--entity-id", app, "--metrics", "publish", "--from", "2026-13-01")
	e.fails(exitUsage, []string{"unknown flag: --database"}, "usage", "get", "--database", "x.db", "--entity-type", "app", "--entity-id", app, "--metrics", "publish")
}
