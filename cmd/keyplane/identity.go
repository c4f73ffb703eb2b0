package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
)

// resourceOrder is the order access is listed in: PubNub's table, then
// Keyplane's own resources.
var resourceOrder = []string{"app", "keyset", "secret-key", "usage", "oem-customer", "audit-log", "usage-report"}

// accessText writes an access map as "app=read keyset=read-write", or "-".
func accessText(a client.Access) string {
	var parts, unknown []string
	for _, r := range resourceOrder {
		if v, ok := a[r]; ok {
			parts = append(parts, r+"="+v)
		}
	}
	for r, v := range a { // a resource this command does not know yet
		if !slices.Contains(resourceOrder, r) {
			unknown = append(unknown, r+"="+v)
		}
	}
	slices.Sort(unknown)
	if parts = append(parts, unknown...); parts == nil {
		return "-"
	}
	return strings.Join(parts, " ")
}

// --- me ---

// meOut is GET /v2/me as the API writes it: empty lists and maps as [] and
// {}, where the client may hold nil.
func meOut(m client.Me) client.Me {
	if m.Permissions == nil {
		m.Permissions = []client.Permission{}
	}
	if m.Access.Account == nil {
		m.Access.Account = client.Access{}
	}
	if m.Access.Apps == nil {
		m.Access.Apps = []client.AppAccess{}
	}
	if m.Access.Keysets == nil {
		m.Access.Keysets = []client.KeysetAccess{}
	}
	return m
}

// orDash is *s, or "-" when there is none (a name the key may not read).
func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func meTable(m client.Me) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		partner := "not an OEM partner"
		if m.Partner {
			partner = "OEM partner"
		}
		used := "never"
		if m.Key.LastUsedAt != nil {
			used = m.Key.LastUsedAt.String()
		}
		row(w, "account", m.AccountID, partner)
		row(w, "integration", m.Integration.ID, m.Integration.Name)
		row(w, "key", m.Key.ID, m.Key.Prefix+"…", "expires "+m.Key.ExpiresAt.String(), "last used "+used)
		fmt.Fprintln(w)
		row(w, "PERMISSION", "GRANT")
		for _, p := range m.Permissions {
			row(w, p.Label, p.Grant)
		}
		fmt.Fprintln(w)
		row(w, "SCOPE", "ID", "NAME", "ACCESS")
		row(w, "account", m.AccountID, "", accessText(m.Access.Account))
		for _, x := range m.Access.Apps {
			row(w, "app", x.ID, orDash(x.Name), accessText(x.Access))
		}
		for _, x := range m.Access.Keysets {
			row(w, "keyset", x.ID, orDash(x.Name)+" (app "+x.AppID+")", accessText(x.Access))
		}
	}
}

func (a *apiCLI) meCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "me",
		Short: "Who am I: the key's account, integration, expiry, permission rows and effective access",
		Long: `Show what the server knows of the API key in use: its account (and whether it
is an OEM partner), its Service Integration, the key's prefix, expiry and last
use, the integration's permission rows, and the access they give account-wide,
on each app and on each keyset that exists now. Names are shown ("-" otherwise)
only where the key may read the app or keyset. Any valid key may ask.`,
		Args:              usageArgs(cobra.NoArgs),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			m, err := c.Me(cmd.Context())
			if err != nil {
				return err
			}
			v := meOut(m)
			return a.print(cmd, v, meTable(v))
		}),
	}
}

// --- authz check ---

// authzView is POST /v2/authz/check's answer as the API writes it.
type authzView struct {
	Allowed bool                     `json:"allowed"`
	Action  string                   `json:"action"`
	Method  string                   `json:"method"`
	Path    string                   `json:"path"`
	Target  targetView               `json:"target"`
	Checks  []client.PermissionCheck `json:"checks"`
	Reasons []string                 `json:"reasons"`
}

type targetView struct {
	AppID    *string `json:"appId"`
	KeysetID *string `json:"keysetId"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func authzOut(a client.AuthzAnswer) authzView {
	v := authzView{Allowed: a.Allowed, Action: a.Action, Method: a.Method, Path: a.Path,
		Target: targetView{optString(a.Target.AppID), optString(a.Target.KeysetID)}, Checks: a.Checks, Reasons: a.Reasons}
	if v.Checks == nil {
		v.Checks = []client.PermissionCheck{}
	}
	if v.Reasons == nil {
		v.Reasons = []string{}
	}
	return v
}

func authzTable(a client.AuthzAnswer) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		verdict := "denied"
		if a.Allowed {
			verdict = "allowed"
		}
		on := ""
		var where []string
		if a.Target.AppID != "" {
			where = append(where, "app "+a.Target.AppID)
		}
		if a.Target.KeysetID != "" {
			where = append(where, "keyset "+a.Target.KeysetID)
		}
		if where != nil {
			on = " on " + strings.Join(where, ", ")
		}
		fmt.Fprintf(w, "%s: %s %s (%s)%s\n", verdict, a.Method, a.Path, a.Action, on)
		if len(a.Checks) == 0 {
			fmt.Fprintln(w, "the operation needs no permission row")
			return
		}
		row(w, "NEEDS", "STATUS", "ROW", "GRANT")
		for _, c := range a.Checks {
			need := c.Resource + " " + c.Access
			switch {
			case c.GrantedBy != nil:
				row(w, need, "granted", c.GrantedBy.Label, c.GrantedBy.Grant)
			case c.Missing != nil:
				row(w, need, "missing", c.Missing.Label, c.Missing.Grant)
			default:
				row(w, need, "missing", "-", "-")
			}
		}
	}
}

var httpMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func (a *apiCLI) authzCheck() *cobra.Command {
	var method, path, action, app, keyset string
	cmd := &cobra.Command{
		Use:   "check (--method METHOD --path PATH | --action OPERATION [--app APP_ID] [--keyset KEYSET_ID])",
		Short: "Ask whether the key may run an operation; exit 0 if allowed, 4 if denied",
		Long: `Ask the server whether the API key in use may run an operation, without
running it. Name the operation by a request:

  keyplane authz check --method PATCH --path /v2/keysets/12/config

or by its operationId (see the OpenAPI document) and target:

  keyplane authz check --action updateKeysetConfig --keyset 12

The answer lists each permission the operation needs with the key's row that
grants it, or the exact row that is missing. The exit status is 0 when the
operation is allowed and 4 when it is denied (the reasons, the messages its
403 would carry, go to stderr), so scripts can branch on it.`,
		Args:              usageArgs(cobra.NoArgs),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			byRequest := method != "" || path != ""
			switch {
			case byRequest && (action != "" || app != "" || keyset != ""):
				return usagef(cmd, "give --method and --path, or --action with --app or --keyset, not both")
			case byRequest && (method == "" || path == ""):
				return usagef(cmd, "--method and --path go together")
			case !byRequest && action == "":
				return usagef(cmd, "give --method and --path, or --action")
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			var ans client.AuthzAnswer
			if byRequest {
				ans, err = c.CheckAuthzRequest(cmd.Context(), strings.ToUpper(method), path)
			} else {
				ans, err = c.CheckAuthz(cmd.Context(), action, client.AuthzTarget{AppID: app, KeysetID: keyset})
			}
			if err != nil {
				return err
			}
			if err := a.print(cmd, authzOut(ans), authzTable(ans)); err != nil {
				return err
			}
			if !ans.Allowed {
				return &statusError{code: exitAuth, msg: "denied: " + strings.Join(ans.Reasons, "; ")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&method, "method", "", "HTTP method of the request: GET, POST, PUT, PATCH or DELETE")
	f.StringVar(&path, "path", "", "path of the request, with its ids: /v2/keysets/12/config")
	f.StringVar(&action, "action", "", "operationId, such as updateKeysetConfig")
	f.StringVar(&app, "app", "", "with --action: the app it acts on")
	f.StringVar(&keyset, "keyset", "", "with --action: the keyset it acts on")
	cmd.RegisterFlagCompletionFunc("method", cobra.FixedCompletions(httpMethods, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("action", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, o := range keyplane.Operations {
			out = append(out, cobra.CompletionWithDesc(o.ID, o.String()))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	cmd.RegisterFlagCompletionFunc("path", cobra.NoFileCompletions)
	cmd.RegisterFlagCompletionFunc("app", a.completeApps)
	cmd.RegisterFlagCompletionFunc("keyset", a.completeKeysets)
	return cmd
}
