package control

import (
	"context"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

// sessionTokenLen is the length of a session token: 43 base62 characters,
// about 256 bits.
const sessionTokenLen = 43

// SignIn checks an e-mail address and password and opens a session,
// returning its token (for the cookie; only its hash is stored). Each
// attempt is charged to the address and to the client ip before the
// password is checked (see reserveAttempt), and a successful one is taken
// back: past the limits of keyplane.LoginWindow, attempts are refused with
// TooManyRequests without any hashing, however many arrive at once. Every
// failure says the same thing, so it never tells whether an address has a
// user. When the person has a second factor, no session opens: the error
// is a *SecondStep, to be completed with CompleteSignIn.
func (s *Service) SignIn(ctx context.Context, email, password, ip string) (token string, u keyplane.User, err error) {
	return s.SignInWith(ctx, email, password, ip, "")
}

// SignInWith is SignIn from a client that says what it is (its
// User-Agent): both are recorded in the audit log with the sign-in, which
// is recorded whether it succeeds (SignInSucceeded, in the account the
// session opens in) or fails on the password of a person who exists
// (SignInFailed, in each of their accounts, after the answer: an address
// nobody uses has no account to tell).
func (s *Service) SignInWith(ctx context.Context, email, password, ip, userAgent string) (token string, u keyplane.User, err error) {
	email = keyplane.NormalizeEmail(email)
	from := requestOrigin(ip, userAgent)
	now := s.clock()
	var found, disabled, ssoOnly bool
	var a attempt
	var step *SecondStep
	err = s.store.Write(ctx, func(tx Tx) (err error) {
		if a, err = s.reserveAttempt(tx, signInSubjects(email, ip)); err != nil {
			return err
		}
		u, err = tx.UserByEmail(email)
		found = err == nil
		if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return nil
		}
		return err
	})
	if err != nil {
		return "", keyplane.User{}, err
	}
	// The hash is checked outside any transaction: it takes tens of
	// milliseconds, and writers must not queue behind it.
	hash := dummyHash
	if found && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, err := s.checkCharged(ctx, a, hash, password)
	if err != nil {
		return "", keyplane.User{}, err
	}
	// A person made by single sign-on has no password: nothing matches.
	if !ok || !found || u.PasswordHash == "" {
		if found {
			// Recorded after the answer, so that its time does not tell
			// whether the address is someone's.
			id := u.ID // u is a result, zeroed by the return below
			s.later(func(ctx context.Context) {
				if err := s.store.Write(ctx, func(tx Tx) error {
					return s.recordPerson(tx, id, keyplane.EventSignInFailed, map[string]any{}, true, from)
				}); err != nil {
					s.log.Warn("recording a failed sign-in", "err", err)
				}
			})
		}
		return "", keyplane.User{}, keyplane.Errorf(keyplane.CodeUnauthorized, "E-mail or password is wrong.")
	}
	if token, err = keyplane.NewToken(s.rand, sessionTokenLen); err != nil {
		return "", keyplane.User{}, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		// A right password clears the address's failures, and takes this
		// attempt back from the client's.
		if err := a.release(tx); err != nil {
			return err
		}
		if err := tx.ClearLoginFailures(a.subjects[0].key, now.Add(-keyplane.LoginWindow)); err != nil {
			return err
		}
		if err := tx.DeleteExpiredSessions(now); err != nil {
			return err
		}
		// Checked only now, once the password is known to be right: the
		// refusal must tell no one else that the address has a user. It is
		// decided in the transaction that would open the session, so a
		// disable committed first always wins. The session opens in the
		// person's first account that is not disabled.
		ms, err := tx.Memberships(u.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			acc, err := tx.Account(m.AccountID)
			if err != nil {
				return err
			}
			if usable(acc) == nil {
				// An account requiring single sign-on is passed over,
				// unless its Owner has a second factor (break-glass,
				// audited when the session opens after it).
				if ok, _, err := passwordMayAct(tx, m); err != nil {
					return err
				} else if !ok {
					ssoOnly = true
					continue
				}
				u = m
				// A person with a second factor gives it before any
				// session opens (see secondstep.go).
				var enrol bool
				if step, enrol, err = s.secondStep(tx, u.ID, now); err != nil || step != nil {
					return err
				}
				if err := tx.InsertSession(keyplane.Session{TokenHash: hashToken(token), UserID: u.ID, AccountID: u.AccountID, CreatedAt: now, ExpiresAt: now.Add(keyplane.SessionTTL), Enrol: enrol}); err != nil {
					return err
				}
				return s.record(tx, u.Principal().Actor().From(from), u.AccountID, keyplane.EventSignInSucceeded, "user", u.ID, nil, map[string]any{"email": u.Email})
			}
		}
		disabled = true
		return nil
	})
	if err != nil {
		return "", keyplane.User{}, err
	}
	if disabled && ssoOnly {
		return "", keyplane.User{}, errSSOOnly
	}
	if disabled {
		return "", keyplane.User{}, keyplane.AccountDisabledError(u.AccountID)
	}
	if step != nil {
		return "", u, step
	}
	return token, u, nil
}

// openSession opens a session with token for u, in u's account, deleting
// expired sessions on the way.
func openSession(tx Tx, u keyplane.User, token string, now time.Time) error {
	if err := tx.DeleteExpiredSessions(now); err != nil {
		return err
	}
	return tx.InsertSession(keyplane.Session{TokenHash: hashToken(token), UserID: u.ID, AccountID: u.AccountID, CreatedAt: now, ExpiresAt: now.Add(keyplane.SessionTTL)})
}

// Session finds the signed-in user behind a session token, as a principal
// whose grants come from the user's role as it is now: a role changed, a
// user removed or their account disabled takes effect on the very next
// request. A disabled account's sessions are refused, not ended, so they
// work again once it is enabled.
func (s *Service) Session(ctx context.Context, token string) (p keyplane.Principal, expires time.Time, err error) {
	p, _, expires, err = s.session(ctx, token)
	return p, expires, err
}

// SessionFrom is Session for a request from origin: it also records the
// session's use (when and from where), to the minute, for its person's
// list of sessions and the account's idle timeout, and the principal
// carries origin into the audit records of its changes.
func (s *Service) SessionFrom(ctx context.Context, token string, origin keyplane.Origin) (p keyplane.Principal, expires time.Time, err error) {
	p, sess, expires, err := s.session(ctx, token)
	if err != nil && !errors.Is(err, ErrMustEnrol) {
		return p, expires, err
	}
	p.Origin = origin
	now := s.clock()
	addr := ""
	if origin.Addr.IsValid() {
		addr = origin.Addr.Unmap().String()
	}
	agent := keyplane.ClipUserAgent(origin.UserAgent)
	if now.Sub(sess.LastSeenAt) >= time.Minute || sess.Address != addr || sess.UserAgent != agent {
		if werr := s.store.Write(ctx, func(tx Tx) error { return tx.TouchSession(sess.TokenHash, now, addr, agent) }); werr != nil {
			s.log.Warn("recording a session's use", "err", werr)
		}
	}
	return p, expires, err
}

// session is Session, with the session itself.
func (s *Service) session(ctx context.Context, token string) (p keyplane.Principal, sess keyplane.Session, expires time.Time, err error) {
	refused := keyplane.Errorf(keyplane.CodeUnauthorized, "session: signed out or expired; sign in again")
	if len(token) != sessionTokenLen {
		return p, sess, expires, refused
	}
	var u keyplane.User
	var acc keyplane.Account
	var pol keyplane.SignInPolicy
	ssoOK := true
	err = s.store.Read(ctx, func(tx Tx) (err error) {
		if sess, u, err = tx.SessionByHash(hashToken(token)); err != nil {
			return err
		}
		if acc, err = tx.Account(u.AccountID); err != nil {
			return err
		}
		if pol, err = tx.SignInPolicy(u.AccountID); err != nil {
			return err
		}
		// A session no provider opened acts in an account requiring
		// single sign-on only for its Owner with a second factor; the
		// policy takes effect on the next request.
		if sess.SSOAccount != u.AccountID {
			ssoOK, _, err = passwordMayAct(tx, u)
		}
		return err
	})
	switch {
	case keyplane.ErrorCode(err) == keyplane.CodeNotFound:
		return p, sess, expires, refused
	case err != nil:
		return p, sess, expires, err
	}
	// The account's limits (idle timeout, lifetime) end it sooner than
	// a sign-in lasts, from the very next request after they are set.
	expires = pol.SessionEnds(sess)
	if !s.clock().Before(expires) {
		return p, sess, expires, refused
	}
	if err := usable(acc); err != nil {
		return p, sess, expires, err
	}
	if !ssoOK {
		return p, sess, expires, errSSORequired(acc.ID)
	}
	if sess.SSOAccount != 0 {
		// The provider vouched for the person in its account, and stands
		// for their factors there: no enrolment is asked of them.
		p = u.Principal()
		p.SSO = true
		return p, sess, expires, nil
	}
	if sess.Enrol {
		// Only the person's own enrolment may go on: no rows, no access.
		p = u.Principal()
		p.Grants = nil
		return p, sess, expires, ErrMustEnrol
	}
	return u.Principal(), sess, expires, nil
}

// Membership is one of a person's accounts, for the account switcher.
type Membership struct {
	Account keyplane.Account
	Role    keyplane.Role
}

// Memberships lists the accounts the signed-in person p is a member of,
// with their role in each. Only a person has memberships.
func (s *Service) Memberships(ctx context.Context, p keyplane.Principal) (out []Membership, err error) {
	if p.UserID == 0 {
		return nil, keyplane.Errorf(keyplane.CodeForbidden, "only a person belongs to accounts")
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		ms, err := tx.Memberships(p.UserID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			a, err := tx.Account(m.AccountID)
			if err != nil {
				return err
			}
			out = append(out, Membership{Account: a, Role: m.Role})
		}
		return nil
	})
	return out, err
}

// SwitchAccount moves the session behind token to another account of its
// person. An account they are not a member of answers as a missing one.
func (s *Service) SwitchAccount(ctx context.Context, token string, accountID int64) (keyplane.Principal, error) {
	p, _, err := s.Session(ctx, token)
	if err != nil {
		return p, err
	}
	if p.SSO && accountID != p.AccountID {
		return p, keyplane.Errorf(keyplane.CodeForbidden, "You signed in with this account's single sign-on, which vouches for you here only: to act in another account, sign out and sign in there.")
	}
	var u keyplane.User
	err = s.store.Write(ctx, func(tx Tx) (err error) {
		if u, err = tx.User(accountID, p.UserID); keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return keyplane.Errorf(keyplane.CodeNotFound, "account %d: not found", accountID)
		} else if err != nil {
			return err
		}
		if !p.SSO && accountID != p.AccountID {
			ok, glass, err := passwordMayAct(tx, u)
			if err != nil {
				return err
			}
			if !ok {
				return errSSORequired(accountID)
			}
			if glass {
				if err := s.breakGlass(tx, u, "account switch"); err != nil {
					return err
				}
			}
		}
		return tx.SetSessionAccount(hashToken(token), accountID)
	})
	return u.Principal(), err
}

// SignOut ends a session. Ending one that does not exist is not an error.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.store.Write(ctx, func(tx Tx) error { return tx.DeleteSession(hashToken(token)) })
}

// Account returns one account.
func (s *Service) Account(ctx context.Context, id int64) (a keyplane.Account, err error) {
	as, err := s.Accounts(ctx)
	if err != nil {
		return a, err
	}
	for _, a := range as {
		if a.ID == id {
			return a, nil
		}
	}
	return a, keyplane.Errorf(keyplane.CodeNotFound, "account %d: not found", id)
}

// ChangePassword sets a new password for the signed-in user p, who must
// give the current one, and signs out their other sessions (session is
// the token of the one making the change, which stays). The current
// password is checked under the same throttle as sign-in, charged to the
// user's address and the client: a stolen session cannot guess it faster
// than sign-in could.
func (s *Service) ChangePassword(ctx context.Context, p keyplane.Principal, session, ip, current, next string) error {
	if p.UserID == 0 {
		return keyplane.Errorf(keyplane.CodeForbidden, "only a portal user has a password")
	}
	if err := personalCredentials(p); err != nil {
		return err
	}
	if err := keyplane.Invalid(nonEmpty(keyplane.ValidatePassword("password", next))...); err != nil {
		return err
	}
	var u keyplane.User
	var a attempt
	err := s.store.Write(ctx, func(tx Tx) (err error) {
		if u, err = tx.User(p.AccountID, p.UserID); err != nil {
			return err
		}
		a, err = s.reserveAttempt(tx, signInSubjects(u.Email, ip))
		return err
	})
	if err != nil {
		return err
	}
	ok, err := s.checkCharged(ctx, a, u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return keyplane.Errorf(keyplane.CodeInvalid, "current: not your current password")
	}
	hash, err := s.hashes.hash(ctx, s.rand, next)
	if err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error {
		if err := a.release(tx); err != nil {
			return err
		}
		if err := tx.UpdateUserPassword(p.AccountID, p.UserID, hash); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(p.UserID, hashToken(session)); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventUserPasswordChanged, "user", p.UserID, nil, userView(u))
	})
}

// SessionView is one of a person's sessions as their list shows it.
type SessionView struct {
	keyplane.Session
	Current bool // the session the list was asked from
	// Ends is when it ends by itself: its lifetime, or sooner its
	// account's idle timeout.
	Ends time.Time
}

// ListSessions lists the sessions of the person p, in every account, that
// have not ended; token is the session asking, marked Current.
func (s *Service) ListSessions(ctx context.Context, p keyplane.Principal, token string) (out []SessionView, err error) {
	if p.UserID == 0 {
		return nil, keyplane.Errorf(keyplane.CodeForbidden, "only a person has sessions")
	}
	now, current := s.clock(), hashToken(token)
	err = s.store.Read(ctx, func(tx Tx) error {
		all, err := tx.UserSessions(p.UserID)
		if err != nil {
			return err
		}
		policies := map[int64]keyplane.SignInPolicy{}
		for _, sess := range all {
			pol, ok := policies[sess.AccountID]
			if !ok {
				if pol, err = tx.SignInPolicy(sess.AccountID); err != nil {
					return err
				}
				policies[sess.AccountID] = pol
			}
			if ends := pol.SessionEnds(sess); now.Before(ends) {
				out = append(out, SessionView{Session: sess, Current: string(sess.TokenHash) == string(current), Ends: ends})
			}
		}
		return nil
	})
	return out, err
}

// EndSession signs the person p out of one of their sessions, named by its
// handle (keyplane.Session.Handle); a handle of nobody else's session is
// found, so another person's answers as a missing one.
func (s *Service) EndSession(ctx context.Context, p keyplane.Principal, handle string) error {
	if p.UserID == 0 {
		return keyplane.Errorf(keyplane.CodeForbidden, "only a person has sessions")
	}
	return s.store.Write(ctx, func(tx Tx) error {
		all, err := tx.UserSessions(p.UserID)
		if err != nil {
			return err
		}
		for _, sess := range all {
			if sess.Handle() == handle {
				return tx.DeleteSession(sess.TokenHash)
			}
		}
		return keyplane.Errorf(keyplane.CodeNotFound, "session: not found (already signed out?)")
	})
}

// EndOtherSessions signs the person p out of every session but token's.
func (s *Service) EndOtherSessions(ctx context.Context, p keyplane.Principal, token string) error {
	if p.UserID == 0 {
		return keyplane.Errorf(keyplane.CodeForbidden, "only a person has sessions")
	}
	return s.store.Write(ctx, func(tx Tx) error { return tx.DeleteUserSessions(p.UserID, hashToken(token)) })
}

// EndMemberSessions signs a member of p's account out of every session they
// have in it, at once: for whoever may manage the account's people, and
// audited. A person of another account answers as a missing one.
func (s *Service) EndMemberSessions(ctx context.Context, p keyplane.Principal, userID int64) (ended int64, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.ManageUsers); err != nil {
		return 0, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		u, err := tx.User(p.AccountID, userID)
		if err != nil {
			return err
		}
		if ended, err = tx.DeleteMemberSessions(p.AccountID, userID); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventUserSessionsEnded, keyplane.ActorUser, userID, nil,
			map[string]any{"email": u.Email, "sessions": ended})
	})
	return ended, err
}
