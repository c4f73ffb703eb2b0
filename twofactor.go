package keyplane

import (
	"strings"
	"time"
)

// Second factors: after the password, a person who has enrolled one gives
// a code from a TOTP authenticator app (RFC 6238), one of their recovery
// codes, or uses a passkey, before a session opens.

// TOTP parameters: the defaults every authenticator app assumes (SHA-1,
// six digits, 30-second steps), so the QR code need not say them.
const (
	TOTPPeriod = 30 * time.Second
	TOTPDigits = 6
	// TOTPSkew is how many steps either side of now a code is accepted
	// for: a phone's clock a little off, or a code typed as it turned.
	TOTPSkew = 1
)

// RecoveryCodeCount is how many recovery codes a person is given at once;
// each works once, in place of an authenticator code.
const RecoveryCodeCount = 10

// SecondStepTTL is how long a sign-in whose password was right waits for
// its second factor before the password must be given again.
const SecondStepTTL = 10 * time.Minute

// MaxPasskeys is how many passkeys one person may register.
const MaxPasskeys = 20

// PasskeyCeremonyTTL is how long the browser has to answer a passkey
// challenge (to register a passkey or sign in with one) before it must
// ask for another: long enough to find a security key, short enough that
// a challenge seen once is soon worthless.
const PasskeyCeremonyTTL = 5 * time.Minute

// Second-factor throttling: failed codes for one person count against
// this, within LoginWindow, besides the client's sign-in failures.
const MaxSecondFactorFailures = 5

// SecondFactors is what a person has enrolled.
type SecondFactors struct {
	// TOTP is set once an authenticator's first code confirmed it.
	TOTP bool
	// RecoveryCodes is how many of their recovery codes are unused.
	RecoveryCodes int
	Passkeys      []Passkey
}

// Any reports whether the person has a second factor: an authenticator
// or a passkey. Recovery codes alone are none: they come with the
// authenticator, as its way back.
func (f SecondFactors) Any() bool { return f.TOTP || len(f.Passkeys) > 0 }

// Passkey is a WebAuthn credential a person registered: as a second
// factor, or to sign in without a password.
type Passkey struct {
	ID     int64
	UserID int64
	// Name is the person's own label for it ("YubiKey", "Laptop").
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// ValidatePasskeyName checks a passkey's name.
func ValidatePasskeyName(field, name string) string {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return field + ": required; name the passkey (like Laptop or YubiKey)"
	case len([]rune(name)) > 64:
		return field + ": at most 64 characters"
	case strings.ContainsAny(name, "\r\n\t"):
		return field + ": one line"
	}
	return ""
}

// SignInPolicy is what an account's Owner requires of its members' sign-in.
type SignInPolicy struct {
	AccountID int64
	// RequireTwoFactors: a member without a second factor must enrol one
	// at their next sign-in, before anything else.
	RequireTwoFactors bool
	// IdleTimeout ends a session unused for that long, Lifetime one open
	// for that long (0: no idle timeout; SessionTTL).
	IdleTimeout, Lifetime time.Duration
}

// MaxSessionLifetime bounds an account's session lifetime: no longer than
// a sign-in lasts anyway. MinSessionLimit is the shortest idle timeout or
// lifetime: shorter would sign people out while they read a page.
const (
	MaxSessionLifetime = SessionTTL
	MinSessionLimit    = 5 * time.Minute
)

// Check tells what is wrong with the policy's session limits, in the
// terms of the flags and form fields that set them.
func (p SignInPolicy) Check() error {
	var msgs []string
	if p.IdleTimeout != 0 && (p.IdleTimeout < MinSessionLimit || p.IdleTimeout > MaxSessionLifetime || p.IdleTimeout%time.Minute != 0) {
		msgs = append(msgs, "sessionIdleTimeout: whole minutes from 5m to 12h, or 0 for none")
	}
	if p.Lifetime != 0 && (p.Lifetime < MinSessionLimit || p.Lifetime > MaxSessionLifetime || p.Lifetime%time.Minute != 0) {
		msgs = append(msgs, "sessionLifetime: whole minutes from 5m to 12h, or 0 for the default (12h)")
	}
	return Invalid(msgs...)
}

// SessionEnds is when a session of this account ends, opened at created
// and last used at seen: its lifetime, or sooner its idle timeout.
func (p SignInPolicy) SessionEnds(s Session) time.Time {
	end := s.ExpiresAt
	if p.Lifetime != 0 && s.CreatedAt.Add(p.Lifetime).Before(end) {
		end = s.CreatedAt.Add(p.Lifetime)
	}
	if p.IdleTimeout != 0 {
		seen := s.LastSeenAt
		if seen.Before(s.CreatedAt) {
			seen = s.CreatedAt
		}
		if idle := seen.Add(p.IdleTimeout); idle.Before(end) {
			end = idle
		}
	}
	return end
}

// Audit events of second factors and the sign-in policy (Keyplane's names).
// A person's factors are theirs in every account they belong to, so each
// event is recorded in every one of their accounts.
const (
	EventSecondFactorEnrolled     = "SecondFactorEnrolled"
	EventSecondFactorRemoved      = "SecondFactorRemoved"
	EventRecoveryCodeUsed         = "RecoveryCodeUsed"
	EventRecoveryCodesRegenerated = "RecoveryCodesRegenerated"
	EventSignInPolicyChanged      = "SignInPolicyChanged"
	// EventPasskeySignIn is a sign-in with a passkey, without a password
	// or as the second step after it: recorded in the account the session
	// opened in.
	EventPasskeySignIn = "PasskeySignIn"
)
