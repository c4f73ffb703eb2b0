package e2e

import (
	"testing"
)

// PubNub-Version is required; a well-formed date on or after the first
// release resolves to the newest release on or before it, and the answer
// names that release.
func TestVersioning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	latestExample := "a release date such as " + latest
	for _, tc := range []struct {
		sent     string
		resolved string // "" when refused
		msg      string
	}{
		{"", "", "PubNub-Version: required header (" + latestExample + ")"},
		{"2026-1-1", "", "PubNub-Version: must be a date YYYY-MM-DD such as " + latest},
		{"yesterday", "", "PubNub-Version: must be a date YYYY-MM-DD such as " + latest},
		{"2026-09-03T00:00:00Z", "", "PubNub-Version: must be a date YYYY-MM-DD such as " + latest},
		{"20260903", "", "PubNub-Version: must be a date YYYY-MM-DD such as " + latest},
		{"2026-02-30", "", "PubNub-Version: 2026-02-30 is not a calendar date"},
		{"2026-13-01", "", "PubNub-Version: 2026-13-01 is not a calendar date"},
		{"2025-10-31", "", "PubNub-Version: 2025-10-31 is before the first release, 2025-11-01"},
		{"1999-01-01", "", "PubNub-Version: 1999-01-01 is before the first release, 2025-11-01"},
		{"2025-11-01", "2025-11-01", ""},
		{"2025-11-14", "2025-11-01", ""},
		{"2025-11-15", "2025-11-15", ""},
		{"2026-01-01", "2025-11-15", ""},
		{"2026-02-09", "2026-02-09", ""},
		{"2026-03-23", "2026-03-23", ""},
		{"2026-05-25", "2026-03-23", ""},
		{"2026-08-24", "2026-08-24", ""},
		{"2026-09-03", "2026-09-03", ""},
		{"2030-01-01", "2026-09-03", ""},
	} {
		for _, path := range []string{"/v2/apps", "/v2/apps/" + a.ID, "/v2/keysets"} {
			r := e.do("GET", path, nil, version(tc.sent))
			if tc.resolved == "" {
				r.wantError(400, tc.msg)
				continue
			}
			r.want(200)
			if got := r.Header.Get("PubNub-Version"); got != tc.resolved {
				t.Errorf("PubNub-Version %q: answer names %q, want %q", tc.sent, got, tc.resolved)
			}
		}
	}
	// The version is checked before the key: a bad version and no key is a
	// 400, a good version and no key a 401 that still names the release.
	e.do("GET", "/v2/apps", nil, version("yesterday"), as("")).wantError(400, "PubNub-Version: must be a date YYYY-MM-DD such as "+latest)
	r := e.do("GET", "/v2/apps", nil, version("2026-01-01"), as(""))
	r.wantErrorContaining(401, "Authorization: required")
	if got := r.Header.Get("PubNub-Version"); got != "2025-11-15" {
		t.Errorf("401 answer PubNub-Version %q, want 2025-11-15", got)
	}
	// Refused writes write nothing.
	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, version("")).want(400)
	e.do("POST", "/v2/apps", map[string]any{"name": "x"}, version("2025-10-31")).want(400)
	if n := e.appTotal(); n != 1 {
		t.Errorf("apps after refused versions = %d, want 1", n)
	}
}

// Every /v2 answer given after a valid PubNub-Version names the resolved
// release, including a 405 on a /v2 path and a 404 for an unknown /v2 route.
func TestVersionHeaderOnEveryV2Answer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct{ method, path string }{
		{"PUT", "/v2/apps"},
		{"POST", "/v2/apps/1"},
		{"PUT", "/v2/usage-metrics"},
		{"POST", "/v2/keysets/1/config/apns"},
	} {
		r := e.do(tc.method, tc.path, nil, version("2026-03-24"))
		if got := r.Header.Get("PubNub-Version"); got != "2026-03-23" {
			t.Errorf("%s %s → %d: PubNub-Version %q, want 2026-03-23", tc.method, tc.path, r.Status, got)
		}
	}
}
