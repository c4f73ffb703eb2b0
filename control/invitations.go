package control

import (
	"context"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/mail"
)

// linkTokenLen is the length of the tokens of links sent by e-mail: 43
// base62 characters, about 256 bits, like a session's.
const linkTokenLen = 43

// invitationView is what an audit event records of an invitation: never
// its link.
func invitationView(i keyplane.Invitation) any {
	v := map[string]any{"id": i.ID, "email": i.Email, "role": i.Role, "expiresAt": keyplane.FormatTime(i.ExpiresAt)}
	if len(i.Apps) > 0 {
		v["apps"] = i.Apps
	}
	if len(i.Keysets) > 0 {
		v["keysets"] = i.Keysets
	}
	return v
}

// NewInvitation is what inviting takes: the address, and the role with
// its apps or keysets, as for NewUser.
type NewInvitation struct {
	Email         string
	Role          keyplane.Role
	Apps, Keysets []int64
}

// Delivery is how an invitation's link reaches the invitee.
type Delivery struct {
	// Mailed tells the link went out by e-mail.
	Mailed bool
	// Link is the link when it did not go out (no mail server, or the
	// server failed: MailFailed), for whoever invited to hand over. It is
	// a secret, shown once.
	Link string
	// MailFailed tells sending was tried and failed (the server's log
	// says why).
	MailFailed bool
}

// Invite invites a person by e-mail into p's account with a role: the
// link, valid keyplane.InvitationTTL, is mailed or, without a mail
// server, handed back. Only an Owner or Account Admin (or the operator)
// may, as for CreateUser; Owner is the operator's to give. An address
// that is already a member, or already invited, is refused.
func (s *Service) Invite(ctx context.Context, p keyplane.Principal, n NewInvitation) (inv keyplane.Invitation, d Delivery, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return inv, d, err
	}
	role, apps, keysets, err := checkScope(n.Role, n.Apps, n.Keysets)
	if err != nil {
		return inv, d, err
	}
	if role == keyplane.RoleOwner && !p.Operator {
		return inv, d, keyplane.Errorf(keyplane.CodeInvalid, "role: an account has one Owner; choose another role")
	}
	email, err := checkEmail(n.Email)
	if err != nil {
		return inv, d, err
	}
	token, err := keyplane.NewToken(s.rand, linkTokenLen)
	if err != nil {
		return inv, d, err
	}
	now := s.clock()
	inv = keyplane.Invitation{AccountID: p.AccountID, Email: email, Role: role, Apps: apps, Keysets: keysets,
		Inviter: inviter(p), CreatedAt: now, SentAt: now, ExpiresAt: now.Add(keyplane.InvitationTTL)}
	var acc keyplane.Account
	err = s.store.Write(ctx, func(tx Tx) (err error) {
		if acc, err = tx.Account(p.AccountID); err != nil {
			return err
		}
		if err := scopeExists(tx, p.AccountID, apps, keysets); err != nil {
			return err
		}
		if person, err := tx.UserByEmail(email); err == nil {
			if _, merr := tx.User(p.AccountID, person.ID); merr == nil {
				return keyplane.Errorf(keyplane.CodeConflict, "email: %s is already a member of this account", email)
			} else if keyplane.ErrorCode(merr) != keyplane.CodeNotFound {
				return merr
			}
		} else if keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			return err
		}
		if _, err := tx.InvitationByEmail(p.AccountID, email); err == nil {
			return keyplane.Errorf(keyplane.CodeConflict, "email: %s is already invited; send the invitation again, or revoke it, under Pending invitations", email)
		} else if keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			return err
		}
		if err := tx.InsertInvitation(&inv, hashToken(token)); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventInvitationSent, "invitation", inv.ID, nil, invitationView(inv))
	})
	if err != nil {
		return keyplane.Invitation{}, d, err
	}
	return inv, s.deliver(ctx, inv, acc.Name, token), nil
}

// inviter names p in an invitation's message.
func inviter(p keyplane.Principal) string {
	if p.UserEmail != "" {
		return p.UserEmail
	}
	return "The operator of this Keyplane"
}

// deliver mails an invitation's link, or hands it back when it cannot.
// It is sent while the inviter waits, so they learn at once whether it
// went.
func (s *Service) deliver(ctx context.Context, inv keyplane.Invitation, account, token string) Delivery {
	link := s.link(InvitationPath, token)
	if s.mailer == nil {
		return Delivery{Link: link}
	}
	m := mail.InvitationMessage(mail.Invitation{To: inv.Email, Account: account, Inviter: inv.Inviter, Role: inv.Role.Label(),
		Link: link, Valid: validity(keyplane.InvitationTTL)})
	if !s.sendNow(ctx, "invitation", m) {
		return Delivery{Link: link, MailFailed: true}
	}
	return Delivery{Mailed: true}
}

// ListInvitations lists the invitations of p's account not yet accepted
// or revoked, expired ones included.
func (s *Service) ListInvitations(ctx context.Context, p keyplane.Principal) (is []keyplane.Invitation, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ReadUsers); err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		is, err = tx.Invitations(p.AccountID)
		return err
	})
	return is, err
}

// ResendInvitation sends an invitation again with a new link, valid
// keyplane.InvitationTTL from now; the old link stops working.
func (s *Service) ResendInvitation(ctx context.Context, p keyplane.Principal, id int64) (inv keyplane.Invitation, d Delivery, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return inv, d, err
	}
	token, err := keyplane.NewToken(s.rand, linkTokenLen)
	if err != nil {
		return inv, d, err
	}
	now := s.clock()
	var acc keyplane.Account
	err = s.store.Write(ctx, func(tx Tx) (err error) {
		if inv, err = tx.Invitation(p.AccountID, id); err != nil {
			return err
		}
		if acc, err = tx.Account(p.AccountID); err != nil {
			return err
		}
		before := invitationView(inv)
		inv.SentAt, inv.ExpiresAt = now, now.Add(keyplane.InvitationTTL)
		if err := tx.RenewInvitation(p.AccountID, id, hashToken(token), inv.SentAt, inv.ExpiresAt); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventInvitationSent, "invitation", id, before, invitationView(inv))
	})
	if err != nil {
		return keyplane.Invitation{}, d, err
	}
	return inv, s.deliver(ctx, inv, acc.Name, token), nil
}

// RevokeInvitation withdraws an invitation: its link stops working.
func (s *Service) RevokeInvitation(ctx context.Context, p keyplane.Principal, id int64) error {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error {
		inv, err := tx.Invitation(p.AccountID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteInvitation(p.AccountID, id); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventInvitationRevoked, "invitation", id, invitationView(inv), nil)
	})
}

// InvitationLink is what an invitation's link shows before it is
// accepted.
type InvitationLink struct {
	Invitation keyplane.Invitation
	Account    keyplane.Account
	// Existing tells the address already signs in to Keyplane: its person
	// accepts with their password instead of choosing one.
	Existing bool
}

// usedLink is the answer to a link that does not work, whatever the
// reason: unknown, used, revoked or expired look alike.
func usedLink(what, then string) error {
	return keyplane.Errorf(keyplane.CodeNotFound, "This %s link does not work: it is unknown, was used already, or has expired. %s", what, then)
}

// checkInvitation finds the working invitation behind a link's token.
func (s *Service) checkInvitation(tx Tx, token string) (keyplane.Invitation, keyplane.Account, error) {
	refused := usedLink("invitation", "Ask whoever invited you to send it again.")
	if len(token) != linkTokenLen {
		return keyplane.Invitation{}, keyplane.Account{}, refused
	}
	inv, err := tx.InvitationByHash(hashToken(token))
	switch {
	case keyplane.ErrorCode(err) == keyplane.CodeNotFound || (err == nil && inv.Expired(s.clock())):
		return inv, keyplane.Account{}, refused
	case err != nil:
		return inv, keyplane.Account{}, err
	}
	acc, err := tx.Account(inv.AccountID)
	if err != nil {
		return inv, acc, err
	}
	return inv, acc, usable(acc)
}

// OpenInvitation tells what a working invitation link offers. Whoever
// holds the link learns whether its address already signs in to Keyplane
// (they are asked for that password): the link is the invitee's.
func (s *Service) OpenInvitation(ctx context.Context, token string) (l InvitationLink, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		if l.Invitation, l.Account, err = s.checkInvitation(tx, token); err != nil {
			return err
		}
		_, err := tx.UserByEmail(l.Invitation.Email)
		l.Existing = err == nil
		if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return nil
		}
		return err
	})
	return l, err
}

// AcceptInvitation accepts an invitation through its link and opens a
// session in its account, returning the session's token. A new person
// chooses password; a person who already signs in to Keyplane gives
// theirs (checked under the sign-in throttle) and gains a membership. The
// link then no longer works. The acceptance is recorded with the client's
// address (ip) and userAgent.
func (s *Service) AcceptInvitation(ctx context.Context, token, password, ip, userAgent string) (session string, u keyplane.User, err error) {
	var inv keyplane.Invitation
	var person keyplane.User
	var existing bool
	err = s.store.Read(ctx, func(tx Tx) (err error) {
		if inv, _, err = s.checkInvitation(tx, token); err != nil {
			return err
		}
		person, existing, err = personByEmail(tx, inv.Email)
		return err
	})
	if err != nil {
		return "", u, err
	}
	prove, err := s.provePassword(ctx, person, existing, password, ip)
	if err != nil {
		return "", u, err
	}
	if session, err = keyplane.NewToken(s.rand, sessionTokenLen); err != nil {
		return "", u, err
	}
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		again, _, err := s.checkInvitation(tx, token) // used or revoked meanwhile?
		if err != nil {
			return err
		}
		if again.ID != inv.ID {
			return usedLink("invitation", "Ask whoever invited you to send it again.")
		}
		if err := prove.done(tx); err != nil {
			return err
		}
		u = keyplane.User{ID: person.ID, AccountID: inv.AccountID, Email: inv.Email, PasswordHash: prove.hash, Role: inv.Role,
			Apps: inv.Apps, Keysets: inv.Keysets, CreatedAt: now}
		granted, err := s.join(tx, &u, existing)
		if err != nil {
			return err
		}
		if err := tx.DeleteInvitation(inv.AccountID, inv.ID); err != nil {
			return err
		}
		actor := u.Principal().Actor().From(requestOrigin(ip, userAgent))
		if err := s.record(tx, actor, inv.AccountID, keyplane.EventInvitationAccepted, "invitation", inv.ID, invitationView(inv), nil); err != nil {
			return err
		}
		if granted {
			if err := s.record(tx, actor, inv.AccountID, keyplane.EventUserAccessGranted, "user", u.ID, nil, userView(u)); err != nil {
				return err
			}
		}
		return openSession(tx, u, session, now)
	})
	if err != nil {
		return "", keyplane.User{}, err
	}
	return session, u, nil
}

// proof is a password proven for a link's flow: hash is the person's
// password hash (theirs, or the new one's), and done, run in the write
// transaction, takes back the sign-in attempt of a person who gave theirs.
type proof struct {
	hash string
	a    *attempt
}

func (p proof) done(tx Tx) error {
	if p.a == nil {
		return nil
	}
	return p.a.release(tx)
}

// provePassword checks password for a flow that brings a person in: an
// existing person's must be theirs (charged to the sign-in throttle, as a
// sign-in would be); a new one's must be a good new password, which is
// hashed.
func (s *Service) provePassword(ctx context.Context, person keyplane.User, existing bool, password, ip string) (proof, error) {
	if !existing {
		if err := keyplane.Invalid(nonEmpty(keyplane.ValidatePassword("password", password))...); err != nil {
			return proof{}, err
		}
		h, err := s.hashes.hash(ctx, s.rand, password)
		return proof{hash: h}, err
	}
	var a attempt
	err := s.store.Write(ctx, func(tx Tx) (err error) {
		a, err = s.reserveAttempt(tx, signInSubjects(person.Email, ip))
		return err
	})
	if err != nil {
		return proof{}, err
	}
	ok, err := s.checkCharged(ctx, a, person.PasswordHash, password)
	if err != nil {
		return proof{}, err
	}
	if !ok {
		return proof{}, keyplane.Errorf(keyplane.CodeInvalid, "password: not the password of %s; give the one you sign in to Keyplane with (forgot it? ask for a reset on the sign-in page)", person.Email)
	}
	return proof{hash: person.PasswordHash, a: &a}, nil
}

// join makes u (its AccountID, role and scope set) a member: a new person
// (u.ID 0; the id is set) or, for an existing one, a membership.
// granted is false when they were a member already (added meanwhile).
func (s *Service) join(tx Tx, u *keyplane.User, existing bool) (granted bool, err error) {
	person, err := tx.UserByEmail(u.Email)
	switch {
	case keyplane.ErrorCode(err) == keyplane.CodeNotFound:
		if existing { // gone meanwhile: what was proven no longer applies
			return false, keyplane.Errorf(keyplane.CodeConflict, "%s no longer signs in to Keyplane; open the link again", u.Email)
		}
		return true, tx.InsertUser(u)
	case err != nil:
		return false, err
	case !existing || person.ID != u.ID:
		// Created meanwhile: the password chosen is not theirs.
		return false, keyplane.Errorf(keyplane.CodeConflict, "%s signs in to Keyplane already; open the link again and give that password", u.Email)
	}
	if m, err := tx.User(u.AccountID, u.ID); err == nil {
		*u = m
		return false, nil
	} else if keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		return false, err
	}
	return true, tx.InsertMembership(*u)
}
