package keyplane

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AccountPolicy is what an account's Owner decides about its API keys: how
// long a key may live at most, and how many days before a key expires its
// people are told.
type AccountPolicy struct {
	AccountID int64
	// MaxKeyLifetime is the longest lifetime a new or rolled key may be
	// given, shorter than the one-year ceiling; 0 means the ceiling.
	MaxKeyLifetime time.Duration
	// NoticeDays are the days before a key's expiry at which a notice is
	// given, largest first (DefaultNoticeDays unless the Owner chose).
	NoticeDays []int
}

// DefaultNoticeDays are the expiry notices of an account whose Owner chose
// none: two weeks, three days and one day before a key expires.
var DefaultNoticeDays = []int{14, 3, 1}

// UnusedNoticeAfter is how long a key may go unused before its people are
// told: long enough that a monthly job's key is not flagged.
const UnusedNoticeAfter = 30 * 24 * time.Hour

// Bounds of a policy.
const (
	// MinKeyLifetimePolicy is the shortest maximum lifetime a policy may
	// set: a day, so a policy cannot make keys that die before anyone can
	// deploy them.
	MinKeyLifetimePolicy = 24 * time.Hour
	maxNoticeDays        = 5
	maxNoticeDay         = 90
)

// DefaultAccountPolicy is the policy of an account whose Owner set none.
func DefaultAccountPolicy(accountID int64) AccountPolicy {
	return AccountPolicy{AccountID: accountID, NoticeDays: slices.Clone(DefaultNoticeDays)}
}

// Validate checks a policy an Owner or the operator sets.
func (p AccountPolicy) Validate() error {
	var msgs []string
	if p.MaxKeyLifetime != 0 && (p.MaxKeyLifetime < MinKeyLifetimePolicy || p.MaxKeyLifetime > 366*24*time.Hour) {
		msgs = append(msgs, "maxKeyLifetime: from one day to one year, or none (the one-year ceiling)")
	}
	if len(p.NoticeDays) > maxNoticeDays {
		msgs = append(msgs, fmt.Sprintf("noticeDays: at most %d", maxNoticeDays))
	}
	for _, d := range p.NoticeDays {
		if d < 1 || d > maxNoticeDay {
			msgs = append(msgs, fmt.Sprintf("noticeDays: each from 1 to %d days, not %d", maxNoticeDay, d))
			break
		}
	}
	return Invalid(msgs...)
}

// Normalized returns p with its notice days sorted largest first and
// without repeats.
func (p AccountPolicy) Normalized() AccountPolicy {
	d := slices.Clone(p.NoticeDays)
	slices.Sort(d)
	d = slices.Compact(d)
	slices.Reverse(d)
	p.NoticeDays = d
	return p
}

// MaxExpiry is the latest expiry a key made at now may have under p: the
// policy's maximum lifetime, or the one-year ceiling.
func (p AccountPolicy) MaxExpiry(now time.Time) time.Time {
	ceiling := MaxAPIKeyExpiry(now)
	if p.MaxKeyLifetime > 0 {
		if t := now.Add(p.MaxKeyLifetime); t.Before(ceiling) {
			return t
		}
	}
	return ceiling
}

// CheckExpiry checks the expiry of a new or rolled key against the
// ceiling (ValidateAPIKeyExpiry) and p's maximum lifetime.
func (p AccountPolicy) CheckExpiry(expires, now time.Time) error {
	if err := ValidateAPIKeyExpiry(expires, now); err != nil {
		return err
	}
	if p.MaxKeyLifetime > 0 && expires.After(now.Add(p.MaxKeyLifetime).Add(ExpiryClockSlack)) {
		return Errorf(CodeInvalid, "expiry: this account's policy allows API keys to live at most %s; choose an earlier expiry", FormatLifetime(p.MaxKeyLifetime))
	}
	return nil
}

// FormatLifetime writes a lifetime the way people and flags say it: "90d",
// "36h", "1y".
func FormatLifetime(d time.Duration) string {
	switch {
	case d == 0:
		return "none"
	case d%(365*24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(365*24*time.Hour)), 10) + "y"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}

// ParseNoticeDays reads notice days written "14,3,1".
func ParseNoticeDays(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(f, "d"))
		if err != nil {
			return nil, Errorf(CodeInvalid, "noticeDays: %q is not a number of days; write them like 14,3,1", clip(f))
		}
		out = append(out, n)
	}
	return out, nil
}

// FormatNoticeDays writes notice days as ParseNoticeDays reads them.
func FormatNoticeDays(ds []int) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, ",")
}
