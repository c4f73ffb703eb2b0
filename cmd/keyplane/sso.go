package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/server"
	"github.com/keyplane/keyplane/store"
)

// openSSO opens the database for the single sign-on commands, in the
// account of --account (the first one by default). With kek set, secrets
// are sealed under the key-encryption key in that file, as serve seals
// them (the file is made if the database has none yet, as serve would).
func (a *admin) openSSO(ctx context.Context, kek string) (*control.Service, int64, func(), error) {
	db, err := store.Open(ctx, a.database, wallclock.Now())
	if err != nil {
		return nil, 0, nil, err
	}
	if kek != "" {
		if _, err := db.SealSecrets(ctx, kek); err != nil {
			db.Close()
			return nil, 0, nil, err
		}
	}
	svc := control.New(db, control.Options{})
	account := a.account
	if account == 0 {
		as, err := svc.Accounts(ctx)
		if err != nil {
			db.Close()
			return nil, 0, nil, err
		}
		account = as[0].ID
	}
	return svc, account, func() { db.Close() }, nil
}

func (a *admin) setOIDC(getenv func(string) string) *cobra.Command {
	var c keyplane.OIDCConfig
	var secretFile, jit, kek string
	var groupRoles []string
	cmd := &cobra.Command{
		Use:   "set-oidc --issuer URL --client-id ID [--client-secret-file F] --domain D... [--jit-role viewer|admin|none] [--group-role GROUP=ROLE]... [--require-sso]",
		Short: "Set the account's single sign-on (OpenID Connect provider, claimed e-mail domains, roles)",
		Long: `Set the single sign-on of the account (--account): people whose e-mail
address is at one of its --domain names choose "Sign in with SSO" and are sent
to the provider at --issuer. Register Keyplane with the provider as a web
client whose redirect URI is PUBLIC-URL/login/sso/callback.

--client-secret-file is a file whose first line is the client secret; it is
sealed under the key-encryption key (--kek-file, as serve takes it) and never
shown again. Left out, the secret already set is kept (none: a public client,
PKCE alone).

A domain is claimed by one account at most: a domain another account claims
is refused. --jit-role is the role of a person the provider vouches for who
is not yet a member (viewer by default; none: only members sign in).
--group-role maps a group of the ID token's --groups-claim (groups) to a role
(admin or viewer); a person's strongest mapped group decides their role at
each sign-in (the Owner stays Owner). --require-sso refuses password sign-in
to members, except the Owner with a second factor (audited as SSOBreakGlass).
The whole configuration is replaced: give every flag each time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keep := secretFile == ""
			if !keep {
				b, err := os.ReadFile(secretFile)
				if err != nil {
					return usagef(cmd, "--client-secret-file: %v", err)
				}
				c.ClientSecret, _, _ = strings.Cut(string(b), "\n")
				if strings.TrimSpace(c.ClientSecret) == "" {
					return usagef(cmd, "--client-secret-file %s: its first line is empty", secretFile)
				}
			}
			if jit != "none" {
				c.JITRole = keyplane.Role(strings.ToLower(jit))
			}
			for _, s := range groupRoles {
				g, err := keyplane.ParseGroupRole(s)
				if err != nil {
					return usagef(cmd, "--group-role: %s", strings.TrimPrefix(err.Error(), "groupRoles: "))
				}
				c.GroupRoles = append(c.GroupRoles, g)
			}
			if kek == "" {
				kek = server.DefaultKEKFile(a.database)
			}
			svc, account, done, err := a.openSSO(cmd.Context(), kek)
			if err != nil {
				return err
			}
			defer done()
			c.AccountID = account
			out, changed, err := svc.SetSSOConfig(cmd.Context(), keyplane.Operator(account), c, keep)
			if err != nil {
				return err
			}
			verb := "account %d single sign-on unchanged\n"
			if changed {
				verb = "set account %d single sign-on\n"
			}
			fmt.Fprintf(a.stdout, verb, account)
			printOIDC(a, out)
			fmt.Fprintf(a.stdout, "redirect URI to register: PUBLIC-URL%s\n", control.SSOCallbackPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&c.Issuer, "issuer", "", "the provider's issuer URL (https)")
	cmd.Flags().StringVar(&c.ClientID, "client-id", "", "the client id the provider gave Keyplane")
	cmd.Flags().StringVar(&secretFile, "client-secret-file", "", "file whose first line is the client secret (left out: keep the one set)")
	cmd.Flags().StringArrayVar(&c.Domains, "domain", nil, "an e-mail domain the account claims (repeat for more)")
	cmd.Flags().StringVar(&jit, "jit-role", "viewer", "role of people created at their first sign-in: viewer, admin, or none")
	cmd.Flags().StringVar(&c.GroupsClaim, "groups-claim", keyplane.DefaultGroupsClaim, "the ID token claim that lists the person's groups")
	cmd.Flags().StringArrayVar(&groupRoles, "group-role", nil, "GROUP=ROLE: members of GROUP get ROLE, admin or viewer (repeat for more)")
	cmd.Flags().BoolVar(&c.RequireSSO, "require-sso", false, "refuse password sign-in to members (except the Owner with a second factor)")
	cmd.Flags().StringVar(&kek, "kek-file", getenv("KEYPLANE_KEK_FILE"), "the server's key-encryption key file, which seals the client secret (default: as serve's)")
	return cmd
}

func (a *admin) showOIDC() *cobra.Command {
	return &cobra.Command{
		Use:   "show-oidc",
		Short: "Show the account's single sign-on (never its client secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, account, done, err := a.openSSO(cmd.Context(), "")
			if err != nil {
				return err
			}
			defer done()
			c, ok, err := svc.SSOConfig(cmd.Context(), keyplane.Operator(account), account)
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(a.stdout, "account %d has no single sign-on\n", account)
				return nil
			}
			fmt.Fprintf(a.stdout, "account %d single sign-on\n", account)
			printOIDC(a, c)
			return nil
		},
	}
}

func (a *admin) removeOIDC() *cobra.Command {
	return &cobra.Command{
		Use:   "remove-oidc",
		Short: "Remove the account's single sign-on: its people sign in with passwords again",
		Long: `Remove the single sign-on of the account: its domains are no longer claimed,
and its people sign in with passwords (those it created have none: they use
Forgot password?, or an Owner invites them again). Sessions already open stay.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, account, done, err := a.openSSO(cmd.Context(), "")
			if err != nil {
				return err
			}
			defer done()
			if err := svc.RemoveSSOConfig(cmd.Context(), keyplane.Operator(account), account); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed account %d single sign-on\n", account)
			return nil
		},
	}
}

// printOIDC prints a configuration, one field a line, without its secret.
func printOIDC(a *admin, c keyplane.OIDCConfig) {
	secret := "none (public client)"
	if c.SecretSet {
		secret = "set (sealed; never shown)"
	}
	jit := string(c.JITRole)
	if jit == "" {
		jit = "none (only members sign in)"
	}
	var groups []string
	for _, g := range c.GroupRoles {
		groups = append(groups, g.Group+"="+string(g.Role))
	}
	fmt.Fprintf(a.stdout, "  issuer         %s\n  client-id      %s\n  client-secret  %s\n  domains        %s\n  jit-role       %s\n  groups-claim   %s\n  group-roles    %s\n  require-sso    %t\n",
		c.Issuer, c.ClientID, secret, strings.Join(c.Domains, ", "), jit, c.GroupsClaim, orNone(strings.Join(groups, ", ")), c.RequireSSO)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
