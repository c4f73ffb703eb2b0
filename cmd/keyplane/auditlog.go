package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// actorText names an actor as the actor filter takes it: "operator",
// "integration/3".
func actorText(a client.AuditActor) string {
	if a.ID == nil {
		return a.Type
	}
	return a.Type + "/" + *a.ID
}

func auditTable(events []client.AuditEvent) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ID", "TIME", "TYPE", "TARGET", "ACTOR", "NAME")
		for _, e := range events {
			row(w, e.ID, e.At.String(), e.Type, e.Target.Type+"/"+e.Target.ID, actorText(e.Actor), e.Actor.Name)
		}
	}
}

// auditEventTypes are the event types, for completing --type: the ones the
// server accepts, from the one list.
var auditEventTypes = keyplane.EventTypes

func (a *apiCLI) auditList() *cobra.Command {
	var from, to, actor, target, cursor string
	var types []string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--from TIME] [--to TIME] [--type TYPE]... [--actor ACTOR] [--target TARGET] [--limit N [--cursor CURSOR]]",
		Short: "List the account's audit events, oldest first, every page unless --limit or --cursor is given",
		Long: `List the account's audit events, oldest first: every change, who made it and
to what. The key needs Account · Audit log · Read (account:audit-log:read).

Filters:
  --from, --to   from (inclusive) and to (exclusive): an RFC 3339 time
                 (2026-11-01T00:00:00Z), a UTC date (2026-11-01), or a span
                 back from now (30m, 24h, 7d, 2w)
  --type         event types, such as KeysetConfigChanged (repeat, or
                 separate with commas)
  --actor        who: operator, integration or integration/ID
  --target       what: TYPE or TYPE/ID, such as keyset/12, app/3, customer/7

Without --limit or --cursor every page is read. With them one page is
printed: in json and yaml with its nextCursor (null on the last page), in a
table with the next command's --cursor on stderr. A cursor works only with
the filters of the page it came from.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f client.AuditFilter
			now := wallclock.Now()
			for _, x := range []struct {
				name, val string
				dst       *time.Time
			}{{"--from", from, &f.From}, {"--to", to, &f.To}} {
				if x.val == "" {
					continue
				}
				t, ok := parseWhen(x.val, now)
				if !ok {
					return usagef(cmd, "%s %q: want %s", x.name, x.val, whenHelp)
				}
				*x.dst = t
			}
			for _, t := range types {
				if t = strings.TrimSpace(t); t != "" {
					f.Types = append(f.Types, t)
				}
			}
			f.Actor, f.Target, f.Limit = actor, target, limit
			paged := cmd.Flags().Changed("limit") || cursor != ""
			if cmd.Flags().Changed("limit") && limit < 1 {
				return usagef(cmd, "--limit %d: want 1 to 100 events a page", limit) // 0 would leave the page size to the server
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			var events []client.AuditEvent
			var next *string
			if paged {
				p, err := c.ListAuditEvents(cmd.Context(), f, cursor)
				if err != nil {
					return err
				}
				events = p.Events
				next = optString(p.NextCursor)
			} else {
				for e, err := range c.AuditEvents(cmd.Context(), f) {
					if err != nil {
						return err
					}
					events = append(events, e)
				}
			}
			if events == nil {
				events = []client.AuditEvent{}
			}
			return a.print(cmd, map[string]any{"events": events, "nextCursor": next}, func(w *tabwriter.Writer) {
				auditTable(events)(w)
				if next != nil {
					fmt.Fprintf(a.stderr, "more events: add --cursor %s (with the same filters)\n", *next)
				}
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "events at or after this time: RFC 3339, a date, or a span back from now (7d)")
	fl.StringVar(&to, "to", "", "events before this time: RFC 3339, a date, or a span back from now (1h)")
	fl.StringSliceVar(&types, "type", nil, "event type, such as KeysetConfigChanged (repeat, or separate with commas)")
	fl.StringVar(&actor, "actor", "", "who made the change: operator, integration or integration/ID")
	fl.StringVar(&target, "target", "", "what changed: TYPE or TYPE/ID, such as keyset/12")
	fl.IntVar(&limit, "limit", 0, "print one page of this many events (1-100)")
	fl.StringVar(&cursor, "cursor", "", "print the page after the one that answered this nextCursor")
	cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(auditEventTypes, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("actor", cobra.FixedCompletions([]string{"operator", "integration", "integration/"}, cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace))
	cmd.RegisterFlagCompletionFunc("target", cobra.FixedCompletions([]string{"app/", "keyset/", "integration/", "api-key/", "customer/", "account/"}, cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveNoSpace))
	return cmd
}
