package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/wallclock"
)

// The README's examples are run as written, so that they can never drift
// from the product again. TestREADME reads three markers, each an HTML
// comment (invisible once rendered) on the line just before a fenced block:
//
//   - <!-- runnable: NAME --> before a ```sh block: the block is run, in
//     the README's order, in one bash shell (set -euo pipefail: a failing
//     command or a variable never set fails it), in an empty folder with a
//     freshly built keyplane first on PATH. Every block must exit 0 and
//     print what readmeWant says for NAME.
//   - <!-- file: PATH --> before any block: its text is written to PATH in
//     that folder before the blocks run (keyplane.yaml for plan and apply).
//   - <!-- output of: NAME --> before a block showing what NAME prints: each
//     of its lines must appear, whole and in order, in what NAME printed on
//     stdout; command lines ("$ …"), lines in parentheses (elisions such as
//     "(the plan again, then)") and blank lines aside.
//
// The one rewrite made: 127.0.0.1:8080 and localhost:8080 become a free
// port, given to serve as KEYPLANE_ADDR and to the CLI as KEYPLANE_URL (what
// their defaults are to a reader), so runs never collide with each other or
// with a server a developer runs. Blocks that cannot run here stay
// unmarked: building the binary (the test builds its own), scripts/test and
// scripts/bench, what needs a browser.
//
// It needs bash, curl and jq: scripts/test installs curl and jq when they
// are missing; under CI=true they are mandatory, elsewhere the test skips.

// readmeWant is what each runnable block must print on stdout (substrings),
// beyond exiting 0. Every runnable block has an entry, and every entry a
// block.
var readmeWant = map[string][]string{
	"run":        {"keyplane ", " go1.", `{"status":"ok"}`},
	"invite":     {"the invitation link works"},
	"quickstart": {`"name":"prod","type":"production"`, `"total":1`, `"messagePersistence":{"enabled":true,"includePresenceEvents":false,"deleteFromHistory":false,"retention":30}`},
	"cli": {
		"Telemedicine", "Chat", "secret key: sec-c-", "messagePersistence.retention              30",
		"deleted secret key sec-c-", "integration  2  Chat CLI",
		"allowed: PATCH /v2/keysets/{keysetId}/config", "\nmay\n", "KeysetConfigChanged  keyset/", "is now a partner", "acme",
	},
	"plan":  {"Applied 5 changes.", "No changes: the account already holds what keyplane.yaml declares."},
	"usage": {`{"metrics":{"mtd_txn_total":{`, `"publish":{`, "simulated ", "DATE ", "publish  mtd_txn_total"},
	"key-lifecycle": {"suspended integration", "resumed integration", "(Deployer): keys allowed from anywhere",
		"set account 1 key policy: max-key-lifetime 180d, notice-days 14,3,1", "\tDeployer\t", " rolled; key ", "\tnetworks anywhere\tactive"},
}

// readmeStep is one marked block of the README, in order.
type readmeStep struct {
	kind string // "runnable", "file" or "output of"
	arg  string // the block's NAME, or the file's PATH
	line int    // of the marker, for messages
	body string
}

var readmeMarker = regexp.MustCompile(`^<!-- (runnable|file|output of): (\S+) -->$`)

// parseREADME returns the README's marked blocks in order. A marker must be
// followed at once by a fenced block, and a runnable one by a ```sh block.
func parseREADME(text string) ([]readmeStep, error) {
	lines := strings.Split(text, "\n")
	var steps []readmeStep
	for i := 0; i < len(lines); i++ {
		m := readmeMarker.FindStringSubmatch(lines[i])
		if m == nil {
			// A marker mistyped would leave its block out silently.
			if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "<!--") &&
				(strings.Contains(l, "runnable") || strings.Contains(l, "output of") || strings.Contains(l, "file:")) {
				return nil, fmt.Errorf("README.md:%d: malformed marker %q", i+1, lines[i])
			}
			continue
		}
		s := readmeStep{kind: m[1], arg: m[2], line: i + 1}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			return nil, fmt.Errorf("README.md:%d: %s marker not followed by a fenced block", s.line, s.kind)
		}
		if s.kind == "runnable" && lines[i+1] != "```sh" {
			return nil, fmt.Errorf("README.md:%d: runnable block is %q, want ```sh", s.line, lines[i+1])
		}
		end := slices.Index(lines[i+2:], "```")
		if end < 0 {
			return nil, fmt.Errorf("README.md:%d: unclosed block", s.line)
		}
		s.body = strings.Join(lines[i+2:i+2+end], "\n") + "\n"
		steps = append(steps, s)
		i += 2 + end
	}
	return steps, nil
}

// needTools skips the test (fails it under CI=true) without the commands
// the README's blocks use.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing; the README test is mandatory under CI=true (scripts/test installs curl and jq)", tool)
			}
			t.Skipf("%s is missing, so the README's blocks cannot run (scripts/test installs curl and jq)", tool)
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestREADME runs the README's runnable blocks in order against a fresh
// server (see the comment at the top of this file).
func TestREADME(t *testing.T) {
	t.Parallel()
	// The README's shell reads the real date (date, curl's ranges), which a
	// moved clock (internal/wallclock's offset) would contradict.
	if d := time.Until(wallclock.Now()); d > time.Minute || d < -time.Minute {
		t.Skipf("the service clocks are moved by %v; the README's examples run on the real date", d.Round(time.Hour))
	}
	needTools(t, "bash", "curl", "jq", "date")
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parseREADME(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	bin := keyplaneBinary(t)
	dir := t.TempDir()
	addr := freePort(t)

	// One script: each block after a marker line on stdout and stderr, so
	// that the output can be cut per block and a failure named.
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	var names []string
	outputs := map[string]readmeStep{}
	for _, s := range steps {
		switch s.kind {
		case "file":
			if err := os.WriteFile(filepath.Join(dir, s.arg), []byte(s.body), 0o600); err != nil {
				t.Fatal(err)
			}
		case "output of":
			if !slices.Contains(names, s.arg) {
				t.Errorf("README.md:%d: output of %q, which is no runnable block before it", s.line, s.arg)
			}
			outputs[s.arg] = s
		case "runnable":
			if slices.Contains(names, s.arg) {
				t.Fatalf("README.md:%d: a second runnable block named %q", s.line, s.arg)
			}
			names = append(names, s.arg)
			body := strings.NewReplacer("127.0.0.1:8080", addr, "localhost:8080", addr).Replace(s.body)
			fmt.Fprintf(&script, "printf '\\n@@readme %s@@\\n'; printf '\\n@@readme %s@@\\n' >&2\n%s", s.arg, s.arg, body)
		}
	}
	script.WriteString("printf '\\n@@readme end@@\\n'\n")
	for name := range readmeWant {
		if !slices.Contains(names, name) {
			t.Errorf("README has no block marked <!-- runnable: %s -->", name)
		}
	}
	for _, name := range names {
		if _, ok := readmeWant[name]; !ok {
			t.Errorf("runnable block %q has no entry in readmeWant: say what it must print", name)
		}
	}
	if len(names) == 0 {
		t.Fatal("README has no runnable block")
	}

	// Files, not pipes: the server the first block starts in the background
	// keeps its inherited descriptors open after bash exits.
	stdout, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(childEnv(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KEYPLANE_ADDR="+addr, "KEYPLANE_URL=http://"+addr)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so that the server and whatever else a block
	// started end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Start()
	if runErr == nil {
		pgid := cmd.Process.Pid
		runErr = cmd.Wait()
		syscall.Kill(-pgid, syscall.SIGTERM)
		waitPortClosed(t, addr)
	}

	outs, errs := splitBlocks(t, stdout.Name()), splitBlocks(t, stderr.Name())
	if _, done := outs["end"]; runErr != nil || !done {
		last := ""
		for _, n := range names {
			if _, ran := outs[n]; ran {
				last = n
			}
		}
		t.Fatalf("README block %q failed (%v)\n--- its stdout:\n%s\n--- its stderr:\n%s", last, runErr, outs[last], errs[last])
	}
	for _, name := range names {
		for _, want := range readmeWant[name] {
			if !strings.Contains(outs[name], want) {
				t.Errorf("README block %q: stdout lacks %q\n--- stdout:\n%s\n--- stderr:\n%s", name, want, outs[name], errs[name])
			}
		}
		if o, ok := outputs[name]; ok {
			if missing := missingLines(o.body, outs[name]); missing != "" {
				t.Errorf("README.md:%d: block %q did not print, in this order, the line %q\n--- stdout:\n%s", o.line, name, missing, outs[name])
			}
		}
	}
}

// splitBlocks cuts a stream of the README script at its marker lines.
func splitBlocks(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	chunks := strings.Split(string(data), "\n@@readme ")
	for _, chunk := range chunks[1:] {
		if name, rest, ok := strings.Cut(chunk, "@@\n"); ok {
			parts[name] = rest
		}
	}
	return parts
}

// missingLines returns the first line of want (a README transcript) that
// got does not show after the lines matched before it, or "".
func missingLines(want, got string) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(got))
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), " "))
	}
	at := 0
	for l := range strings.SplitSeq(want, "\n") {
		l = strings.TrimRight(l, " ")
		if l == "" || strings.HasPrefix(l, "$ ") || strings.HasPrefix(l, "(") && strings.HasSuffix(l, ")") {
			continue
		}
		i := slices.Index(lines[at:], l)
		if i < 0 {
			return l
		}
		at += i + 1
	}
	return ""
}

// waitPortClosed waits until nothing listens on addr any more, so that the
// server is gone before the test's folder is removed.
func waitPortClosed(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("something still listens on %s after the README's blocks ended", addr)
}
