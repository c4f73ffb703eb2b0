package keyplane

import (
	"hash/crc32"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestAPIKeyFormat(t *testing.T) {
	seen := map[string]bool{}
	shape := regexp.MustCompile(`^si_[0-9A-Za-z]{49}$`)
	for range 200 {
		k, err := NewAPIKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(k) {
			t.Fatalf("key %q does not have the documented shape", k)
		}
		if err := CheckAPIKey(k); err != nil {
			t.Fatalf("CheckAPIKey(new key) = %v", err)
		}
		if seen[k] {
			t.Fatalf("key repeated: %q", k)
		}
		seen[k] = true
		// Any single changed character is caught by the checksum or the alphabet.
		for _, i := range []int{3, 20, len(k) - 7, len(k) - 1} {
			b := []byte(k)
			b[i] = "0123456789"[(strings.IndexByte(base62, b[i])+1)%10]
			if string(b) == k {
				b[i] = 'x'
			}
			if CheckAPIKey(string(b)) == nil {
				t.Fatalf("changed key %q (position %d) passed the check", b, i)
			}
		}
	}
	for _, bad := range []string{"", "si_", "sk_" + strings.Repeat("a", 49), "si_" + strings.Repeat("a", 48), "si_" + strings.Repeat("-", 49)} {
		err := CheckAPIKey(bad)
		if ErrorCode(err) != CodeUnauthorized {
			t.Errorf("CheckAPIKey(%q) = %v, want Unauthorized", bad, err)
		}
	}
	if got := APIKeyShownPrefix("si_ABCDEFGHxyz"); got != "si_ABCDEFGH" {
		t.Errorf("shown prefix %q", got)
	}
	if h1, h2 := HashAPIKey("si_a"), HashAPIKey("si_b"); h1 == h2 {
		t.Errorf("hash: %x %x", h1, h2)
	}
}

func TestAPIKeyExpiry(t *testing.T) {
	now := time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		expires time.Time
		ok      bool
	}{
		{now.Add(time.Minute), true},
		// A minute from a clock read a moment before (the CLI's) still passes.
		{now.Add(time.Minute - ExpiryClockSlack), true},
		{now.Add(time.Minute - ExpiryClockSlack - time.Millisecond), false},
		{now.Add(30 * time.Second), false},
		{now.AddDate(1, 0, 0), true},
		{now.AddDate(1, 0, 0).Add(time.Millisecond), false},
		{now.Add(-time.Hour), false},
	} {
		if err := ValidateAPIKeyExpiry(c.expires, now); (err == nil) != c.ok {
			t.Errorf("expiry %s: %v, want ok=%v", c.expires, err, c.ok)
		}
	}
	k := APIKey{ExpiresAt: now.Add(time.Hour)}
	if !k.Active(now) || k.Active(now.Add(time.Hour)) {
		t.Error("a key is active until, and not at, its expiry")
	}
	k.RevokedAt = &now
	if k.Active(now) {
		t.Error("a revoked key is not active")
	}
}

func TestSecretKeys(t *testing.T) {
	s, err := NewSecretKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^sec-c-[0-9A-Za-z]{48}$`).MatchString(s) {
		t.Fatalf("secret key %q", s)
	}
	k := SecretKey{Secret: s}
	if err := ValidateSecretKeyPrefix(k.Prefix()); err != nil {
		t.Errorf("prefix %q of a new key is refused: %v", k.Prefix(), err)
	}
	for _, bad := range []string{"", "sec-c-", "sec-c-abcd", "sec-c-abcdef", "sec-c-ab_de", s, "pub-c-abcde"} {
		if ValidateSecretKeyPrefix(bad) == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
	pub, sub, err := NewPubSubKeys(nil)
	uuid := `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
	if err != nil || !regexp.MustCompile(`^pub-c-`+uuid+`$`).MatchString(pub) || !regexp.MustCompile(`^sub-c-`+uuid+`$`).MatchString(sub) {
		t.Errorf("pub/sub keys %q %q %v", pub, sub, err)
	}

	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{now.Add(60 * time.Second), true},
		{now.Add(59 * time.Second), false},
		{now.Add(366 * 24 * time.Hour), true},
		{now.Add(366*24*time.Hour + time.Second), false},
	} {
		if err := ValidateSecretKeyExpiry("expiresAt", c.at, now); (err == nil) != c.ok {
			t.Errorf("expiry %s: %v, want ok=%v", c.at, err, c.ok)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"2026-01-02T15:04:05Z", true},
		{"2026-01-02T15:04:05.123Z", true},
		{"2026-01-02T15:04:05+01:00", false},
		{"2026-01-02T15:04:05.1Z", false},
		{"2026-01-02", false},
		{"2026-13-02T15:04:05Z", false},
		{"2026-02-30T15:04:05Z", false},
	} {
		_, err := ParseTime("expiresAt", c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseTime(%q) = %v, want ok=%v", c.in, err, c.ok)
		}
	}
	if got := FormatTime(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600))); got != "2026-01-02T02:04:05.006Z" {
		t.Errorf("FormatTime = %s", got)
	}
}

// FormatTime writes its digits itself: it must say what time.Format says,
// for any instant, any zone, and years it leaves to time.Format.
func TestFormatTimeIsTimeFormat(t *testing.T) {
	times := []time.Time{{}, time.Unix(0, 0), time.UnixMilli(-1), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 2, 3, 4, 5, 6, 7, time.UTC)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		times = append(times, time.Unix(r.Int64N(1<<38)-1<<37, r.Int64N(1e9)).In(time.FixedZone("z", r.IntN(100000)-50000)))
	}
	for _, tm := range times {
		want := tm.UTC().Format("2006-01-02T15:04:05.000Z")
		if got := FormatTime(tm); got != want {
			t.Fatalf("FormatTime(%v) = %s, want %s", tm, got, want)
		}
		if got := AppendTime([]byte("x"), tm); string(got) != "x"+want {
			t.Fatalf("AppendTime(x, %v) = %s", tm, got)
		}
	}
}

// The checksum reads the key in place; it must stay the CRC-32 (IEEE) that
// keys already handed out carry.
func TestAPIKeyChecksumIsCRC32IEEE(t *testing.T) {
	for _, s := range []string{"", "si_", "si_" + strings.Repeat("Az9", 14) + "q"} {
		n := crc32.ChecksumIEEE([]byte(s))
		var want [apiKeySumLen]byte
		for i := apiKeySumLen - 1; i >= 0; i-- {
			want[i] = base62[n%62]
			n /= 62
		}
		if got := apiKeyChecksum(s); got != want {
			t.Errorf("checksum of %q: %s, want %s", s, got[:], want[:])
		}
	}
}

// TestOperatorKeyFormat: operator keys are made and checked by the same
// code as API keys, and the two formats never pass for each other.
func TestOperatorKeyFormat(t *testing.T) {
	shape := regexp.MustCompile(`^kpop_[0-9A-Za-z]{49}$`)
	for range 50 {
		k, err := OperatorKeyFormat.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(k) {
			t.Fatalf("operator key %q does not have the documented shape", k)
		}
		if err := OperatorKeyFormat.Check(k); err != nil {
			t.Fatalf("Check(new operator key) = %v", err)
		}
		if err := CheckAPIKey(k); ErrorCode(err) != CodeUnauthorized {
			t.Fatalf("CheckAPIKey(operator key) = %v, want Unauthorized", err)
		}
		// The same body under the other prefix fails the checksum: the
		// prefix is part of what it seals.
		swapped := APIKeyPrefix + strings.TrimPrefix(k, OperatorKeyPrefix)
		if err := CheckAPIKey(swapped); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("CheckAPIKey(operator body as si_) = %v, want a checksum error", err)
		}
		b := []byte(k)
		b[10] = "0123456789"[(strings.IndexByte(base62, b[10])+1)%10]
		if string(b) != k && OperatorKeyFormat.Check(string(b)) == nil {
			t.Fatalf("changed operator key %q passed the check", b)
		}
	}
	si, _ := NewAPIKey(nil)
	err := OperatorKeyFormat.Check(si)
	if ErrorCode(err) != CodeUnauthorized || !strings.Contains(err.Error(), "operator key (kpop_…)") {
		t.Errorf("Check(si_ key) = %v, want Unauthorized naming kpop_", err)
	}
	if got := OperatorKeyFormat.ShownPrefix("kpop_ABCDEFGHxyz"); got != "kpop_ABCDEFGH" {
		t.Errorf("shown prefix %q", got)
	}
}
