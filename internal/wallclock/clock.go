// Package wallclock is the wall clock every service of Keyplane reads when it
// is given none: control, the portal, the server and the commands that
// compute an expiry. Tests that fix a date inject their own clock instead;
// this one exists so that the whole suite can be run with every default
// clock moved (see offset_on.go), which proves that no test mixes a fixed
// date with the real one.
package wallclock

import "time"

// Now is the current time, moved by the build's offset (zero but in a
// build with the clockoffset tag).
func Now() time.Time {
	if offset == 0 {
		return time.Now()
	}
	return time.Now().Add(offset)
}
