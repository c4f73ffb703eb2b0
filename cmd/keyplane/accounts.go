package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"
)

// openService opens the database and the operations on it, without
// choosing an account (these commands name theirs, or work on all).
func (a *admin) openService(ctx context.Context) (*control.Service, func(), error) {
	db, err := store.Open(ctx, a.database, wallclock.Now())
	if err != nil {
		return nil, nil, err
	}
	return control.New(db, control.Options{}), func() { db.Close() }, nil
}

// accountArg reads the ACCOUNT argument of cmd: anything but an id is a
// usage error (exit 2).
func accountArg(cmd *cobra.Command, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usagef(cmd, "ACCOUNT %q: want an account id (see keyplane admin list-accounts)", s)
	}
	return id, nil
}

func (a *admin) listAccounts() *cobra.Command {
	return &cobra.Command{
		Use:   "list-accounts",
		Short: "List accounts, one a line: id, then partner or -, creation time, enabled or disabled, name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := a.openService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			as, err := svc.Accounts(cmd.Context())
			if err != nil {
				return err
			}
			for _, acc := range as {
				partner := "-"
				if acc.Partner {
					partner = "partner"
				}
				// The name last: it is the one field that may hold spaces.
				fmt.Fprintf(a.stdout, "%d\t%s\t%s\t%s\t%s\n", acc.ID, partner, keyplane.FormatTime(acc.CreatedAt), acc.State(), acc.Name)
			}
			return nil
		},
	}
}

func (a *admin) createAccount() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "create-account --name NAME",
		Short: "Create an account; prints only its id",
		Long: `Create an account named NAME. Its id is printed on stdout, alone, so that
ID=$(keyplane admin create-account --name Acme) works; then give it people and
integrations with --account ID (create-user, create-integration).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := a.openService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			acc, err := svc.CreateAccount(cmd.Context(), keyplane.InstallOperator, name)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, acc.ID)
			fmt.Fprintf(a.stderr, "created account %d (%s)\n", acc.ID, acc.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the account's name, e.g. \"Acme Inc\"")
	cmd.MarkFlagRequired("name")
	return cmd
}

func (a *admin) renameAccount() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "rename-account ACCOUNT --name NAME",
		Short: "Give an account another name",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.changeAccount(cmd, args[0], func(svc *control.Service, id int64) (keyplane.Account, bool, error) {
				return svc.RenameAccount(cmd.Context(), keyplane.Operator(id), id, name)
			}, func(acc keyplane.Account) string { return "named " + acc.Name })
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the account's new name")
	cmd.MarkFlagRequired("name")
	return cmd
}

// changeAccount runs change on the account named by arg and says what
// the account now is ("account 2 is now disabled"), or that it already was.
func (a *admin) changeAccount(cmd *cobra.Command, arg string, change func(*control.Service, int64) (keyplane.Account, bool, error), is func(keyplane.Account) string) error {
	id, err := accountArg(cmd, arg)
	if err != nil {
		return err
	}
	svc, done, err := a.openService(cmd.Context())
	if err != nil {
		return err
	}
	defer done()
	acc, changed, err := change(svc, id)
	if err != nil {
		return err
	}
	format := "account %d is now %s\n"
	if !changed {
		format = "account %d was already %s\n"
	}
	_, err = fmt.Fprintf(a.stdout, format, acc.ID, is(acc))
	return err
}

// disableAccount is disable-account (off) or enable-account (on).
func (a *admin) disableAccount(disable bool) *cobra.Command {
	use, short := "enable-account ACCOUNT", "Enable a disabled account: its keys, sign-ins and sessions work again"
	if disable {
		use, short = "disable-account ACCOUNT", "Disable an account: its keys get 403 and its people cannot sign in; nothing is deleted"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.

Disabling takes effect on the next request, on every server on the database,
as revoking a key does. Nothing the account holds is deleted, and enabling it
restores every key, user and session that had not expired meanwhile.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.changeAccount(cmd, args[0], func(svc *control.Service, id int64) (keyplane.Account, bool, error) {
				return svc.SetAccountDisabled(cmd.Context(), keyplane.Operator(id), id, disable)
			}, keyplane.Account.State)
		},
	}
}

// setPartner is set-partner (on) or unset-partner (off).
func (a *admin) setPartner(on bool) *cobra.Command {
	use, short := "set-partner ACCOUNT", "Enrol an account in the OEM partner programme: its keys may then use /v2/oem/*"
	if !on {
		use, short = "unset-partner ACCOUNT", "End an account's OEM partnership: /v2/oem/* answers it 403 again (its customers are kept)"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
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
			changed, err := svc.SetPartner(cmd.Context(), keyplane.Operator(id), id, on)
			if err != nil {
				return err
			}
			state := "a partner"
			if !on {
				state = "not a partner"
			}
			if !changed {
				fmt.Fprintf(a.stdout, "account %d was already %s\n", id, state)
				return nil
			}
			fmt.Fprintf(a.stdout, "account %d is now %s\n", id, state)
			return nil
		},
	}
}

// errAuditBroken makes verify-audit exit non-zero after its report.
var errAuditBroken = errors.New("audit chain broken")

func (a *admin) verifyAudit() *cobra.Command {
	return &cobra.Command{
		Use:   "verify-audit",
		Short: "Walk each account's audit chain and report it, with the first broken link; exits 1 if there is one",
		Long: `Walk the audit chain of every account, each on its own, event by event, checking
that each event's hash seals its recorded fields and the hash of the account's event
before it. Prints one line an account: the number of its events and the hash of
its last one (note it down: a later run ending on the same hash proves nothing
before it changed), or its first broken link. Exits 1 if any account's chain is
broken; the other accounts are still walked and reported.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := a.openService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			v, err := svc.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if v.Events == 0 {
				fmt.Fprintln(a.stdout, "audit chain empty: no events yet")
				return nil
			}
			for _, c := range v.Accounts {
				if c.Break != nil {
					fmt.Fprintf(a.stdout, "account %d: audit chain BROKEN at event %d: %s\n", c.AccountID, c.Break.EventID, c.Break.Reason)
					continue
				}
				fmt.Fprintf(a.stdout, "account %d: audit chain intact: %d events, head %x\n", c.AccountID, c.Events, c.Head)
			}
			if b := v.Break; b != nil {
				return fmt.Errorf("%w in account %d at event %d (%d events walked in all)", errAuditBroken, b.AccountID, b.EventID, v.Events)
			}
			return nil
		},
	}
}

func (a *admin) exportAudit() *cobra.Command {
	var out string
	var all bool
	cmd := &cobra.Command{
		Use:   "export-audit [--out FILE] [--all]",
		Short: "Write the audit events of an account (or of all, with --all) as NDJSON",
		Long: `Write audit events as NDJSON, one event a line, oldest first, with the fields of
GET /v2/audit-events (hash and prevHash included). Ids count each account's events
from 1. --all exports every account's events, interleaved as they were recorded:
each account's chain can be verified from the file alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, account, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if all {
				account = 0
			}
			var w io.Writer = a.stdout
			var f *os.File
			if out != "" && out != "-" {
				if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
					return err
				}
				w = f
			}
			bw := bufio.NewWriter(w)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			n := 0
			err = svc.ExportAudit(cmd.Context(), account, func(e keyplane.AuditEvent) error {
				n++
				return enc.Encode(e.JSON())
			})
			if err == nil {
				err = bw.Flush()
			}
			if f != nil {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err == nil {
					fmt.Fprintf(a.stderr, "wrote %d audit events to %s\n", n, out)
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to create (it must not exist); default stdout")
	cmd.Flags().BoolVar(&all, "all", false, "every account's events, each account's whole chain")
	return cmd
}
