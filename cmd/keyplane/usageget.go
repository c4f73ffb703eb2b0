package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// usageGet is `keyplane usage get`: the usage of one entity, from a server.
func (a *apiCLI) usageGet() *cobra.Command {
	var entityType, entityID, from, to, metrics string
	cmd := &cobra.Command{
		Use:   "get --entity-type account|app|keyset|customer --entity-id ID --metrics a,b [--from TIME] [--to TIME]",
		Short: "Show daily usage of an account, app, keyset or OEM customer (from a server, like the other API commands)",
		Long: `Show daily usage of an account, app, keyset or OEM customer (the keysets it
holds now) over [--from, --to), UTC days.

The table has one row per date and one column per metric; json and yaml print
the API's object, {"metrics":{"<metric>":{"<date>":value}}}. --from and --to
take what audit list takes (a date, an RFC 3339 time, or a span back from
now such as 7d or 2w), each read as the UTC day it falls in. Without --to the
range ends with today; without --from it starts 30 days before --to.

  keyplane usage get --entity-type app --entity-id 12 --metrics publish,subscribe_msgs
  keyplane usage get --entity-type account --entity-id 1 --from 2026-11-01 --to 2026-12-01 \
      --metrics mtd_txn_total -o json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := client.UsageQuery{EntityType: entityType, EntityID: entityID}
			switch entityType {
			case "account", "app", "keyset", "customer":
			case "":
				return usagef(cmd, "--entity-type: required (account, app, keyset or customer)")
			default:
				return usagef(cmd, "--entity-type %q: want account, app, keyset or customer", entityType)
			}
			if entityID == "" {
				return usagef(cmd, "--entity-id: required")
			}
			for m := range strings.SplitSeq(metrics, ",") {
				if m = strings.TrimSpace(m); m != "" {
					q.Metrics = append(q.Metrics, m)
				}
			}
			if len(q.Metrics) == 0 {
				return usagef(cmd, "--metrics: required, a comma-separated list such as publish,subscribe_msgs")
			}
			now := wallclock.Now()
			var err error
			if q.To, err = parseDay(cmd, "--to", to, now, now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)); err != nil {
				return err
			}
			if q.From, err = parseDay(cmd, "--from", from, now, q.To.AddDate(0, 0, -30)); err != nil {
				return err
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			u, err := c.UsageMetrics(cmd.Context(), q)
			if err != nil {
				return err
			}
			if u == nil {
				u = client.Usage{}
			}
			return a.print(cmd, map[string]any{"metrics": u}, usageTable(q.Metrics, u))
		},
	}
	f := cmd.Flags()
	f.StringVar(&entityType, "entity-type", "", "account, app, keyset or customer (required)")
	f.StringVar(&entityID, "entity-id", "", "the account, app, keyset or customer id (required)")
	f.StringVar(&metrics, "metrics", "", "comma-separated metric names, e.g. publish,subscribe_msgs (required)")
	f.StringVar(&from, "from", "", "first day, inclusive: a date, an RFC 3339 time or a span back from now (7d), taken as its UTC day (default: 30 days before --to)")
	f.StringVar(&to, "to", "", "end day, exclusive: as --from (default: tomorrow, so today is included)")
	cmd.RegisterFlagCompletionFunc("entity-type", cobra.FixedCompletions([]string{"account", "app", "keyset", "customer"}, cobra.ShellCompDirectiveNoFileComp))
	a.flags(cmd, false)
	return cmd
}

// parseDay reads a --from or --to of usage get as every command reads a
// time (parseWhen: a date, an RFC 3339 time, or a span back from now such
// as 7d), then takes the UTC day it falls in, since usage is kept by day;
// def when it is empty.
func parseDay(cmd *cobra.Command, name, v string, now, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, ok := parseWhen(v, now)
	if !ok {
		return time.Time{}, usagef(cmd, "%s %q: want %s", name, v, whenHelp)
	}
	return t.UTC().Truncate(24 * time.Hour), nil
}

// usageTable draws usage with one row per date and one column per metric,
// in the order the metrics were asked for.
func usageTable(metrics []string, u client.Usage) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		dates := map[string]bool{}
		for _, byDate := range u {
			for d := range byDate {
				dates[d] = true
			}
		}
		var cols []string
		for _, m := range metrics {
			if !slices.Contains(cols, m) {
				cols = append(cols, m)
			}
		}
		head := append([]string{"DATE"}, cols...)
		row(w, head...)
		for _, d := range slices.Sorted(maps.Keys(dates)) {
			cells := []string{d}
			for _, m := range cols {
				v, ok := u[m][d]
				cell := "-"
				if ok {
					cell = strconv.FormatFloat(v, 'f', -1, 64)
				}
				cells = append(cells, cell)
			}
			row(w, cells...)
		}
		if len(dates) == 0 {
			fmt.Fprintln(w, "(no days in the range)")
		}
	}
}
