package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// parseLifetime reads a span (24h, 7d, 2w) as a duration; "0" is zero when
// zeroOK. Calendar units count 24-hour days, as a lifetime does.
func parseLifetime(flag, s string, zeroOK bool) (time.Duration, error) {
	if zeroOK && (s == "0" || s == "0s") {
		return 0, nil
	}
	sp, ok := parseSpan(s)
	if !ok {
		return 0, fmt.Errorf("%s %q: want a span such as 1h, 24h, 7d or 2w", flag, s)
	}
	if sp.calendarUnits {
		return time.Duration(sp.days)*24*time.Hour + time.Duration(sp.years)*365*24*time.Hour, nil
	}
	return sp.d, nil
}

// integrationArg reads the ID argument naming an integration.
func integrationArg(cmd *cobra.Command, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usagef(cmd, "ID %q: want an integration id (see keyplane admin list-integrations)", s)
	}
	return id, nil
}

func (a *admin) rollKey() *cobra.Command {
	var overlapIn, expiresIn string
	cmd := &cobra.Command{
		Use:   "roll-key KEY|ID [--overlap 24h] [--expires-in DURATION]",
		Short: "Replace an API key with a new one, keeping the old one working for an overlap; prints only the new key",
		Long: `Roll an API key: make a new key for its integration and keep the old key
working for the overlap (default 24h, at most 30 days, never past the old
key's own expiry; 0 stops it at once), after which it stops by itself.
KEY is the key's id or the whole key. The new key is printed on stdout,
alone and once; details go to stderr. It lives as long as the old key did
(as far as the account's maximum key lifetime allows) unless --expires-in
says otherwise.

The new key counts against the integration's 3 active keys while the old
one still works: a roll that would make a fourth is refused. Revoke
another key first, or roll with --overlap 0.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			overlap, err := parseLifetime("--overlap", overlapIn, true)
			if err != nil {
				return usagef(cmd, "%s", err)
			}
			var expires time.Time
			if expiresIn != "" {
				if expires, err = parseExpiresIn(expiresIn, wallclock.Now()); err != nil {
					return err
				}
			}
			svc, _, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			// As the install's operator, as revoke-key: a key is named by
			// itself, whichever account it belongs to.
			old, key, err := svc.RollAPIKey(cmd.Context(), keyplane.InstallOperator, strings.TrimSpace(args[0]), overlap, expires)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, key.Key)
			fmt.Fprintf(a.stderr, "rolled API key %d (%s…) of integration %d to API key %d, expiring %s; the old key works until %s; the key above will not be shown again\n",
				old.ID, old.Prefix, old.IntegrationID, key.ID, keyplane.FormatTime(key.ExpiresAt), keyplane.FormatTime(old.ExpiresAt))
			return nil
		},
	}
	cmd.Flags().StringVar(&overlapIn, "overlap", "24h", "how long the old key keeps working: 0 to 30d")
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "the new key's lifetime (default: the old key's)")
	return cmd
}

func (a *admin) suspendIntegration(suspend bool) *cobra.Command {
	use, short := "suspend-integration ID", "Suspend an integration: its API keys get 403 from the next request on; nothing is deleted"
	if !suspend {
		use, short = "resume-integration ID", "Resume a suspended integration: its API keys work again"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := integrationArg(cmd, args[0])
			if err != nil {
				return err
			}
			svc, account, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			in, changed, err := svc.SetIntegrationSuspended(cmd.Context(), keyplane.Operator(account), id, suspend)
			if err != nil {
				return err
			}
			state := "suspended"
			if !suspend {
				state = "resumed"
			}
			if !changed {
				fmt.Fprintf(a.stdout, "integration %d (%s) was already %s\n", in.ID, in.Name, map[bool]string{true: "suspended", false: "active"}[suspend])
				return nil
			}
			fmt.Fprintf(a.stdout, "%s integration %d (%s)\n", state, in.ID, in.Name)
			return nil
		},
	}
}

func (a *admin) setIntegrationNetworks() *cobra.Command {
	var cidrs []string
	var anywhere bool
	cmd := &cobra.Command{
		Use:   "set-integration-networks ID (--allow-cidr CIDR... | --anywhere)",
		Short: "Set the client networks an integration's API keys are allowed from",
		Long: `Set the client networks an integration's API keys are allowed from, from the
next request on: each --allow-cidr names one (203.0.113.0/24,
2001:db8::/32, or one address); a request from elsewhere gets 403 "this
integration's keys are not allowed from ADDRESS". --anywhere removes every
network. Behind a proxy, start serve with --trust-proxy so the address is
the client's, not the proxy's.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := integrationArg(cmd, args[0])
			if err != nil {
				return err
			}
			if anywhere == (len(cidrs) > 0) {
				return usagef(cmd, "give --allow-cidr (repeat for each network) or --anywhere, not both or neither")
			}
			networks, err := keyplane.ParseNetworks("--allow-cidr", cidrs)
			if err != nil {
				return usagef(cmd, "%s", strings.Join(keyplane.ErrorMessages(err), "; "))
			}
			svc, account, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			in, _, err := svc.SetIntegrationNetworks(cmd.Context(), keyplane.Operator(account), id, networks)
			if err != nil {
				return err
			}
			shown := "anywhere"
			if len(in.Networks) > 0 {
				shown = keyplane.FormatNetworks(in.Networks)
			}
			fmt.Fprintf(a.stdout, "integration %d (%s): keys allowed from %s\n", in.ID, in.Name, shown)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&cidrs, "allow-cidr", nil, "a client network the keys are allowed from (repeat for more)")
	cmd.Flags().BoolVar(&anywhere, "anywhere", false, "allow the keys from anywhere (remove every network)")
	return cmd
}

// setAccountPolicy sets an account's policies, the key policy and the
// sign-in policy, or shows them.
func (a *admin) setAccountPolicy() *cobra.Command {
	var maxLife, noticeDays string
	var require bool
	var idle, lifetime time.Duration
	cmd := &cobra.Command{
		Use:   "set-account-policy ACCOUNT [--max-key-lifetime 90d|none] [--notice-days 14,3,1] [--require-two-factors=true|false]",
		Short: "Set an account's key and sign-in policies (key lifetime, expiry notice days, two factors); without flags, show them",
		Long: `Set the policies of account ACCOUNT, or show them when no flag is given.

--max-key-lifetime is the longest lifetime a new or rolled API key may be
given in the account, from 1d to 1y (none: the one-year ceiling); keys made
before keep their expiry. --notice-days are the days before a key expires
at which a notice is given (an audit event and the portal's banner), at
most 5, each 1 to 90 (default 14,3,1).

With --require-two-factors=true, members without an authenticator app or a
passkey must set one up at their next sign-in, before anything else; the
Users page shows who has not yet. The account's Owner can set the same on
that page.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := accountArg(cmd, args[0])
			if err != nil {
				return err
			}
			svc, done, err := a.openService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			op := keyplane.Operator(id)
			pol, err := svc.AccountPolicy(cmd.Context(), op)
			if err != nil {
				return err
			}
			changed := false
			if cmd.Flags().Changed("max-key-lifetime") || cmd.Flags().Changed("notice-days") {
				if cmd.Flags().Changed("max-key-lifetime") {
					if maxLife == "none" {
						pol.MaxKeyLifetime = 0
					} else if pol.MaxKeyLifetime, err = parseLifetime("--max-key-lifetime", maxLife, false); err != nil {
						return usagef(cmd, "%s", err)
					}
				}
				if cmd.Flags().Changed("notice-days") {
					if pol.NoticeDays, err = keyplane.ParseNoticeDays(noticeDays); err != nil {
						return usagef(cmd, "--notice-days: %s", err)
					}
				}
				if pol, changed, err = svc.SetAccountPolicy(cmd.Context(), op, pol); err != nil {
					return err
				}
			}
			verb := "account %d key policy"
			if changed {
				verb = "set account %d key policy"
			}
			fmt.Fprintf(a.stdout, verb+": max-key-lifetime %s, notice-days %s\n", id, keyplane.FormatLifetime(pol.MaxKeyLifetime), keyplane.FormatNoticeDays(pol.NoticeDays))
			return a.signInPolicy(cmd, svc, id, require, idle, lifetime)
		},
	}
	cmd.Flags().StringVar(&maxLife, "max-key-lifetime", "", "longest lifetime of a new or rolled API key, 1d to 1y, or none")
	cmd.Flags().StringVar(&noticeDays, "notice-days", "", "days before expiry at which notices are given, e.g. 14,3,1")
	cmd.Flags().BoolVar(&require, "require-two-factors", false, "members must sign in with a second factor (an authenticator app or a passkey)")
	cmd.Flags().DurationVar(&idle, "session-idle-timeout", 0, "sign a portal session out after this long unused, 5m to 12h (0: never)")
	cmd.Flags().DurationVar(&lifetime, "session-lifetime", 0, "sign a portal session out this long after sign-in, 5m to 12h (0: 12h)")
	return cmd
}

// signInPolicy sets account id's sign-in policy when --require-two-factors
// was given, and prints it.
func (a *admin) signInPolicy(cmd *cobra.Command, svc *control.Service, id int64, require bool, idle, lifetime time.Duration) error {
	op := keyplane.Operator(id)
	pol, err := svc.SignInPolicy(cmd.Context(), op)
	if err != nil {
		return err
	}
	var changed bool
	if cmd.Flags().Changed("session-idle-timeout") || cmd.Flags().Changed("session-lifetime") {
		if !cmd.Flags().Changed("session-idle-timeout") {
			idle = pol.IdleTimeout
		}
		if !cmd.Flags().Changed("session-lifetime") {
			lifetime = pol.Lifetime
		}
		var limits bool
		if pol, limits, err = svc.SetSessionLimits(cmd.Context(), op, id, idle, lifetime); err != nil {
			return err
		}
		if limits {
			fmt.Fprintf(a.stdout, "account %d sessions: idle timeout %s, lifetime %s\n", id, durationOr(pol.IdleTimeout, "none"), durationOr(pol.Lifetime, "12h"))
		}
	}
	if cmd.Flags().Changed("require-two-factors") {
		if pol, changed, err = svc.SetSignInPolicy(cmd.Context(), op, id, require); err != nil {
			return err
		}
	}
	state := "requires two factors"
	if !pol.RequireTwoFactors {
		state = "does not require two factors"
	}
	format := "account %d %s\n"
	if changed {
		format = "account %d now %s\n"
	}
	_, err = fmt.Fprintf(a.stdout, format, id, state)
	return err
}

// durationOr writes a duration of a policy, or what 0 means for it.
func durationOr(d time.Duration, zero string) string {
	if d == 0 {
		return zero
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}
