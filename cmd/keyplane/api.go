package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// defaultURL is the server the API commands talk to when neither --url nor
// the environment names one: where `keyplane serve` listens by default.
const defaultURL = "http://127.0.0.1:8080"

// apiCLI holds what the API commands share: how to reach the server, with
// which key, and how to print what it answers.
type apiCLI struct {
	getenv  func(string) string
	stderr  io.Writer
	url     string
	apiKey  string
	output  string
	version string
}

// newAPICLI returns the shared state of the API commands.
func newAPICLI(getenv func(string) string, stderr io.Writer) *apiCLI {
	return &apiCLI{getenv: getenv, stderr: stderr}
}

// command readies a top-level API command, a group or a command alone (me):
// it gets the flags every API command takes, persistent so that its
// subcommands have them, and its commands complete the ids their
// arguments name.
func (a *apiCLI) command(cmd *cobra.Command) *cobra.Command {
	a.flags(cmd, true)
	leaves := cmd.Commands()
	if len(leaves) == 0 {
		leaves = []*cobra.Command{cmd}
	}
	for _, c := range leaves {
		a.completeArgs(c)
	}
	return cmd
}

// group is a top-level API command holding subs: the plain group, readied
// by command.
func (a *apiCLI) group(use, short string, subs ...*cobra.Command) *cobra.Command {
	return a.command(group(use, short, subs...))
}

// flags adds the flags every API command takes (server, key, output,
// version) to cmd, or to cmd and every command under it when persistent.
func (a *apiCLI) flags(cmd *cobra.Command, persistent bool) {
	f := cmd.Flags()
	if persistent {
		f = cmd.PersistentFlags()
	}
	url := env(a.getenv, "KEYPLANE_URL", env(a.getenv, "ADMIN_API_V2_URL", defaultURL))
	f.StringVar(&a.url, "url", url, "server base URL (env KEYPLANE_URL, or PubNub's ADMIN_API_V2_URL)")
	f.StringVar(&a.apiKey, "api-key", "", "API key; lands in shell history and process lists, so prefer the environment (env KEYPLANE_API_KEY or PUBNUB_API_KEY)")
	f.StringVarP(&a.output, "output", "o", outputTable, "output format: table, json or yaml")
	f.StringVar(&a.version, "api-version", "", "PubNub-Version to send (default "+client.Version+", the release this command speaks)")
	cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
}

// group is a command that only holds others: alone it prints its help, and
// an unknown subcommand is a usage error.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(subs...)
	return cmd
}

// connect checks the shared flags and returns a client of the server. It
// runs before anything is sent, so a bad flag never follows a change.
// withClient makes a command's RunE that connects first and hands the
// client to fn; commands that check their flags before connecting call
// connect themselves.
func (a *apiCLI) withClient(fn func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := a.connect(cmd)
		if err != nil {
			return err
		}
		return fn(cmd, c, args)
	}
}

func (a *apiCLI) connect(cmd *cobra.Command) (*client.Client, error) {
	if !slices.Contains(outputFormats, a.output) {
		return nil, usagef(cmd, "--output %q: want table, json or yaml", a.output)
	}
	key := a.apiKey
	for _, name := range []string{"KEYPLANE_API_KEY", "PUBNUB_API_KEY"} {
		if key == "" {
			key = a.getenv(name)
		}
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, usagef(cmd, "no API key: set KEYPLANE_API_KEY (or PUBNUB_API_KEY) to a Service Integration API key")
	}
	// PubNub's tools take the host alone; accept a URL ending in /v2 too.
	base := strings.TrimSuffix(strings.TrimRight(a.url, "/"), "/v2")
	opts := []client.Option{client.WithUserAgent("keyplane-cli/" + client.Version)}
	if a.version != "" {
		if _, err := time.Parse(time.DateOnly, a.version); err != nil || len(a.version) != len(time.DateOnly) {
			return nil, usagef(cmd, "--api-version %q: want a release date YYYY-MM-DD such as %s", a.version, client.Version)
		}
		opts = append(opts, client.WithVersion(a.version))
	}
	c, err := client.New(base, key, opts...)
	if err != nil {
		// The version and the key were checked above: what is left is the URL.
		return nil, usagef(cmd, "--url (or KEYPLANE_URL, ADMIN_API_V2_URL): %s", strings.TrimPrefix(err.Error(), "keyplane: "))
	}
	return c, nil
}

// print renders v in the chosen format, or as the table draws it.
func (a *apiCLI) print(cmd *cobra.Command, v any, table func(*tabwriter.Writer)) error {
	return render(cmd.OutOrStdout(), a.output, v, table)
}

// The json and yaml outputs print the client's types as they are: their
// JSON is the API's (client.Time writes times as the API does).

// printApp prints one app, or returns err.
func (a *apiCLI) printApp(cmd *cobra.Command, app client.App, err error) error {
	if err != nil {
		return err
	}
	return a.print(cmd, app, appsTable([]client.App{app}))
}

// printKeyset prints one keyset, or returns err.
func (a *apiCLI) printKeyset(cmd *cobra.Command, k client.Keyset, err error) error {
	if err != nil {
		return err
	}
	return a.print(cmd, k, keysetsTable([]client.Keyset{k}))
}

// deletedView is what a delete prints in json and yaml.
type deletedView struct {
	Deleted string `json:"deleted"` // "app", "keyset", "secretKey"
	ID      string `json:"id"`
}

// listFlags are the paging flags of the list commands: without them, a
// list walks every page.
type listFlags struct{ page, limit int }

func (l *listFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVar(&l.page, "page", 0, "print only this page (from 1) instead of every item")
	cmd.Flags().IntVar(&l.limit, "limit", 0, "items per page with --page (1-100, default 10)")
}

func (l *listFlags) paged() bool { return l.page != 0 || l.limit != 0 }

func (l *listFlags) options() client.ListOptions {
	return client.ListOptions{Page: l.page, Limit: l.limit}
}

// listView is a list as it prints in json and yaml: PubNub's envelope, with
// page and limit only when one page was asked for.
func listView[T any](key string, items []T, total int, l *listFlags, page, limit int) map[string]any {
	if items == nil {
		items = []T{}
	}
	v := map[string]any{key: items, "total": total}
	if l.paged() {
		v["page"], v["limit"] = page, limit
	}
	return v
}

// --- apps ---

func appsTable(apps []client.App) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ID", "NAME", "CREATED", "UPDATED")
		for _, a := range apps {
			row(w, a.ID, a.Name, a.CreatedAt.String(), a.UpdatedAt.String())
		}
	}
}

func (a *apiCLI) appsList() *cobra.Command {
	var l listFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the apps the key may read, every page unless --page is given",
		Args:  usageArgs(cobra.NoArgs),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			var apps []client.App
			total, page, limit := 0, 0, 0
			if l.paged() {
				p, err := c.ListApps(cmd.Context(), l.options())
				if err != nil {
					return err
				}
				apps, total, page, limit = p.Apps, p.Total, p.Page, p.Limit
			} else {
				for app, err := range c.Apps(cmd.Context()) {
					if err != nil {
						return err
					}
					apps = append(apps, app)
				}
				total = len(apps)
			}
			return a.print(cmd, listView("apps", apps, total, &l, page, limit), appsTable(apps))
		}),
	}
	l.add(cmd)
	return cmd
}

func (a *apiCLI) appsGet() *cobra.Command {
	return &cobra.Command{
		Use:   "get APP_ID",
		Short: "Show one app",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			app, err := c.GetApp(cmd.Context(), args[0])
			return a.printApp(cmd, app, err)
		}),
	}
}

func (a *apiCLI) appsCreate() *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create an app",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			app, err := c.CreateApp(cmd.Context(), args[0])
			return a.printApp(cmd, app, err)
		}),
	}
}

func (a *apiCLI) appsRename() *cobra.Command {
	return &cobra.Command{
		Use:   "rename APP_ID NAME",
		Short: "Rename an app",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			app, err := c.RenameApp(cmd.Context(), args[0], args[1])
			return a.printApp(cmd, app, err)
		}),
	}
}

func (a *apiCLI) appsDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete APP_ID",
		Short: "Delete an app that has no keysets left (one that has is refused with 409)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteApp(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.print(cmd, deletedView{"app", args[0]}, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "deleted app %s\n", args[0])
			})
		}),
	}
}

// --- keysets ---

func keysetsTable(keysets []client.Keyset) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ID", "APP", "NAME", "TYPE", "PUBLISH KEY", "SUBSCRIBE KEY")
		for _, k := range keysets {
			row(w, k.ID, k.AppID, k.Name, k.Type, k.PublishKey, k.SubscribeKey)
		}
	}
}

func (a *apiCLI) keysetsList() *cobra.Command {
	var l listFlags
	var app string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the keysets the key may read, every page unless --page is given",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := strconv.ParseUint(app, 10, 63); app != "" && (err != nil || strings.HasPrefix(app, "0")) {
				return usagef(cmd, "--app %q: want an app id such as 12", app)
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			var keysets []client.Keyset
			total, page, limit := 0, 0, 0
			if l.paged() {
				o := l.options()
				o.AppID = app
				p, err := c.ListKeysets(cmd.Context(), o)
				if err != nil {
					return err
				}
				keysets, total, page, limit = p.Keysets, p.Total, p.Page, p.Limit
			} else {
				for k, err := range c.KeysetsOfApp(cmd.Context(), app) {
					if err != nil {
						return err
					}
					keysets = append(keysets, k)
				}
				total = len(keysets)
			}
			return a.print(cmd, listView("keysets", keysets, total, &l, page, limit), keysetsTable(keysets))
		},
	}
	l.add(cmd)
	cmd.Flags().StringVar(&app, "app", "", "only the keysets of this app (the server filters; with --page, pages of that app's keysets)")
	return cmd
}

func (a *apiCLI) keysetsGet() *cobra.Command {
	return &cobra.Command{
		Use:   "get KEYSET_ID",
		Short: "Show one keyset (without its secret keys: see secret-keys list)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			k, err := c.GetKeyset(cmd.Context(), args[0])
			return a.printKeyset(cmd, k, err)
		}),
	}
}

func (a *apiCLI) keysetsCreate() *cobra.Command {
	var app, name, typ, config, configFile string
	cmd := &cobra.Command{
		Use:   "create --app APP_ID [--name NAME] [--type testing|production] [--config JSON | --config-file FILE]",
		Short: "Create a keyset; prints its secret key once",
		Long: `Create a keyset in an app, with new publish, subscribe and secret keys.

The secret key is printed once, after the keyset: store it in a secrets
manager ("secret-keys list --reveal" shows it again to a key with Secret
key · Read). In json and yaml the answer is the API's, secret key and
configuration included. --config (or --config-file, "-" for stdin) is a
JSON object applied over the default configuration, as "config set" takes.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if app == "" {
				return usagef(cmd, "--app: required")
			}
			var patch json.RawMessage
			if config != "" || configFile != "" {
				var err error
				if patch, err = readPatch(cmd, config, configFile, "--config", "--config-file"); err != nil {
					return err
				}
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			nk := client.NewKeyset{AppID: app, Name: name, Type: typ}
			if patch != nil {
				nk.Config = patch
			}
			k, err := c.CreateKeyset(cmd.Context(), nk)
			if err != nil {
				return err
			}
			// The API's answer: the keyset with its secret keys inside.
			v := struct {
				client.Keyset
				SecretKeys []client.SecretKey `json:"secretKeys,omitempty"`
			}{k.Keyset, k.SecretKeys}
			out := map[string]any{"keyset": v, "config": k.Config}
			return a.print(cmd, out, func(w *tabwriter.Writer) {
				keysetsTable([]client.Keyset{k.Keyset})(w)
				for _, s := range k.SecretKeys {
					fmt.Fprintf(w, "\nsecret key: %s\n", s.SecretKey)
					fmt.Fprintln(w, "(store it in a secrets manager: it signs Access Manager grants for this keyset)")
				}
			})
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "the app to create the keyset in (required)")
	cmd.Flags().StringVar(&name, "name", "", `keyset name (default "Default Keyset")`)
	cmd.Flags().StringVar(&typ, "type", "", "testing (default) or production")
	cmd.Flags().StringVar(&config, "config", "", "configuration patch, a JSON object")
	cmd.Flags().StringVar(&configFile, "config-file", "", `file holding the configuration patch ("-": stdin)`)
	cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"testing", "production"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *apiCLI) keysetsUpdate() *cobra.Command {
	var name, typ string
	cmd := &cobra.Command{
		Use:   "update KEYSET_ID [--name NAME] [--type testing|production]",
		Short: "Rename a keyset or change its type",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u client.KeysetUpdate
			if cmd.Flags().Changed("name") {
				u.Name = &name
			}
			if cmd.Flags().Changed("type") {
				u.Type = &typ
			}
			if u.Name == nil && u.Type == nil {
				return usagef(cmd, "nothing to change: give --name, --type or both")
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			k, err := c.UpdateKeyset(cmd.Context(), args[0], u)
			return a.printKeyset(cmd, k, err)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&typ, "type", "", "testing or production")
	cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"testing", "production"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *apiCLI) keysetsDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete KEYSET_ID",
		Short: "Delete a keyset with its configuration and secret keys",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteKeyset(cmd.Context(), args[0]); err != nil {
				return err
			}
			return a.print(cmd, deletedView{"keyset", args[0]}, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "deleted keyset %s\n", args[0])
			})
		}),
	}
}

// --- config ---

// configTable draws a configuration as one setting a line, "section.field
// value", in the API's order.
func configTable(cfg client.Config) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		b, err := json.Marshal(cfg)
		var doc yaml.Node
		if err == nil {
			err = yaml.Unmarshal(b, &doc)
		}
		if err != nil || len(doc.Content) == 0 {
			fmt.Fprintf(w, "cannot draw the configuration: %v\n", err)
			return
		}
		row(w, "SETTING", "VALUE")
		var walk func(prefix string, n *yaml.Node)
		walk = func(prefix string, n *yaml.Node) {
			if n.Kind != yaml.MappingNode {
				row(w, prefix, n.Value)
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				name := n.Content[i].Value
				if prefix != "" {
					name = prefix + "." + name
				}
				walk(name, n.Content[i+1])
			}
		}
		walk("", doc.Content[0])
	}
}

func (a *apiCLI) configGet() *cobra.Command {
	return &cobra.Command{
		Use:   "get KEYSET_ID",
		Short: "Show a keyset's whole configuration",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			cfg, err := c.GetConfig(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.print(cmd, cfg, configTable(cfg))
		}),
	}
}

func (a *apiCLI) configSet() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "set KEYSET_ID [PATCH | -f FILE]",
		Short: "Merge a JSON patch into a keyset's configuration and show the result",
		Long: `Merge a JSON patch into a keyset's configuration and show the whole result.

The patch is a JSON object holding any part of a configuration, given as an
argument, in a file (-f FILE), or on stdin (-f -, or neither). Fields left
out stay as they are; null clears a nullable setting. For example:

  keyplane config set 12 '{"messagePersistence":{"enabled":true,"retention":30}}'
  keyplane config set 12 -f persistence.json
  echo '{"presence":{"announceMax":50}}' | keyplane config set 12`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 2 {
				arg = args[1]
			}
			if arg == "" && file == "" {
				file = "-"
			}
			patch, err := readPatch(cmd, arg, file, "PATCH", "-f")
			if err != nil {
				return err
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			cfg, err := c.UpdateConfig(cmd.Context(), args[0], patch)
			if err != nil {
				return err
			}
			return a.print(cmd, cfg, configTable(cfg))
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", `file holding the patch ("-": stdin)`)
	return cmd
}

// maxPatch bounds a patch read from a file or stdin: the server takes
// bodies up to 1 MiB.
const maxPatch = 1 << 20

// readPatch reads a JSON object from inline (named argName) or from file
// (named fileName; "-" is stdin), exactly one of them, and checks that it is
// one JSON object, so a typo is caught before anything is sent.
func readPatch(cmd *cobra.Command, inline, file, argName, fileName string) (json.RawMessage, error) {
	var data []byte
	switch {
	case inline != "" && file != "":
		return nil, usagef(cmd, "give the patch as %s or with %s, not both", argName, fileName)
	case inline != "":
		data = []byte(inline)
	case file == "-":
		in := cmd.InOrStdin()
		if f, ok := in.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return nil, usagef(cmd, "no patch: give it as %s, with %s FILE, or on stdin (a pipe, not the terminal)", argName, fileName)
			}
		}
		b, err := io.ReadAll(io.LimitReader(in, maxPatch+1))
		if err != nil {
			return nil, fmt.Errorf("reading the patch from stdin: %w", err)
		}
		data = b
	default:
		f, err := os.Open(file)
		if err != nil {
			return nil, &usageError{cmd: cmd, err: err}
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxPatch+1))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		data = b
	}
	if len(data) > maxPatch {
		return nil, usagef(cmd, "the patch is over %d bytes", maxPatch)
	}
	if why := notJSONObject(data); why != "" {
		return nil, usagef(cmd, "the patch is not a JSON object: %s (want one such as {\"presence\":{\"announceMax\":50}})", why)
	}
	return json.RawMessage(data), nil
}

// notJSONObject says, in a person's terms, why data is not one JSON
// object ("" when it is): where the JSON breaks, or what it holds instead.
// encoding/json's own words name Go types (map[string]json.RawMessage),
// which mean nothing to whoever typed the patch.
func notJSONObject(data []byte) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := lineCol(data, syn.Offset)
			return fmt.Sprintf("invalid JSON at line %d, column %d", line, col)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return "it is empty"
		}
		return "the JSON ends too soon"
	}
	if dec.More() {
		return "more follows the first JSON value"
	}
	switch v.(type) {
	case map[string]any:
		return ""
	case []any:
		return "it is a list"
	case string:
		return "it is a string"
	case float64:
		return "it is a number"
	case bool:
		return "it is true or false"
	}
	return "it is null"
}

// lineCol turns a byte offset of data into a line and column, from 1.
func lineCol(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 1), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// --- secret keys ---

// secretKeysTable draws secret keys by prefix, whole only with reveal.
func secretKeysTable(keys []client.SecretKey, reveal bool) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		head := "PREFIX"
		if reveal {
			head = "SECRET KEY"
		}
		row(w, head, "ROLE", "EXPIRES")
		for _, k := range keys {
			name := k.Prefix()
			if reveal {
				name = k.SecretKey
			}
			role, expires := "main", "never"
			if k.ExpiresAt != nil {
				role, expires = "rotated", k.ExpiresAt.String()
			}
			row(w, name, role, expires)
		}
	}
}

// secretKeyPrefixView is a secret key as printed without --reveal, in
// every format: its prefix, under another name than the API's secretKey so
// that a script expecting the whole key fails plainly rather than signing
// with a prefix.
type secretKeyPrefixView struct {
	Prefix    string       `json:"prefix"`
	ExpiresAt *client.Time `json:"expiresAt"`
}

// secretKeyShown is k as json and yaml print it: whole (as the API answers
// it) with reveal, by its prefix without, the same rule as the table's.
func secretKeyShown(k client.SecretKey, reveal bool) any {
	if reveal {
		return k
	}
	return secretKeyPrefixView{Prefix: k.Prefix(), ExpiresAt: k.ExpiresAt}
}

// revealFlag adds --reveal, which alone makes a command print whole secret
// keys, in every output format.
func revealFlag(cmd *cobra.Command, reveal *bool) {
	cmd.Flags().BoolVar(reveal, "reveal", false, "print whole secret keys, not only their prefixes (in every output format)")
}

func (a *apiCLI) secretKeysList() *cobra.Command {
	var activeOnly, reveal bool
	cmd := &cobra.Command{
		Use:   "list KEYSET_ID",
		Short: "List a keyset's secret keys: the main key and the rotated ones",
		Long: `List a keyset's secret keys: the main key and the rotated ones, with when
each stops working. Keys are shown by their prefix unless --reveal is given,
in every format: json and yaml print {"prefix","expiresAt"} for each key, and
with --reveal the API's own {"secretKey","expiresAt"}.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			keys, err := c.ListSecretKeys(cmd.Context(), args[0], activeOnly)
			if err != nil {
				return err
			}
			views := make([]any, len(keys))
			for i, k := range keys {
				views[i] = secretKeyShown(k, reveal)
			}
			return a.print(cmd, map[string]any{"secretKeys": views}, secretKeysTable(keys, reveal))
		}),
	}
	cmd.Flags().BoolVar(&activeOnly, "active-only", false, "leave out expired rotated keys")
	revealFlag(cmd, &reveal)
	return cmd
}

// expiryFlags are the two ways to say when a key stops working.
type expiryFlags struct{ in, at string }

func (e *expiryFlags) add(cmd *cobra.Command, in, at, what string) {
	cmd.Flags().StringVar(&e.in, in, "", "how long "+what+" keeps working: 90s, 1h, 7d, 2w (60 s to 366 days)")
	cmd.Flags().StringVar(&e.at, at, "", "when "+what+" stops working, RFC 3339 (2026-12-31T00:00:00Z)")
}

// time is the expiry the flags name; nil when neither is given.
func (e *expiryFlags) time(cmd *cobra.Command, inName, atName string) (*time.Time, error) {
	switch {
	case e.in != "" && e.at != "":
		return nil, usagef(cmd, "give %s or %s, not both", inName, atName)
	case e.in != "":
		sp, ok := parseSpan(e.in)
		if !ok {
			return nil, usagef(cmd, "%s %q: want a span such as 90s, 1h, 7d or 2w (60 s to 366 days)", inName, e.in)
		}
		t := sp.after(wallclock.Now()) // the server judges the range
		return &t, nil
	case e.at != "":
		t, err := time.Parse(time.RFC3339, e.at)
		if err != nil {
			return nil, usagef(cmd, "%s %q: want an RFC 3339 time such as 2026-12-31T00:00:00Z", atName, e.at)
		}
		return &t, nil
	}
	return nil, nil
}

func (a *apiCLI) secretKeysRotate() *cobra.Command {
	var e expiryFlags
	cmd := &cobra.Command{
		Use:   "rotate KEYSET_ID [--old-expires-in DURATION | --old-expires-at TIME]",
		Short: "Make a new main secret key; prints it once",
		Long: `Make a new main secret key and print it once.

Without --old-expires-in or --old-expires-at the old main key stops working
at once; with one of them it keeps working until then, as a rotated key
(at most 5), so clients can move over. In the table format only the new key
is printed on stdout (KEY=$(keyplane secret-keys rotate 12) works); what
became of the old key is said on stderr.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := e.time(cmd, "--old-expires-in", "--old-expires-at")
			if err != nil {
				return err
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			key, err := c.RotateSecretKey(cmd.Context(), args[0], at)
			if err != nil {
				return err
			}
			return a.print(cmd, map[string]string{"secretKey": key}, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, key)
				if at != nil {
					fmt.Fprintf(a.stderr, "rotated the main secret key of keyset %s; the old one works until %s. Store the new key above in a secrets manager.\n", args[0], keyplane.FormatTime(*at))
				} else {
					fmt.Fprintf(a.stderr, "rotated the main secret key of keyset %s; the old one no longer works. Store the new key above in a secrets manager.\n", args[0])
				}
			})
		},
	}
	e.add(cmd, "old-expires-in", "old-expires-at", "the old main key")
	return cmd
}

func (a *apiCLI) secretKeysSetExpiry() *cobra.Command {
	var e expiryFlags
	var reveal bool
	cmd := &cobra.Command{
		Use:   "set-expiry KEYSET_ID PREFIX (--expires-in DURATION | --expires-at TIME)",
		Short: "Change when a rotated secret key stops working",
		Long: `Change when a rotated secret key stops working. PREFIX is the key's first 11
characters (sec-c-XXXXX), as "secret-keys list" shows them; a whole key is
cut to its prefix before it is sent. The main key has no expiry: rotate it.`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := e.time(cmd, "--expires-in", "--expires-at")
			if err != nil {
				return err
			}
			if at == nil {
				return usagef(cmd, "give --expires-in or --expires-at")
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			k, err := c.UpdateSecretKeyExpiry(cmd.Context(), args[0], args[1], *at)
			if err != nil {
				return err
			}
			return a.print(cmd, map[string]any{"secretKey": secretKeyShown(k, reveal)}, secretKeysTable([]client.SecretKey{k}, reveal))
		},
	}
	e.add(cmd, "expires-in", "expires-at", "the key")
	revealFlag(cmd, &reveal)
	return cmd
}

func (a *apiCLI) secretKeysDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete KEYSET_ID PREFIX",
		Short: "Stop a rotated secret key at once (the main key cannot be deleted: rotate it)",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeleteSecretKey(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			prefix := client.SecretKey{SecretKey: args[1]}.Prefix()
			return a.print(cmd, deletedView{"secretKey", prefix}, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "deleted secret key %s of keyset %s\n", prefix, args[0])
			})
		}),
	}
}

// completionTimeout bounds the requests a shell completion makes: a TAB
// must never hang on a server that does not answer.
const completionTimeout = 3 * time.Second

// completeApps completes an app id from the server, each with its name.
func (a *apiCLI) completeApps(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := a.connect(cmd)
	if err != nil {
		cobra.CompErrorln(err.Error())
		return nil, cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	var out []cobra.Completion
	for app, err := range c.Apps(ctx) {
		if err != nil {
			cobra.CompErrorln(err.Error())
			return nil, cobra.ShellCompDirectiveError
		}
		out = append(out, cobra.CompletionWithDesc(app.ID, app.Name))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeKeysets completes a keyset id from the server, each with its
// name and app.
func (a *apiCLI) completeKeysets(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := a.connect(cmd)
	if err != nil {
		cobra.CompErrorln(err.Error())
		return nil, cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	var out []cobra.Completion
	for k, err := range c.Keysets(ctx) {
		if err != nil {
			cobra.CompErrorln(err.Error())
			return nil, cobra.ShellCompDirectiveError
		}
		out = append(out, cobra.CompletionWithDesc(k.ID, fmt.Sprintf("%s (app %s, %s)", k.Name, k.AppID, k.Type)))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// firstArg completes only the first argument with complete.
func firstArg(complete cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete(cmd, args, toComplete)
	}
}

// completeArgs sets how an API command's arguments complete, unless the
// command set it itself: by the first argument its Use names, app ids for
// APP_ID, keyset ids for KEYSET_ID, customer ids for CUSTOMER_ID, and no
// file names otherwise. --app completes app ids, unless the command
// completes it itself.
func (a *apiCLI) completeArgs(cmd *cobra.Command) {
	if cmd.ValidArgsFunction == nil {
		first, _, _ := strings.Cut(strings.TrimPrefix(cmd.Use, cmd.Name()+" "), " ")
		switch first {
		case "APP_ID":
			cmd.ValidArgsFunction = firstArg(a.completeApps)
		case "KEYSET_ID":
			cmd.ValidArgsFunction = firstArg(a.completeKeysets)
		case "CUSTOMER_ID":
			cmd.ValidArgsFunction = firstArg(a.completeCustomers)
		default:
			cmd.ValidArgsFunction = cobra.NoFileCompletions
		}
	}
	if _, own := cmd.GetFlagCompletionFunc("app"); !own && cmd.Flags().Lookup("app") != nil {
		cmd.RegisterFlagCompletionFunc("app", a.completeApps)
	}
}
