// Package e2e tests Keyplane end to end: a real server (server.Run) on
// 127.0.0.1:0 over a real SQLite file, driven over HTTP, with Service
// Integrations made the way `keyplane admin` makes them (a second store on
// the same file). Every answer is checked against the OpenAPI contract.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/api/contract"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/server"
	"github.com/keyplane/keyplane/store"
)

// latest is the newest release, the version every request sends unless a
// test says otherwise.
const latest = "2026-09-03"

// releases are the dated releases of the README ("Versioning"), oldest first.
var releases = []string{
	"2025-11-01", "2025-11-15", "2026-02-09", "2026-03-01",
	"2026-03-23", "2026-05-26", "2026-08-24", "2026-09-03",
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// resolve is what a PubNub-Version value should resolve to, computed here
// independently of the server: ok is false for a missing, malformed or too
// early value (which must be a 400).
func resolve(v string) (string, bool) {
	if !dateRE.MatchString(v) {
		return "", false
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return "", false
	}
	out := ""
	for _, r := range releases {
		if r <= v {
			out = r
		}
	}
	return out, out != ""
}

// errorNames is the wire name of each error status (README, "Errors").
var errorNames = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
	405: "MethodNotAllowed", 409: "Conflict", 412: "PreconditionFailed", 413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "UnprocessableEntity",
	429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
}

// operations are the routes of the API (README, "Permissions per route"),
// as method and path pattern.
var operations = []struct {
	method string
	path   *regexp.Regexp
}{
	{"GET", regexp.MustCompile(`^/v2/apps$`)},
	{"POST", regexp.MustCompile(`^/v2/apps$`)},
	{"GET", regexp.MustCompile(`^/v2/apps/[^/]+$`)},
	{"PATCH", regexp.MustCompile(`^/v2/apps/[^/]+$`)},
	{"DELETE", regexp.MustCompile(`^/v2/apps/[^/]+$`)},
	{"GET", regexp.MustCompile(`^/v2/keysets$`)},
	{"POST", regexp.MustCompile(`^/v2/keysets$`)},
	{"GET", regexp.MustCompile(`^/v2/keysets/[^/]+$`)},
	{"PATCH", regexp.MustCompile(`^/v2/keysets/[^/]+$`)},
	{"DELETE", regexp.MustCompile(`^/v2/keysets/[^/]+$`)},
	{"GET", regexp.MustCompile(`^/v2/keysets/[^/]+/config$`)},
	{"PATCH", regexp.MustCompile(`^/v2/keysets/[^/]+/config$`)},
	{"GET", regexp.MustCompile(`^/v2/keysets/[^/]+/secret-keys$`)},
	{"POST", regexp.MustCompile(`^/v2/keysets/[^/]+/secret-keys$`)},
	{"PATCH", regexp.MustCompile(`^/v2/keysets/[^/]+/secret-keys/[^/]+$`)},
	{"DELETE", regexp.MustCompile(`^/v2/keysets/[^/]+/secret-keys/[^/]+$`)},
	{"GET", regexp.MustCompile(`^/v2/usage-metrics$`)},
	{"POST", regexp.MustCompile(`^/v2/usage-metrics$`)},
	{"GET", regexp.MustCompile(`^/v2/audit-events$`)},
	{"GET", regexp.MustCompile(`^/v2/me$`)},
	{"POST", regexp.MustCompile(`^/v2/authz/check$`)},
	{"GET", regexp.MustCompile(`^/v2/oem/customers$`)},
	{"POST", regexp.MustCompile(`^/v2/oem/customers$`)},
	{"GET", regexp.MustCompile(`^/v2/oem/customers/[^/]+$`)},
	{"PUT", regexp.MustCompile(`^/v2/oem/customers/[^/]+$`)},
	{"POST", regexp.MustCompile(`^/v2/oem/customers/[^/]+/keysets$`)},
	{"GET", regexp.MustCompile(`^/v2/oem/customers/[^/]+/applications$`)},
	{"GET", regexp.MustCompile(`^/v2/oem/keysets$`)},
	{"GET", regexp.MustCompile(`^/v2/oem/keysets/[^/]+/customer$`)},
}

// isOperation reports whether method and path name one of the operations.
func isOperation(method, path string) bool {
	path, _, _ = strings.Cut(path, "?")
	return slices.ContainsFunc(operations, func(o struct {
		method string
		path   *regexp.Regexp
	}) bool {
		return o.method == method && o.path.MatchString(path)
	})
}

// The full keys a test sees; none may ever reach a log or the audit trail.
var (
	secretKeyRE = regexp.MustCompile(`sec-c-[A-Za-z0-9]{12,}`)
	apiKeyRE    = regexp.MustCompile(`si_[A-Za-z0-9]{49}`)
	opKeyRE     = regexp.MustCompile(`kpop_[A-Za-z0-9]{49}`)
)

var loadContract = sync.OnceValues(contract.Load)

// clock is a fake clock: it stands still until a test moves it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t, forward or back.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// syncBuffer is a log sink the server's goroutines may write concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one running server with its database, clock and admin access.
type env struct {
	t        *testing.T
	base     string
	clock    *clock
	dbPath   string
	svc      *control.Service // the admin commands' view of the same database
	db       *store.DB        // its store, the server's KEK loaded
	account  int64
	client   *http.Client
	contract *contract.Validator
	logs     *syncBuffer

	// key is an API key holding every account-level row of apps, keysets
	// and secret keys; requests use it unless told otherwise.
	key   string
	admin keyplane.Integration

	// stop ends the server's context and waits for server.Run to return,
	// once; it answers what Run returned.
	stop func() error

	mu      sync.Mutex
	secrets map[string]bool // full secret keys and API keys seen
}

// fullGrants are the rows of the default key.
var fullGrants = []string{"account:app:rw", "account:keyset:rw", "account:secret-key:rw"}

// newEnv starts a server on a fresh database and stops it when t ends,
// checking that it shuts down cleanly and logged no secret.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with a server configuration changed by configure.
func newEnvWith(t *testing.T, configure func(*server.Config)) *env {
	t.Helper()
	v, err := loadContract()
	if err != nil {
		t.Fatalf("contract.Load: %v", err)
	}
	e := &env{
		t: t, clock: newClock(), dbPath: testdb.DSN(t),
		contract: v, logs: &syncBuffer{}, secrets: map[string]bool{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	kek := filepath.Join(t.TempDir(), "kek")
	cfg := server.Config{
		Addr:      "127.0.0.1:0",
		Database:  e.dbPath,
		KEKFile:   kek,
		Listening: func(addr string) { addrc <- addr },
		Now:       e.clock.Now,
		Logger:    slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if configure != nil {
		configure(&cfg)
	}
	recordLog(t.Name(), e.logs)
	go func() { done <- server.Run(ctx, cfg) }()
	select {
	case addr := <-addrc:
		e.base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server.Run returned before listening: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("server did not start listening within 30 s")
	}
	e.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return fmt.Errorf("server.Run did not return within 15 s of its context ending")
		}
	})
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("stopping the server: %v, want server.Run to return nil", err)
		}
		logs := e.logs.String()
		e.mu.Lock()
		for s := range e.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the server log holds a full key %.14s…; README: logs never contain an API key or a secret key", s)
			}
		}
		e.mu.Unlock()
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	e.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)

	// The admin commands' way in: another store on the same file.
	db, err := store.Open(context.Background(), e.dbPath, e.clock.Now())
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	// The admin view reads the secret keys the server sealed, as the server does.
	if _, err := db.SealSecrets(context.Background(), cfg.KEKFile); err != nil {
		t.Fatalf("SealSecrets: %v", err)
	}
	e.db, e.svc = db, control.New(db, control.Options{Now: e.clock.Now})
	as, err := e.svc.Accounts(context.Background())
	if err != nil || len(as) == 0 {
		t.Fatalf("Accounts: %v %v", as, err)
	}
	e.account = as[0].ID
	e.key, e.admin, _ = e.integration("CI/CD Pipeline", fullGrants...)
	return e
}

// grants parses grant strings.
func grants(t *testing.T, gs ...string) []keyplane.Grant {
	t.Helper()
	var out []keyplane.Grant
	for _, s := range gs {
		g, err := keyplane.ParseGrant(s)
		if err != nil {
			t.Fatalf("ParseGrant(%q): %v", s, err)
		}
		out = append(out, g)
	}
	return out
}

// integration makes a Service Integration with a key that lives 90 days,
// as `keyplane admin create-integration` does, and returns the key.
func (e *env) integration(name string, gs ...string) (string, keyplane.Integration, control.NewKey) {
	e.t.Helper()
	return e.integrationUntil(name, e.clock.Now().Add(90*24*time.Hour), gs...)
}

// integrationUntil is integration with a chosen expiry.
func (e *env) integrationUntil(name string, expires time.Time, gs ...string) (string, keyplane.Integration, control.NewKey) {
	e.t.Helper()
	in, key, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(e.account), name, grants(e.t, gs...), expires)
	if err != nil {
		e.t.Fatalf("CreateIntegration(%q, %v): %v", name, gs, err)
	}
	e.remember(key.Key)
	return key.Key, in, key
}

// remember notes a full key (or any other secret: a password, a token)
// that must never be logged, by this server or any other of the run.
func (e *env) remember(s string) {
	if len(s) >= minSecretLen {
		recordSecret(e.t.Name(), s)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets[s] = true
}

// option changes a request before it is sent.
type option func(*http.Request)

// as sends key as the Authorization header, as it is.
func as(key string) option { return header("Authorization", key) }

// version sends v as PubNub-Version ("" sends none).
func version(v string) option { return header("PubNub-Version", v) }

// header sets a request header; "" removes it.
func header(name, value string) option {
	return func(r *http.Request) {
		if value == "" {
			r.Header.Del(name)
		} else {
			r.Header.Set(name, value)
		}
	}
}

// resp is a received answer.
type resp struct {
	t      *testing.T
	method string
	path   string
	Status int
	Header http.Header
	Body   []byte
}

// do sends one request: JSON body (a string or []byte is sent as it is,
// anything else but nil is encoded), PubNub-Version: latest, Content-Type:
// application/json and the env's key, each overridable by opts. Every answer
// is checked against the contract and the README's wire rules.
func (e *env) do(method, path string, body any, opts ...option) *resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encoding the body of %s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatalf("NewRequest %s %s: %v", method, path, err)
	}
	req.Header.Set("PubNub-Version", latest)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", e.key)
	for _, o := range opts {
		o(req)
	}
	sentVersion := req.Header.Get("PubNub-Version")
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		e.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	r := &resp{t: e.t, method: method, path: path, Status: res.StatusCode, Header: res.Header, Body: data}
	e.check(r, sentVersion)
	for _, s := range secretKeyRE.FindAllString(string(data), -1) {
		e.remember(s)
	}
	// Every API key a request carries is a secret of the run, however the
	// test came by it.
	for _, s := range apiKeyRE.FindAllString(req.Header.Get("Authorization"), -1) {
		e.remember(s)
	}
	for _, s := range opKeyRE.FindAllString(req.Header.Get("Authorization"), -1) {
		e.remember(s)
	}
	return r
}

// check applies the rules every answer must follow.
func (e *env) check(r *resp, sentVersion string) {
	t := e.t
	t.Helper()
	where := fmt.Sprintf("%s %s → %d", r.method, r.path, r.Status)
	if err := e.contract.Check(r.method, r.path, r.Status, r.Header, r.Body); err != nil {
		t.Errorf("%s: contract: %v\nbody: %s", where, err, r.Body)
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	wantType := "application/json"
	if r.method == "GET" && r.path == "/openapi.yaml" && r.Status == 200 {
		wantType = "application/yaml"
	}
	if err != nil || mt != wantType {
		t.Errorf("%s: Content-Type %q, want %s", where, r.Header.Get("Content-Type"), wantType)
	}
	if r.Status < 200 || r.Status > 299 {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Errorf("%s: error body is not a JSON object: %v: %s", where, err, r.Body)
		} else {
			var eb errorJSON
			json.Unmarshal(r.Body, &eb)
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range body {
					if !yield(k) {
						return
					}
				}
			})
			if !slices.Equal(keys, []string{"error", "message", "statusCode"}) {
				t.Errorf("%s: error body has fields %v, want exactly statusCode, error, message: %s", where, keys, r.Body)
			}
			if eb.StatusCode != r.Status {
				t.Errorf("%s: error body statusCode %d, want the HTTP status: %s", where, eb.StatusCode, r.Body)
			}
			// PubNub's own name for an unknown usage metric (README, Compatibility).
			pubnubName := r.method == "GET" && strings.HasPrefix(r.path, "/v2/usage-metrics?") && eb.Error == "Bad Request" &&
				len(eb.Message) == 1 && strings.HasPrefix(eb.Message[0], "Invalid metrics: ")
			if name, ok := errorNames[r.Status]; ok && eb.Error != name && !pubnubName {
				t.Errorf("%s: error %q, want %q", where, eb.Error, name)
			}
			if eb.Error == "" {
				t.Errorf("%s: empty error name: %s", where, r.Body)
			}
			if len(eb.Message) == 0 || slices.Contains(eb.Message, "") {
				t.Errorf("%s: message must be a non-empty list of non-empty strings: %s", where, r.Body)
			}
		}
	}
	if isOperation(r.method, r.path) {
		want, ok := resolve(sentVersion)
		switch {
		case !ok && r.Status != 400:
			t.Errorf("%s: PubNub-Version %q is missing, malformed or too early, want 400", where, sentVersion)
		case ok && r.Header.Get("PubNub-Version") != want:
			t.Errorf("%s: response PubNub-Version %q, want %q (the release %q resolves to)", where, r.Header.Get("PubNub-Version"), want, sentVersion)
		}
	}
}

// want fails the test now unless the status is status.
func (r *resp) want(status int) *resp {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("%s %s: status %d, want %d; body: %s", r.method, r.path, r.Status, status, r.Body)
	}
	return r
}

// decode reads the JSON body into v.
func (r *resp) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("%s %s: decoding %T: %v; body: %s", r.method, r.path, v, err, r.Body)
	}
}

// object returns the body as a generic JSON object.
func (r *resp) object() map[string]any {
	r.t.Helper()
	var m map[string]any
	r.decode(&m)
	return m
}

// wantError checks an error answer: its status and its messages, each of
// which must be given exactly, in order.
func (r *resp) wantError(status int, msgs ...string) {
	r.t.Helper()
	if r.Status != status {
		r.t.Errorf("%s %s: status %d, want %d; body: %s", r.method, r.path, r.Status, status, r.Body)
		return
	}
	var eb errorJSON
	r.decode(&eb)
	if diff := cmp.Diff(msgs, eb.Message); diff != "" {
		r.t.Errorf("%s %s: messages (-want +got):\n%s", r.method, r.path, diff)
	}
}

// wantErrorContaining checks an error answer's status, and that each
// fragment occurs in one of its messages.
func (r *resp) wantErrorContaining(status int, fragments ...string) {
	r.t.Helper()
	if r.Status != status {
		r.t.Errorf("%s %s: status %d, want %d; body: %s", r.method, r.path, r.Status, status, r.Body)
		return
	}
	var eb errorJSON
	r.decode(&eb)
	for _, f := range fragments {
		if !slices.ContainsFunc(eb.Message, func(m string) bool { return strings.Contains(m, f) }) {
			r.t.Errorf("%s %s: no message contains %q: %q", r.method, r.path, f, eb.Message)
		}
	}
}

// Wire shapes.

type errorJSON struct {
	StatusCode int      `json:"statusCode"`
	Error      string   `json:"error"`
	Message    []string `json:"message"`
}

type appJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

type appList struct {
	Apps  []appJSON `json:"apps"`
	Total int       `json:"total"`
	Page  int       `json:"page"`
	Limit int       `json:"limit"`
}

type secretKeyJSON struct {
	SecretKey string  `json:"secretKey"`
	ExpiresAt *string `json:"expiresAt"`
}

type keysetJSON struct {
	ID           string          `json:"id"`
	AppID        string          `json:"appId"`
	Name         string          `json:"name"`
	Type         string          `json:"type"`
	PublishKey   string          `json:"publishKey"`
	SubscribeKey string          `json:"subscribeKey"`
	CreatedAt    string          `json:"createdAt"`
	UpdatedAt    string          `json:"updatedAt"`
	SecretKeys   []secretKeyJSON `json:"secretKeys,omitempty"`
}

type keysetList struct {
	Keysets []keysetJSON `json:"keysets"`
	Total   int          `json:"total"`
	Page    int          `json:"page"`
	Limit   int          `json:"limit"`
}

type keysetCreated struct {
	Keyset keysetJSON     `json:"keyset"`
	Config map[string]any `json:"config"`
}

type secretKeyList struct {
	SecretKeys []secretKeyJSON `json:"secretKeys"`
}

// defaultConfig is the configuration of a keyset created without one:
// PubNub's, from the README ("Keyset configuration defaults").
const defaultConfig = `{
  "accessManager": {"enabled": false, "tokenRevoke": false},
  "files": {"enabled": true, "retention": 7, "region": "us-east-1"},
  "streamController": {"enabled": true, "wildcardSubscribe": true, "channelGroupLimit": 100},
  "appContext": {"enabled": true, "userMetadataEvents": true, "channelMetadataEvents": true,
    "membershipEvents": true, "disallowGetAllChannelMetadata": false,
    "disallowGetAllUserMetadata": false, "referentialIntegrity": false, "region": "aws-iad-1"},
  "dataSync": {"enabled": false, "region": null},
  "apns": {"enabled": false, "teamId": null, "authKeyId": null, "filename": null},
  "fcm": {"filename": null},
  "messagePersistence": {"enabled": true, "includePresenceEvents": false,
    "deleteFromHistory": false, "retention": 7},
  "presence": {"enabled": true, "deltas": false, "generateLeaveOnDisconnect": false,
    "streamFiltering": false, "activeNoticeChannel": null, "announceMax": 20,
    "interval": 10, "debounce": 2}
}`

// bareConfigPatch turns off, at creation, every default feature that needs
// a choice and clears the choices, so that a test can make each one for the
// first time (regions are write-once). The keyset it makes has bareConfig.
const bareConfigPatch = `{"files":{"enabled":false,"retention":null},"appContext":{"enabled":false},` +
	`"messagePersistence":{"enabled":false,"retention":null}}`

// bareConfig is the configuration of a keyset created with bareConfigPatch:
// turned off at creation, Files and App Context are left without a region.
const bareConfig = `{
  "accessManager": {"enabled": false, "tokenRevoke": false},
  "files": {"enabled": false, "retention": null, "region": null},
  "streamController": {"enabled": true, "wildcardSubscribe": true, "channelGroupLimit": 100},
  "appContext": {"enabled": false, "userMetadataEvents": true, "channelMetadataEvents": true,
    "membershipEvents": true, "disallowGetAllChannelMetadata": false,
    "disallowGetAllUserMetadata": false, "referentialIntegrity": false, "region": null},
  "dataSync": {"enabled": false, "region": null},
  "apns": {"enabled": false, "teamId": null, "authKeyId": null, "filename": null},
  "fcm": {"filename": null},
  "messagePersistence": {"enabled": false, "includePresenceEvents": false,
    "deleteFromHistory": false, "retention": null},
  "presence": {"enabled": true, "deltas": false, "generateLeaveOnDisconnect": false,
    "streamFiltering": false, "activeNoticeChannel": null, "announceMax": 20,
    "interval": 10, "debounce": 2}
}`

// jsonObject decodes a JSON object literal of a test.
func jsonObject(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("test JSON: %v", err)
	}
	return m
}

// withChanges returns a deep copy of config with section.field set to each value.
func withChanges(t *testing.T, config map[string]any, changes map[string]any) map[string]any {
	t.Helper()
	data, _ := json.Marshal(config)
	var out map[string]any
	json.Unmarshal(data, &out)
	for path, v := range changes {
		section, field, ok := strings.Cut(path, ".")
		s, isMap := out[section].(map[string]any)
		if !ok || !isMap {
			t.Fatalf("withChanges: bad path %q", path)
		}
		if _, known := s[field]; !known {
			t.Fatalf("withChanges: unknown field %q", path)
		}
		// Numbers decode as float64; keep them comparable.
		if n, isInt := v.(int); isInt {
			v = float64(n)
		}
		s[field] = v
	}
	return out
}

// iso renders t as the API does.
func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Shortcuts over the admin key.

func (e *env) createApp(name string) appJSON {
	e.t.Helper()
	var a appJSON
	e.do("POST", "/v2/apps", map[string]any{"name": name}).want(201).decode(&a)
	return a
}

func (e *env) createKeyset(appID, name string) keysetCreated {
	e.t.Helper()
	var k keysetCreated
	e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"appId": appID, "name": name}}).want(201).decode(&k)
	return k
}

// createBareKeyset makes a keyset with bareConfig, checking that it has it.
func (e *env) createBareKeyset(appID, name string) string {
	e.t.Helper()
	var k keysetCreated
	e.do("POST", "/v2/keysets", `{"keyset":{"appId":"`+appID+`","name":"`+name+`"},"config":`+bareConfigPatch+`}`).want(201).decode(&k)
	if diff := cmp.Diff(jsonObject(e.t, bareConfig), k.Config); diff != "" {
		e.t.Fatalf("keyset created with %s (-want +got):\n%s", bareConfigPatch, diff)
	}
	return k.Keyset.ID
}

func (e *env) config(keysetID string) map[string]any {
	e.t.Helper()
	return e.do("GET", "/v2/keysets/"+keysetID+"/config", nil).want(200).object()
}

func (e *env) secretKeys(keysetID string) []secretKeyJSON {
	e.t.Helper()
	var l secretKeyList
	e.do("GET", "/v2/keysets/"+keysetID+"/secret-keys", nil).want(200).decode(&l)
	return l.SecretKeys
}

func (e *env) appTotal() int {
	e.t.Helper()
	var l appList
	e.do("GET", "/v2/apps", nil).want(200).decode(&l)
	return l.Total
}

func (e *env) keysetTotal() int {
	e.t.Helper()
	var l keysetList
	e.do("GET", "/v2/keysets", nil).want(200).decode(&l)
	return l.Total
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
