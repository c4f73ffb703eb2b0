package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/internal/buildinfo"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/httpapi"
	"github.com/keyplane/keyplane/internal/logwriter"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/server"
	"github.com/keyplane/keyplane/store"
	"github.com/keyplane/keyplane/webhook"
)

// env returns the value of the environment variable name, or def.
func env(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func rootCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "keyplane",
		Short:         "A self-hosted control plane for realtime messaging, compatible with PubNub's Admin API v2",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Runnable, so that an unknown command is a usage error (exit 2)
		// rather than cobra's help with exit 0.
		Args:    usageArgs(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		Version: buildinfo.Read().String(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{cmd: cmd, err: err} })
	root.AddCommand(commands(getenv, stdout, stderr)...)
	// The completion command is otherwise added only as the program runs,
	// too late to be made strict below.
	root.InitDefaultCompletionCmd()
	strictGroups(root)
	return root
}

// commands is the table of keyplane's top-level commands: every command
// is found from here, the API client's groups with their subcommands, the
// operator's in adminCommand and usage's in usageCommand. Help lists them
// by name, whatever their order here.
func commands(getenv func(string) string, stdout, stderr io.Writer) []*cobra.Command {
	api := newAPICLI(getenv, stderr)
	return []*cobra.Command{
		// The server, and the operator's commands on its database.
		serveCommand(getenv, stdout, stderr),
		adminCommand(getenv, stdout, stderr),

		// The API client: commands that call a server's /v2 with an API key,
		// sharing --url, --api-key, --output and --api-version.
		api.group("apps", "Manage apps",
			api.appsList(), api.appsGet(), api.appsCreate(), api.appsRename(), api.appsDelete()),
		api.group("keysets", "Manage keysets",
			api.keysetsList(), api.keysetsGet(), api.keysetsCreate(), api.keysetsUpdate(), api.keysetsDelete()),
		api.group("config", "Read and change a keyset's feature configuration",
			api.configGet(), api.configSet(), api.configUploadAPNs(), api.configUploadFCM()),
		api.group("secret-keys", "List, rotate, expire and delete a keyset's secret keys",
			api.secretKeysList(), api.secretKeysRotate(), api.secretKeysSetExpiry(), api.secretKeysDelete()),
		api.command(api.meCmd()),
		api.group("authz", "Ask whether the API key may run an operation",
			api.authzCheck()),
		api.group("customers", "Manage OEM customers (partner accounts only)",
			api.customersList(), api.customersGet(), api.customersCreate(), api.customersUpdate(), api.customersAssign(),
			api.customersApps(), api.customersKeysets(), api.customersOfKeyset()),
		api.group("audit", "Read the account's audit log",
			api.auditList()),
		api.group("webhooks", "Send the account's events to receivers of your own, signed (Standard Webhooks)",
			api.webhooksList(), api.webhooksGet(), api.webhooksCreate(), api.webhooksUpdate(), api.webhooksDelete(),
			api.webhooksRotateSecret(), api.webhooksDeliveries(), api.webhooksRetry(), api.webhooksTest()),
		// usage get asks the API; usage import and simulate write a database.
		usageCommand(getenv, stdout, stderr, api),
		// The API's tools for AI assistants (MCP), over stdin and stdout.
		api.mcpCommand(),

		// Declarative configuration, through the API.
		api.planCommand(),
		api.applyCommand(),

		versionCommand(stdout),
	}
}

// strictGroups makes every command that only holds others (admin,
// customers, completion, …) refuse an unknown subcommand as a usage error
// (exit 2, naming it), as the root does: cobra would print the group's help
// and exit 0, and a typo in a script would pass for success. Alone, a group
// still prints its help.
func strictGroups(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		strictGroups(sub)
	}
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = usageArgs(cobra.NoArgs)
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
}

// versionCommand prints which build this is, as --version does.
func versionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and time, and Go version of this build",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(stdout, buildinfo.Read())
			return err
		},
	}
}

// checkAddr refuses a listen address without a port before anything
// starts, saying what to write instead: a bare port (18102) is the usual
// slip, and Go's own "missing port in address" does not say what to do.
func checkAddr(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return nil
	}
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		return fmt.Errorf("--addr %q (or KEYPLANE_ADDR): a port alone is not an address; write 127.0.0.1:%s (this machine only) or :%s (every interface)", addr, addr, addr)
	}
	if addr == "" || (strings.HasPrefix(addr, ":") && net.ParseIP(addr) == nil) {
		return fmt.Errorf("--addr %q (or KEYPLANE_ADDR): want HOST:PORT such as 127.0.0.1:8080", addr)
	}
	return fmt.Errorf("--addr %q (or KEYPLANE_ADDR): no port; write HOST:PORT such as %s", addr, net.JoinHostPort(strings.Trim(addr, "[]"), "8080"))
}

// serveGCPercent is serve's GOGC unless the environment sets one.
const serveGCPercent = 400

func serveCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	var cfg server.Config
	var m mailFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API and the Admin Portal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A line per request: gathered, so that a busy server does
			// not pay a system call for each.
			logs := logwriter.New(stderr)
			defer logs.Flush()
			// slog's JSON lines, the request line formatted without
			// slog's per-record work (logwriter.JSONHandler).
			cfg.Logger = slog.New(logwriter.NewJSONHandler(logs))
			if getenv("GOGC") == "" {
				// The server's live heap is small (tens of MB with a
				// million keysets): collecting at 5× it rather than 2×
				// costs little memory and takes the collector out of most
				// requests' tail latency (P1/P3 in scripts/bench).
				debug.SetGCPercent(serveGCPercent)
			}
			// The link goes to stdout: stderr holds only JSON log lines,
			// and the link, a secret, must not end up among the logs.
			cfg.SetupLink = func(url string) {
				fmt.Fprintf(stdout, "\nNo Admin Portal user exists yet. Open this one-time link within 24 hours to create the Owner:\n\n    %s\n\n(or run: keyplane admin create-user --email YOU --role owner)\n\n", url)
			}
			if err := checkAddr(cfg.Addr); err != nil {
				return &usageError{cmd: cmd, err: err}
			}
			cfg.SMTPURL, cfg.SMTPFrom, cfg.SMTPPasswordFile, cfg.PublicURL = m.smtpURL, m.from, m.passwordFile, m.publicURL
			return server.Run(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVar(&cfg.Addr, "addr", env(getenv, "KEYPLANE_ADDR", "127.0.0.1:8080"), "listen address (env KEYPLANE_ADDR)")
	cmd.Flags().BoolVar(&cfg.TrustProxy, "trust-proxy", env(getenv, "KEYPLANE_TRUST_PROXY", "") == "true",
		"a reverse proxy stands in front: trust its X-Forwarded-For and X-Forwarded-Proto (env KEYPLANE_TRUST_PROXY=true)")
	databaseFlag(cmd, &cfg.Database, getenv)
	retentionFlag(cmd, &cfg.UsageRetentionDays, getenv)
	limitFlags(cmd, &cfg.Limits, getenv)
	cmd.Flags().StringVar(&cfg.KEKFile, "kek-file", getenv("KEYPLANE_KEK_FILE"), "file of the key that seals secret keys at rest, made on first start (default: DATABASE.kek, or ./keyplane.kek for PostgreSQL; env KEYPLANE_KEK_FILE)")
	cmd.Flags().StringVar(&cfg.TLSCert, "tls-cert", getenv("KEYPLANE_TLS_CERT"), "PEM certificate chain; with --tls-key, serve HTTPS only (env KEYPLANE_TLS_CERT)")
	cmd.Flags().StringVar(&cfg.PprofAddr, "pprof", getenv("KEYPLANE_PPROF"), "serve Go's profiler (net/http/pprof) at this host:port, apart from the API; off unless given, keep it on loopback (env KEYPLANE_PPROF)")
	cmd.Flags().StringVar(&cfg.TLSKey, "tls-key", getenv("KEYPLANE_TLS_KEY"), "PEM private key of --tls-cert (env KEYPLANE_TLS_KEY)")
	cmd.Flags().BoolVar(&cfg.WebhooksAllowPrivate, "webhooks-allow-private", env(getenv, "KEYPLANE_WEBHOOKS_ALLOW_PRIVATE", "") == "true",
		"let webhooks reach loopback, private and link-local addresses and plain http: for tests and internal receivers (env KEYPLANE_WEBHOOKS_ALLOW_PRIVATE=true)")
	webhookSendersFlag(cmd, &cfg.WebhookSenders, getenv)
	m.add(cmd, getenv)
	cmd.Flags().BoolVar(&cfg.Signup, "signup", env(getenv, "KEYPLANE_SIGNUP", "") == "true",
		"let anyone create an account by confirming their e-mail address; needs --smtp-url (env KEYPLANE_SIGNUP=true)")
	return cmd
}

// envNumber is the number in the environment variable name, or def. A
// value that is not a number reads as -1, which every numeric flag refuses
// with its own message.
func envNumber(getenv func(string) string, name string, def float64) float64 {
	s := getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return n
}

// checkFirst runs check before cmd runs, after the checks added earlier.
func checkFirst(cmd *cobra.Command, check func() error) {
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if prev != nil {
			if err := prev(c, args); err != nil {
				return err
			}
		}
		return check()
	}
}

// limitFlags adds the per-key limits of serve, checked before it runs.
func limitFlags(cmd *cobra.Command, l *httpapi.Limits, getenv func(string) string) {
	def := httpapi.DefaultLimits
	cmd.Flags().Float64Var(&l.Rate, "rate-limit", envNumber(getenv, "KEYPLANE_RATE_LIMIT", def.Rate), "requests a second each API key may make, per server; 0 turns it off (env KEYPLANE_RATE_LIMIT)")
	cmd.Flags().IntVar(&l.Burst, "rate-burst", int(envNumber(getenv, "KEYPLANE_RATE_BURST", float64(def.Burst))), "requests an API key may make at once before the rate applies (env KEYPLANE_RATE_BURST)")
	cmd.Flags().IntVar(&l.Concurrent, "max-concurrent-per-key", int(envNumber(getenv, "KEYPLANE_MAX_CONCURRENT_PER_KEY", float64(def.Concurrent))), "requests one API key may have in progress at once, per server; 0 turns it off (env KEYPLANE_MAX_CONCURRENT_PER_KEY)")
	checkFirst(cmd, func() error {
		switch {
		case l.Rate < 0 || l.Rate > 1e6 || math.IsNaN(l.Rate):
			return fmt.Errorf("--rate-limit (or KEYPLANE_RATE_LIMIT): must be a number from 0 to 1000000")
		case l.Burst < 1 || l.Burst > 1e6:
			return fmt.Errorf("--rate-burst (or KEYPLANE_RATE_BURST): must be a whole number from 1 to 1000000")
		case l.Concurrent < 0 || l.Concurrent > 1e6:
			return fmt.Errorf("--max-concurrent-per-key (or KEYPLANE_MAX_CONCURRENT_PER_KEY): must be a whole number from 0 to 1000000")
		}
		return nil
	})
}

// maxWebhookSenders bounds --webhook-senders: each slot may hold a
// connection and a goroutine.
const maxWebhookSenders = 4096

// webhookSendersFlag adds --webhook-senders, checked before serve runs.
func webhookSendersFlag(cmd *cobra.Command, p *int, getenv func(string) string) {
	def := envNumber(getenv, "KEYPLANE_WEBHOOK_SENDERS", webhook.DefaultSenders)
	if def != float64(int(def)) {
		def = -1 // refused below
	}
	cmd.Flags().IntVar(p, "webhook-senders", int(def), "webhook deliveries this server sends at once (env KEYPLANE_WEBHOOK_SENDERS)")
	checkFirst(cmd, func() error {
		if *p < 1 || *p > maxWebhookSenders {
			return fmt.Errorf("--webhook-senders (or KEYPLANE_WEBHOOK_SENDERS): must be a whole number from 1 to %d", maxWebhookSenders)
		}
		return nil
	})
}

// retentionFlag adds --usage-retention-days, checked before the command runs.
func retentionFlag(cmd *cobra.Command, p *int, getenv func(string) string) {
	def := envNumber(getenv, "KEYPLANE_USAGE_RETENTION_DAYS", keyplane.DefaultUsageRetentionDays)
	if def != float64(int(def)) {
		def = -1 // a fraction of a day: refused below
	}
	cmd.Flags().IntVar(p, "usage-retention-days", int(def), "days of usage kept and answered (env KEYPLANE_USAGE_RETENTION_DAYS)")
	checkFirst(cmd, func() error {
		if *p < keyplane.MinUsageRetentionDays || *p > keyplane.MaxUsageRetentionDays {
			return fmt.Errorf("--usage-retention-days (or KEYPLANE_USAGE_RETENTION_DAYS): must be a whole number from %d to %d", keyplane.MinUsageRetentionDays, keyplane.MaxUsageRetentionDays)
		}
		return nil
	})
}

const databaseUsage = "SQLite database file, or PostgreSQL URL postgres://user:password@host:port/dbname (env KEYPLANE_DATABASE)"

func databaseFlag(cmd *cobra.Command, p *string, getenv func(string) string) {
	cmd.Flags().StringVar(p, "database", env(getenv, "KEYPLANE_DATABASE", "./keyplane.db"), databaseUsage)
}

// admin holds what the admin commands share: the database they open.
type admin struct {
	database string
	account  int64
	stdout   io.Writer
	stderr   io.Writer
}

// open opens the database and returns the service on it, with the account
// to act in (the first one unless --account names another).
func (a *admin) open(ctx context.Context) (*control.Service, int64, func(), error) {
	svc, done, err := a.openService(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	account := a.account
	if account == 0 {
		as, err := svc.Accounts(ctx)
		if err != nil {
			done()
			return nil, 0, nil, err
		}
		account = as[0].ID
	}
	return svc, account, done, nil
}

func adminCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	a := &admin{stdout: stdout, stderr: stderr}
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Operator commands that work on the database directly (also while a server runs on it)",
	}
	cmd.PersistentFlags().StringVar(&a.database, "database", env(getenv, "KEYPLANE_DATABASE", "./keyplane.db"), databaseUsage)
	cmd.PersistentFlags().Int64Var(&a.account, "account", 0, "account id (default: the first account)")
	// The table of the operator's commands, by what they work on. Help
	// lists them by name.
	cmd.AddCommand(
		// The database itself.
		a.migrate(), a.copyCmd(), a.backupCmd(),
		// Accounts.
		a.createAccount(), a.renameAccount(), a.listAccounts(), a.disableAccount(true), a.disableAccount(false),
		a.setPartner(true), a.setPartner(false), a.setAccountPolicy(),
		// Service Integrations and their API keys.
		a.createIntegration(), a.createKey(), a.revokeKey(), a.rollKey(), a.listIntegrations(), a.checkKey(),
		a.suspendIntegration(true), a.suspendIntegration(false), a.setIntegrationNetworks(),
		// Admin Portal users, and the links e-mail sends them.
		a.createUser(), a.invite(getenv), a.resetPassword(getenv),
		// Single sign-on.
		a.setOIDC(getenv), a.showOIDC(), a.removeOIDC(),
		// The audit log.
		a.verifyAudit(), a.exportAudit(),
		// Keys of the operator API (/operator/v1).
		a.createOperatorKey(), a.listOperatorKeys(), a.revokeOperatorKey(),
	)
	return cmd
}

func (a *admin) migrate() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date and exit (serve does it too, at start)",
		Long: `Bring the database schema up to date and exit. keyplane serve migrates at start
as well; run this first when upgrading several replicas, so none of them has to.
Replicas starting together on one PostgreSQL database take turns: migrations
run under a lock, and the second finds nothing left to do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := store.Open(cmd.Context(), a.database, wallclock.Now())
			if err != nil {
				return err
			}
			defer db.Close()
			v, err := db.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "database %s (%s) is at schema version %d\n", db.Name(), db.Engine(), v)
			return nil
		},
	}
}

func (a *admin) createIntegration() *cobra.Command {
	var name, expiresIn string
	var grants, cidrs []string
	cmd := &cobra.Command{
		Use:   "create-integration --name NAME --grant GRANT... --expires-in DURATION",
		Short: "Create a Service Integration and its first API key; prints only the key",
		Long: `Create a Service Integration and its first API key. The key is printed on stdout,
once, and nothing else is; details go to stderr.

GRANT is LEVEL:RESOURCE:ACCESS:
  LEVEL     account, app/ID or keyset/ID
  RESOURCE  app, keyset, secret-key, usage, oem-customer, audit-log
  ACCESS    read (r) or read-write (rw)
for example account:keyset:rw or app/12:keyset:read.

DURATION is how long the key lives, at most one year (or the account's
maximum key lifetime, see set-account-policy): 90d, 720h, 2w, 1y.

--allow-cidr (repeatable) names a client network the integration's keys
are allowed from (203.0.113.0/24, 2001:db8::/32, or one address); a request
from elsewhere is refused with 403. Without it, keys work from anywhere.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var gs []keyplane.Grant
			for _, s := range grants {
				g, err := keyplane.ParseGrant(s)
				if err != nil {
					return err
				}
				gs = append(gs, g)
			}
			networks, err := keyplane.ParseNetworks("--allow-cidr", cidrs)
			if err != nil {
				return usagef(cmd, "%s", strings.Join(keyplane.ErrorMessages(err), "; "))
			}
			now := wallclock.Now()
			expires, err := parseExpiresIn(expiresIn, now)
			if err != nil {
				return err
			}
			svc, account, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			in, key, err := svc.CreateIntegrationWith(cmd.Context(), keyplane.Operator(account), control.NewIntegration{Name: name, Grants: gs, Networks: networks, Expires: expires})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, key.Key)
			fmt.Fprintf(a.stderr, "created integration %d (%s) in account %d with API key %d, expiring %s; the key above will not be shown again\n",
				in.ID, in.Name, account, key.ID, keyplane.FormatTime(key.ExpiresAt))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "integration name, e.g. \"CI/CD Pipeline\"")
	cmd.Flags().StringArrayVar(&grants, "grant", nil, "permission row LEVEL:RESOURCE:ACCESS (repeat for each row)")
	cmd.Flags().StringArrayVar(&cidrs, "allow-cidr", nil, "a client network the keys are allowed from, e.g. 203.0.113.0/24 (repeat for more; default: anywhere)")
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "key lifetime, at most 1 year (90d, 720h, 1y)")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("grant")
	cmd.MarkFlagRequired("expires-in")
	return cmd
}

func (a *admin) createKey() *cobra.Command {
	var integration int64
	var expiresIn string
	cmd := &cobra.Command{
		Use:   "create-key --integration ID --expires-in DURATION",
		Short: "Create another API key for an integration (at most 3 active); prints only the key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			expires, err := parseExpiresIn(expiresIn, wallclock.Now())
			if err != nil {
				return err
			}
			svc, account, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			key, err := svc.CreateAPIKey(cmd.Context(), keyplane.Operator(account), integration, expires)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, key.Key)
			fmt.Fprintf(a.stderr, "created API key %d for integration %d, expiring %s; the key above will not be shown again\n",
				key.ID, integration, keyplane.FormatTime(key.ExpiresAt))
			return nil
		},
	}
	cmd.Flags().Int64Var(&integration, "integration", 0, "integration id")
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "key lifetime, at most 1 year (90d, 720h, 1y)")
	cmd.MarkFlagRequired("integration")
	cmd.MarkFlagRequired("expires-in")
	return cmd
}

func (a *admin) revokeKey() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-key KEY",
		Short: "Revoke an API key at once; KEY is the key's id or the whole key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, _, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			// As the install's operator: whoever holds a leaked key may not
			// know whose it is, and it must stop wherever it belongs.
			k, already, err := svc.RevokeAPIKey(cmd.Context(), keyplane.InstallOperator, strings.TrimSpace(args[0]))
			if err != nil {
				return err
			}
			if already {
				fmt.Fprintf(a.stdout, "API key %d (%s…) was already revoked at %s\n", k.ID, k.Prefix, keyplane.FormatTime(*k.RevokedAt))
				return nil
			}
			fmt.Fprintf(a.stdout, "revoked API key %d (%s…) of integration %d\n", k.ID, k.Prefix, k.IntegrationID)
			return nil
		},
	}
}

func (a *admin) listIntegrations() *cobra.Command {
	return &cobra.Command{
		Use:   "list-integrations",
		Short: "List integrations, one a line: id, name, keys (id, prefix, expiry, last use, state), permission rows, allowed networks, state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, account, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			ins, err := svc.ListIntegrations(cmd.Context(), keyplane.Operator(account))
			if err != nil {
				return err
			}
			now := wallclock.Now()
			for _, in := range ins {
				keys := make([]string, len(in.Keys))
				for i, k := range in.Keys {
					used := "never"
					if k.LastUsedAt != nil {
						used = keyplane.FormatTime(*k.LastUsedAt)
						if k.LastUsedFrom != "" {
							used += " from " + k.LastUsedFrom
						}
						if k.LastUsedAgent != "" {
							used += " agent " + strconv.Quote(k.LastUsedAgent)
						}
					}
					keys[i] = fmt.Sprintf("key %d %s… expires %s last-used %s %s", k.ID, k.Prefix, keyplane.FormatTime(k.ExpiresAt), used, k.State(now))
				}
				grants := make([]string, len(in.Grants))
				for i, g := range in.Grants {
					grants[i] = g.String()
				}
				networks, state := "anywhere", "active"
				if len(in.Networks) > 0 {
					networks = strings.ReplaceAll(keyplane.FormatNetworks(in.Networks), " ", "")
				}
				if in.Suspended() {
					state = "suspended"
				}
				fmt.Fprintf(a.stdout, "%d\t%s\t%s\tgrants %s\tnetworks %s\t%s\n", in.ID, in.Name, strings.Join(keys, "; "), strings.Join(grants, " "), networks, state)
			}
			return nil
		},
	}
}

func (a *admin) createUser() *cobra.Command {
	var email, role string
	var fromStdin bool
	var apps, keysets []int64
	cmd := &cobra.Command{
		Use:   "create-user --email EMAIL --role ROLE [--app ID]... [--keyset ID]... [--password-stdin]",
		Short: "Create an Admin Portal user; prints a generated password once unless one comes on stdin",
		Long: `Create a user of the Admin Portal in the account.

ROLE is one of PubNub's portal roles, each standing for the permission
rows an integration would hold (README, "Roles"):
  owner       the account's creator: an Account Admin who cannot be
              removed; one per account
  admin       Account Admin: manages everything, Service Integrations and
              users included
  viewer      Account Viewer: sees everything, changes nothing
  app-admin   App Admin: manages the apps given with --app, their keysets
              and secret keys
  app-viewer  App Viewer: sees the apps given with --app and their keysets
  key-admin   Key Admin: manages the keysets given with --keyset
  key-viewer  Key Viewer: sees the keysets given with --keyset
--app and --keyset repeat (or take a comma-separated list); an App role
needs at least one --app of the account, a Key role at least one
--keyset, and an account-wide role takes neither.

With --password-stdin the password is the first line of standard input (at
least 12 characters). Without it a password is generated and printed on
stdout, once, and nothing else is; details go to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := keyplane.ParseRole(role)
			if err != nil {
				return err
			}
			// Checked before the database is opened: a scope that cannot
			// fit the role is a mistake in the command line.
			if msgs := keyplane.ValidateScope(r, apps, keysets); msgs != nil {
				return usagef(cmd, "%s", strings.Join(msgs, "; "))
			}
			var password string
			if fromStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("reading the password from stdin: %w", err)
				}
				if password = strings.TrimRight(line, "\r\n"); password == "" {
					return errors.New("--password-stdin: standard input holds no password")
				}
			}
			svc, account, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			u, generated, err := svc.CreateUser(cmd.Context(), keyplane.Operator(account), control.NewUser{Email: email, Password: password, Role: r, Apps: apps, Keysets: keysets})
			if err != nil {
				return err
			}
			what := u.Role.Label()
			if sc := u.Scope(); sc != nil {
				what += fmt.Sprintf(" of %s %s", u.Role.Level().Label(), joinIDs(sc))
			}
			if generated != "" {
				fmt.Fprintln(a.stdout, generated)
				fmt.Fprintf(a.stderr, "created user %d (%s, %s) in account %d; the password above will not be shown again\n", u.ID, u.Email, what, account)
				return nil
			}
			fmt.Fprintf(a.stderr, "created user %d (%s, %s) in account %d\n", u.ID, u.Email, what, account)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the user's e-mail address, used to sign in")
	cmd.Flags().StringVar(&role, "role", "", "owner, admin, viewer, app-admin, app-viewer, key-admin or key-viewer")
	cmd.Flags().Int64SliceVar(&apps, "app", nil, "an app the app-admin or app-viewer role applies to (repeat for more)")
	cmd.Flags().Int64SliceVar(&keysets, "keyset", nil, "a keyset the key-admin or key-viewer role applies to (repeat for more)")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin instead of generating one")
	cmd.MarkFlagRequired("email")
	cmd.MarkFlagRequired("role")
	return cmd
}

// parseExpiresIn turns a key lifetime (a span such as 90d, 2w, 1y, 30m, or
// a Go duration such as 720h or 1h30m) into an expiry after now. A span
// under keyplane.MinAPIKeyTTL is refused here, where the lifetime is still
// known; the service then checks the time against its own clock.
func parseExpiresIn(s string, now time.Time) (time.Time, error) {
	bad := fmt.Errorf("--expires-in %q: want a lifetime of at least one minute and at most one year, such as 1m, 90d, 2w, 720h or 1y", s)
	sp, ok := parseSpan(s)
	if !ok {
		return time.Time{}, bad
	}
	t := sp.after(now)
	if t.Before(now.Add(keyplane.MinAPIKeyTTL)) {
		return time.Time{}, fmt.Errorf("--expires-in %q: at least one minute (1m), at most one year (1y)", s)
	}
	return t, nil
}

// joinIDs writes ids as "3, 5".
func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}
