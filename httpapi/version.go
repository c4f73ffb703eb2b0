package httpapi

import (
	"regexp"
	"slices"
	"time"

	"github.com/keyplane/keyplane"
)

// Releases are the dated releases of the API, oldest first. A request's
// PubNub-Version resolves to the newest one on or before it.
var Releases = []string{
	"2025-11-01", "2025-11-15", "2026-02-09", "2026-03-01",
	"2026-03-23", "2026-05-26", "2026-08-24", "2026-09-03",
}

var versionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// ResolveVersion maps a PubNub-Version header value to a release.
func ResolveVersion(h string) (string, error) {
	if h == "" {
		return "", keyplane.Errorf(keyplane.CodeInvalid, "PubNub-Version: required header (a release date such as %s)", Releases[len(Releases)-1])
	}
	if !versionRE.MatchString(h) {
		return "", keyplane.Errorf(keyplane.CodeInvalid, "PubNub-Version: must be a date YYYY-MM-DD such as %s", Releases[len(Releases)-1])
	}
	if _, err := time.Parse(time.DateOnly, h); err != nil {
		return "", keyplane.Errorf(keyplane.CodeInvalid, "PubNub-Version: %s is not a calendar date", h)
	}
	// Dates in this form order as strings.
	i, found := slices.BinarySearch(Releases, h)
	if !found {
		i--
	}
	if i < 0 {
		return "", keyplane.Errorf(keyplane.CodeInvalid, "PubNub-Version: %s is before the first release, %s", h, Releases[0])
	}
	return Releases[i], nil
}
