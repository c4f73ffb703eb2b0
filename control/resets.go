package control

import (
	"context"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/mail"
)

// RequestPasswordReset mails a link to choose a new password, valid
// keyplane.PasswordResetTTL, when a person signs in with email. The
// answer is the same whether or not one does, in words and, as far as a
// server can make it, in time: the same transaction runs either way (it
// charges the request to the address and to the client ip, refusing with
// TooManyRequests past keyplane.MaxMailRequestsAddress and
// MaxMailRequestsClient), and the message goes out in the background,
// as does the PasswordResetRequested record (with the client's address and
// User-Agent) in each of the person's accounts.
func (s *Service) RequestPasswordReset(ctx context.Context, email, ip, userAgent string) error {
	if s.mailer == nil {
		return noMail("Password reset by e-mail", "ask the operator of this Keyplane for a reset link (keyplane admin reset-password)")
	}
	email, err := checkEmail(email)
	if err != nil {
		return err
	}
	token, err := keyplane.NewToken(s.rand, linkTokenLen)
	if err != nil {
		return err
	}
	now := s.clock()
	var person keyplane.User
	err = s.store.Write(ctx, func(tx Tx) error {
		if _, err := s.reserveAttempt(tx, mailSubjects(email, ip)); err != nil {
			return err
		}
		person, err = tx.UserByEmail(email)
		if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return nil
		} else if err != nil {
			return err
		}
		return tx.InsertPasswordReset(hashToken(token), person.ID, now, now.Add(keyplane.PasswordResetTTL))
	})
	if err != nil || person.ID == 0 {
		return err
	}
	from := requestOrigin(ip, userAgent)
	s.later(func(ctx context.Context) {
		if err := s.store.Write(ctx, func(tx Tx) error {
			return s.recordPerson(tx, person.ID, keyplane.EventPasswordResetRequested, map[string]any{}, true, from)
		}); err != nil {
			s.log.Warn("recording a password reset request", "err", err)
		}
	})
	s.sendLater("password reset", s.resetMessage(email, token))
	return nil
}

func (s *Service) resetMessage(email, token string) mail.Message {
	return mail.PasswordResetMessage(mail.PasswordReset{To: email, Link: s.link(ResetPath, token), Valid: validity(keyplane.PasswordResetTTL)})
}

// noMail refuses a flow that needs e-mail on a server without a mail server.
func noMail(what, instead string) error {
	return keyplane.Errorf(keyplane.CodeUnavailable, "%s is not set up here: this Keyplane has no mail server (serve --smtp-url). Instead, %s.", what, instead)
}

// PasswordResetLink makes a password reset for the person with email, on
// the operator's word (keyplane admin reset-password): mailed when a mail
// server is set up, else its link is returned to hand over. The operator
// acting in one account reaches only that account's people.
func (s *Service) PasswordResetLink(ctx context.Context, p keyplane.Principal, email string) (link string, mailed bool, err error) {
	if err := operatorOnly(p, 0, "resets passwords of people in"); err != nil {
		return "", false, err
	}
	if email, err = checkEmail(email); err != nil {
		return "", false, err
	}
	token, err := keyplane.NewToken(s.rand, linkTokenLen)
	if err != nil {
		return "", false, err
	}
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		person, err := tx.UserByEmail(email)
		if err == nil && p.AccountID != 0 {
			_, err = tx.User(p.AccountID, person.ID)
		}
		if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return keyplane.Errorf(keyplane.CodeNotFound, "user %s: not found", email)
		} else if err != nil {
			return err
		}
		return tx.InsertPasswordReset(hashToken(token), person.ID, now, now.Add(keyplane.PasswordResetTTL))
	})
	if err != nil {
		return "", false, err
	}
	if s.mailer != nil && s.sendNow(ctx, "password reset", s.resetMessage(email, token)) {
		return "", true, nil
	}
	return s.link(ResetPath, token), false, nil
}

// checkReset finds the person behind a working reset link.
func (s *Service) checkReset(tx Tx, token string) (keyplane.User, error) {
	refused := usedLink("password reset", "Ask for a new one: Forgot password? on the sign-in page.")
	if len(token) != linkTokenLen {
		return keyplane.User{}, refused
	}
	id, exp, err := tx.PasswordReset(hashToken(token))
	switch {
	case keyplane.ErrorCode(err) == keyplane.CodeNotFound || (err == nil && !s.clock().Before(exp)):
		return keyplane.User{}, refused
	case err != nil:
		return keyplane.User{}, err
	}
	return tx.Person(id)
}

// OpenPasswordReset tells whose password a working reset link resets.
func (s *Service) OpenPasswordReset(ctx context.Context, token string) (email string, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		u, err := s.checkReset(tx, token)
		email = u.Email
		return err
	})
	return email, err
}

// ResetPassword sets a new password through a reset link. Every link of
// that person stops working, every session of theirs ends, and the
// sign-in failures of their address are forgotten (they proved they read
// its mail). The reset is recorded in each of their accounts, with the
// client's address (ip) and userAgent.
func (s *Service) ResetPassword(ctx context.Context, token, password, ip, userAgent string) error {
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidatePassword("password", password))...); err != nil {
		return err
	}
	if err := s.store.Read(ctx, func(tx Tx) error { _, err := s.checkReset(tx, token); return err }); err != nil {
		return err
	}
	hash, err := s.hashes.hash(ctx, s.rand, password)
	if err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(tx Tx) error {
		u, err := s.checkReset(tx, token) // used meanwhile?
		if err != nil {
			return err
		}
		if err := tx.SetPassword(u.ID, hash); err != nil {
			return err
		}
		if err := tx.DeletePasswordResets(u.ID); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(u.ID, nil); err != nil {
			return err
		}
		if err := tx.ClearLoginFailures("email:"+u.Email, now.Add(-keyplane.LoginWindow)); err != nil {
			return err
		}
		ms, err := tx.Memberships(u.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := s.record(tx, m.Principal().Actor().From(requestOrigin(ip, userAgent)), m.AccountID, keyplane.EventUserPasswordReset, "user", m.ID, nil, userView(m)); err != nil {
				return err
			}
		}
		return nil
	})
}
