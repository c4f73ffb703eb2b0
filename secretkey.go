package keyplane

import (
	"crypto/rand"
	"fmt"
	"io"
	"regexp"
	"time"
)

// SecretKey is one secret key of a keyset. The main key has no expiry;
// rotated keys keep working until theirs.
type SecretKey struct {
	KeysetID  int64
	Secret    string // the whole key, sec-c-…
	ExpiresAt *time.Time
	CreatedAt time.Time
}

// Secret key limits.
const (
	MaxRotatedSecretKeys = 5
	MinSecretKeyExpiry   = 60 * time.Second
	MaxSecretKeyExpiry   = 366 * 24 * time.Hour
	secretKeyBodyLen     = 48
)

// Prefix is how routes address the key: its first 11 characters.
func (s SecretKey) Prefix() string { return s.Secret[:SecretKeyPrefixLen] }

// Main reports whether s is the keyset's main (non-expiring) key.
func (s SecretKey) Main() bool { return s.ExpiresAt == nil }

// Active reports whether s still works at now.
func (s SecretKey) Active(now time.Time) bool { return s.ExpiresAt == nil || now.Before(*s.ExpiresAt) }

// SecretKeyPrefixLen is the length of the prefix that names a secret key.
const SecretKeyPrefixLen = 11

var secretKeyPrefixRE = regexp.MustCompile(`^sec-c-[a-zA-Z0-9]{5}$`)

// ValidateSecretKeyPrefix checks a prefix given in a path.
func ValidateSecretKeyPrefix(p string) error {
	if !secretKeyPrefixRE.MatchString(p) {
		return Errorf(CodeInvalid, "secretKeyPrefix: must be the first 11 characters of a secret key (sec-c- and 5 letters or digits), never the whole key")
	}
	return nil
}

// NewSecretKey makes a random secret key from r (crypto/rand when nil).
func NewSecretKey(r io.Reader) (string, error) {
	body, err := randomBase62(r, secretKeyBodyLen)
	if err != nil {
		return "", err
	}
	return "sec-c-" + body, nil
}

// ValidateSecretKeyExpiry checks a requested expiry: 60 s to 366 days after now.
func ValidateSecretKeyExpiry(field string, at, now time.Time) error {
	if at.Before(now.Add(MinSecretKeyExpiry)) {
		return Errorf(CodeInvalid, "%s: must be at least 60 seconds in the future", field)
	}
	if at.After(now.Add(MaxSecretKeyExpiry)) {
		return Errorf(CodeInvalid, "%s: must be at most 366 days in the future", field)
	}
	return nil
}

var isoZ = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$`)

// ParseTime reads an ISO 8601 UTC time as PubNub accepts it:
// 2026-01-02T15:04:05Z or 2026-01-02T15:04:05.000Z.
func ParseTime(field, s string) (time.Time, error) {
	if !isoZ.MatchString(s) {
		return time.Time{}, Errorf(CodeInvalid, "%s: must be an ISO 8601 UTC time such as 2026-01-02T15:04:05.000Z", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Errorf(CodeInvalid, "%s: not a valid date and time", field)
	}
	return t, nil
}

// timeLayout is how every answer carries times: UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime renders t the way every answer carries times.
func FormatTime(t time.Time) string { return string(AppendTime(make([]byte, 0, len(timeLayout)), t)) }

// AppendTime appends t to b as FormatTime renders it. It writes the digits
// itself, for years 0 to 9999: time.Format reads its layout again at every
// call, and a page of keysets formats two hundred times.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, timeLayout)
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = appendDigits(append(b, '-'), int(month), 2)
	b = appendDigits(append(b, '-'), day, 2)
	b = appendDigits(append(b, 'T'), hour, 2)
	b = appendDigits(append(b, ':'), minute, 2)
	b = appendDigits(append(b, ':'), sec, 2)
	b = appendDigits(append(b, '.'), t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}

// appendDigits appends v's last n decimal digits, zero-padded.
func appendDigits(b []byte, v, n int) []byte {
	start := len(b)
	for range n {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= start; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n uniformly random base62 characters from r.
func randomBase62(r io.Reader, n int) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		for _, b := range buf {
			// 248 = 4·62: rejecting larger bytes keeps every character equally likely.
			if b < 248 && len(out) < n {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out), nil
}

// NewPubSubKeys makes a keyset's publish and subscribe keys: pub-c- and sub-c-
// followed by a random (version 4) UUID.
func NewPubSubKeys(r io.Reader) (pub, sub string, err error) {
	if r == nil {
		r = rand.Reader
	}
	u := func() (string, error) {
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
	}
	p, err := u()
	if err != nil {
		return "", "", err
	}
	s, err := u()
	if err != nil {
		return "", "", err
	}
	return "pub-c-" + p, "sub-c-" + s, nil
}
