//go:build !clockoffset

package wallclock

// offset is zero in every ordinary build: Now is time.Now.
const offset = 0

// BuildTags are the tags that build another binary (a test's child
// process) with this build's clock: none.
const BuildTags = ""
