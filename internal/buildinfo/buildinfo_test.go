package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	i := Info{Version: "v1.2.3", Revision: "abc", Time: "2026-12-03T09:00:00Z", Modified: true, GoVersion: "go1.26.8"}
	if got, want := i.String(), "keyplane v1.2.3 revision abc 2026-12-03T09:00:00Z (modified) go1.26.8"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := (Info{Version: "(devel)"}).String(), "keyplane (devel)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// A test binary records its Go version but no VCS settings.
func TestRead(t *testing.T) {
	i := Read()
	if i.GoVersion != runtime.Version() || !strings.HasPrefix(i.String(), "keyplane ") {
		t.Errorf("Read() = %+v", i)
	}
}
