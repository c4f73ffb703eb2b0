package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
)

// setAccountPolicy sets an account's sign-in policy: whether its members
// must sign in with two factors.
func (a *admin) setAccountPolicy() *cobra.Command {
	var require bool
	cmd := &cobra.Command{
		Use:   "set-account-policy ACCOUNT --require-two-factors=true|false",
		Short: "Require an account's members to sign in with two factors (or stop requiring it)",
		Long: `Set an account's sign-in policy. With --require-two-factors=true, members without
an authenticator app or a passkey must set one up at their next sign-in, before
anything else; the Users page shows who has not yet. The account's Owner can set
the same on that page.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("require-two-factors") {
				return usagef(cmd, "say what to set: --require-two-factors=true or --require-two-factors=false")
			}
			id, err := accountArg(cmd, args[0])
			if err != nil {
				return err
			}
			svc, done, err := a.openService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			_, changed, err := svc.SetSignInPolicy(cmd.Context(), keyplane.Operator(id), id, require)
			if err != nil {
				return err
			}
			state := "requires two factors"
			if !require {
				state = "does not require two factors"
			}
			format := "account %d now %s\n"
			if !changed {
				format = "account %d already %s\n"
			}
			_, err = fmt.Fprintf(a.stdout, format, id, state)
			return err
		},
	}
	cmd.Flags().BoolVar(&require, "require-two-factors", false, "members must sign in with a second factor (an authenticator app or a passkey)")
	return cmd
}
