package main

import (
	"testing"
	"time"
)

// One grammar of spans and times for every command (--from, --to,
// --expires-in): the same words mean the same thing everywhere.
func TestSpansAndTimes(t *testing.T) {
	now := time.Date(2027, 3, 10, 15, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in           string
		after, since time.Time // sp.after(now), parseWhen(in, now)
	}{
		{"90s", now.Add(90 * time.Second), now.Add(-90 * time.Second)},
		{"30m", now.Add(30 * time.Minute), now.Add(-30 * time.Minute)},
		{"24h", now.Add(24 * time.Hour), now.Add(-24 * time.Hour)},
		{"1h30m", now.Add(90 * time.Minute), now.Add(-90 * time.Minute)},
		{"7d", now.AddDate(0, 0, 7), now.AddDate(0, 0, -7)},
		{"2w", now.AddDate(0, 0, 14), now.AddDate(0, 0, -14)},
		{"1y", now.AddDate(1, 0, 0), now.AddDate(-1, 0, 0)},
	} {
		sp, ok := parseSpan(tc.in)
		if !ok || !sp.after(now).Equal(tc.after) {
			t.Errorf("parseSpan(%q).after = %v %v, want %v", tc.in, sp.after(now), ok, tc.after)
		}
		if got, ok := parseWhen(tc.in, now); !ok || !got.Equal(tc.since) {
			t.Errorf("parseWhen(%q) = %v %v, want %v", tc.in, got, ok, tc.since)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "7", "d", "1.5d", "7 d", "soon", "1000000d"} {
		if _, ok := parseSpan(bad); ok {
			t.Errorf("parseSpan(%q) accepted", bad)
		}
	}
	if got, ok := parseWhen("2026-11-01", now); !ok || !got.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("a date: %v %v", got, ok)
	}
}

// --expires-in: from the documented minimum, 1m, to a year; under a
// minute is refused here, with the minimum in the message.
func TestParseExpiresIn(t *testing.T) {
	now := time.Date(2027, 3, 10, 15, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"1m": now.Add(time.Minute), "90d": now.AddDate(0, 0, 90), "2w": now.AddDate(0, 0, 14),
		"1y": now.AddDate(1, 0, 0), "720h": now.Add(720 * time.Hour),
	} {
		if got, err := parseExpiresIn(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseExpiresIn(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseExpiresIn("30s", now); err == nil || err.Error() != `--expires-in "30s": at least one minute (1m), at most one year (1y)` {
		t.Errorf("30s: %v", err)
	}
	if _, err := parseExpiresIn("soon", now); err == nil || err.Error() != `--expires-in "soon": want a lifetime of at least one minute and at most one year, such as 1m, 90d, 2w, 720h or 1y` {
		t.Errorf("soon: %v", err)
	}
}
