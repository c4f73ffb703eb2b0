package control

import (
	"context"
	"time"

	"github.com/keyplane/keyplane"
)

// SecondStep is the error SignIn answers with when the password was right
// but the person has a second factor to give: no session is open yet. Its
// Token names the waiting sign-in (for a short-lived cookie; only its hash
// is kept) until Expires, and CompleteSignIn, given a code, opens the
// session. A caller that does not know of second factors fails closed.
type SecondStep struct {
	Token   string
	Expires time.Time
	// What the person can give: an authenticator's code (and so a
	// recovery code), and a passkey.
	TOTP, Passkey bool
}

// Error implements error.
func (e *SecondStep) Error() string { return "sign-in: a second factor is needed" }

// secondStep decides, once the password was right, whether person userID
// must give a second factor, and if so keeps the waiting sign-in; or else
// whether they must enrol one first (enrol: the session is to be opened
// for that only).
func (s *Service) secondStep(tx Tx, userID int64, now time.Time) (st *SecondStep, enrol bool, err error) {
	f, err := secondFactors(tx, userID)
	if err != nil {
		return nil, false, err
	}
	if !f.Any() {
		enrol, err = tx.RequiresTwoFactors(userID)
		return nil, enrol, err
	}
	token, err := keyplane.NewToken(s.rand, sessionTokenLen)
	if err != nil {
		return nil, false, err
	}
	st = &SecondStep{Token: token, Expires: now.Add(keyplane.SecondStepTTL), TOTP: f.TOTP, Passkey: len(f.Passkeys) > 0}
	return st, false, tx.InsertPendingSignIn(hashToken(token), userID, now, st.Expires)
}

// errSignInGone refuses a waiting sign-in that is unknown, expired or done.
var errSignInGone = keyplane.Errorf(keyplane.CodeUnauthorized, "This sign-in has expired or was already completed. Sign in again.")

// PendingSignIn says what the waiting sign-in behind token can be
// completed with.
func (s *Service) PendingSignIn(ctx context.Context, token string) (st SecondStep, err error) {
	err = s.store.Read(ctx, func(tx Tx) error {
		userID, exp, err := tx.PendingSignIn(hashToken(token))
		if keyplane.ErrorCode(err) == keyplane.CodeNotFound || (err == nil && !s.clock().Before(exp)) {
			return errSignInGone
		} else if err != nil {
			return err
		}
		f, err := secondFactors(tx, userID)
		st = SecondStep{Expires: exp, TOTP: f.TOTP, Passkey: len(f.Passkeys) > 0}
		return err
	})
	return st, err
}

// CompleteSignIn completes the waiting sign-in behind pending with a code
// from the person's authenticator, or one of their recovery codes, and
// opens the session (in their first account that is not disabled),
// returning its token. A code is accepted once: an authenticator's code
// of a step already used, or a recovery code used before, is refused.
// Codes are throttled as passwords are, per person and per client at ip.
// The sign-in is audited as SignInSucceeded, with the factor, the client's
// address and its User-Agent.
func (s *Service) CompleteSignIn(ctx context.Context, pending, ip, userAgent, code string) (token string, u keyplane.User, err error) {
	if normalizeCode(code) == "" {
		return "", u, keyplane.Errorf(keyplane.CodeInvalid, "code: required; type the code your authenticator app shows, or a recovery code")
	}
	hash := hashToken(pending)
	var userID int64
	var t TOTPSecret
	var a attempt
	err = s.store.Write(ctx, func(tx Tx) (err error) {
		if userID, err = s.pendingUser(tx, hash); err != nil {
			return err
		}
		if a, err = s.reserveAttempt(tx, secondFactorSubjects(userID, ip)); err != nil {
			return err
		}
		if t, err = tx.TOTP(userID); keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return nil
		}
		return err
	})
	if err != nil {
		return "", u, err
	}
	now := s.clock()
	recovery := isRecoveryCode(code)
	var step int64
	ok := false
	if !recovery && t.ConfirmedAt != nil {
		step, ok = matchTOTP(t.Secret, code, now, t.LastStep)
	}
	if !recovery && !ok {
		return "", u, errWrongCode
	}
	if token, err = keyplane.NewToken(s.rand, sessionTokenLen); err != nil {
		return "", u, err
	}
	var disabled bool
	err = s.store.Write(ctx, func(tx Tx) error {
		if _, err := s.pendingUser(tx, hash); err != nil {
			return err
		}
		if recovery {
			used, err := tx.UseRecoveryCode(userID, recoveryHash(userID, code), now)
			if err != nil {
				return err
			}
			if !used {
				return errWrongCode
			}
		} else {
			// Read again: another sign-in may have used this step since.
			cur, err := tx.TOTP(userID)
			if err != nil {
				return err
			}
			if step <= cur.LastStep {
				return errWrongCode
			}
			if err := tx.AcceptTOTPStep(userID, step, nil); err != nil {
				return err
			}
		}
		if err := a.release(tx); err != nil {
			return err
		}
		if err := tx.DeletePendingSignIn(hash); err != nil {
			return err
		}
		if recovery {
			left, err := tx.CountRecoveryCodes(userID)
			if err != nil {
				return err
			}
			if err := s.recordPerson(tx, userID, keyplane.EventRecoveryCodeUsed, map[string]any{"left": left}, true, requestOrigin(ip, userAgent)); err != nil {
				return err
			}
		}
		if u, disabled, err = s.openInFirstAccount(tx, userID, token, now); err != nil || disabled {
			return err
		}
		factor := "authenticator code"
		if recovery {
			factor = "recovery code"
		}
		return s.record(tx, u.Principal().Actor().From(requestOrigin(ip, userAgent)), u.AccountID, keyplane.EventSignInSucceeded, "user", u.ID, nil,
			map[string]any{"email": u.Email, "secondFactor": factor})
	})
	if err != nil {
		return "", keyplane.User{}, err
	}
	if disabled {
		return "", keyplane.User{}, keyplane.AccountDisabledError(u.AccountID)
	}
	return token, u, nil
}

// errWrongCode refuses a code that is not right (or was used already).
var errWrongCode = keyplane.Errorf(keyplane.CodeUnauthorized, "That code is not right, or was used already. Type the newest code your authenticator app shows, or an unused recovery code.")

// pendingUser is the person of the waiting sign-in whose token hashes to
// hash, while it waits.
func (s *Service) pendingUser(tx Tx, hash []byte) (int64, error) {
	userID, exp, err := tx.PendingSignIn(hash)
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound || (err == nil && !s.clock().Before(exp)) {
		return 0, errSignInGone
	}
	return userID, err
}

// openInFirstAccount opens a session with token for person userID in
// their first account that is not disabled; disabled reports that every
// one of their accounts is (u is then the first membership).
func (s *Service) openInFirstAccount(tx Tx, userID int64, token string, now time.Time) (u keyplane.User, disabled bool, err error) {
	if err := tx.DeleteExpiredSessions(now); err != nil {
		return u, false, err
	}
	ms, err := tx.Memberships(userID)
	if err != nil {
		return u, false, err
	}
	if len(ms) == 0 {
		return u, false, errSignInGone
	}
	for _, m := range ms {
		acc, err := tx.Account(m.AccountID)
		if err != nil {
			return u, false, err
		}
		if usable(acc) == nil {
			ok, glass, err := passwordMayAct(tx, m)
			if err != nil {
				return u, false, err
			}
			if !ok {
				continue
			}
			if glass {
				if err := s.breakGlass(tx, m, "password and second factor"); err != nil {
					return u, false, err
				}
			}
			return m, false, tx.InsertSession(keyplane.Session{TokenHash: hashToken(token), UserID: m.ID, AccountID: m.AccountID, CreatedAt: now, ExpiresAt: now.Add(keyplane.SessionTTL)})
		}
	}
	return ms[0], true, nil
}
