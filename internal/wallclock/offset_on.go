//go:build clockoffset

package wallclock

import (
	"fmt"
	"os"
	"time"
)

// offset moves every default clock by KEYPLANE_CLOCK_OFFSET (a Go duration,
// e.g. 8760h for a year ahead). Only a build with the clockoffset tag has
// it:
//
//	KEYPLANE_CLOCK_OFFSET=8760h go test -tags clockoffset ./...
var offset = func() time.Duration {
	s := os.Getenv("KEYPLANE_CLOCK_OFFSET")
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(fmt.Sprintf("KEYPLANE_CLOCK_OFFSET=%q: %v", s, err))
	}
	return d
}()

// BuildTags are the tags that build another binary (a test's child
// process) with this build's clock.
const BuildTags = "clockoffset"
