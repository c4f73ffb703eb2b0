package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The whole run's secrets and logs. Each test's own log is checked when it
// ends (newEnvWith); this checks every log against every secret of the
// run, so a secret made by one test and leaked through another server (a
// key used across envs, a log line written late) is caught too.
var run = struct {
	mu      sync.Mutex
	secrets map[string]string // secret → the test that made it
	logs    []serverLog
}{secrets: map[string]string{}}

// serverLog is the log of one server of the run.
type serverLog struct {
	test string // the test that ran the server
	log  interface{ String() string }
}

// recordSecret notes a secret a test made or was shown: an API key, a
// secret key, a password, a session or setup token.
func recordSecret(test, secret string) {
	run.mu.Lock()
	defer run.mu.Unlock()
	if _, ok := run.secrets[secret]; !ok {
		run.secrets[secret] = test
	}
}

// recordLog notes the log of a server a test started.
func recordLog(test string, log interface{ String() string }) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.logs = append(run.logs, serverLog{test, log})
}

// leak is a secret found in a log.
type leak struct {
	secret   string // shown shortened
	madeBy   string // the test that made the secret
	loggedBy string // the test whose server logged it
}

func (l leak) String() string {
	return fmt.Sprintf("a secret made by %s (%s) is in the log of the server of %s", l.madeBy, l.secret, l.loggedBy)
}

// scanLogs finds every secret in every log.
func scanLogs(logs []serverLog, secrets map[string]string) []leak {
	var out []leak
	for _, l := range logs {
		text := l.log.String()
		for s, test := range secrets {
			if strings.Contains(text, s) {
				out = append(out, leak{secret: shorten(s), madeBy: test, loggedBy: l.test})
			}
		}
	}
	slices.SortFunc(out, func(a, b leak) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// shorten shows enough of a secret to tell which it is, not enough to use it.
func shorten(s string) string {
	if len(s) > 10 {
		return s[:6] + "…"
	}
	return "…"
}

// minSecretLen keeps short strings (a test's "x" password) out of the scan:
// they would match anywhere and mean nothing.
const minSecretLen = 8

// TestMain runs the tests, then scans the logs of every server of the run
// for every secret any test made, and fails the run naming the test that
// made each one found.
func TestMain(m *testing.M) {
	code := m.Run()
	run.mu.Lock()
	leaks := scanLogs(run.logs, run.secrets)
	nSecrets, nLogs := len(run.secrets), len(run.logs)
	run.mu.Unlock()
	for _, l := range leaks {
		fmt.Fprintf(os.Stderr, "FAIL: whole-run log scan: %s; README: logs never contain an API key, secret key, password or token\n", l)
	}
	if len(leaks) > 0 {
		code = 1
	} else if testing.Verbose() {
		fmt.Printf("whole-run log scan: %d secrets, %d server logs, no secret logged\n", nSecrets, nLogs)
	}
	os.Exit(code)
}

// The scanner itself finds a planted secret and names the test that made
// it, on logs made for it here, not in the run's.
func TestLogScanFindsPlantedLeak(t *testing.T) {
	t.Parallel()
	clean, dirty := &syncBuffer{}, &syncBuffer{}
	clean.Write([]byte(`{"msg":"request","path":"/v2/apps","status":201}` + "\n"))
	dirty.Write([]byte(`{"msg":"request","path":"/v2/apps","status":201}` + "\n"))
	dirty.Write([]byte(`{"msg":"oops","key":"si_plantedPLANTEDplanted0123456789"}` + "\n"))
	secrets := map[string]string{
		"si_plantedPLANTEDplanted0123456789": "TestThatMadeIt",
		"sec-c-neverLoggedAnywhere000000000": "TestOther",
	}
	got := scanLogs([]serverLog{{"TestClean", clean}, {"TestDirty", dirty}}, secrets)
	want := []leak{{secret: "si_pla…", madeBy: "TestThatMadeIt", loggedBy: "TestDirty"}}
	if !slices.Equal(got, want) {
		t.Errorf("scanLogs = %v, want %v", got, want)
	}
	if got := scanLogs([]serverLog{{"TestClean", clean}}, secrets); len(got) != 0 {
		t.Errorf("scanLogs of a clean log = %v, want none", got)
	}
}
