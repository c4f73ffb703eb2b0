package control

import (
	"context"
	"slices"
	"strconv"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/mail"
)

// The server's own notices by e-mail, where a mail server is set up: a
// webhook the delivery worker disabled is told to the account's Owners,
// and each key notice to its Owners and Admins. Both are sent in the
// background (WaitBackground waits for them), after the change is committed and
// audited: a mail server that is down delays or loses a message, never
// the change, and the audit event, the portal's banner and the server's
// log still tell.

// mailMembers sends to each member of account accountID holding one of
// roles the message make writes for them, knowing the account's name.
func (s *Service) mailMembers(ctx context.Context, what string, accountID int64, roles []keyplane.Role, make func(to, account string) mail.Message) {
	if s.mailer == nil {
		return
	}
	var acc keyplane.Account
	var us []keyplane.User
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		if acc, err = tx.Account(accountID); err != nil {
			return err
		}
		us, err = tx.Users(accountID)
		return err
	})
	if err != nil {
		s.log.Warn("finding whom to mail", "what", what, "accountId", accountID, "err", err)
		return
	}
	for _, u := range us {
		if slices.Contains(roles, u.Role) {
			s.sendLater(what, make(u.Email, acc.Name))
		}
	}
}

// mailWebhookDisabled tells the Owners of w's account that the server
// disabled it.
func (s *Service) mailWebhookDisabled(ctx context.Context, w keyplane.Webhook) {
	link := s.publicURL + "/account/webhooks/" + strconv.FormatInt(w.ID, 10)
	s.mailMembers(ctx, "webhook disabled", w.AccountID, []keyplane.Role{keyplane.RoleOwner}, func(to, account string) mail.Message {
		return mail.WebhookDisabledMessage(mail.WebhookDisabled{To: to, Account: account, URL: w.URL, Reason: w.DisabledReason, Link: link})
	})
}

// mailKeyNotice tells the Owners and Admins of a key's account of a
// notice about it.
func (s *Service) mailKeyNotice(ctx context.Context, n KeyNoticeOf) {
	k := mail.KeyNotice{Integration: n.Integration.Name, Prefix: n.Key.Prefix, Expires: n.Key.ExpiresAt.UTC().Format("Jan 2, 2006 15:04 UTC"),
		Unused: n.Notice.Kind == keyplane.NoticeUnused, DaysLeft: n.Notice.DaysLeft, LastUsed: "never",
		Link: s.publicURL + "/account/api-management/" + strconv.FormatInt(n.Integration.ID, 10)}
	if n.Key.LastUsedAt != nil {
		k.LastUsed = n.Key.LastUsedAt.UTC().Format("Jan 2, 2006")
	}
	s.mailMembers(ctx, "key notice", n.Integration.AccountID, []keyplane.Role{keyplane.RoleOwner, keyplane.RoleAdmin}, func(to, account string) mail.Message {
		m := k
		m.To, m.Account = to, account
		return mail.KeyNoticeMessage(m)
	})
}
