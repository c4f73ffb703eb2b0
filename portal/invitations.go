package portal

import (
	"context"
	"net/http"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// invitedNext is where an invitation's form leads: to the Users page
// when the link was mailed, or to the page that shows it once when it
// must be handed over (no mail server, or the mail server failed).
func invitedNext(r *http.Request, email string, d control.Delivery, mailed string) (string, *shownSecret) {
	if d.Mailed {
		return "/account/users?done=" + mailed, nil
	}
	return shownURL(r), &shownSecret{Email: email, Secret: d.Link, Invitation: true, MailFailed: d.MailFailed}
}

// invite invites a person by e-mail, through control.Service.Invite,
// which decides whether the session may.
func (p *Portal) invite(w http.ResponseWriter, r *http.Request, s *session) error {
	email, role := firstLine(r.PostFormValue("email")), r.PostFormValue("role")
	apps, keysets, ferr := formScope(r)
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		if ferr != nil {
			return "", nil, ferr
		}
		inv, d, err := p.svc.Invite(ctx, s.P, control.NewInvitation{Email: email, Role: keyplane.Role(role), Apps: apps, Keysets: keysets})
		if err != nil {
			return "", nil, err
		}
		next, sec := invitedNext(r, inv.Email, d, "invitation-sent")
		return next, sec, nil
	})
	if done {
		return nil
	}
	if c := keyplane.ErrorCode(err); c != keyplane.CodeInvalid && c != keyplane.CodeConflict {
		return err
	}
	page, perr := p.usersPage(r, s, usersPage{InviteEmail: email, InviteRole: role, InviteApps: apps, InviteKeysets: keysets,
		InviteErrors: fieldErrors(err, "email", "role", "apps", "keysets")})
	if perr != nil {
		return perr
	}
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "users", s, "Users", page)
	return nil
}

// invitationShown shows, once, the link of an invitation that was not
// mailed.
func (p *Portal) invitationShown(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := p.takeShown(r, s)
	if err != nil {
		return err
	}
	if sec == nil || !sec.Invitation {
		p.goneSecret(w, r, s, "invitation link", "If it was not copied, send the invitation again (under Pending invitations): that makes a new link.")
		return nil
	}
	page, err := p.usersPage(r, s, usersPage{InviteLink: sec.Secret, Invited: sec.Email, InviteMailFailed: sec.MailFailed})
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "users", s, "Users", page)
	return nil
}

// resendInvitation sends an invitation again, with a new link.
func (p *Portal) resendInvitation(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		inv, d, err := p.svc.ResendInvitation(ctx, s.P, id)
		if err != nil {
			return "", nil, err
		}
		next, sec := invitedNext(r, inv.Email, d, "invitation-resent")
		return next, sec, nil
	})
}

// revokeInvitation withdraws an invitation: its link stops working.
func (p *Portal) revokeInvitation(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		return "/account/users?done=invitation-revoked", nil, p.svc.RevokeInvitation(ctx, s.P, id)
	})
}
