package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/wallclock"
)

// binaries are the keyplane binaries built for this run: one as the test
// itself is built (with the race detector or not), and, for tests that
// measure memory, one without it (the race detector's shadow memory is
// several times what it watches, and never given back).
var binaries struct {
	dir    string
	dirErr error
	once   sync.Once
	builds [3]struct {
		once sync.Once
		path string
		err  error
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// keyplaneBinary builds the command once per test run, as the test is
// built, and returns its path.
func keyplaneBinary(t *testing.T) string { return buildKeyplane(t, raceEnabled) }

// keyplanePlainBinary is keyplaneBinary without the race detector.
func keyplanePlainBinary(t *testing.T) string { return buildKeyplane(t, false) }

// keyplaneClockBinary is keyplanePlainBinary built with the clockoffset
// tag: its clock is moved by KEYPLANE_CLOCK_OFFSET, so a test can start it
// as if time had passed (a lease run out) instead of waiting.
func keyplaneClockBinary(t *testing.T) string { return buildTagged(t, false, true) }

func buildKeyplane(t *testing.T, race bool) string {
	t.Helper()
	return buildTagged(t, race, wallclock.BuildTags != "")
}

func buildTagged(t *testing.T, race, clock bool) string {
	t.Helper()
	binaries.once.Do(func() { binaries.dir, binaries.dirErr = os.MkdirTemp("", "keyplane-test-bin-") })
	if binaries.dirErr != nil {
		t.Fatal(binaries.dirErr)
	}
	// Each in its own folder, named keyplane: tests put the folder on PATH.
	b, sub := &binaries.builds[0], "plain"
	switch {
	case race:
		b, sub = &binaries.builds[1], "race"
	case clock && wallclock.BuildTags == "":
		b, sub = &binaries.builds[2], "clock"
	}
	b.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			b.err = fmt.Errorf("building the binary needs the go command: %v", err)
			return
		}
		path := filepath.Join(binaries.dir, sub, "keyplane")
		// The VCS stamp (keyplane version) wherever the tree is a checkout.
		args := []string{"build", "-buildvcs=auto", "-o", path}
		if race {
			args = append(args, "-race")
		}
		if clock {
			args = append(args, "-tags", "clockoffset")
		}
		if out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		b.path = path
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// childEnv is the test's environment without KEYPLANE_* variables, but
// the clock's offset, which the child's clock must share.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEYPLANE_") || strings.HasPrefix(kv, "KEYPLANE_CLOCK_OFFSET=") {
			env = append(env, kv)
		}
	}
	return env
}

// process is `keyplane serve` running as a child process.
type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
	err    error // cmd.Wait's answer, once exited is closed
	URL    string
}

// startBinary starts the binary with args, waits for its "listening" line
// and kills it at the end of the test if it is still running.
func startBinary(t *testing.T, args ...string) *process {
	t.Helper()
	return startBuilt(t, keyplaneBinary(t), args...)
}

// startBuilt is startBinary with the binary at bin.
func startBuilt(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	return startBuiltEnv(t, bin, childEnv(), args...)
}

// startBuiltEnv is startBuilt with the environment env.
func startBuiltEnv(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	rec := waitForLog(t, p.stderr, p.exited, func() string { return fmt.Sprint(p.err) })
	addr, _ := rec["addr"].(string)
	if addr == "" {
		t.Fatalf("\"listening\" line without addr: %v", rec)
	}
	p.URL = "http://" + addr
	return p
}

// stop sends sig and asserts the process exits 0 within a few seconds.
func (p *process) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("no exit within 5s of %v; stderr:\n%s", sig, p.stderr.String())
	}
	if p.err != nil {
		var ee *exec.ExitError
		if errors.As(p.err, &ee) {
			t.Errorf("exit status %d after %v, want 0; stderr:\n%s", ee.ExitCode(), sig, p.stderr.String())
		} else {
			t.Errorf("wait: %v", p.err)
		}
	}
}

// checkJSONLines asserts every line of a log is a JSON object with level
// and msg, and returns the messages in order.
func checkJSONLines(t *testing.T, log string) []string {
	t.Helper()
	var msgs []string
	if !strings.HasSuffix(log, "\n") {
		t.Errorf("stderr does not end with a newline: %q", log)
	}
	for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line is not JSON: %q (%v)", line, err)
			continue
		}
		level, _ := rec["level"].(string)
		msg, _ := rec["msg"].(string)
		if level == "" || msg == "" {
			t.Errorf("stderr line without level or msg: %q", line)
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

// 9. The real binary: a real process, real signals, JSON logs without keys,
// data kept across restarts.
func TestBinaryServe(t *testing.T) {
	t.Parallel()
	bin := keyplaneBinary(t)
	db := newDB(t)

	p := startBinary(t, "serve", "--addr", "127.0.0.1:0", "--database", db)
	for _, path := range []string{"/healthz", "/readyz"} {
		b := mustCall(t, p.URL, "GET", path, "", "", http.StatusOK)
		if !strings.Contains(string(b), `"ok"`) {
			t.Errorf("GET %s = %s", path, b)
		}
	}

	// The admin command as a process too, on the database the server holds.
	adminCmd := exec.Command(bin, "admin", "create-integration", "--database", db, "--name", "CI/CD Pipeline",
		"--expires-in", "90d", "--grant", "account:app:rw", "--grant", "account:keyset:rw", "--grant", "account:secret-key:read")
	adminCmd.Env = childEnv()
	var adminErr strings.Builder
	adminCmd.Stderr = &adminErr
	out, err := adminCmd.Output()
	if err != nil {
		t.Fatalf("keyplane admin create-integration: %v; stderr %s", err, adminErr.String())
	}
	if !keyLine.Match(out) {
		t.Fatalf("keyplane admin create-integration stdout = %q, want exactly the key and a newline", out)
	}
	key := strings.TrimSuffix(string(out), "\n")

	appID := createApp(t, &testServer{URL: p.URL}, key, "Telemedicine")
	_, secret := createKeyset(t, &testServer{URL: p.URL}, key, appID)
	mustCall(t, p.URL, "GET", "/v2/apps", key, "", http.StatusOK)
	mustCall(t, p.URL, "GET", "/v2/apps", "Bearer "+key, "", http.StatusOK)
	mistyped := key[:len(key)-1] + map[bool]string{true: "B", false: "A"}[key[len(key)-1] == 'A']
	mustCall(t, p.URL, "GET", "/v2/apps", mistyped, "", http.StatusUnauthorized)
	mustCall(t, p.URL, "GET", "/v2/apps?page=0", key, "", http.StatusBadRequest)
	mustCall(t, p.URL, "GET", "/v2/keysets/999", key, "", http.StatusNotFound)

	p.stop(t, syscall.SIGTERM)
	log := p.stderr.String()
	msgs := checkJSONLines(t, log)
	for _, want := range []string{"listening", "request", "shutting down"} {
		if !contains(msgs, want) {
			t.Errorf("no %q line in the log; messages %q", want, msgs)
		}
	}
	for what, s := range map[string]string{
		"the API key": key, "the API key's random part": key[3 : len(key)-6], "the mistyped key": mistyped,
		"the secret key": secret, "a request body": "Telemedicine",
	} {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("stderr contains %s:\n%s", what, log)
		}
	}
	if n := countAccounts(t, db); n != 1 {
		t.Fatalf("%d accounts after the first start, want 1", n)
	}

	// A second start on the same file keeps the data and the one account.
	p2 := startBinary(t, "serve", "--addr", "127.0.0.1:0", "--database", db)
	b := mustCall(t, p2.URL, "GET", "/v2/apps", key, "", http.StatusOK)
	var list struct {
		Apps []struct{ ID, Name string }
	}
	if err := json.Unmarshal(b, &list); err != nil || len(list.Apps) != 1 || list.Apps[0].ID != appID || list.Apps[0].Name != "Telemedicine" {
		t.Errorf("after a restart GET /v2/apps = %s (%v), want the app made before", b, err)
	}
	p2.stop(t, os.Interrupt)
	checkJSONLines(t, p2.stderr.String())
	if strings.Contains(p2.stderr.String(), key) {
		t.Errorf("second run's stderr contains the API key")
	}
	if n := countAccounts(t, db); n != 1 {
		t.Errorf("%d accounts after a restart, want 1", n)
	}
}
