package httpapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
)

func TestResolveVersion(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2025-11-01", "2025-11-01"},
		{"2025-11-14", "2025-11-01"},
		{"2025-11-15", "2025-11-15"},
		{"2026-01-01", "2025-11-15"},
		{"2026-03-23", "2026-03-23"},
		{"2026-09-03", "2026-09-03"},
		{"2030-01-01", "2026-09-03"},
		{"", "error: required"},
		{"2025-10-31", "error: before the first release"},
		{"2026-1-1", "error: YYYY-MM-DD"},
		{"yesterday", "error: YYYY-MM-DD"},
		{"2026-02-30", "error: not a calendar date"},
		{" 2026-09-03", "error: YYYY-MM-DD"},
	} {
		got, err := ResolveVersion(c.in)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != c.want && !(len(c.want) > 7 && c.want[:7] == "error: " && err != nil && strings.Contains(err.Error(), c.want[7:])) {
			t.Errorf("ResolveVersion(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if !slices.IsSorted(Releases) {
		t.Error("Releases must be in order")
	}
}

// FuzzResolveVersion: any header resolves to a known release or is a 400.
func FuzzResolveVersion(f *testing.F) {
	for _, s := range []string{"2026-09-03", "2025-10-31", "0000-00-00", "9999-12-31", "2026-02-29"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ResolveVersion(s)
		if err != nil {
			if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
				t.Fatalf("ResolveVersion(%q): %v is not a 400", s, err)
			}
			return
		}
		if !slices.Contains(Releases, v) || v > s {
			t.Fatalf("ResolveVersion(%q) = %q", s, v)
		}
	})
}
