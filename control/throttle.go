package control

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"time"

	"github.com/keyplane/keyplane"
)

// A throttled subject: the counter an attempt is charged to, its limit per
// keyplane.LoginWindow, and the words the refusal begins with.
type throttled struct {
	key   string
	limit int
	says  string
}

// signInSubjects are the counters a password attempt is charged to: the
// address it is for and the client it comes from.
func signInSubjects(email, ip string) []throttled {
	return []throttled{
		{"email:" + email, keyplane.MaxLoginFailuresUser, "Too many failed sign-ins for this account"},
		{"ip:" + trimIP(ip), keyplane.MaxLoginFailuresIP, "Too many failed sign-ins from your network address"},
	}
}

// mailSubjects are the counters a request for e-mail (a password reset, a
// sign-up) is charged to: the address it goes to, so that no one floods a
// mailbox, and the client asking. The flows share them.
func mailSubjects(email, ip string) []throttled {
	return []throttled{
		{"mail-email:" + email, keyplane.MaxMailRequestsAddress, "Too many e-mails were asked for this address"},
		{"mail-ip:" + trimIP(ip), keyplane.MaxMailRequestsClient, "Too many e-mails were asked for from your network address"},
	}
}

// passkeyStartSubject is the counter a password-less passkey sign-in is
// charged to when it begins: the client asking.
func passkeyStartSubject(ip string) throttled {
	return throttled{"passkey-ip:" + trimIP(ip), keyplane.MaxPasskeyStartsClient, "Too many passkey sign-ins were begun from your network address"}
}

// attempt is a password attempt charged to its subjects before the
// password is checked, so that guesses sent in parallel cannot all pass
// the limit: at most limit attempts per subject are ever checked in a
// window, whatever the concurrency, on every replica (the reservation is
// one write transaction, and writers are serialized).
type attempt struct {
	id       int64
	subjects []throttled
}

// reserveAttempt charges a new attempt to every subject in tx, or refuses
// with TooManyRequests (and charges nothing) when one is at its limit. It
// also forgets what is older than the window, so a stream of guesses
// cannot grow the table without bound.
func (s *Service) reserveAttempt(tx Tx, subjects []throttled) (attempt, error) {
	now := s.clock()
	since := now.Add(-keyplane.LoginWindow)
	for _, sub := range subjects {
		n, err := tx.CountLoginFailures(sub.key, since)
		if err != nil {
			return attempt{}, err
		}
		if n >= sub.limit {
			mins := int(math.Ceil(keyplane.LoginWindow.Minutes()))
			e := keyplane.Errorf(keyplane.CodeTooManyRequests, "%s. Wait %d minutes, then try again.", sub.says, mins)
			e.RetryAfter = keyplane.LoginWindow
			return attempt{}, e
		}
	}
	var b [8]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return attempt{}, err
	}
	a := attempt{id: int64(binary.BigEndian.Uint64(b[:]) >> 1), subjects: subjects}
	for _, sub := range subjects {
		if err := tx.RecordLoginFailure(sub.key, now, a.id); err != nil {
			return attempt{}, err
		}
	}
	return a, tx.ClearLoginFailures("", since)
}

// release takes the attempt back from every subject: it was not a failed
// guess (the password was right, or it was never checked).
func (a attempt) release(tx Tx) error {
	for _, sub := range a.subjects {
		if err := tx.ForgetLoginAttempt(sub.key, a.id); err != nil {
			return err
		}
	}
	return nil
}

// checkCharged checks a password against hash for an attempt reserved with
// reserveAttempt: under the bound on hashes at once, and, when the hash
// could not even be computed (too busy, or the request gone), with the
// attempt taken back, so that a busy server does not count as guesses.
func (s *Service) checkCharged(ctx context.Context, a attempt, hash, password string) (bool, error) {
	ok, err := s.hashes.check(ctx, hash, password)
	if err != nil {
		if rerr := s.store.Write(context.WithoutCancel(ctx), a.release); rerr != nil {
			s.log.Warn("taking back a sign-in attempt", "err", rerr)
		}
	}
	return ok, err
}

// retryAfterBusy is what a password request refused for want of a hashing
// slot is told to wait.
const retryAfterBusy = 2 * time.Second
