package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// keyplane version and --version print the build: in a binary built from a
// git checkout, the revision it was built from; and /healthz says the same.
func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, err := runKeyplane(t, nil, args...)
		if err != nil || !strings.HasPrefix(out, "keyplane ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("keyplane %s: %q, %v", args[0], out, err)
		}
	}
	if _, _, err := runKeyplane(t, nil, "version", "extra"); exitCode(err) != 2 {
		t.Errorf("keyplane version extra: %v, want exit 2", err)
	}

	bin := keyplaneBinary(t)
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	// The go command stamps a build from a clone (a .git folder at the
	// top); a git worktree (.git is a file there) or an exported tree it
	// does not.
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if fi, serr := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err == nil && serr == nil && fi.IsDir() {
		rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "revision "+strings.TrimSpace(string(rev))) {
			t.Errorf("the binary says %q, want revision %s", out, rev)
		}
	} else {
		t.Logf("not a git clone (%v, %v): the revision is not checked", err, serr)
	}

	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", newDB(t))
	res, err := http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Keyplane-Build"); !strings.HasPrefix(got, "keyplane ") || !strings.Contains(got, runtime.Version()) {
		t.Errorf("/healthz Keyplane-Build: %q", got)
	}
}
