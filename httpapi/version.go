package httpapi

import (
	"net/textproto"
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
	i, err := resolveRelease(h)
	if err != nil {
		return "", err
	}
	return Releases[i], nil
}

// releaseValues holds each release, by its index in Releases, as a
// PubNub-Version header value built once: every /v2 answer sends one.
// They are shared between answers and only read.
var releaseValues = func() [][]string {
	vs := make([][]string, len(Releases))
	for i, r := range Releases {
		vs[i] = []string{r}
	}
	return vs
}()

// pubnubVersionKey is the header's canonical key, as Header.Set stores it.
var pubnubVersionKey = textproto.CanonicalMIMEHeaderKey("PubNub-Version")

// resolveRelease is ResolveVersion's answer as an index in Releases.
func resolveRelease(h string) (int, error) {
	if h == "" {
		return 0, keyplane.Errorf(keyplane.CodeInvalid, "PubNub-Version: required header (a release date such as %s)", Releases[len(Releases)-1])
	}
	// Clients send a release date itself nearly always: found in the
	// list, it needs no further check (no regexp, no date parsing on
	// every request).
	if i, found := slices.BinarySearch(Releases, h); found {
		return i, nil
	}
	if !versionRE.MatchString(h) {
		return 0, keyplane.Errorf(keyplane.CodeInvalid, "PubNub-Version: must be a date YYYY-MM-DD such as %s", Releases[len(Releases)-1])
	}
	if _, err := time.Parse(time.DateOnly, h); err != nil {
		return 0, keyplane.Errorf(keyplane.CodeInvalid, "PubNub-Version: %s is not a calendar date", h)
	}
	// Dates in this form order as strings.
	i, _ := slices.BinarySearch(Releases, h)
	i-- // not found: the release before
	if i < 0 {
		return 0, keyplane.Errorf(keyplane.CodeInvalid, "PubNub-Version: %s is before the first release, %s", h, Releases[0])
	}
	return i, nil
}
