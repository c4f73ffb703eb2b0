package control

import (
	"context"
	"crypto/subtle"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/keyplane/keyplane"
)

// TOTPSecret is a person's authenticator as stored: the secret (base32,
// opened from its seal), and the newest time step a code was accepted for.
type TOTPSecret struct {
	Secret    string
	CreatedAt time.Time
	// ConfirmedAt is nil while enrolment waits for the first code.
	ConfirmedAt *time.Time
	LastStep    int64
}

// SecondFactorTx keeps people's second factors and the sign-ins waiting
// for one.
type SecondFactorTx interface {
	// TOTP is a person's authenticator; NotFound when they have none.
	TOTP(userID int64) (TOTPSecret, error)
	// PutTOTP stores a new, unconfirmed secret in place of any other.
	PutTOTP(userID int64, secret string, at time.Time) error
	// AcceptTOTPStep records the step a code was accepted for, and with
	// confirmed set, confirms the authenticator.
	AcceptTOTPStep(userID, step int64, confirmed *time.Time) error
	DeleteTOTP(userID int64) error

	// InsertPendingSignIn keeps a sign-in waiting for its second factor.
	InsertPendingSignIn(hash []byte, userID int64, created, expires time.Time) error
	// PendingSignIn finds one, expired ones included; NotFound when none.
	PendingSignIn(hash []byte) (userID int64, expires time.Time, err error)
	DeletePendingSignIn(hash []byte) error
}

// totpIssuer names Keyplane in authenticator apps, beside the address.
const totpIssuer = "Keyplane"

// totpOpts are the TOTP parameters: the defaults every authenticator app
// assumes.
var totpOpts = totp.ValidateOpts{Period: uint(keyplane.TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpStep is the time step t falls in.
func totpStep(t time.Time) int64 { return t.Unix() / int64(keyplane.TOTPPeriod/time.Second) }

// matchTOTP finds the step, within keyplane.TOTPSkew of now and after
// last, whose code is code; ok is false when there is none. Each candidate
// is compared in constant time, and all are computed, so the time taken
// tells nothing of which matched.
func matchTOTP(secret, code string, now time.Time, last int64) (step int64, ok bool) {
	code = normalizeCode(code)
	if len(code) != keyplane.TOTPDigits {
		return 0, false
	}
	cur := totpStep(now)
	for d := int64(-keyplane.TOTPSkew); d <= keyplane.TOTPSkew; d++ {
		st := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(st*int64(keyplane.TOTPPeriod/time.Second), 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && st > last && !ok {
			step, ok = st, true
		}
	}
	return step, ok
}

// normalizeCode drops what people type between digits or letters of a
// code: spaces and dashes.
func normalizeCode(c string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(c))
}

// TOTPEnrolment is an authenticator being set up: its secret, to type in,
// and the otpauth:// URL a QR code carries.
type TOTPEnrolment struct {
	Secret string
	URL    string
}

// person checks that p is a person: only people have second factors.
func person(p keyplane.Principal) error {
	if p.UserID == 0 {
		return keyplane.Errorf(keyplane.CodeForbidden, "only a person has second factors")
	}
	return nil
}

// ownFactors refuses a change to p's second factors from anyone but a
// person, and from a session a provider opened (personalCredentials): the
// one check of every operation that adds or removes a factor.
func ownFactors(p keyplane.Principal) error {
	if err := person(p); err != nil {
		return err
	}
	return personalCredentials(p)
}

// SecondFactors says what the signed-in person p has enrolled.
func (s *Service) SecondFactors(ctx context.Context, p keyplane.Principal) (f keyplane.SecondFactors, err error) {
	if err := person(p); err != nil {
		return f, err
	}
	err = s.store.Read(ctx, func(tx Tx) (err error) {
		f, err = secondFactors(tx, p.UserID)
		return err
	})
	return f, err
}

// secondFactors reads what person userID has enrolled.
func secondFactors(tx Tx, userID int64) (f keyplane.SecondFactors, err error) {
	t, err := tx.TOTP(userID)
	switch {
	case err == nil:
		f.TOTP = t.ConfirmedAt != nil
	case keyplane.ErrorCode(err) != keyplane.CodeNotFound:
		return f, err
	}
	if f.RecoveryCodes, err = tx.CountRecoveryCodes(userID); err != nil {
		return f, err
	}
	keys, err := tx.Passkeys(userID)
	f.Passkeys = publicPasskeys(keys)
	return f, err
}

// BeginTOTP starts setting up an authenticator for p: a new secret, kept
// unconfirmed until ConfirmTOTP is given a code it makes. Starting again
// replaces an unconfirmed secret; a confirmed one must be removed first.
func (s *Service) BeginTOTP(ctx context.Context, p keyplane.Principal) (e TOTPEnrolment, err error) {
	if err := ownFactors(p); err != nil {
		return e, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: p.UserEmail, Period: totpOpts.Period,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm, SecretSize: 20, Rand: s.rand})
	if err != nil {
		return e, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		t, err := tx.TOTP(p.UserID)
		if err == nil && t.ConfirmedAt != nil {
			return keyplane.Errorf(keyplane.CodeConflict, "authenticator: you have one already; remove it first to set up another")
		} else if err != nil && keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			return err
		}
		return tx.PutTOTP(p.UserID, key.Secret(), s.clock())
	})
	if err != nil {
		return e, err
	}
	return TOTPEnrolment{Secret: key.Secret(), URL: totpURL(p.UserEmail, key.Secret())}, nil
}

// PendingTOTP is p's authenticator being set up, to show again until its
// first code confirms it; ok is false when none is.
func (s *Service) PendingTOTP(ctx context.Context, p keyplane.Principal) (e TOTPEnrolment, ok bool, err error) {
	if err := person(p); err != nil {
		return e, false, err
	}
	var t TOTPSecret
	err = s.store.Read(ctx, func(tx Tx) (err error) {
		t, err = tx.TOTP(p.UserID)
		return err
	})
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound || (err == nil && t.ConfirmedAt != nil) {
		return e, false, nil
	}
	if err != nil {
		return e, false, err
	}
	return TOTPEnrolment{Secret: t.Secret, URL: totpURL(p.UserEmail, t.Secret)}, true, nil
}

// totpURL is the otpauth:// URL of a secret (Google's Key Uri Format,
// which every authenticator app reads), naming Keyplane and the person.
func totpURL(email, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", totpIssuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", strconv.Itoa(keyplane.TOTPDigits))
	v.Set("period", strconv.Itoa(int(keyplane.TOTPPeriod/time.Second)))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + email, RawQuery: strings.ReplaceAll(v.Encode(), "+", "%20")}
	return u.String()
}

// ConfirmTOTP confirms p's new authenticator with a code it made, and
// returns the person's recovery codes, made anew: the only time they are
// shown. Codes are throttled as passwords are: a wrong one counts against
// the person and the client at ip.
func (s *Service) ConfirmTOTP(ctx context.Context, p keyplane.Principal, ip, code string) (recovery []string, err error) {
	if err := ownFactors(p); err != nil {
		return nil, err
	}
	if normalizeCode(code) == "" {
		return nil, keyplane.Errorf(keyplane.CodeInvalid, "code: required; type the 6 digits your authenticator app shows")
	}
	recovery, hashes, err := s.newRecoveryCodes(p.UserID)
	if err != nil {
		return nil, err
	}
	var a attempt
	var t TOTPSecret
	// Charged through raw: the charge is bookkeeping, not the form's
	// effect, so a wrong code can be corrected and sent again.
	err = s.raw.Write(ctx, func(tx Tx) (err error) {
		if t, err = tx.TOTP(p.UserID); keyplane.ErrorCode(err) == keyplane.CodeNotFound || (err == nil && t.ConfirmedAt != nil) {
			return keyplane.Errorf(keyplane.CodeConflict, "authenticator: nothing is being set up; start again")
		} else if err != nil {
			return err
		}
		a, err = s.reserveAttempt(tx, secondFactorSubjects(p.UserID, ip))
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.clock()
	step, ok := matchTOTP(t.Secret, code, now, t.LastStep)
	if !ok {
		return nil, keyplane.Errorf(keyplane.CodeInvalid, "code: not the code your authenticator app shows now; check that its clock is right, and type the newest code")
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := a.release(tx); err != nil {
			return err
		}
		if err := tx.AcceptTOTPStep(p.UserID, step, &now); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(p.UserID, hashes); err != nil {
			return err
		}
		if err := s.enrolled(tx, p.UserID); err != nil {
			return err
		}
		return s.recordPerson(tx, p.UserID, keyplane.EventSecondFactorEnrolled, map[string]any{"kind": "totp"}, true, p.Origin)
	})
	if err != nil {
		return nil, err
	}
	return recovery, nil
}

// RemoveTOTP removes p's authenticator and their recovery codes. The
// password is asked again (and throttled as at sign-in): a session left
// open must not be enough to weaken the account.
func (s *Service) RemoveTOTP(ctx context.Context, p keyplane.Principal, ip, password string) error {
	if err := ownFactors(p); err != nil {
		return err
	}
	a, err := s.recheckPassword(ctx, p, ip, password)
	if err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error {
		if err := a.release(tx); err != nil {
			return err
		}
		f, err := secondFactors(tx, p.UserID)
		if err != nil {
			return err
		}
		if !f.TOTP {
			if _, err := tx.TOTP(p.UserID); err == nil {
				return tx.DeleteTOTP(p.UserID) // an unfinished set-up: nothing to record
			}
			return keyplane.Errorf(keyplane.CodeNotFound, "authenticator: you have none")
		}
		if len(f.Passkeys) == 0 {
			if err := s.mayGoWithout(tx, p.UserID); err != nil {
				return err
			}
		}
		if err := tx.DeleteTOTP(p.UserID); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(p.UserID, nil); err != nil {
			return err
		}
		return s.recordPerson(tx, p.UserID, keyplane.EventSecondFactorRemoved, nil, false, p.Origin)
	})
}

// recheckPassword checks p's password again before a change that weakens
// their sign-in, under the sign-in throttle. The attempt it returns is to
// be released in the change's transaction.
func (s *Service) recheckPassword(ctx context.Context, p keyplane.Principal, ip, password string) (attempt, error) {
	if password == "" {
		return attempt{}, keyplane.Errorf(keyplane.CodeInvalid, "password: required; type your password to confirm")
	}
	var u keyplane.User
	var a attempt
	// Charged through raw: the charge is bookkeeping, not the form's
	// effect, so a wrong code can be corrected and sent again.
	err := s.raw.Write(ctx, func(tx Tx) (err error) {
		if u, err = tx.User(p.AccountID, p.UserID); err != nil {
			return err
		}
		a, err = s.reserveAttempt(tx, signInSubjects(u.Email, ip))
		return err
	})
	if err != nil {
		return a, err
	}
	ok, err := s.checkCharged(ctx, a, u.PasswordHash, password)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, keyplane.Errorf(keyplane.CodeInvalid, "password: not your password")
	}
	return a, nil
}

// secondFactorSubjects are the counters a second-factor code is charged
// to: the person and the client. The client's counter is the one
// passwords use, so codes and passwords share its limit.
func secondFactorSubjects(userID int64, ip string) []throttled {
	return []throttled{
		{"2fa:" + strconv.FormatInt(userID, 10), keyplane.MaxSecondFactorFailures, "this account"},
		{"ip:" + trimIP(ip), keyplane.MaxLoginFailuresIP, "your network address"},
	}
}

// recordPerson records an event about person userID (a change of their
// own sign-in) in every account they belong to, as their doing there
// (self) or the operator's, from the request's origin.
func (s *Service) recordPerson(tx Tx, userID int64, typ string, after any, self bool, from keyplane.Origin) error {
	ms, err := tx.Memberships(userID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		var before any
		if !self && after == nil {
			before = map[string]any{"email": m.Email}
		}
		a := after
		if a != nil {
			a = withEmail(after, m.Email)
		}
		if err := s.record(tx, m.Principal().Actor().From(from), m.AccountID, typ, "user", userID, before, a); err != nil {
			return err
		}
	}
	return nil
}

// withEmail adds the person's address to an event's map, so the audit
// log says whose factor it was.
func withEmail(v any, email string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{"email": email}
	for k, x := range m {
		out[k] = x
	}
	return out
}
