package keyplane

import (
	"math"
	"time"
)

// NoticeKind is why a key needs its people's attention.
type NoticeKind string

// The kinds of key notice.
const (
	NoticeExpiry NoticeKind = "expiry" // the key expires within a notice threshold
	NoticeUnused NoticeKind = "unused" // the key has not been used for UnusedNoticeAfter
)

// KeyNotice is one notice about one key: given once per key, kind,
// threshold and basis.
type KeyNotice struct {
	Kind NoticeKind
	// Threshold is the notice's number of days: before expiry (one of the
	// account's notice days), or of disuse (30).
	Threshold int
	// Basis is what the notice counts from: the key's expiry, or its last
	// use (its creation if it was never used). A key used again and left
	// unused again has another basis, so another notice.
	Basis time.Time
	// DaysLeft is, for an expiry notice, how many whole days the key has
	// left at the time of the notice (0: less than a day).
	DaysLeft int
}

// DueNotices are the notices key k of an account with policy p is due at
// now: the tightest expiry threshold it has crossed (a key made with two
// days to live gets the 3-day notice, not the 14-day one as well), and
// disuse. Only active keys that were not rolled get notices: a rolled
// key's end is the overlap its people chose.
func DueNotices(p AccountPolicy, k APIKey, now time.Time) []KeyNotice {
	if !k.Active(now) || k.ReplacedBy != 0 {
		return nil
	}
	var out []KeyNotice
	left := k.ExpiresAt.Sub(now)
	tightest := 0
	for _, d := range p.NoticeDays {
		if left <= time.Duration(d)*24*time.Hour && (tightest == 0 || d < tightest) {
			tightest = d
		}
	}
	if tightest > 0 {
		out = append(out, KeyNotice{Kind: NoticeExpiry, Threshold: tightest, Basis: k.ExpiresAt, DaysLeft: int(left / (24 * time.Hour))})
	}
	since := k.CreatedAt
	if k.LastUsedAt != nil {
		since = *k.LastUsedAt
	}
	if now.Sub(since) >= UnusedNoticeAfter {
		out = append(out, KeyNotice{Kind: NoticeUnused, Threshold: int(math.Round(UnusedNoticeAfter.Hours() / 24)), Basis: since})
	}
	return out
}
