package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
)

// The webhooks commands: the /v2/webhooks routes. The key needs Account ·
// Webhooks · Read (account:webhook:read) to read and Read & write
// (account:webhook:rw) to change.

func webhooksTable(ws []client.Webhook) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ID", "URL", "EVENTS", "STATE", "DESCRIPTION")
		for _, h := range ws {
			state := "enabled"
			if !h.Enabled {
				state = "disabled"
				if h.DisabledReason != nil {
					state += " (" + *h.DisabledReason + ")"
				}
			}
			row(w, h.ID, h.URL, strings.Join(h.Events, ","), state, h.Description)
		}
	}
}

func deliveriesTable(ds []client.WebhookDelivery) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ID", "EVENT", "STATUS", "ATTEMPTS", "RESPONSE", "LATENCY", "LAST ATTEMPT", "NEXT ATTEMPT")
		for _, d := range ds {
			resp, latency := "-", "-"
			if d.ResponseStatus != nil {
				resp = strconv.Itoa(*d.ResponseStatus)
			} else if d.Error != nil {
				resp = *d.Error
			}
			if d.LatencyMs != nil {
				latency = strconv.FormatInt(*d.LatencyMs, 10) + "ms"
			}
			row(w, d.ID, d.EventType, d.Status, strconv.Itoa(d.Attempts), resp, latency, optTime(d.LastAttemptAt), optTime(d.NextAttemptAt))
		}
	}
}

// optTime writes a time the API may leave null, "-" then.
func optTime(t *client.Time) string {
	if t == nil {
		return "-"
	}
	return t.String()
}

// printWebhook prints one webhook, or returns err.
func (a *apiCLI) printWebhook(cmd *cobra.Command, w client.Webhook, err error) error {
	if err != nil {
		return err
	}
	return a.print(cmd, w, webhooksTable([]client.Webhook{w}))
}

// printSecret prints a webhook that was just given a signing secret: in
// the table format the secret alone on stdout (SECRET=$(keyplane webhooks
// create …) works), and what was done on stderr; in json and yaml the
// webhook with its secret.
func (a *apiCLI) printSecret(cmd *cobra.Command, w client.Webhook, said string) error {
	return a.print(cmd, w, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, w.Secret)
		fmt.Fprintf(a.stderr, "%s. The signing secret above is shown this once: give it to your receiver, which verifies each delivery's webhook-signature with it.\n", said)
	})
}

// eventsFlag is the --event flag: event types, repeatable or separated by
// commas.
func eventsFlag(cmd *cobra.Command, events *[]string, usage string) {
	cmd.Flags().StringSliceVar(events, "event", nil, usage)
	_ = cmd.RegisterFlagCompletionFunc("event", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return append([]cobra.Completion{keyplane.AllEvents}, keyplane.EventTypes...), cobra.ShellCompDirectiveNoFileComp
	})
}

func (a *apiCLI) webhooksList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the account's webhooks, oldest first",
		Args:  usageArgs(cobra.NoArgs),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ws, err := c.ListWebhooks(cmd.Context())
			if err != nil {
				return err
			}
			if ws == nil {
				ws = []client.Webhook{}
			}
			return a.print(cmd, map[string]any{"webhooks": ws}, webhooksTable(ws))
		}),
	}
}

func (a *apiCLI) webhooksGet() *cobra.Command {
	return &cobra.Command{
		Use:   "get WEBHOOK_ID",
		Short: "Show one webhook",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			w, err := c.GetWebhook(cmd.Context(), args[0])
			return a.printWebhook(cmd, w, err)
		}),
	}
}

func (a *apiCLI) webhooksCreate() *cobra.Command {
	var n client.NewWebhook
	cmd := &cobra.Command{
		Use:   "create --url URL [--description TEXT] [--event TYPE]...",
		Short: "Register a webhook; prints its signing secret once",
		Long: `Register a receiver of the account's events. Without --event it gets every
event ("*"), those of later releases too; --event names event types
(repeat, or separate with commas), such as KeysetCreated.

The URL must be https and outside private networks, unless the server runs
with --webhooks-allow-private. In the table format only the signing secret
(whsec_…) is printed on stdout, the one time it is shown; the webhook's id
is said on stderr.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			if n.URL == "" {
				return usagef(cmd, "give --url, the receiver's address")
			}
			if len(n.Events) == 0 {
				n.Events = []string{keyplane.AllEvents}
			}
			w, err := c.CreateWebhook(cmd.Context(), n)
			if err != nil {
				return err
			}
			return a.printSecret(cmd, w, "registered webhook "+w.ID)
		}),
	}
	cmd.Flags().StringVar(&n.URL, "url", "", "where the events are sent (https://hooks.example.com/keyplane)")
	cmd.Flags().StringVar(&n.Description, "description", "", "what the receiver is, for people (up to 255 characters)")
	eventsFlag(cmd, &n.Events, `the event types sent (default "*", every event)`)
	return cmd
}

func (a *apiCLI) webhooksUpdate() *cobra.Command {
	var url, description string
	var events []string
	var enable, disable bool
	cmd := &cobra.Command{
		Use:   "update WEBHOOK_ID [--url URL] [--description TEXT] [--event TYPE]... [--enable | --disable]",
		Short: "Change a webhook's URL, description or events, or turn it on or off",
		Long: `Change what is given and nothing else. --event replaces the event types
("*" for every event). --disable stops sending (events recorded meanwhile
are not queued); --enable turns a webhook back on, also one the server
disabled, and gives its deliveries still waiting their retries afresh.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			var ch client.WebhookChange
			fl := cmd.Flags()
			if fl.Changed("url") {
				ch.URL = &url
			}
			if fl.Changed("description") {
				ch.Description = &description
			}
			if fl.Changed("event") {
				if len(events) == 0 {
					return usagef(cmd, `--event: name an event type, or "*" for every event`)
				}
				ch.Events = events
			}
			switch {
			case enable && disable:
				return usagef(cmd, "give --enable or --disable, not both")
			case enable || disable:
				ch.Enabled = &enable
			}
			if ch.URL == nil && ch.Description == nil && ch.Events == nil && ch.Enabled == nil {
				return usagef(cmd, "nothing to change: give --url, --description, --event, --enable or --disable")
			}
			w, err := c.UpdateWebhook(cmd.Context(), args[0], ch)
			return a.printWebhook(cmd, w, err)
		}),
	}
	cmd.Flags().StringVar(&url, "url", "", "the receiver's new address")
	cmd.Flags().StringVar(&description, "description", "", "the new description (\"\" clears it)")
	eventsFlag(cmd, &events, "the event types sent from now on, replacing the old ones")
	cmd.Flags().BoolVar(&enable, "enable", false, "turn the webhook on")
	cmd.Flags().BoolVar(&disable, "disable", false, "turn the webhook off")
	return cmd
}

func (a *apiCLI) webhooksDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete WEBHOOK_ID",
		Short: "Delete a webhook and its deliveries",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteWebhook(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.print(cmd, deletedView{"webhook", args[0]}, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "deleted webhook %s\n", args[0])
			})
		}),
	}
}

func (a *apiCLI) webhooksRotateSecret() *cobra.Command {
	var e expiryFlags
	cmd := &cobra.Command{
		Use:   "rotate-secret WEBHOOK_ID [--previous-expires-in DURATION | --previous-expires-at TIME]",
		Short: "Give a webhook a new signing secret; prints it once",
		Long: `Give a webhook a new signing secret and print it once (alone on stdout in
the table format). Without --previous-expires-in or --previous-expires-at
the old secret stops signing at once; with one of them (at most 7 days
ahead) it keeps signing beside the new one until then, each delivery
carrying both signatures, so the receiver can move over.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := e.time(cmd, "--previous-expires-in", "--previous-expires-at")
			if err != nil {
				return err
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			w, err := c.RotateWebhookSecret(cmd.Context(), args[0], at)
			if err != nil {
				return err
			}
			said := "rotated the signing secret of webhook " + w.ID + "; the old one no longer signs"
			if at != nil {
				said = "rotated the signing secret of webhook " + w.ID + "; the old one signs too until " + keyplane.FormatTime(*at)
			}
			return a.printSecret(cmd, w, said)
		},
	}
	e.add(cmd, "previous-expires-in", "previous-expires-at", "the old secret")
	return cmd
}

func (a *apiCLI) webhooksDeliveries() *cobra.Command {
	var status string
	var limit int
	cmd := &cobra.Command{
		Use:   "deliveries WEBHOOK_ID [--status pending|delivered|failed] [--limit N]",
		Short: "List a webhook's newest deliveries, newest first",
		Long: `List a webhook's newest deliveries, newest first: status, attempts, the
receiver's last answer (its status code, or what went wrong), latency, and
the last and next attempt. A delivery's id is its event's id.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if cmd.Flags().Changed("limit") && (limit < 1 || limit > keyplane.MaxDeliveriesLimit) {
				return usagef(cmd, "--limit %d: want 1 to %d deliveries", limit, keyplane.MaxDeliveriesLimit)
			}
			ds, err := c.WebhookDeliveries(cmd.Context(), args[0], status, limit)
			if err != nil {
				return err
			}
			if ds == nil {
				ds = []client.WebhookDelivery{}
			}
			return a.print(cmd, map[string]any{"deliveries": ds}, deliveriesTable(ds))
		}),
	}
	cmd.Flags().StringVar(&status, "status", "", "only deliveries with this status: pending, delivered or failed")
	cmd.Flags().IntVar(&limit, "limit", 0, fmt.Sprintf("how many (1-%d, default %d)", keyplane.MaxDeliveriesLimit, keyplane.DefaultDeliveriesLimit))
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]cobra.Completion{"pending", "delivered", "failed"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// printDelivery prints one delivery, or returns err.
func (a *apiCLI) printDelivery(cmd *cobra.Command, d client.WebhookDelivery, err error) error {
	if err != nil {
		return err
	}
	return a.print(cmd, d, deliveriesTable([]client.WebhookDelivery{d}))
}

func (a *apiCLI) webhooksRetry() *cobra.Command {
	return &cobra.Command{
		Use:   "retry WEBHOOK_ID DELIVERY_ID",
		Short: "Send a delivery again, at once, with the same webhook-id",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.RetryWebhookDelivery(cmd.Context(), args[0], args[1])
			return a.printDelivery(cmd, d, err)
		}),
	}
}

func (a *apiCLI) webhooksTest() *cobra.Command {
	return &cobra.Command{
		Use:   "test WEBHOOK_ID",
		Short: "Send a test event (WebhookTested) to one webhook",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.TestWebhook(cmd.Context(), args[0])
			return a.printDelivery(cmd, d, err)
		}),
	}
}
