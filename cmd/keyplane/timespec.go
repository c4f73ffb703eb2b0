package main

import (
	"regexp"
	"strconv"
	"time"
)

// The one grammar of times and spans every command reads: --from and --to
// of audit list and usage get, --expires-in of the admin commands and
// secret-keys. A span is a whole number and a unit (s, m, h, d, w, y), or a
// Go duration (1h30m); a time is RFC 3339, a UTC date, or a span back from
// now.

// span is a length of time as written: calendar units (d, w, y) move the
// date, so 1y from 29 February and 1d across a change of clocks mean what
// a person means by them.
type span struct {
	d             time.Duration // s, m, h and Go durations
	days, years   int
	calendarUnits bool
}

var spanRE = regexp.MustCompile(`^(\d{1,6})([smhdwy])$`)

// parseSpan reads a span; ok is false for anything else, zero and negative
// spans included.
func parseSpan(s string) (span, bool) {
	if m := spanRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1]) // at most six digits: cannot fail
		if n == 0 {
			return span{}, false
		}
		switch m[2] {
		case "s":
			return span{d: time.Duration(n) * time.Second}, true
		case "m":
			return span{d: time.Duration(n) * time.Minute}, true
		case "h":
			return span{d: time.Duration(n) * time.Hour}, true
		case "d":
			return span{days: n, calendarUnits: true}, true
		case "w":
			return span{days: 7 * n, calendarUnits: true}, true
		default:
			return span{years: n, calendarUnits: true}, true
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return span{}, false
	}
	return span{d: d}, true
}

// after is the time the span ends when it starts at t.
func (sp span) after(t time.Time) time.Time {
	if sp.calendarUnits {
		return t.AddDate(sp.years, 0, sp.days)
	}
	return t.Add(sp.d)
}

// before is the time the span starts when it ends at t.
func (sp span) before(t time.Time) time.Time {
	if sp.calendarUnits {
		return t.AddDate(-sp.years, 0, -sp.days)
	}
	return t.Add(-sp.d)
}

// whenHelp says what parseWhen reads, for messages and flag help.
const whenHelp = "an RFC 3339 time (2026-11-01T00:00:00Z), a date (2026-11-01) or a span back from now (30m, 24h, 7d, 2w, 1y)"

// parseWhen reads a --from or --to time: RFC 3339, a UTC date, or a span
// back from now ("30m", "24h", "7d", "2w").
func parseWhen(s string, now time.Time) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	sp, ok := parseSpan(s)
	if !ok {
		return time.Time{}, false
	}
	return sp.before(now), true
}
