// Package buildinfo tells which build of Keyplane is running: the module
// version, the VCS revision and time, whether the work tree had changes,
// and the Go version, as the Go toolchain recorded them in the binary.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Info is what the toolchain recorded of a build. Fields it did not record
// (a test binary, a build outside a VCS checkout) are empty.
type Info struct {
	Version   string // the main module's version: "(devel)" for a build from a checkout
	Revision  string // vcs.revision
	Time      string // vcs.time, RFC 3339
	Modified  bool   // vcs.modified: the work tree had uncommitted changes
	GoVersion string
}

// Read returns this binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown"}
	}
	i := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	if i.Version == "" {
		i.Version = "(devel)"
	}
	return i
}

// String is Info on one line, e.g.
// "keyplane (devel) revision 0123abcd… 2026-12-03T09:00:00Z (modified) go1.26.8".
func (i Info) String() string {
	parts := []string{"keyplane", i.Version}
	if i.Revision != "" {
		parts = append(parts, "revision", i.Revision)
	}
	if i.Time != "" {
		parts = append(parts, i.Time)
	}
	if i.Modified {
		parts = append(parts, "(modified)")
	}
	if i.GoVersion != "" {
		parts = append(parts, i.GoVersion)
	}
	return strings.Join(parts, " ")
}
