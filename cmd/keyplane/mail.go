package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/mail"
	"github.com/keyplane/keyplane/server"
	"github.com/keyplane/keyplane/store"
)

// mailFlags are the flags that set up sending e-mail, shared by serve and
// the admin commands that send it.
type mailFlags struct {
	smtpURL, from, passwordFile, publicURL string
}

// add registers the flags on cmd. The URL's environment variable is read
// only when the command runs (see resolve), never as the flag's default:
// help would print a default, and this one may hold a password.
func (m *mailFlags) add(cmd *cobra.Command, getenv func(string) string) {
	cmd.Flags().StringVar(&m.smtpURL, "smtp-url", "", "mail server for invitations, password resets and sign-ups: smtp://user:password@host:587 (STARTTLS, required unless the host is this machine) or smtps://user:password@host:465 (TLS) (env KEYPLANE_SMTP_URL)")
	cmd.Flags().StringVar(&m.from, "smtp-from", getenv("KEYPLANE_SMTP_FROM"), "the From of messages, e.g. \"Keyplane <noreply@example.com>\" (env KEYPLANE_SMTP_FROM)")
	cmd.Flags().StringVar(&m.passwordFile, "smtp-password-file", getenv("KEYPLANE_SMTP_PASSWORD_FILE"), "file whose first line is the mail server's password, instead of putting it in --smtp-url (env KEYPLANE_SMTP_PASSWORD_FILE)")
	cmd.Flags().StringVar(&m.publicURL, "public-url", getenv("KEYPLANE_PUBLIC_URL"), "the address people's browsers reach this server at: the base of links in e-mails and of the setup link, and the site passkeys belong to, e.g. https://keyplane.example.com (env KEYPLANE_PUBLIC_URL)")
	checkFirst(cmd, func() error {
		if !cmd.Flags().Changed("smtp-url") {
			m.smtpURL = getenv("KEYPLANE_SMTP_URL")
		}
		return nil
	})
}

// sender is the mail sender the flags set up, or nil without --smtp-url.
func (m *mailFlags) sender() (mail.Sender, error) {
	if m.publicURL != "" {
		if err := server.CheckPublicURL(m.publicURL); err != nil {
			return nil, err
		}
	}
	if m.smtpURL == "" {
		if m.from != "" || m.passwordFile != "" {
			return nil, errors.New("--smtp-from and --smtp-password-file need --smtp-url (or KEYPLANE_SMTP_URL)")
		}
		return nil, nil
	}
	if m.publicURL == "" {
		return nil, errors.New("--smtp-url needs --public-url (or KEYPLANE_PUBLIC_URL): the links in e-mails must lead to the server as people's browsers reach it")
	}
	c, err := mail.ParseURL(m.smtpURL, m.from, m.passwordFile)
	if err != nil {
		return nil, err
	}
	return mail.NewSMTP(c, nil), nil
}

// openMail opens the database with a service that sends mail as the flags
// say, acting in the account chosen (the first unless --account).
func (a *admin) openMail(cmd *cobra.Command, m *mailFlags, getenv func(string) string) (*control.Service, int64, func(), error) {
	sender, err := m.sender()
	if err != nil {
		return nil, 0, nil, err
	}
	public := m.publicURL
	if public == "" {
		public = server.BaseURL(env(getenv, "KEYPLANE_ADDR", "127.0.0.1:8080"), false)
	}
	db, err := store.Open(cmd.Context(), a.database, wallclock.Now())
	if err != nil {
		return nil, 0, nil, err
	}
	svc := control.New(db, control.Options{Mailer: sender, PublicURL: public})
	account := a.account
	if account == 0 {
		as, err := svc.Accounts(cmd.Context())
		if err != nil {
			db.Close()
			return nil, 0, nil, err
		}
		account = as[0].ID
	}
	return svc, account, func() { db.Close() }, nil
}

func (a *admin) invite(getenv func(string) string) *cobra.Command {
	var email, role string
	var apps, keysets []int64
	var m mailFlags
	cmd := &cobra.Command{
		Use:   "invite --email EMAIL --role ROLE [--app ID]... [--keyset ID]...",
		Short: "Invite a person by e-mail into the account; without a mail server, prints the link to hand over",
		Long: `Invite a person into the account with a role (as create-user takes it; owner
included). With --smtp-url the invitation is mailed; without one, its link
is printed on stdout, once, and nothing else is: hand it over privately.
The link works once, for 7 days. Whoever opens it chooses a password, or,
already signing in to Keyplane with that address, gives theirs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := keyplane.ParseRole(role)
			if err != nil {
				return err
			}
			if msgs := keyplane.ValidateScope(r, apps, keysets); msgs != nil {
				return usagef(cmd, "%s", strings.Join(msgs, "; "))
			}
			svc, account, done, err := a.openMail(cmd, &m, getenv)
			if err != nil {
				return err
			}
			defer done()
			inv, d, err := svc.Invite(cmd.Context(), keyplane.Operator(account), control.NewInvitation{Email: email, Role: r, Apps: apps, Keysets: keysets})
			if err != nil {
				return err
			}
			switch {
			case d.Mailed:
				fmt.Fprintf(a.stderr, "invited %s into account %d as %s; the invitation was mailed, its link works until %s\n", inv.Email, account, inv.Role.Label(), keyplane.FormatTime(inv.ExpiresAt))
			default:
				fmt.Fprintln(a.stdout, d.Link)
				why := "no --smtp-url"
				if d.MailFailed {
					why = "the mail server failed (see above)"
				}
				fmt.Fprintf(a.stderr, "invited %s into account %d as %s; not mailed (%s): hand over the link above, which works once, until %s\n", inv.Email, account, inv.Role.Label(), why, keyplane.FormatTime(inv.ExpiresAt))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the address to invite")
	cmd.Flags().StringVar(&role, "role", "", "owner, admin, viewer, app-admin, app-viewer, key-admin or key-viewer")
	cmd.Flags().Int64SliceVar(&apps, "app", nil, "an app the app-admin or app-viewer role applies to (repeat for more)")
	cmd.Flags().Int64SliceVar(&keysets, "keyset", nil, "a keyset the key-admin or key-viewer role applies to (repeat for more)")
	m.add(cmd, getenv)
	cmd.MarkFlagRequired("email")
	cmd.MarkFlagRequired("role")
	return cmd
}

func (a *admin) resetPassword(getenv func(string) string) *cobra.Command {
	var email string
	var m mailFlags
	cmd := &cobra.Command{
		Use:   "reset-password --email EMAIL",
		Short: "Make a one-hour password reset link for a person; mailed with --smtp-url, else printed to hand over",
		Long: `Make a link that lets the person who signs in with EMAIL choose a new
password: it works once, for 1 hour, and using it signs them out
everywhere. With --smtp-url it is mailed to them; without, it is printed
on stdout, once, and nothing else is: hand it over privately. With
--account, only that account's people.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, _, done, err := a.openMail(cmd, &m, getenv)
			if err != nil {
				return err
			}
			defer done()
			p := keyplane.InstallOperator
			if a.account != 0 {
				p = keyplane.Operator(a.account)
			}
			link, mailed, err := svc.PasswordResetLink(cmd.Context(), p, email)
			if err != nil {
				return err
			}
			if mailed {
				fmt.Fprintf(a.stderr, "a password reset link was mailed to %s; it works once, for 1 hour\n", keyplane.NormalizeEmail(email))
				return nil
			}
			fmt.Fprintln(a.stdout, link)
			fmt.Fprintf(a.stderr, "hand the link above to %s privately; it works once, for 1 hour\n", keyplane.NormalizeEmail(email))
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the address the person signs in with")
	m.add(cmd, getenv)
	cmd.MarkFlagRequired("email")
	return cmd
}
