package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// apiEnv is a real server (on this run's engine) and the environment of a
// user of the API commands: its URL and a key with every account-level row.
type apiEnv struct {
	t   *testing.T
	srv *testServer
	db  string
	key string
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	db := testdb.DSN(t)
	key := createIntegration(t, db, "cli", "30d", fullAccess...)
	return &apiEnv{t: t, srv: startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db), db: db, key: key}
}

// result is what one command did, as main would show it.
type result struct {
	args   []string
	stdout string
	stderr string // with the error as main reports it
	code   int    // the exit status main would give
}

// kp runs `keyplane args...` in-process with KEYPLANE_URL and
// KEYPLANE_API_KEY set (overridable through env) and stdin.
func (e *apiEnv) kp(env map[string]string, stdin string, args ...string) result {
	e.t.Helper()
	full := map[string]string{"KEYPLANE_URL": e.srv.URL, "KEYPLANE_API_KEY": e.key}
	for k, v := range env {
		if v == "" {
			delete(full, k)
		} else {
			full[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := run(ctx, args, getenvFrom(full), strings.NewReader(stdin), &out, &errb)
	if err != nil {
		report(&errb, err)
	}
	return result{args: args, stdout: out.String(), stderr: errb.String(), code: exitCode(err)}
}

// ok runs a command that must succeed.
func (e *apiEnv) ok(args ...string) result {
	e.t.Helper()
	r := e.kp(nil, "", args...)
	if r.code != 0 {
		e.t.Fatalf("keyplane %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r
}

// fails runs a command that must fail with code, its stderr holding every
// one of msgs.
func (e *apiEnv) fails(code int, msgs []string, args ...string) result {
	e.t.Helper()
	return e.failsWith(nil, "", code, msgs, args...)
}

func (e *apiEnv) failsWith(env map[string]string, stdin string, code int, msgs []string, args ...string) result {
	e.t.Helper()
	r := e.kp(env, stdin, args...)
	if r.code != code {
		e.t.Errorf("keyplane %q: exit %d, want %d; stdout %q, stderr %q", args, r.code, code, r.stdout, r.stderr)
	}
	if r.stdout != "" {
		e.t.Errorf("keyplane %q failed but printed on stdout: %q", args, r.stdout)
	}
	for _, m := range msgs {
		if !strings.Contains(r.stderr, m) {
			e.t.Errorf("keyplane %q: stderr %q does not say %q", args, r.stderr, m)
		}
	}
	return r
}

// decode parses a json or yaml output into generic values; YAML numbers
// are made float64, as JSON's are, so both compare alike.
func decode(t *testing.T, format string, r result) map[string]any {
	t.Helper()
	var v map[string]any
	var err error
	if format == outputJSON {
		err = json.Unmarshal([]byte(r.stdout), &v)
	} else {
		if strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
			t.Errorf("keyplane %q: yaml output is JSON flow style: %q", r.args, r.stdout)
		}
		err = yaml.Unmarshal([]byte(r.stdout), &v)
		v = floats(v).(map[string]any)
	}
	if err != nil || v == nil {
		t.Fatalf("keyplane %q: %s output %q does not parse: %v", r.args, format, r.stdout, err)
	}
	return v
}

func floats(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = floats(e)
		}
	case []any:
		for i, e := range x {
			x[i] = floats(e)
		}
	case int:
		return float64(x)
	}
	return v
}

func str(t *testing.T, m map[string]any, field string) string {
	t.Helper()
	s, ok := m[field].(string)
	if !ok {
		t.Fatalf("%q is %#v in %v, want a string", field, m[field], m)
	}
	return s
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%#v is not an object", v)
	}
	return m
}

func list(t *testing.T, m map[string]any, field string) []any {
	t.Helper()
	l, ok := m[field].([]any)
	if !ok {
		t.Fatalf("%q is %#v, want a list", field, m[field])
	}
	return l
}

var timeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// checkApp checks the fields of an app as the API writes it.
func checkApp(t *testing.T, v any, id, name string) {
	t.Helper()
	a := obj(t, v)
	if (id != "" && str(t, a, "id") != id) || str(t, a, "name") != name {
		t.Errorf("app %v, want id %q, name %q", a, id, name)
	}
	for _, f := range []string{"createdAt", "updatedAt"} {
		if !timeRE.MatchString(str(t, a, f)) {
			t.Errorf("app %s %q: want the API's time format", f, a[f])
		}
	}
}

// tableRows splits a table into its rows of cells.
func tableRows(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

// Every apps command in every format.
func TestCLIApps(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)

	for _, f := range []string{outputJSON, outputYAML} {
		t.Run(f, func(t *testing.T) {
			e := *e
			e.t = t
			name := "app in " + f
			a := decode(t, f, e.ok("apps", "create", name, "-o", f))
			checkApp(t, a, "", name)
			id := str(t, a, "id")
			checkApp(t, decode(t, f, e.ok("apps", "get", id, "--output", f)), id, name)
			checkApp(t, decode(t, f, e.ok("apps", "rename", id, name+" renamed", "-o", f)), id, name+" renamed")

			all := decode(t, f, e.ok("apps", "list", "-o", f))
			found := false
			for _, x := range list(t, all, "apps") {
				if obj(t, x)["id"] == id {
					checkApp(t, x, id, name+" renamed")
					found = true
				}
			}
			if !found || all["total"] != float64(len(list(t, all, "apps"))) || all["page"] != nil {
				t.Errorf("apps list = %v, want every app with its total, no page", all)
			}
			page := decode(t, f, e.ok("apps", "list", "--page", "1", "--limit", "1", "-o", f))
			if len(list(t, page, "apps")) != 1 || page["page"] != 1.0 || page["limit"] != 1.0 || page["total"].(float64) < 1 {
				t.Errorf("apps list --page 1 --limit 1 = %v", page)
			}
			del := decode(t, f, e.ok("apps", "delete", id, "-o", f))
			if del["deleted"] != "app" || del["id"] != id {
				t.Errorf("apps delete = %v", del)
			}
			e.fails(exitNotFound, []string{"404 NotFound", id}, "apps", "get", id, "-o", f)
		})
	}

	t.Run("table", func(t *testing.T) {
		e := *e
		e.t = t
		r := e.ok("apps", "create", "Telemedicine")
		rows := tableRows(r.stdout)
		if len(rows) != 2 || strings.Join(rows[0], " ") != "ID NAME CREATED UPDATED" || rows[1][1] != "Telemedicine" || !timeRE.MatchString(rows[1][2]) {
			t.Fatalf("apps create table %q", r.stdout)
		}
		id := rows[1][0]
		e.ok("apps", "create", "Second")
		r = e.ok("apps", "list")
		lines := strings.Split(r.stdout, "\n")
		if strings.Index(lines[0], "NAME") != strings.Index(lines[1], "Telemedicine") &&
			strings.Index(lines[0], "NAME") != strings.Index(lines[2], "Telemedicine") {
			t.Errorf("apps list columns are not aligned:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "Telemedicine") || !strings.Contains(r.stdout, "Second") {
			t.Errorf("apps list:\n%s", r.stdout)
		}
		if r := e.ok("apps", "get", id); !strings.Contains(r.stdout, "Telemedicine") {
			t.Errorf("apps get:\n%s", r.stdout)
		}
		if r := e.ok("apps", "rename", id, "Renamed"); !strings.Contains(r.stdout, "Renamed") {
			t.Errorf("apps rename:\n%s", r.stdout)
		}
		if r := e.ok("apps", "delete", id); r.stdout != "deleted app "+id+"\n" {
			t.Errorf("apps delete: %q", r.stdout)
		}
	})
}

// createKeysetCLI makes an app and a keyset through the CLI and returns
// their ids and the keyset's secret key.
func (e *apiEnv) createKeysetCLI(name string) (app, keyset, secret string) {
	e.t.Helper()
	a := decode(e.t, outputJSON, e.ok("apps", "create", "app of "+name, "-o", "json"))
	k := decode(e.t, outputJSON, e.ok("keysets", "create", "--app", str(e.t, a, "id"), "--name", name, "-o", "json"))
	ks := obj(e.t, k["keyset"])
	sk := obj(e.t, list(e.t, ks, "secretKeys")[0])
	return str(e.t, a, "id"), str(e.t, ks, "id"), str(e.t, sk, "secretKey")
}

// Every keysets command in every format, and the secret key printed once.
func TestCLIKeysets(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	app := str(t, decode(t, outputJSON, e.ok("apps", "create", "a", "-o", "json")), "id")
	other := str(t, decode(t, outputJSON, e.ok("apps", "create", "b", "-o", "json")), "id")

	for _, f := range []string{outputJSON, outputYAML} {
		t.Run(f, func(t *testing.T) {
			e := *e
			e.t = t
			out := decode(t, f, e.ok("keysets", "create", "--app", app, "--name", "k "+f, "--type", "production",
				"--config", `{"messagePersistence":{"enabled":true,"retention":30}}`, "-o", f))
			k := obj(t, out["keyset"])
			id := str(t, k, "id")
			if k["appId"] != app || k["name"] != "k "+f || k["type"] != "production" || !strings.HasPrefix(str(t, k, "publishKey"), "pub-c-") {
				t.Errorf("keysets create keyset = %v", k)
			}
			sks := list(t, k, "secretKeys")
			if len(sks) != 1 || !strings.HasPrefix(str(t, obj(t, sks[0]), "secretKey"), "sec-c-") || obj(t, sks[0])["expiresAt"] != nil {
				t.Errorf("keysets create secretKeys = %v", sks)
			}
			mp := obj(t, obj(t, out["config"])["messagePersistence"])
			if mp["enabled"] != true || mp["retention"] != 30.0 {
				t.Errorf("keysets create config.messagePersistence = %v", mp)
			}

			got := decode(t, f, e.ok("keysets", "get", id, "-o", f))
			if got["id"] != id || got["secretKeys"] != nil || !timeRE.MatchString(str(t, got, "createdAt")) {
				t.Errorf("keysets get = %v (a keyset without secret keys)", got)
			}
			up := decode(t, f, e.ok("keysets", "update", id, "--name", "renamed "+f, "--type", "testing", "-o", f))
			if up["name"] != "renamed "+f || up["type"] != "testing" {
				t.Errorf("keysets update = %v", up)
			}
			ls := decode(t, f, e.ok("keysets", "list", "--app", app, "-o", f))
			ids := []string{}
			for _, x := range list(t, ls, "keysets") {
				ids = append(ids, str(t, obj(t, x), "id"))
				if obj(t, x)["appId"] != app {
					t.Errorf("keysets list --app %s holds %v", app, x)
				}
			}
			if !strings.Contains(" "+strings.Join(ids, " ")+" ", " "+id+" ") || ls["total"] != float64(len(ids)) {
				t.Errorf("keysets list --app = %v, want %s among them", ls, id)
			}
			page := decode(t, f, e.ok("keysets", "list", "--page", "1", "--limit", "100", "-o", f))
			if page["page"] != 1.0 || page["limit"] != 100.0 {
				t.Errorf("keysets list --page 1 --limit 100 = %v", page)
			}
			del := decode(t, f, e.ok("keysets", "delete", id, "-o", f))
			if del["deleted"] != "keyset" || del["id"] != id {
				t.Errorf("keysets delete = %v", del)
			}
			e.fails(exitNotFound, []string{"404 NotFound"}, "keysets", "get", id, "-o", f)
		})
	}

	t.Run("table", func(t *testing.T) {
		e := *e
		e.t = t
		r := e.ok("keysets", "create", "--app", other, "--name", "prod")
		secrets := regexp.MustCompile(`sec-c-[0-9A-Za-z]+`).FindAllString(r.stdout, -1)
		if len(secrets) != 1 || !strings.Contains(r.stdout, "secret key: "+secrets[0]+"\n") {
			t.Fatalf("keysets create table does not print the secret key once, labelled:\n%s", r.stdout)
		}
		if strings.Contains(r.stderr, secrets[0]) {
			t.Errorf("the secret key is on stderr too: %q", r.stderr)
		}
		rows := tableRows(r.stdout)
		if strings.Join(rows[0], " ") != "ID APP NAME TYPE PUBLISH KEY SUBSCRIBE KEY" || rows[1][1] != other || rows[1][2] != "prod" || rows[1][3] != "testing" {
			t.Fatalf("keysets create table:\n%s", r.stdout)
		}
		id := rows[1][0]
		if r := e.ok("keysets", "get", id); len(tableRows(r.stdout)) != 2 || strings.Contains(r.stdout, "sec-c-") {
			t.Errorf("keysets get:\n%s", r.stdout)
		}
		if r := e.ok("keysets", "update", id, "--type", "production"); !strings.Contains(r.stdout, "production") || !strings.Contains(r.stdout, "prod ") {
			t.Errorf("keysets update --type (the name stays):\n%s", r.stdout)
		}
		r = e.ok("keysets", "list", "--app", other)
		if rows := tableRows(r.stdout); len(rows) != 2 || rows[1][0] != id {
			t.Errorf("keysets list --app %s:\n%s", other, r.stdout)
		}
		if r := e.ok("keysets", "delete", id); r.stdout != "deleted keyset "+id+"\n" {
			t.Errorf("keysets delete: %q", r.stdout)
		}
		// The configuration from stdin.
		r = e.kp(nil, `{"presence":{"announceMax":7}}`, "keysets", "create", "--app", other, "--config-file", "-", "-o", "json")
		if r.code != 0 {
			t.Fatalf("keysets create --config-file -: exit %d, %q", r.code, r.stderr)
		}
		if p := obj(t, obj(t, decode(t, outputJSON, r)["config"])["presence"]); p["announceMax"] != 7.0 {
			t.Errorf("keysets create --config-file - : presence %v", p)
		}
	})

	t.Run("usage", func(t *testing.T) {
		e := *e
		e.t = t
		e.fails(exitUsage, []string{"--app: required"}, "keysets", "create")
		e.fails(exitUsage, []string{"nothing to change"}, "keysets", "update", "1")
		e.fails(exitUsage, []string{`--app "x1": want an app id such as 12`}, "keysets", "list", "--app", "x1")
		// The server filters, so --app pages through one app's keysets.
		if r := e.ok("keysets", "list", "--app", app, "--page", "1", "--limit", "1", "-o", "json"); !strings.Contains(r.stdout, `"limit": 1`) {
			t.Errorf("keysets list --app --page:\n%s", r.stdout)
		}
		e.fails(exitUsage, []string{"not a JSON object"}, "keysets", "create", "--app", app, "--config", `{"oops"`)
		e.fails(exitUsage, []string{"400 BadRequest", "type"}, "keysets", "create", "--app", app, "--type", "staging")
	})
}

// config get and set, the patch from an argument, a file and stdin.
func TestCLIConfig(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	_, ks, _ := e.createKeysetCLI("k")

	for _, f := range []string{outputJSON, outputYAML} {
		cfg := decode(t, f, e.ok("config", "get", ks, "-o", f))
		p := obj(t, cfg["presence"])
		if p["announceMax"] != 20.0 || p["activeNoticeChannel"] != nil || obj(t, cfg["files"])["region"] != "us-east-1" || obj(t, cfg["dataSync"])["region"] != nil {
			t.Errorf("config get -o %s = %v, want the defaults", f, cfg)
		}
	}
	r := e.ok("config", "get", ks)
	rows := tableRows(r.stdout)
	if strings.Join(rows[0], " ") != "SETTING VALUE" || len(rows) < 30 {
		t.Fatalf("config get table:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "presence.announceMax") || !regexp.MustCompile(`(?m)^accessManager\.enabled +false$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^files\.region +us-east-1$`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^dataSync\.region +null$`).MatchString(r.stdout) {
		t.Errorf("config get table lacks section.field value rows:\n%s", r.stdout)
	}

	// From an argument.
	cfg := decode(t, outputJSON, e.ok("config", "set", ks, `{"presence":{"announceMax":50}}`, "-o", "json"))
	if obj(t, cfg["presence"])["announceMax"] != 50.0 {
		t.Errorf("config set from an argument = %v", cfg)
	}
	// From a file, in yaml.
	file := filepath.Join(t.TempDir(), "patch.json")
	if err := os.WriteFile(file, []byte(`{"messagePersistence":{"enabled":true,"retention":7}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = decode(t, outputYAML, e.ok("config", "set", ks, "-f", file, "-o", "yaml"))
	if mp := obj(t, cfg["messagePersistence"]); mp["enabled"] != true || mp["retention"] != 7.0 || obj(t, cfg["presence"])["announceMax"] != 50.0 {
		t.Errorf("config set -f = %v, want the merge", cfg)
	}
	// From stdin, with -f - and with nothing, in a table.
	r = e.kp(nil, `{"presence":{"interval":20}}`, "config", "set", ks, "-f", "-")
	if r.code != 0 || !regexp.MustCompile(`(?m)^presence\.interval +20$`).MatchString(r.stdout) {
		t.Errorf("config set -f - : exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = e.kp(nil, `{"presence":{"debounce":5}}`, "config", "set", ks)
	if r.code != 0 || !regexp.MustCompile(`(?m)^presence\.debounce +5$`).MatchString(r.stdout) {
		t.Errorf("config set from stdin: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}

	// Refusals: the server's messages, every one; local mistakes first.
	e.fails(exitUsage, []string{"400 BadRequest", "presence.announceMax", "presence.interval"},
		"config", "set", ks, `{"presence":{"announceMax":1000,"interval":1}}`)
	e.fails(exitUsage, []string{"not a JSON object"}, "config", "set", ks, `[1]`)
	e.failsWith(nil, "not json", exitUsage, []string{"not a JSON object"}, "config", "set", ks)
	e.fails(exitUsage, []string{"not both"}, "config", "set", ks, `{}`, "-f", file)
	e.fails(exitUsage, []string{"no such file"}, "config", "set", ks, "-f", filepath.Join(t.TempDir(), "missing.json"))
	e.fails(exitNotFound, []string{"404 NotFound"}, "config", "get", "999999")
	after := decode(t, outputJSON, e.ok("config", "get", ks, "-o", "json"))
	if p := obj(t, after["presence"]); p["announceMax"] != 50.0 || p["interval"] != 20.0 || p["debounce"] != 5.0 {
		t.Errorf("config after the refusals = %v, want what the accepted patches made", p)
	}
}

// Every secret-keys command in every format.
func TestCLISecretKeys(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	_, ks, main0 := e.createKeysetCLI("k")

	// list, in each format: prefixes unless --reveal, in every format.
	for _, f := range []string{outputJSON, outputYAML} {
		r := e.ok("secret-keys", "list", ks, "-o", f)
		sks := list(t, decode(t, f, r), "secretKeys")
		if len(sks) != 1 || obj(t, sks[0])["prefix"] != main0[:11] || obj(t, sks[0])["expiresAt"] != nil || strings.Contains(r.stdout, main0) {
			t.Errorf("secret-keys list -o %s = %s, want the main key's prefix only", f, r.stdout)
		}
		sks = list(t, decode(t, f, e.ok("secret-keys", "list", ks, "--reveal", "-o", f)), "secretKeys")
		if len(sks) != 1 || obj(t, sks[0])["secretKey"] != main0 || obj(t, sks[0])["expiresAt"] != nil {
			t.Errorf("secret-keys list --reveal -o %s = %v, want the main key whole", f, sks)
		}
	}
	r := e.ok("secret-keys", "list", ks)
	if strings.Contains(r.stdout, main0) || !regexp.MustCompile(`(?m)^`+main0[:11]+` +main +never$`).MatchString(r.stdout) {
		t.Errorf("secret-keys list table, want the prefix only:\n%s", r.stdout)
	}
	if r := e.ok("secret-keys", "list", ks, "--reveal"); !strings.Contains(r.stdout, main0) {
		t.Errorf("secret-keys list --reveal:\n%s", r.stdout)
	}

	// rotate: in a table only the new key is on stdout.
	r = e.ok("secret-keys", "rotate", ks, "--old-expires-in", "1h")
	main1 := strings.TrimSuffix(r.stdout, "\n")
	if !regexp.MustCompile(`^sec-c-[0-9A-Za-z]+\n$`).MatchString(r.stdout) || main1 == main0 {
		t.Fatalf("secret-keys rotate stdout %q, want the new key alone", r.stdout)
	}
	if !strings.Contains(r.stderr, "works until") || strings.Contains(r.stderr, main1) {
		t.Errorf("secret-keys rotate stderr %q", r.stderr)
	}
	// json and yaml: {"secretKey": …}.
	for _, f := range []string{outputJSON, outputYAML} {
		out := decode(t, f, e.ok("secret-keys", "rotate", ks, "--old-expires-at", wallclock.Now().Add(2*time.Hour).UTC().Format(time.RFC3339), "-o", f))
		if k, _ := out["secretKey"].(string); !strings.HasPrefix(k, "sec-c-") || len(out) != 1 {
			t.Errorf("secret-keys rotate -o %s = %v", f, out)
		}
	}
	l := decode(t, outputJSON, e.ok("secret-keys", "list", ks, "-o", "json"))
	if n := len(list(t, l, "secretKeys")); n != 4 {
		t.Fatalf("%d keys after three rotations with expiry, want 4: %v", n, l)
	}

	// set-expiry, by prefix and by whole key.
	at := wallclock.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	for _, f := range []string{outputJSON, outputYAML} {
		out := decode(t, f, e.ok("secret-keys", "set-expiry", ks, main0[:11], "--expires-at", at.Format(time.RFC3339), "-o", f))
		sk := obj(t, out["secretKey"])
		if sk["prefix"] != main0[:11] || sk["secretKey"] != nil || sk["expiresAt"] != at.Format("2006-01-02T15:04:05.000Z") {
			t.Errorf("secret-keys set-expiry -o %s = %v", f, out)
		}
	}
	r = e.ok("secret-keys", "set-expiry", ks, main0, "--expires-in", "3d")
	if !regexp.MustCompile(`(?m)^`+main0[:11]+` +rotated +\d{4}-`).MatchString(r.stdout) || strings.Contains(r.stdout, main0) {
		t.Errorf("secret-keys set-expiry table:\n%s", r.stdout)
	}
	e.fails(exitUsage, []string{"--expires-in or --expires-at"}, "secret-keys", "set-expiry", ks, main0[:11])
	e.fails(exitUsage, []string{"not both"}, "secret-keys", "set-expiry", ks, main0[:11], "--expires-in", "1d", "--expires-at", at.Format(time.RFC3339))
	e.fails(exitUsage, []string{"--expires-in", "a span such as"}, "secret-keys", "set-expiry", ks, main0[:11], "--expires-in", "soon")
	e.fails(exitUsage, []string{"400 BadRequest", "expiresAt"}, "secret-keys", "set-expiry", ks, main0[:11], "--expires-in", "2y")

	// delete, in each format.
	l = decode(t, outputJSON, e.ok("secret-keys", "list", ks, "--reveal", "-o", "json"))
	var rotated []string
	for _, x := range list(t, l, "secretKeys") {
		if obj(t, x)["expiresAt"] != nil {
			rotated = append(rotated, str(t, obj(t, x), "secretKey"))
		}
	}
	for i, f := range []string{outputJSON, outputYAML} {
		out := decode(t, f, e.ok("secret-keys", "delete", ks, rotated[i], "-o", f))
		if out["deleted"] != "secretKey" || out["id"] != rotated[i][:11] {
			t.Errorf("secret-keys delete -o %s = %v, want the prefix, never the whole key", f, out)
		}
	}
	if r := e.ok("secret-keys", "delete", ks, rotated[2][:11]); r.stdout != fmt.Sprintf("deleted secret key %s of keyset %s\n", rotated[2][:11], ks) {
		t.Errorf("secret-keys delete: %q", r.stdout)
	}
	e.fails(exitNotFound, []string{"404 NotFound", rotated[2][:11]}, "secret-keys", "delete", ks, rotated[2][:11])

	// --active-only, and a rotation without expiry that drops the old key.
	r = e.ok("secret-keys", "rotate", ks)
	if !strings.Contains(r.stderr, "no longer works") {
		t.Errorf("rotate without expiry stderr %q", r.stderr)
	}
	l = decode(t, outputJSON, e.ok("secret-keys", "list", ks, "--active-only", "-o", "json"))
	if n := len(list(t, l, "secretKeys")); n != 1 {
		t.Errorf("--active-only after deleting every rotated key: %d keys, want 1", n)
	}
}

// Where the server and key come from, what a refusal looks like, and the
// exit codes.
func TestCLIConnection(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	readOnly := createIntegration(t, e.db, "viewer", "30d", "account:app:read")
	app := str(t, decode(t, outputJSON, e.ok("apps", "create", "a", "-o", "json")), "id")
	e.ok("keysets", "create", "--app", app)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + closed.Addr().String()
	closed.Close()

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"KEYPLANE_URL", nil, nil},
		{"--url wins", map[string]string{"KEYPLANE_URL": dead}, []string{"--url", e.srv.URL}},
		{"ADMIN_API_V2_URL", map[string]string{"KEYPLANE_URL": "", "ADMIN_API_V2_URL": e.srv.URL}, nil},
		{"KEYPLANE_URL wins over ADMIN_API_V2_URL", map[string]string{"ADMIN_API_V2_URL": dead}, nil},
		{"a URL ending in /v2", map[string]string{"KEYPLANE_URL": e.srv.URL + "/v2/"}, nil},
		{"PUBNUB_API_KEY", map[string]string{"KEYPLANE_API_KEY": "", "PUBNUB_API_KEY": e.key}, nil},
		{"KEYPLANE_API_KEY wins", map[string]string{"PUBNUB_API_KEY": readOnly}, nil},
		{"--api-key", map[string]string{"KEYPLANE_API_KEY": ""}, []string{"--api-key", e.key}},
		{"--api-version", nil, []string{"--api-version", "2026-03-01"}},
	} {
		r := e.kp(tc.env, "", append([]string{"apps", "create", "via " + tc.name, "-o", "json"}, tc.args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.name) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.name, r.code, r.stdout, r.stderr)
		}
	}

	ro := map[string]string{"KEYPLANE_API_KEY": readOnly}
	e.failsWith(ro, "", exitAuth, []string{"keyplane: 403 Forbidden: missing permission"}, "apps", "create", "x")
	e.failsWith(ro, "", exitAuth, []string{"403 Forbidden"}, "keysets", "list")
	e.failsWith(map[string]string{"KEYPLANE_API_KEY": "si_wrong"}, "", exitAuth, []string{"keyplane: 401 Unauthorized"}, "apps", "list")
	e.failsWith(map[string]string{"KEYPLANE_API_KEY": "", "PUBNUB_API_KEY": ""}, "", exitUsage, []string{"no API key", "KEYPLANE_API_KEY"}, "apps", "list")
	e.fails(exitError, []string{"keyplane: 409 Conflict"}, "apps", "delete", app)
	e.fails(exitNotFound, []string{"keyplane: 404 NotFound"}, "apps", "rename", "999999", "x")
	e.fails(exitUsage, []string{"keyplane: 400 BadRequest", "name"}, "apps", "create", "")
	e.failsWith(map[string]string{"KEYPLANE_URL": dead}, "", exitError, []string{"connection refused"}, "apps", "list")
	e.fails(exitUsage, []string{"--api-version", "YYYY-MM-DD"}, "apps", "list", "--api-version", "latest")
	e.failsWith(map[string]string{"KEYPLANE_URL": "127.0.0.1:8080"}, "", exitUsage, []string{"--url", "http(s)://host"}, "apps", "list")
	e.fails(exitUsage, []string{"400 BadRequest", "PubNub-Version"}, "apps", "list", "--api-version", "2020-01-01")
	e.fails(exitUsage, []string{"--output", "table, json or yaml"}, "apps", "create", "never made", "-o", "xml")
	e.fails(exitUsage, []string{"accepts 1 arg"}, "apps", "get")
	e.fails(exitUsage, []string{"unknown flag"}, "apps", "list", "--bogus")
	e.fails(exitUsage, []string{"invalid argument"}, "apps", "list", "--page", "one")
	e.fails(exitUsage, []string{`unknown command "bogus" for "keyplane apps"`, "keyplane apps --help"}, "apps", "bogus")
	e.fails(exitUsage, []string{`unknown command "bogus" for "keyplane"`}, "bogus")
	if strings.Contains(e.ok("apps", "list").stdout, "never made") {
		t.Errorf("an app was made although --output was wrong")
	}

	// A group alone prints its help and succeeds.
	if r := e.ok("secret-keys"); !strings.Contains(r.stdout, "rotate") || !strings.Contains(r.stdout, "set-expiry") {
		t.Errorf("keyplane secret-keys:\n%s", r.stdout)
	}
	// The help names the variables and never shows a key.
	r := e.ok("apps", "list", "--help")
	for _, w := range []string{"KEYPLANE_URL", "ADMIN_API_V2_URL", "KEYPLANE_API_KEY", "PUBNUB_API_KEY", "shell history", e.srv.URL} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("apps list --help does not mention %s:\n%s", w, r.stdout)
		}
	}
	if strings.Contains(r.stdout, e.key) {
		t.Errorf("apps list --help shows the API key")
	}
}

// Shell completion, cobra's, for the shells the brief names.
func TestCLICompletion(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{"bash": "__start_keyplane", "zsh": "#compdef keyplane", "fish": "complete -c keyplane"} {
		out, errOut, err := runKeyplane(t, nil, "completion", shell)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: %v, %q; stdout holds no %q", shell, err, errOut, want)
		}
	}
	// The dynamic part: subcommands and fixed flag values.
	out, _, err := runKeyplane(t, nil, "__complete", "secret-keys", "")
	if err != nil || !strings.Contains(out, "rotate") || !strings.Contains(out, "set-expiry") {
		t.Errorf("completing `secret-keys `: %v %q", err, out)
	}
	out, _, err = runKeyplane(t, nil, "__complete", "apps", "list", "--output", "")
	if err != nil || !strings.Contains(out, "json") || !strings.Contains(out, "yaml") {
		t.Errorf("completing --output: %v %q", err, out)
	}
}

// The real binary: main's exit codes and error lines, and stdin, as a
// script sees them.
func TestBinaryCLI(t *testing.T) {
	t.Parallel()
	bin := keyplaneBinary(t)
	db := newDB(t)
	key := createIntegration(t, db, "ci", "30d", fullAccess...)
	p := startBinary(t, "serve", "--addr", "127.0.0.1:0", "--database", db)

	kp := func(stdin string, env []string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(childEnv(), append([]string{"KEYPLANE_URL=" + p.URL, "KEYPLANE_API_KEY=" + key}, env...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("keyplane %q: %v", args, err)
		}
		return out.String(), errb.String(), code
	}

	out, errOut, code := kp("", nil, "apps", "create", "Telemedicine", "-o", "json")
	var app struct{ ID string }
	if code != 0 || json.Unmarshal([]byte(out), &app) != nil || app.ID == "" {
		t.Fatalf("apps create: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = kp("", nil, "keysets", "create", "--app", app.ID, "-o", "yaml")
	var ks struct {
		Keyset struct {
			ID string `yaml:"id"`
		} `yaml:"keyset"`
	}
	if code != 0 || yaml.Unmarshal([]byte(out), &ks) != nil || ks.Keyset.ID == "" {
		t.Fatalf("keysets create -o yaml: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = kp(`{"presence":{"announceMax":42}}`, nil, "config", "set", ks.Keyset.ID, "-o", "json")
	if code != 0 || !strings.Contains(out, `"announceMax": 42`) {
		t.Errorf("config set from stdin: exit %d, %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{nil, []string{"apps", "get", "999999"}, exitNotFound, "keyplane: 404 NotFound: "},
		{nil, []string{"apps", "delete", app.ID}, exitError, "keyplane: 409 Conflict: "},
		{nil, []string{"config", "set", ks.Keyset.ID, `{"presence":{"announceMax":1000,"interval":1}}`}, exitUsage, "keyplane: 400 BadRequest\n  - presence.announceMax: "},
		{[]string{"KEYPLANE_API_KEY=si_wrong"}, []string{"apps", "list"}, exitAuth, "keyplane: 401 Unauthorized: "},
		{[]string{"KEYPLANE_API_KEY="}, []string{"apps", "list"}, exitUsage, "keyplane: no API key"},
		{nil, []string{"apps", "frobnicate"}, exitUsage, `keyplane: unknown command "frobnicate" for "keyplane apps"`},
		{nil, []string{"admin", "list-integrations", "--nope"}, exitUsage, "keyplane: unknown flag: --nope"},
	} {
		out, errOut, code := kp("", tc.env, tc.args...)
		if code != tc.code || !strings.HasPrefix(errOut, tc.stderr) || out != "" {
			t.Errorf("keyplane %q: exit %d, stdout %q, stderr %q; want exit %d, stderr starting %q", tc.args, code, out, errOut, tc.code, tc.stderr)
		}
	}
}

// Completion of ids asks the server: app ids where an app is wanted, keyset
// ids elsewhere, and nothing (an error directive) when the server is gone.
func TestCLICompletionIDs(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	app, ks, _ := e.createKeysetCLI("prod")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apps", "get", ""}, app + "\tapp of prod\n"},
		{[]string{"apps", "delete", ""}, app + "\tapp of prod\n"},
		{[]string{"keysets", "create", "--app", ""}, app + "\tapp of prod\n"},
		{[]string{"keysets", "list", "--app", ""}, app + "\tapp of prod\n"},
		{[]string{"keysets", "update", ""}, ks + "\tprod (app " + app + ", testing)\n"},
		{[]string{"config", "set", ""}, ks + "\tprod (app " + app + ", testing)\n"},
		{[]string{"secret-keys", "rotate", ""}, ks + "\tprod (app " + app + ", testing)\n"},
	} {
		r := e.kp(nil, "", append([]string{"__complete"}, tc.args...)...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, tc.want) || !strings.Contains(r.stdout, "\n:4\n") {
			t.Errorf("completing %q: exit %d, stdout %q; want %q and no file completion (:4)", tc.args, r.code, r.stdout, tc.want)
		}
	}
	// Only the first argument is an id.
	if r := e.kp(nil, "", "__complete", "apps", "rename", app, ""); r.stdout != ":4\n" {
		t.Errorf("completing the name of apps rename: %q", r.stdout)
	}
	// A bad key: the error directive (:1), never a hang or a panic.
	if r := e.kp(map[string]string{"KEYPLANE_API_KEY": "si_wrong"}, "", "__complete", "apps", "get", ""); r.code != 0 || !strings.HasPrefix(r.stdout, ":1\n") {
		t.Errorf("completing with a bad key: exit %d, %q", r.code, r.stdout)
	}
}

// The json and yaml outputs are the API's own answers, byte for byte once
// indented: same fields in the same order, times as the API writes them (to
// the millisecond, UTC), null where the API writes null.
func TestCLIPrintsTheAPIsAnswers(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	e.key = createIntegration(t, e.db, "wire", "30d", append(fullAccess, "account:audit-log:read", "account:oem-customer:rw")...)
	mustAdmin(t, e.db, "set-partner", str(t, decode(t, outputJSON, e.ok("me", "-o", "json")), "accountId"))
	app, ks, _ := e.createKeysetCLI("k")
	e.ok("secret-keys", "rotate", ks, "--old-expires-in", "1h") // a rotated key: an expiresAt that is not null
	cu := str(t, decode(t, outputJSON, e.ok("customers", "create", "--external-id", "acme", "--name", "Acme", "--keyset", ks, "-o", "json")), "id")

	// get answers the body of GET path, checking that it is JSON.
	get := func(path string) json.RawMessage {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", e.key)
		req.Header.Set("PubNub-Version", client.Version)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK || !json.Valid(b) {
			t.Fatalf("GET %s: %d %s, %v", path, res.StatusCode, b, err)
		}
		return b
	}
	// field is one field of a JSON object, as the API wrote it.
	field := func(raw json.RawMessage, name string) json.RawMessage {
		t.Helper()
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m[name] == nil {
			t.Fatalf("%s has no %q: %v", raw, name, err)
		}
		return m[name]
	}

	apps := get("/v2/apps")
	customers := field(get("/v2/oem/customers"), "result")
	for _, tc := range []struct {
		args []string
		want any // the API's answer, or the envelope the command prints it in
	}{
		{[]string{"apps", "get", app}, get("/v2/apps/" + app)},
		{[]string{"apps", "list"}, map[string]json.RawMessage{"apps": field(apps, "apps"), "total": field(apps, "total")}},
		{[]string{"keysets", "get", ks}, get("/v2/keysets/" + ks)},
		{[]string{"secret-keys", "list", ks, "--reveal"}, get("/v2/keysets/" + ks + "/secret-keys")},
		{[]string{"audit", "list", "--limit", "3"}, get("/v2/audit-events?limit=3")},
		{[]string{"customers", "get", cu}, field(get("/v2/oem/customers/"+cu), "result")},
		{[]string{"customers", "list"}, map[string]any{"customers": customers, "total": 1}},
	} {
		for _, f := range []string{outputJSON, outputYAML} {
			var want bytes.Buffer
			if err := render(&want, f, tc.want, nil); err != nil {
				t.Fatal(err)
			}
			if got := e.ok(append(tc.args, "-o", f)...).stdout; got != want.String() {
				t.Errorf("keyplane %s -o %s printed\n%s\nwant the API's answer\n%s", strings.Join(tc.args, " "), f, got, want.String())
			}
		}
	}
}
