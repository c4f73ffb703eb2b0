package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"

	_ "modernc.org/sqlite" // the "sqlite" driver, to look into the database files directly
)

// The documented shape of an API key as create-integration and create-key
// print it: the key, one newline, nothing else.
var keyLine = regexp.MustCompile(`^si_[0-9A-Za-z]{49}\n$`)

// fullAccess are the grants of the "operator" key the tests use to create
// apps and keysets through the HTTP API.
var fullAccess = []string{"account:app:rw", "account:keyset:rw", "account:secret-key:rw"}

const apiVersion = "2026-09-03"

// syncBuffer is an io.Writer that is safe to write from the server's
// goroutines (or a child process's copier) while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// getenvFrom is a getenv that sees only env, so the tests never depend on
// (or are disturbed by) KEYPLANE_* variables of the machine running them.
func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// runKeyplane runs the program in-process, as `keyplane args...`.
func runKeyplane(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err = run(ctx, args, getenvFrom(env), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// runAdmin runs `keyplane admin SUBCOMMAND --database db rest...`. It does not
// fail the test, so goroutines may call it.
func runAdmin(t *testing.T, db string, sub string, rest ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runKeyplane(t, nil, append([]string{"admin", sub, "--database", db}, rest...)...)
}

// mustAdmin is runAdmin that fails the test on an error.
func mustAdmin(t *testing.T, db string, sub string, rest ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, err := runAdmin(t, db, sub, rest...)
	if err != nil {
		t.Fatalf("keyplane admin %s %q: %v (stdout %q, stderr %q)", sub, rest, err, out, errOut)
	}
	return out, errOut
}

// grantArgs turns grants into --grant flags.
func grantArgs(grants []string) []string {
	var args []string
	for _, g := range grants {
		args = append(args, "--grant", g)
	}
	return args
}

// createIntegration makes an integration and returns its first key, after
// checking that stdout held exactly that key.
func createIntegration(t *testing.T, db, name, expiresIn string, grants ...string) string {
	t.Helper()
	out, _ := mustAdmin(t, db, "create-integration", append([]string{"--name", name, "--expires-in", expiresIn}, grantArgs(grants)...)...)
	if !keyLine.MatchString(out) {
		t.Fatalf("create-integration stdout = %q, want exactly a key and a newline", out)
	}
	return strings.TrimSuffix(out, "\n")
}

var createdIntegrationRE = regexp.MustCompile(`created integration (\d+) `)

// integrationID reads the integration id create-integration reports on stderr.
func integrationID(stderr string) (string, error) {
	m := createdIntegrationRE.FindStringSubmatch(stderr)
	if m == nil {
		return "", fmt.Errorf("no integration id in stderr %q", stderr)
	}
	return m[1], nil
}

// The lines of list-integrations.
type listedKey struct {
	ID       int64
	Prefix   string
	Expires  string
	LastUsed string
	From     string // the client address of the last use, if any
	Agent    string // its User-Agent, unquoted
	State    string
}

type listedIntegration struct {
	ID       int64
	Name     string
	Keys     []listedKey
	Grants   []string
	Networks string // "anywhere" or the CIDRs, comma-separated
	State    string // active or suspended
}

const tsPattern = `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`

var (
	integrationLineRE = regexp.MustCompile(`^(\d+)\t([^\t]+)\t([^\t]*)\tgrants ([^\t]+)\tnetworks ([^\t]+)\t(active|suspended)$`)
	keyRE             = regexp.MustCompile(`^key (\d+) (si_[0-9A-Za-z]{8})… expires (` + tsPattern + `) last-used (never|` + tsPattern + `)(?: from ([0-9a-f.:]+))?(?: agent ("(?:[^"\\]|\\.)*"))? (active|rolled|revoked|expired)$`)
)

func parseList(out string) ([]listedIntegration, error) {
	var ins []listedIntegration
	if out == "" {
		return nil, nil
	}
	if !strings.HasSuffix(out, "\n") {
		return nil, fmt.Errorf("list does not end with a newline: %q", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := integrationLineRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %q: want ID<tab>NAME<tab>KEYS<tab>grants GRANTS<tab>networks NETWORKS<tab>STATE", line)
		}
		in := listedIntegration{Name: m[2], Grants: strings.Split(m[4], " "), Networks: m[5], State: m[6]}
		in.ID, _ = strconv.ParseInt(m[1], 10, 64)
		if m[3] != "" {
			// Keys are separated by "; "; a User-Agent may hold that too.
			for _, ks := range strings.Split(m[3], "; key ") {
				if !strings.HasPrefix(ks, "key ") {
					ks = "key " + ks
				}
				km := keyRE.FindStringSubmatch(ks)
				if km == nil {
					return nil, fmt.Errorf("line %q: key %q: want `key ID si_XXXXXXXX… expires TIME last-used never|TIME [from ADDR] [agent \"UA\"] active|rolled|revoked|expired`", line, ks)
				}
				k := listedKey{Prefix: km[2], Expires: km[3], LastUsed: km[4], From: km[5], State: km[7]}
				if km[6] != "" {
					k.Agent, _ = strconv.Unquote(km[6])
				}
				k.ID, _ = strconv.ParseInt(km[1], 10, 64)
				in.Keys = append(in.Keys, k)
			}
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// listIntegrations runs list-integrations and parses its lines.
func listIntegrations(t *testing.T, db string) []listedIntegration {
	t.Helper()
	out, _ := mustAdmin(t, db, "list-integrations")
	ins, err := parseList(out)
	if err != nil {
		t.Fatalf("list-integrations: %v", err)
	}
	return ins
}

// findKey returns the listed key with that id.
func findKey(t *testing.T, ins []listedIntegration, id int64) listedKey {
	t.Helper()
	for _, in := range ins {
		for _, k := range in.Keys {
			if k.ID == id {
				return k
			}
		}
	}
	t.Fatalf("key %d not in the list %+v", id, ins)
	return listedKey{}
}

// waitForLog polls logs until a JSON line with msg "listening" appears and
// returns it, failing if exited closes first or the deadline passes.
func waitForLog(t *testing.T, logs *syncBuffer, exited <-chan struct{}, describe func() string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "listening" {
				return rec
			}
		}
		select {
		case <-exited:
			t.Fatalf("server stopped before listening: %s; logs:\n%s", describe(), logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not log \"listening\" in time; logs:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testServer is `keyplane serve` running in-process.
type testServer struct {
	URL      string
	Addr     string
	Database string // the "database" field of the "listening" line
	Logs     *syncBuffer
}

// startServer runs `keyplane serve args...` in-process with env, waits
// until it listens, and stops it (checking it stopped cleanly) when the
// test ends.
func startServer(t *testing.T, env map[string]string, args ...string) *testServer {
	t.Helper()
	// On PostgreSQL the KEK file defaults to ./keyplane.kek, which would
	// land in the source tree: a test's goes to its temporary folder.
	if i := slices.Index(args, "--database"); i >= 0 && i+1 < len(args) && store.IsPostgres(args[i+1]) && !slices.Contains(args, "--kek-file") && env["KEYPLANE_KEK_FILE"] == "" {
		args = append(args, "--kek-file", filepath.Join(t.TempDir(), "keyplane.kek"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	exited := make(chan struct{})
	var runErr error
	go func() {
		defer close(exited)
		runErr = run(ctx, append([]string{"serve"}, args...), getenvFrom(env), strings.NewReader(""), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
			if runErr != nil {
				t.Errorf("serve returned %v after its context ended, want nil", runErr)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not stop within 15s of its context ending")
		}
	})
	rec := waitForLog(t, logs, exited, func() string { return fmt.Sprint(runErr) })
	addr, _ := rec["addr"].(string)
	if addr == "" {
		t.Fatalf("\"listening\" line without addr: %v", rec)
	}
	db, _ := rec["database"].(string)
	return &testServer{URL: "http://" + addr, Addr: addr, Database: db, Logs: logs}
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// call sends one API request; key "" sends no Authorization header.
func call(base, method, path, key, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	req.Header.Set("PubNub-Version", apiVersion)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// mustCall is call that fails the test on a transport error or an
// unexpected status.
func mustCall(t *testing.T, base, method, path, key, body string, want int) []byte {
	t.Helper()
	status, b, err := call(base, method, path, key, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, b)
	}
	return b
}

// createApp and createKeyset make objects through the API and return their ids.
func createApp(t *testing.T, s *testServer, key, name string) string {
	t.Helper()
	b := mustCall(t, s.URL, "POST", "/v2/apps", key, fmt.Sprintf(`{"name":%q}`, name), http.StatusCreated)
	var app struct{ ID string }
	if err := json.Unmarshal(b, &app); err != nil || app.ID == "" {
		t.Fatalf("POST /v2/apps answered %s (%v)", b, err)
	}
	return app.ID
}

func createKeyset(t *testing.T, s *testServer, key, appID string) (id, secretKey string) {
	t.Helper()
	b := mustCall(t, s.URL, "POST", "/v2/keysets", key, fmt.Sprintf(`{"keyset":{"name":"prod","type":"production","appId":%q}}`, appID), http.StatusCreated)
	var out struct {
		Keyset struct {
			ID         string
			SecretKeys []struct{ SecretKey string }
		}
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Keyset.ID == "" {
		t.Fatalf("POST /v2/keysets answered %s (%v)", b, err)
	}
	if len(out.Keyset.SecretKeys) > 0 {
		secretKey = out.Keyset.SecretKeys[0].SecretKey
	}
	return out.Keyset.ID, secretKey
}

// openSQL opens a database file directly, for what the commands do not
// show (the number of accounts) or cannot do (expire a key now).
func openSQL(t *testing.T, path string) *sql.DB {
	t.Helper()
	// The path goes into a URI, so its '?', '#' and '%' must be escaped.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countAccounts(t *testing.T, path string) int {
	t.Helper()
	var n int
	if err := openSQL(t, path).QueryRow(`SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatalf("counting accounts: %v", err)
	}
	return n
}

func newDB(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "keyplane.db")
}

// 1. create-integration on a fresh database prints only the key, which works.
func TestCreateIntegrationOnFreshDatabase(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("database exists before the test: %v", err)
	}
	out, errOut, err := runAdmin(t, db, "create-integration",
		"--name", "CI/CD Pipeline", "--expires-in", "90d",
		"--grant", "account:app:rw", "--grant", "account:keyset:rw", "--grant", "account:secret-key:read")
	if err != nil {
		t.Fatalf("create-integration: %v (stderr %q)", err, errOut)
	}
	if !keyLine.MatchString(out) {
		t.Fatalf("stdout = %q, want exactly the key and a newline", out)
	}
	key := strings.TrimSuffix(out, "\n")
	if !strings.Contains(errOut, "integration 1") {
		t.Errorf("stderr %q does not name the integration id (1)", errOut)
	}
	if strings.Contains(errOut, key) || strings.Contains(errOut, key[3:]) {
		t.Errorf("stderr repeats the key: %q", errOut)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("database not created: %v", err)
	}

	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	b := mustCall(t, s.URL, "GET", "/v2/apps", key, "", http.StatusOK)
	var list struct {
		Apps  []any
		Total *int
	}
	if err := json.Unmarshal(b, &list); err != nil || list.Apps == nil || list.Total == nil || *list.Total != 0 {
		t.Errorf("GET /v2/apps on a fresh database = %s (%v), want an empty list", b, err)
	}
	mustCall(t, s.URL, "GET", "/v2/apps", "Bearer "+key, "", http.StatusOK)
	mustCall(t, s.URL, "GET", "/v2/apps", "", "", http.StatusUnauthorized)
}

// 2. Grants: the accepted spellings, and refusals that say what is allowed
// and leave nothing behind.
func TestCreateIntegrationGrants(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	root := createIntegration(t, db, "root", "30d", fullAccess...)
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	appID := createApp(t, s, root, "Telemedicine")
	keysetID, _ := createKeyset(t, s, root, appID)

	t.Run("accepted", func(t *testing.T) {
		for _, tc := range []struct {
			grant, stored string
			// a request the key may make, to show the row means what it says
			method, path string
		}{
			{"account:app:rw", "account:app:read-write", "POST", "/v2/apps"},
			{"app/" + appID + ":keyset:read", "app/" + appID + ":keyset:read", "GET", "/v2/keysets/" + keysetID},
			{"keyset/" + keysetID + ":secret-key:r", "keyset/" + keysetID + ":secret-key:read", "GET", "/v2/keysets/" + keysetID + "/secret-keys"},
			{"account:keyset:read-write", "account:keyset:read-write", "PATCH", "/v2/keysets/" + keysetID},
			{"app/" + appID + ":app:read", "app/" + appID + ":app:read", "GET", "/v2/apps/" + appID},
			{"account:usage:read", "account:usage:read", "", ""},
			{"account:oem-customer:rw", "account:oem-customer:read-write", "", ""},
		} {
			t.Run(tc.grant, func(t *testing.T) {
				out, errOut := mustAdmin(t, db, "create-integration", "--name", "grant "+tc.grant, "--expires-in", "7d", "--grant", tc.grant)
				if !keyLine.MatchString(out) {
					t.Fatalf("stdout = %q, want only the key", out)
				}
				id, err := integrationID(errOut)
				if err != nil {
					t.Fatal(err)
				}
				var found bool
				for _, in := range listIntegrations(t, db) {
					if strconv.FormatInt(in.ID, 10) == id {
						found = true
						if len(in.Grants) != 1 || in.Grants[0] != tc.stored {
							t.Errorf("integration %s lists grants %q, want [%s]", id, in.Grants, tc.stored)
						}
					}
				}
				if !found {
					t.Fatalf("integration %s not listed", id)
				}
				if tc.method == "" {
					return
				}
				body := ""
				want := http.StatusOK
				switch tc.method {
				case "POST":
					body, want = `{"name":"by grant"}`, http.StatusCreated
				case "PATCH":
					body = `{"name":"renamed"}`
				}
				mustCall(t, s.URL, tc.method, tc.path, strings.TrimSuffix(out, "\n"), body, want)
			})
		}
	})

	t.Run("refused", func(t *testing.T) {
		before := len(listIntegrations(t, db))
		for _, tc := range []struct {
			name             string
			grants           []string
			noName, noExpiry bool
			nameValue        string
			want             []string // in the error
		}{
			{name: "bad syntax", grants: []string{"account-app-rw"}, want: []string{"LEVEL:RESOURCE:ACCESS"}},
			{name: "too many parts", grants: []string{"account:app:rw:x"}, want: []string{"LEVEL:RESOURCE:ACCESS"}},
			{name: "empty grant", grants: []string{""}, want: []string{"LEVEL:RESOURCE:ACCESS"}},
			{name: "unknown level", grants: []string{"org:app:read"}, want: []string{"account, app/ID or keyset/ID"}},
			{name: "account with id", grants: []string{"account/1:app:read"}, want: []string{"account level names no id"}},
			{name: "app without id", grants: []string{"app:app:read"}, want: []string{"app/ID", "positive numeric ID"}},
			{name: "app id not numeric", grants: []string{"app/x:app:read"}, want: []string{"positive numeric ID"}},
			{name: "app id zero", grants: []string{"app/0:app:read"}, want: []string{"positive numeric ID"}},
			{name: "unknown resource", grants: []string{"account:apps:read"}, want: []string{"resource must be one of app, keyset, secret-key, usage, oem-customer"}},
			{name: "unknown access", grants: []string{"account:app:full"}, want: []string{"access must be read (r), write (w) or read-write (rw)"}},
			{name: "usage read-write", grants: []string{"account:usage:rw"}, want: []string{"Usage & Monitoring", "offers only read"}},
			{name: "app at keyset level", grants: []string{"keyset/" + keysetID + ":app:read"}, want: []string{"not offered at keyset level", "only at: account, app"}},
			{name: "oem customer at app level", grants: []string{"app/" + appID + ":oem-customer:read"}, want: []string{"not offered at app level", "only at: account"}},
			{name: "write only", grants: []string{"account:app:write"}, want: []string{"offers only read or read-write"}},
			{name: "w only", grants: []string{"account:keyset:w"}, want: []string{"offers only read or read-write"}},
			{name: "unknown app", grants: []string{"app/999:app:read"}, want: []string{"app 999 does not exist"}},
			{name: "unknown keyset", grants: []string{"keyset/999:keyset:read"}, want: []string{"keyset 999 does not exist"}},
			{name: "one bad among good", grants: []string{"account:app:read", "account:usage:rw"}, want: []string{"offers only read"}},
			{name: "given twice", grants: []string{"account:app:read", "account:app:r"}, want: []string{"given twice"}},
			{name: "missing --grant", want: []string{"required", `"grant"`}},
			{name: "missing --name", grants: []string{"account:app:read"}, noName: true, want: []string{"required", `"name"`}},
			{name: "blank --name", grants: []string{"account:app:read"}, nameValue: "   ", want: []string{"name: required"}},
			{name: "missing --expires-in", grants: []string{"account:app:read"}, noExpiry: true, want: []string{"required", `"expires-in"`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := grantArgs(tc.grants)
				if !tc.noName {
					name := tc.nameValue
					if name == "" {
						name = "refused " + tc.name
					}
					args = append(args, "--name", name)
				}
				if !tc.noExpiry {
					args = append(args, "--expires-in", "30d")
				}
				out, errOut, err := runAdmin(t, db, "create-integration", args...)
				if err == nil {
					t.Fatalf("create-integration %q succeeded (stdout %q), want a refusal", args, out)
				}
				if out != "" {
					t.Errorf("stdout = %q on a refusal, want nothing", out)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if strings.Contains(errOut, "si_") {
					t.Errorf("stderr mentions a key on a refusal: %q", errOut)
				}
			})
		}
		if after := len(listIntegrations(t, db)); after != before {
			t.Errorf("refused create-integration calls left %d new integrations", after-before)
		}
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// 3. --expires-in: the documented forms, at most one year.
func TestExpiresIn(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	t.Run("accepted", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			want func(time.Time) time.Time
		}{
			{"90d", func(n time.Time) time.Time { return n.AddDate(0, 0, 90) }},
			{"2w", func(n time.Time) time.Time { return n.AddDate(0, 0, 14) }},
			{"720h", func(n time.Time) time.Time { return n.Add(720 * time.Hour) }},
			{"1y", func(n time.Time) time.Time { return n.AddDate(1, 0, 0) }},
			{"365d", func(n time.Time) time.Time { return n.AddDate(0, 0, 365) }},
			{"90m", func(n time.Time) time.Time { return n.Add(90 * time.Minute) }},
		} {
			t.Run(tc.in, func(t *testing.T) {
				now := wallclock.Now()
				out, errOut := mustAdmin(t, db, "create-integration", "--name", "expires "+tc.in, "--grant", "account:app:read", "--expires-in", tc.in)
				if !keyLine.MatchString(out) {
					t.Fatalf("stdout = %q, want only the key", out)
				}
				id, err := integrationID(errOut)
				if err != nil {
					t.Fatal(err)
				}
				for _, in := range listIntegrations(t, db) {
					if strconv.FormatInt(in.ID, 10) != id {
						continue
					}
					exp, err := time.Parse("2006-01-02T15:04:05.000Z", in.Keys[0].Expires)
					if err != nil {
						t.Fatal(err)
					}
					if d := exp.Sub(tc.want(now)); d < -time.Minute || d > time.Minute {
						t.Errorf("--expires-in %s: key expires %s, want about %s", tc.in, in.Keys[0].Expires, keyplane.FormatTime(tc.want(now)))
					}
					if in.Keys[0].State != "active" {
						t.Errorf("new key is %s", in.Keys[0].State)
					}
					return
				}
				t.Fatalf("integration %s not listed", id)
			})
		}
	})

	t.Run("refused", func(t *testing.T) {
		createIntegration(t, db, "for create-key", "1d", "account:app:read")
		var integration string
		for _, in := range listIntegrations(t, db) {
			if in.Name == "for create-key" {
				integration = strconv.FormatInt(in.ID, 10)
			}
		}
		before := listIntegrations(t, db)
		now := wallclock.Now()
		for _, tc := range []struct {
			in   string
			want []string
		}{
			{"366d", []string{"at most one year"}},
			{"367d", []string{"at most one year"}},
			{"53w", []string{"at most one year"}},
			{"2y", []string{"at most one year"}},
			{"8785h", []string{"at most one year"}},
			{"13mo", []string{"at most one year", "90d", "720h", "1y"}},
			{"0s", []string{"at most one year", "90d", "720h", "1y"}},
			{"-1h", []string{"at most one year", "90d", "720h", "1y"}},
			{"abc", []string{"at most one year", "90d", "720h", "1y"}},
			{"1.5d", []string{"at most one year", "90d"}},
			{"d", []string{"at most one year", "90d"}},
			{"99999999999999999999d", []string{"at most one year"}},
			{"0d", []string{"at least one minute"}},
		} {
			if tc.in == "366d" && !now.AddDate(0, 0, 366).After(now.AddDate(1, 0, 0)) {
				// Within a year that holds a 29 February, 366 days is one year.
				t.Logf("366d is exactly one year from %s; not asserting its refusal", now.Format(time.DateOnly))
				continue
			}
			t.Run(tc.in, func(t *testing.T) {
				for _, cmd := range [][]string{
					{"create-integration", "--name", "expires " + tc.in, "--grant", "account:app:read", "--expires-in", tc.in},
					{"create-key", "--integration", integration, "--expires-in", tc.in},
				} {
					out, _, err := runAdmin(t, db, cmd[0], cmd[1:]...)
					if err == nil {
						t.Fatalf("%s --expires-in %s succeeded (stdout %q), want a refusal", cmd[0], tc.in, out)
					}
					if out != "" {
						t.Errorf("%s: stdout = %q on a refusal, want nothing", cmd[0], out)
					}
					for _, w := range tc.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("%s --expires-in %s: error %q does not say %q", cmd[0], tc.in, err, w)
						}
					}
				}
			})
		}
		after := listIntegrations(t, db)
		if len(after) != len(before) {
			t.Errorf("refusals created %d integrations", len(after)-len(before))
		}
		for i := range after {
			if i < len(before) && len(after[i].Keys) != len(before[i].Keys) {
				t.Errorf("refusals added keys to integration %d", after[i].ID)
			}
		}
	})
}

// 4. create-key: prints only the key, at most 3 active keys.
func TestCreateKey(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	first := createIntegration(t, db, "CI", "90d", "account:app:read")
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)

	keys := []string{first}
	for i := 2; i <= 3; i++ {
		out, errOut := mustAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "30d")
		if !keyLine.MatchString(out) {
			t.Fatalf("create-key stdout = %q, want exactly the key and a newline", out)
		}
		key := strings.TrimSuffix(out, "\n")
		if !strings.Contains(errOut, fmt.Sprintf("API key %d", i)) || !strings.Contains(errOut, "integration 1") {
			t.Errorf("create-key stderr %q does not name key %d and integration 1", errOut, i)
		}
		if strings.Contains(errOut, key) {
			t.Errorf("create-key stderr repeats the key")
		}
		if contains(keys, key) {
			t.Fatalf("create-key returned a key already made")
		}
		keys = append(keys, key)
	}
	for _, k := range keys {
		mustCall(t, s.URL, "GET", "/v2/apps", k, "", http.StatusOK)
	}

	out, _, err := runAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "30d")
	if err == nil {
		t.Fatalf("a 4th active key was made: %q", out)
	}
	if out != "" {
		t.Errorf("stdout = %q on a refusal, want nothing", out)
	}
	for _, w := range []string{"3 active API keys", "revoke one, or roll one with no overlap, first"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("4th key: error %q does not say %q", err, w)
		}
	}
	if n := len(listIntegrations(t, db)[0].Keys); n != 3 {
		t.Errorf("integration has %d keys after the refusal, want 3", n)
	}

	// A revoked key no longer counts.
	mustAdmin(t, db, "revoke-key", "2")
	out, _ = mustAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "30d")
	if !keyLine.MatchString(out) {
		t.Fatalf("create-key after a revocation: stdout %q", out)
	}
	mustCall(t, s.URL, "GET", "/v2/apps", strings.TrimSuffix(out, "\n"), "", http.StatusOK)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown integration", []string{"--integration", "99", "--expires-in", "30d"}, "integration 99: not found"},
		{"missing --integration", []string{"--expires-in", "30d"}, `"integration"`},
		{"missing --expires-in", []string{"--integration", "1"}, `"expires-in"`},
		{"integration not a number", []string{"--integration", "one", "--expires-in", "30d"}, "integration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runAdmin(t, db, "create-key", tc.args...)
			if err == nil {
				t.Fatalf("create-key %q succeeded: %q", tc.args, out)
			}
			if out != "" {
				t.Errorf("stdout = %q on an error, want nothing", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// 5. revoke-key by id and by key takes effect on the next request.
func TestRevokeKey(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	k1 := createIntegration(t, db, "CI", "90d", "account:app:read")
	out, _ := mustAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "30d")
	k2 := strings.TrimSuffix(out, "\n")
	out, _ = mustAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "30d")
	k3 := strings.TrimSuffix(out, "\n")
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	for _, k := range []string{k1, k2, k3} {
		mustCall(t, s.URL, "GET", "/v2/apps", k, "", http.StatusOK)
	}

	// By id.
	out, _ = mustAdmin(t, db, "revoke-key", "1")
	if !strings.Contains(out, "revoked API key 1") || !strings.Contains(out, k1[:11]) {
		t.Errorf("revoke-key 1: stdout %q, want it to name key 1 and its prefix %s", out, k1[:11])
	}
	if strings.Contains(out, k1) {
		t.Errorf("revoke-key printed the whole key")
	}
	b := mustCall(t, s.URL, "GET", "/v2/apps", k1, "", http.StatusUnauthorized)
	if !strings.Contains(string(b), "revoked") {
		t.Errorf("401 body %s does not say the key is revoked", b)
	}
	mustCall(t, s.URL, "GET", "/v2/apps", k2, "", http.StatusOK)

	// By the whole key (with the spaces a paste brings).
	out, _ = mustAdmin(t, db, "revoke-key", " "+k2+"\n")
	if !strings.Contains(out, "revoked API key 2") {
		t.Errorf("revoke-key KEY: stdout %q, want it to name key 2", out)
	}
	mustCall(t, s.URL, "GET", "/v2/apps", k2, "", http.StatusUnauthorized)
	mustCall(t, s.URL, "GET", "/v2/apps", k3, "", http.StatusOK)

	// Again: reported, not an error.
	for _, ref := range []string{"1", k1, "2", k2} {
		out, _, err := runAdmin(t, db, "revoke-key", ref)
		if err != nil {
			t.Errorf("revoke-key of a revoked key: %v, want no error", err)
		}
		if !strings.Contains(out, "already revoked") {
			t.Errorf("revoke-key of a revoked key: stdout %q, want it to say already revoked", out)
		}
	}

	unknown, err := keyplane.NewAPIKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	badSum := []byte(k3)
	badSum[len(badSum)-1] = map[bool]byte{true: 'B', false: 'A'}[badSum[len(badSum)-1] == 'A']
	for _, tc := range []struct {
		name, ref, want string
	}{
		{"bad checksum", string(badSum), "checksum does not match"},
		{"truncated key", k3[:30], "not a Keyplane API key"},
		{"unknown id", "999", "not found"},
		{"unknown well-formed key", unknown, "not found"},
		{"zero id", "0", "numeric id or the whole key"},
		{"neither id nor key", "abc", "numeric id or the whole key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runAdmin(t, db, "revoke-key", tc.ref)
			if err == nil {
				t.Fatalf("revoke-key %q succeeded: %q", tc.ref, out)
			}
			if out != "" {
				t.Errorf("stdout %q on an error, want nothing", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
	if _, _, err := runAdmin(t, db, "revoke-key"); err == nil {
		t.Errorf("revoke-key without an argument succeeded")
	}
	mustCall(t, s.URL, "GET", "/v2/apps", k3, "", http.StatusOK)
	if k := findKey(t, listIntegrations(t, db), 3); k.State != "active" {
		t.Errorf("key 3 is %s after the failed revocations, want active", k.State)
	}
}

// 6. list-integrations: one line per integration with its keys and rows.
func TestListIntegrations(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	if out, _ := mustAdmin(t, db, "list-integrations"); out != "" {
		t.Errorf("list-integrations on a fresh database = %q, want nothing", out)
	}
	k1 := createIntegration(t, db, "CI/CD Pipeline", "90d", "account:app:rw", "account:keyset:read")
	out, _ := mustAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "30d")
	k2 := strings.TrimSuffix(out, "\n")
	out, _ = mustAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "30d")
	k3 := strings.TrimSuffix(out, "\n")
	k4 := createIntegration(t, db, "Monitoring", "1y", "account:usage:read")

	ins := listIntegrations(t, db)
	if len(ins) != 2 {
		t.Fatalf("%d integrations listed, want 2: %+v", len(ins), ins)
	}
	if ins[0].ID != 1 || ins[0].Name != "CI/CD Pipeline" || ins[1].ID != 2 || ins[1].Name != "Monitoring" {
		t.Errorf("integrations listed as %+v, want 1 CI/CD Pipeline and 2 Monitoring", ins)
	}
	if got := strings.Join(ins[0].Grants, " "); got != "account:app:read-write account:keyset:read" {
		t.Errorf("integration 1 grants %q", got)
	}
	if got := strings.Join(ins[1].Grants, " "); got != "account:usage:read" {
		t.Errorf("integration 2 grants %q", got)
	}
	if len(ins[0].Keys) != 3 || len(ins[1].Keys) != 1 {
		t.Fatalf("keys listed: %+v", ins)
	}
	for i, k := range append(ins[0].Keys, ins[1].Keys...) {
		raw := []string{k1, k2, k3, k4}[i]
		if k.ID != int64(i+1) || k.Prefix != raw[:11] || k.LastUsed != "never" || k.State != "active" {
			t.Errorf("key %d listed as %+v, want id %d, prefix %s, never used, active", i+1, k, i+1, raw[:11])
		}
	}

	// Use key 1, revoke key 2, expire key 3.
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	before := wallclock.Now().Add(-time.Second)
	mustCall(t, s.URL, "GET", "/v2/apps", k1, "", http.StatusOK)
	mustAdmin(t, db, "revoke-key", "2")
	if _, err := openSQL(t, db).Exec(`UPDATE api_keys SET expires_at = ? WHERE id = 3`, wallclock.Now().Add(-time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	mustCall(t, s.URL, "GET", "/v2/apps", k3, "", http.StatusUnauthorized)

	ins = listIntegrations(t, db)
	used := findKey(t, ins, 1)
	if used.LastUsed == "never" {
		t.Errorf("key 1 used, listed as never used: %+v", used)
	} else if at, err := time.Parse("2006-01-02T15:04:05.000Z", used.LastUsed); err != nil || at.Before(before) || at.After(wallclock.Now().Add(time.Second)) {
		t.Errorf("key 1 last used %s, want about now (%v)", used.LastUsed, err)
	}
	if used.State != "active" {
		t.Errorf("key 1 is %s, want active", used.State)
	}
	if k := findKey(t, ins, 2); k.State != "revoked" || k.LastUsed != "never" {
		t.Errorf("key 2 listed as %+v, want revoked, never used", k)
	}
	if k := findKey(t, ins, 3); k.State != "expired" {
		t.Errorf("key 3 listed as %+v, want expired", k)
	}
	if k := findKey(t, ins, 4); k.State != "active" || k.LastUsed != "never" {
		t.Errorf("key 4 listed as %+v, want active, never used", k)
	}
	// Only key 1 is active now, so two more can be made.
	for range 2 {
		mustAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "1d")
	}
	out, _ = mustAdmin(t, db, "list-integrations")
	for _, k := range []string{k1, k2, k3, k4} {
		if strings.Contains(out, k) {
			t.Errorf("list-integrations shows a whole key")
		}
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("list-integrations printed %d lines, want 2:\n%s", n, out)
	}
}

// 7. The admin commands work on the database of a running server, while it
// answers requests.
func TestAdminWhileServing(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	root := createIntegration(t, db, "root", "30d", fullAccess...)
	// As many requests as the server answers: no rate limit.
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db, "--rate-limit", "0")

	stop := make(chan struct{})
	var requests atomic.Int64
	var traffic sync.WaitGroup
	for w := range 2 {
		traffic.Add(1)
		go func() {
			defer traffic.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				method, path, body, want := "GET", "/v2/apps", "", http.StatusOK
				if n%3 == 0 {
					method, body, want = "POST", fmt.Sprintf(`{"name":"app %d-%d"}`, w, n), http.StatusCreated
				}
				status, b, err := call(s.URL, method, path, root, body)
				if err != nil || status != want {
					t.Errorf("%s %s during admin commands: %d %s (%v), want %d", method, path, status, b, err, want)
					return
				}
				requests.Add(1)
			}
		}()
	}

	const workers, rounds = 3, 2
	var admins sync.WaitGroup
	for w := range workers {
		admins.Add(1)
		go func() {
			defer admins.Done()
			for i := range rounds {
				out, errOut, err := runAdmin(t, db, "create-integration", "--name", fmt.Sprintf("worker %d-%d", w, i), "--grant", "account:app:read", "--expires-in", "7d")
				if err != nil || !keyLine.MatchString(out) {
					t.Errorf("create-integration while serving: %v, stdout %q", err, out)
					return
				}
				id, err := integrationID(errOut)
				if err != nil {
					t.Error(err)
					return
				}
				out, _, err = runAdmin(t, db, "create-key", "--integration", id, "--expires-in", "1d")
				if err != nil || !keyLine.MatchString(out) {
					t.Errorf("create-key while serving: %v, stdout %q", err, out)
					return
				}
				key := strings.TrimSuffix(out, "\n")
				if status, b, err := call(s.URL, "GET", "/v2/apps", key, ""); err != nil || status != http.StatusOK {
					t.Errorf("new key: GET /v2/apps %d %s (%v)", status, b, err)
				}
				if _, _, err := runAdmin(t, db, "revoke-key", key); err != nil {
					t.Errorf("revoke-key while serving: %v", err)
					return
				}
				if status, _, err := call(s.URL, "GET", "/v2/apps", key, ""); err != nil || status != http.StatusUnauthorized {
					t.Errorf("revoked key: GET /v2/apps %d (%v), want 401", status, err)
				}
				out, _, err = runAdmin(t, db, "list-integrations")
				if err != nil {
					t.Errorf("list-integrations while serving: %v", err)
					return
				}
				if _, err := parseList(out); err != nil {
					t.Errorf("list-integrations while serving: %v", err)
				}
			}
		}()
	}
	admins.Wait()
	close(stop)
	traffic.Wait()
	if requests.Load() == 0 {
		t.Errorf("no request was answered while the admin commands ran")
	}
	ins := listIntegrations(t, db)
	if len(ins) != 1+workers*rounds {
		t.Errorf("%d integrations, want %d", len(ins), 1+workers*rounds)
	}
	for _, in := range ins[1:] {
		if len(in.Keys) != 2 || in.Keys[0].State != "active" || in.Keys[1].State != "revoked" {
			t.Errorf("integration %d keys %+v, want one active and one revoked", in.ID, in.Keys)
		}
	}
}

// 8. KEYPLANE_DATABASE and KEYPLANE_ADDR; flags win; the defaults.
func TestConfiguration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbA, dbB := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	envA := map[string]string{"KEYPLANE_DATABASE": dbA}

	t.Run("admin uses KEYPLANE_DATABASE", func(t *testing.T) {
		out, _, err := runKeyplane(t, envA, "admin", "create-integration", "--name", "from env", "--grant", "account:app:read", "--expires-in", "1d")
		if err != nil || !keyLine.MatchString(out) {
			t.Fatalf("create-integration with KEYPLANE_DATABASE: %v, stdout %q", err, out)
		}
		if _, err := os.Stat(dbA); err != nil {
			t.Fatalf("KEYPLANE_DATABASE not used: %v", err)
		}
		out, _, err = runKeyplane(t, envA, "admin", "list-integrations")
		if err != nil || !strings.Contains(out, "from env") {
			t.Fatalf("list-integrations with KEYPLANE_DATABASE: %v, %q", err, out)
		}
	})

	t.Run("--database wins over KEYPLANE_DATABASE", func(t *testing.T) {
		out, _, err := runKeyplane(t, envA, "admin", "create-integration", "--database", dbB, "--name", "from flag", "--grant", "account:app:read", "--expires-in", "1d")
		if err != nil || !keyLine.MatchString(out) {
			t.Fatalf("create-integration --database: %v, stdout %q", err, out)
		}
		if ins := listIntegrations(t, dbB); len(ins) != 1 || ins[0].Name != "from flag" {
			t.Errorf("b.db holds %+v, want the integration made with --database", ins)
		}
		if ins := listIntegrations(t, dbA); len(ins) != 1 || ins[0].Name != "from env" {
			t.Errorf("a.db holds %+v, want only the integration made through the environment", ins)
		}
	})

	t.Run("serve uses KEYPLANE_ADDR and KEYPLANE_DATABASE", func(t *testing.T) {
		s := startServer(t, map[string]string{"KEYPLANE_DATABASE": dbA, "KEYPLANE_ADDR": "127.0.0.1:0"})
		host, port, err := net.SplitHostPort(s.Addr)
		if err != nil || host != "127.0.0.1" || port == "0" || port == "8080" {
			t.Errorf("listening on %q, want 127.0.0.1 and a picked port (KEYPLANE_ADDR=127.0.0.1:0)", s.Addr)
		}
		if s.Database != dbA {
			t.Errorf("serving %q, want KEYPLANE_DATABASE %q", s.Database, dbA)
		}
		mustCall(t, s.URL, "GET", "/healthz", "", "", http.StatusOK)
	})

	t.Run("serve flags win over the environment", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		env := map[string]string{"KEYPLANE_DATABASE": dbA, "KEYPLANE_ADDR": busy.Addr().String()}
		s := startServer(t, env, "--addr", "127.0.0.1:0", "--database", dbB)
		if s.Addr == busy.Addr().String() {
			t.Errorf("listening on KEYPLANE_ADDR %s despite --addr", s.Addr)
		}
		if s.Database != dbB {
			t.Errorf("serving %q, want --database %q", s.Database, dbB)
		}
	})

	t.Run("defaults in serve --help", func(t *testing.T) {
		out, _, err := runKeyplane(t, nil, "serve", "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{`--addr`, `(default "127.0.0.1:8080")`, `KEYPLANE_ADDR`, `--database`, `(default "./keyplane.db")`, `KEYPLANE_DATABASE`} {
			if !strings.Contains(out, w) {
				t.Errorf("serve --help does not show %s:\n%s", w, out)
			}
		}
		out, _, err = runKeyplane(t, nil, "admin", "list-integrations", "--help")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `(default "./keyplane.db")`) || !strings.Contains(out, "KEYPLANE_DATABASE") {
			t.Errorf("admin list-integrations --help does not show the database default:\n%s", out)
		}
	})
}

// --database names a file, whatever characters its name holds: it is not
// a URI, so '#', '?' and '%' are part of the name.
func TestDatabasePathIsTakenLiterally(t *testing.T) {
	t.Parallel()
	base := t.TempDir() // not the subtests' own: their names hold the characters under test
	for i, name := range []string{"plain.db", "with space.db", "hash#1.db", "what?.db", "percent%41.db"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(base, strconv.Itoa(i))
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(dir, name)
			createIntegration(t, db, "CI", "1d", "account:app:read")
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var others []string
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), name) {
					others = append(others, e.Name())
				}
			}
			if _, err := os.Stat(db); err != nil || others != nil {
				t.Fatalf("--database %q: the file %q is missing (%v); the command made %q instead", db, name, err, others)
			}
			if ins := listIntegrations(t, db); len(ins) != 1 {
				t.Errorf("list-integrations on %q: %d integrations, want 1", db, len(ins))
			}
			var mode string
			if err := openSQL(t, db).QueryRow(`PRAGMA journal_mode`).Scan(&mode); err == nil && mode != "wal" {
				t.Errorf("--database %q: journal mode %q, want wal (the connection settings were lost)", db, mode)
			}
		})
	}
}

// 10. Startup errors are returned at once.
func TestStartupErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	missingDir := filepath.Join(t.TempDir(), "no", "such", "dir", "keyplane.db")

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"database in a missing directory", []string{"serve", "--addr", "127.0.0.1:0", "--database", missingDir}, []string{missingDir, "open"}},
		{"address in use", []string{"serve", "--addr", busy.Addr().String(), "--database", newDB(t)}, []string{busy.Addr().String(), "address already in use"}},
		{"bad address", []string{"serve", "--addr", "no-port", "--database", newDB(t)}, []string{"no-port"}},
		{"admin on a database in a missing directory", []string{"admin", "list-integrations", "--database", missingDir}, []string{missingDir, "open"}},
		{"serve with an argument", []string{"serve", "extra", "--addr", "127.0.0.1:0", "--database", newDB(t)}, []string{"extra"}},
		{"unknown command", []string{"server"}, []string{"unknown command"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			logs := &syncBuffer{}
			errc := make(chan error, 1)
			go func() { errc <- run(ctx, tc.args, getenvFrom(nil), strings.NewReader(""), io.Discard, logs) }()
			select {
			case err := <-errc:
				if err == nil {
					t.Fatalf("run %q returned nil, want an error", tc.args)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			case <-time.After(10 * time.Second):
				cancel()
				<-errc
				t.Fatalf("run %q did not return within 10s (logs: %s)", tc.args, logs.String())
			}
			if strings.Contains(logs.String(), `"listening"`) {
				t.Errorf("logged listening on a failed start: %s", logs.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Dir(missingDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing directory was created: %v", err)
	}
}
