package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/wallclock"
)

func (a *admin) createOperatorKey() *cobra.Command {
	var name, expiresIn string
	cmd := &cobra.Command{
		Use:   "create-operator-key --name NAME --expires-in DURATION",
		Short: "Create a key of the operator API (/operator/v1); prints only the key",
		Long: `Create an operator key: it authenticates the operator API (/operator/v1/accounts:
create, list, rename, disable and enable accounts, give an account its first Owner).
The key (kpop_…) is printed on stdout, once, and nothing else is; details go to
stderr. It works only on /operator, never on /v2; treat it as keyplane admin itself.

DURATION is how long the key lives, at most one year: 90d, 720h, 2w, 1y.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			expires, err := parseExpiresIn(expiresIn, wallclock.Now())
			if err != nil {
				return err
			}
			svc, done, err := a.openService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			k, err := svc.CreateOperatorKey(cmd.Context(), keyplane.InstallOperator, name, expires)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, k.Key)
			fmt.Fprintf(a.stderr, "created operator key %d (%s), expiring %s; the key above will not be shown again\n",
				k.ID, k.Name, keyplane.FormatTime(k.ExpiresAt))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "what the key is for, e.g. \"provisioning\"")
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "key lifetime, at most 1 year (90d, 720h, 1y)")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("expires-in")
	return cmd
}

func (a *admin) listOperatorKeys() *cobra.Command {
	return &cobra.Command{
		Use:   "list-operator-keys",
		Short: "List operator keys, one a line: id, prefix, creation, expiry, state, last use or -, name",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := a.openService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			ks, err := svc.OperatorKeys(cmd.Context(), keyplane.InstallOperator)
			if err != nil {
				return err
			}
			now := wallclock.Now()
			for _, k := range ks {
				used := "-"
				if k.LastUsedAt != nil {
					used = keyplane.FormatTime(*k.LastUsedAt)
				}
				// The name last: it is the one field that may hold spaces.
				fmt.Fprintf(a.stdout, "%d\t%s…\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, keyplane.FormatTime(k.CreatedAt),
					keyplane.FormatTime(k.ExpiresAt), k.State(now), used, k.Name)
			}
			return nil
		},
	}
}

func (a *admin) revokeOperatorKey() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-operator-key KEY",
		Short: "Revoke an operator key at once; KEY is the key's id or the whole key",
		Long: `Revoke an operator key: the next request made with it is refused, on every
server on the database. KEY is its id (see list-operator-keys) or the whole key.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := a.openService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			k, already, err := svc.RevokeOperatorKey(cmd.Context(), keyplane.InstallOperator, strings.TrimSpace(args[0]))
			if err != nil {
				return err
			}
			if already {
				fmt.Fprintf(a.stdout, "operator key %d (%s…) was already revoked at %s\n", k.ID, k.Prefix, keyplane.FormatTime(*k.RevokedAt))
				return nil
			}
			fmt.Fprintf(a.stdout, "revoked operator key %d (%s…, %s)\n", k.ID, k.Prefix, k.Name)
			return nil
		},
	}
}
