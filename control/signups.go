package control

import (
	"context"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/mail"
)

// signupOff is the answer of every sign-up operation when sign-up is off.
func signupOff() error {
	return keyplane.Errorf(keyplane.CodeNotFound, "Sign-up is off on this Keyplane: ask its operator, or an Owner of an account, for an invitation.")
}

// RequestSignup mails a link, valid keyplane.SignupTTL, that confirms the
// address and lets its holder create an account. The same message goes
// out whether or not the address already signs in to Keyplane (its person
// then creates a further account, giving their password), so the answer
// tells nothing. Requests are charged and limited as password resets are.
func (s *Service) RequestSignup(ctx context.Context, email, ip string) error {
	if !s.SignupEnabled() {
		return signupOff()
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
	err = s.store.Write(ctx, func(tx Tx) error {
		if _, err := s.reserveAttempt(tx, mailSubjects(email, ip)); err != nil {
			return err
		}
		return tx.InsertSignup(hashToken(token), email, now, now.Add(keyplane.SignupTTL))
	})
	if err != nil {
		return err
	}
	s.sendLater("sign-up", mail.SignupMessage(mail.Signup{To: email, Link: s.link(SignupPath, token), Valid: validity(keyplane.SignupTTL)}))
	return nil
}

// SignupLink is what a working sign-up link offers.
type SignupLink struct {
	Email string
	// Existing tells the address already signs in to Keyplane: its person
	// gives their password instead of choosing one.
	Existing bool
}

func (s *Service) checkSignup(tx Tx, token string) (string, error) {
	refused := usedLink("sign-up", "Sign up again for a new one.")
	if len(token) != linkTokenLen {
		return "", refused
	}
	email, exp, err := tx.Signup(hashToken(token))
	switch {
	case keyplane.ErrorCode(err) == keyplane.CodeNotFound || (err == nil && !s.clock().Before(exp)):
		return "", refused
	}
	return email, err
}

// OpenSignup tells what a sign-up link offers.
func (s *Service) OpenSignup(ctx context.Context, token string) (l SignupLink, err error) {
	if !s.SignupEnabled() {
		return l, signupOff()
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		if l.Email, err = s.checkSignup(tx, token); err != nil {
			return err
		}
		_, err := tx.UserByEmail(l.Email)
		l.Existing = err == nil
		if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return nil
		}
		return err
	})
	return l, err
}

// CompleteSignup creates, through a sign-up link, an account named
// accountName with the link's person as its Owner (a new person choosing
// password, or one who signs in already giving theirs), and opens a
// session there. Every sign-up link of the address then stops working.
func (s *Service) CompleteSignup(ctx context.Context, token, accountName, password, ip string) (session string, u keyplane.User, err error) {
	if !s.SignupEnabled() {
		return "", u, signupOff()
	}
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidateName("account", accountName))...); err != nil {
		return "", u, err
	}
	var email string
	var person keyplane.User
	var existing bool
	err = s.store.Read(ctx, func(tx Tx) (err error) {
		if email, err = s.checkSignup(tx, token); err != nil {
			return err
		}
		person, existing, err = personByEmail(tx, email)
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
		if again, err := s.checkSignup(tx, token); err != nil || again != email {
			return usedLink("sign-up", "Sign up again for a new one.")
		}
		if err := prove.done(tx); err != nil {
			return err
		}
		acc := keyplane.Account{Name: accountName, CreatedAt: now}
		if err := tx.InsertAccount(&acc); err != nil {
			return err
		}
		u = keyplane.User{ID: person.ID, AccountID: acc.ID, Email: email, PasswordHash: prove.hash, Role: keyplane.RoleOwner, CreatedAt: now}
		if _, err := s.join(tx, &u, existing); err != nil {
			return err
		}
		actor := u.Principal().Actor()
		if err := s.record(tx, actor, acc.ID, keyplane.EventAccountCreated, "account", acc.ID, nil, accountView(acc)); err != nil {
			return err
		}
		if err := s.record(tx, actor, acc.ID, keyplane.EventUserAccessGranted, "user", u.ID, nil, userView(u)); err != nil {
			return err
		}
		if err := tx.DeleteSignups(email); err != nil {
			return err
		}
		return openSession(tx, u, session, now)
	})
	if err != nil {
		return "", keyplane.User{}, err
	}
	return session, u, nil
}
