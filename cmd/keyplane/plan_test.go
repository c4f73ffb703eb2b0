package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mustContain fails the test unless out holds every one of wants.
func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, out)
		}
	}
}

// mustNotContain fails the test if out holds any of nots.
func mustNotContain(t *testing.T, what, out string, nots ...string) {
	t.Helper()
	for _, n := range nots {
		if strings.Contains(out, n) {
			t.Errorf("%s says %q:\n%s", what, n, out)
		}
	}
}

const declaration = `# two apps, three keysets
apps:
  - name: Chat
    keysets:
      - name: prod
        type: production
        config:
          messagePersistence: {enabled: true, retention: 30}
          presence:
            announceMax: 50
      - name: staging
  - name: Telemetry
    keysets:
      - name: devices
        type: testing
`

// plan and apply on an empty account: the plan shows every create and the
// rows it needs and changes nothing; apply makes it so and prints the
// secret keys once; a second apply (and plan) is a no-op and says so.
func TestPlanApplyEmptyAccount(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	file := writeFile(t, "keyplane.yaml", declaration)

	r := e.ok("plan", "-f", file)
	mustContain(t, "plan", r.stdout,
		"+ create app \"Chat\"\n",
		"+ create keyset \"prod\" in app \"Chat\"\n    type: \"production\"\n    config.messagePersistence.enabled: true\n    config.messagePersistence.retention: 30\n    config.presence.announceMax: 50\n",
		"+ create keyset \"staging\" in app \"Chat\"\n    type: \"testing\"\n",
		"+ create app \"Telemetry\"\n+ create keyset \"devices\" in app \"Telemetry\"\n",
		"5 to create, 0 to change, 0 to delete.",
		"account:app:read ", "account:keyset:read ", "account:app:read-write", "account:keyset:read-write", "account:secret-key:read", "Account · App · Read & write")
	for _, f := range []string{outputJSON, outputYAML} {
		p := obj(t, decode(t, f, e.ok("plan", "-f", file, "-o", f))["plan"])
		if ch := list(t, p, "changes"); len(ch) != 5 || obj(t, ch[0])["action"] != "create" || obj(t, ch[1])["keyset"] != "prod" {
			t.Errorf("plan -o %s changes = %v", f, ch)
		}
		if rows := list(t, p, "permissions"); len(rows) != 5 {
			t.Errorf("plan -o %s permissions = %v", f, rows)
		}
	}
	if apps := list(t, decode(t, outputJSON, e.ok("apps", "list", "-o", "json")), "apps"); len(apps) != 0 {
		t.Fatalf("plan changed the account: %v", apps)
	}

	r = e.ok("apply", "-f", file)
	mustContain(t, "apply", r.stdout, "done: create app \"Chat\" (", "done: create keyset \"prod\" (", "Applied 5 changes.", "shown once")
	if keys := regexp.MustCompile(`secret key of keyset "\w+" \(\d+\) of app "\w+": sec-c-\w+`).FindAllString(r.stdout, -1); len(keys) != 3 {
		t.Errorf("apply printed %d secret keys, want 3:\n%s", len(keys), r.stdout)
	}
	ks := list(t, decode(t, outputJSON, e.ok("keysets", "list", "-o", "json")), "keysets")
	if len(ks) != 3 {
		t.Fatalf("keysets after apply = %v", ks)
	}
	var prod map[string]any
	for _, k := range ks {
		if obj(t, k)["name"] == "prod" {
			prod = obj(t, k)
		}
	}
	if prod == nil || prod["type"] != "production" {
		t.Fatalf("keyset prod after apply = %v", ks)
	}
	cfg := decode(t, outputJSON, e.ok("config", "get", str(t, prod, "id"), "-o", "json"))
	if obj(t, cfg["messagePersistence"])["retention"] != 30.0 || obj(t, cfg["presence"])["announceMax"] != 50.0 {
		t.Errorf("config of prod after apply = %v", cfg)
	}

	// Again: nothing to do, in every format.
	r = e.ok("apply", "-f", file)
	mustContain(t, "second apply", r.stdout, "No changes: the account already holds what "+file+" declares.")
	mustNotContain(t, "second apply", r.stdout, "done:", "sec-c-")
	for _, f := range []string{outputJSON, outputYAML} {
		out := decode(t, f, e.ok("apply", "-f", file, "-o", f))
		if len(list(t, out, "applied")) != 0 || len(list(t, obj(t, out["plan"]), "changes")) != 0 || len(list(t, obj(t, out["plan"]), "permissions")) != 0 || out["secretKeys"] != nil {
			t.Errorf("second apply -o %s = %v", f, out)
		}
	}
	mustContain(t, "plan after apply", e.ok("plan", "-f", file).stdout, "No changes")
}

// plan and apply on a populated account: changes with from → to, what the
// file does not declare left alone (and listed) unless --prune, secret keys
// to a 0600 file, and the permission rows named by id.
func TestPlanApplyPopulatedAccount(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	chat := str(t, decode(t, outputJSON, e.ok("apps", "create", "Chat", "-o", "json")), "id")
	staging := str(t, obj(t, decode(t, outputJSON, e.ok("keysets", "create", "--app", chat, "--name", "staging", "-o", "json"))["keyset"]), "id")
	old := str(t, obj(t, decode(t, outputJSON, e.ok("keysets", "create", "--app", chat, "--name", "old", "-o", "json"))["keyset"]), "id")
	legacy := str(t, decode(t, outputJSON, e.ok("apps", "create", "Legacy", "-o", "json")), "id")
	e.ok("keysets", "create", "--app", legacy, "--name", "l1")

	file := writeFile(t, "keyplane.yaml", `apps:
  - name: Chat
    keysets:
      - name: staging
        type: production
        config:
          presence: {announceMax: 50, activeNoticeChannel: null}
          messagePersistence: {enabled: true}
      - name: prod
`)
	r := e.ok("plan", "-f", file)
	mustContain(t, "plan", r.stdout,
		"~ update keyset \"staging\" ("+staging+") of app \"Chat\"\n    type: \"testing\" → \"production\"\n    config.presence.announceMax: 20 → 50\n",
		"+ create keyset \"prod\" in app \"Chat\"\n",
		"1 to create, 1 to change, 0 to delete.",
		"app/"+chat+":keyset:read-write", "app/"+chat+":secret-key:read", "keyset/"+staging+":keyset:read-write",
		"Not in the file, left as they are (--prune would delete them):",
		"keyset \"old\" ("+old+") of app \"Chat\"", "app \"Legacy\" ("+legacy+") with 1 keysets")
	mustNotContain(t, "plan", r.stdout, "messagePersistence", "activeNoticeChannel", "account:app:read-write", "- ")

	// apply with the secret key to a file: 0600, one JSON line, not printed.
	secrets := filepath.Join(t.TempDir(), "secrets.ndjson")
	r = e.ok("apply", "-f", file, "--secrets-file", secrets)
	mustContain(t, "apply", r.stdout, "done: update keyset \"staging\"", "done: create keyset \"prod\"", "1 secret keys appended to "+secrets, "Applied 2 changes.")
	mustNotContain(t, "apply", r.stdout, "sec-c-")
	st, err := os.Stat(secrets)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v %v", st, err)
	}
	b, _ := os.ReadFile(secrets)
	var s struct{ App, Keyset, KeysetID, SecretKey string }
	if err := json.Unmarshal(b, &s); err != nil || s.App != "Chat" || s.Keyset != "prod" || !strings.HasPrefix(s.SecretKey, "sec-c-") || strings.Count(string(b), "\n") != 1 {
		t.Errorf("secrets file = %q (%v)", b, err)
	}
	k := decode(t, outputJSON, e.ok("keysets", "get", staging, "-o", "json"))
	cfg := decode(t, outputJSON, e.ok("config", "get", staging, "-o", "json"))
	if k["type"] != "production" || obj(t, cfg["presence"])["announceMax"] != 50.0 {
		t.Errorf("staging after apply: %v %v", k, cfg["presence"])
	}
	mustContain(t, "second apply", e.ok("apply", "-f", file, "--secrets-file", secrets).stdout, "No changes")
	if b2, _ := os.ReadFile(secrets); string(b2) != string(b) {
		t.Errorf("a second apply wrote to the secrets file: %q", b2)
	}

	// --prune: the undeclared keysets, then the undeclared app.
	r = e.ok("plan", "-f", file, "--prune")
	mustContain(t, "plan --prune", r.stdout,
		"- delete keyset \"old\" ("+old+") of app \"Chat\"\n",
		"- delete keyset \"l1\" (",
		") of app \"Legacy\"\n- delete app \"Legacy\" ("+legacy+")\n",
		"0 to create, 0 to change, 3 to delete.", "app/"+legacy+":app:read-write", "keyset/"+old+":keyset:read-write")
	mustNotContain(t, "plan --prune", r.stdout, "Not in the file")
	out := decode(t, outputYAML, e.ok("apply", "-f", file, "--prune", "-o", "yaml"))
	if a := list(t, out, "applied"); len(a) != 3 || obj(t, a[2])["action"] != "delete" || obj(t, a[2])["kind"] != "app" {
		t.Errorf("apply --prune -o yaml applied = %v", a)
	}
	apps := list(t, decode(t, outputJSON, e.ok("apps", "list", "-o", "json")), "apps")
	ks := list(t, decode(t, outputJSON, e.ok("keysets", "list", "-o", "json")), "keysets")
	if len(apps) != 1 || len(ks) != 2 {
		t.Errorf("after apply --prune: apps %v, keysets %v", apps, ks)
	}
	mustContain(t, "apply --prune again", e.ok("apply", "-f", file, "--prune").stdout, "No changes")

	// What a file leaves out stays: a keyset without a type keeps
	// production, settings not named keep their values.
	short := writeFile(t, "short.yaml", "apps:\n  - name: Chat\n    keysets: [{name: staging}, {name: prod}]\n")
	mustContain(t, "plan of a short file", e.ok("plan", "-f", short, "--prune").stdout, "No changes")
}

// What cannot be planned is refused before anything changes; a refused
// step stops apply with the server's messages, and applying again finishes.
func TestPlanApplyRefusals(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)

	// Mistakes in the file, every one named.
	bad := writeFile(t, "bad.yaml", `apps:
  - name: A
    keysets: [{name: k}, {name: k, type: staging}]
  - name: A
  - name: ""
`)
	e.fails(exitUsage, []string{`keysets[1].name: keyset "k" is declared twice`, `keysets[1].type: "staging"`, `apps[1].name: app "A" is declared twice`, "apps[2].name: required"}, "plan", "-f", bad)
	e.fails(exitUsage, []string{"line 3: apps[0].colour: unknown field; an app has name and keysets"}, "plan", "-f", writeFile(t, "unknown.yaml", "apps:\n  - name: A\n    colour: red\n"))
	e.fails(exitUsage, []string{"no such file"}, "apply", "-f", filepath.Join(t.TempDir(), "missing.yaml"))

	// Two apps of one name on the server: the file cannot say which.
	a1 := str(t, decode(t, outputJSON, e.ok("apps", "create", "Dup", "-o", "json")), "id")
	a2 := str(t, decode(t, outputJSON, e.ok("apps", "create", "Dup", "-o", "json")), "id")
	e.fails(exitError, []string{`app "Dup": 2 apps of the account have this name (ids ` + a1 + ", " + a2 + ")"}, "apply", "-f", writeFile(t, "dup.yaml", "apps:\n  - name: Dup\n"))

	// A secrets file others can read is refused before anything is made.
	loose := filepath.Join(t.TempDir(), "loose")
	os.WriteFile(loose, nil, 0o644)
	os.Chmod(loose, 0o644)
	good := writeFile(t, "good.yaml", "apps:\n  - name: New\n    keysets: [{name: k}]\n")
	e.fails(exitUsage, []string{"lets others read it"}, "apply", "-f", good, "--secrets-file", loose)
	if apps := list(t, decode(t, outputJSON, e.ok("apps", "list", "-o", "json")), "apps"); len(apps) != 2 {
		t.Errorf("a refused apply changed the account: %v", apps)
	}

	// A key that may only read: the plan works, apply stops at the first
	// step with the server's 403.
	reader := createIntegration(t, e.db, "reader", "30d", "account:app:read", "account:keyset:read")
	env := map[string]string{"KEYPLANE_API_KEY": reader}
	if r := e.kp(env, "", "plan", "-f", good); r.code != 0 || !strings.Contains(r.stdout, "+ create app \"New\"") {
		t.Errorf("plan with a reader key: %d %q %q", r.code, r.stdout, r.stderr)
	}
	e.failsWith(env, "", exitAuth, []string{`apply stopped at its first change, "create app \"New\""; nothing was changed`, "403 Forbidden", "missing permission"}, "apply", "-f", good, "-o", "json")

	// A keyset the server refuses half way: what came before stays, the
	// server's messages are repeated, and applying the fixed file finishes.
	half := writeFile(t, "half.yaml", `apps:
  - name: Half
    keysets:
      - name: ok
      - name: broken
        config: {messagePersistence: {enabled: true, retention: null}}
`)
	r := e.kp(nil, "", "apply", "-f", half)
	if r.code != exitUsage {
		t.Errorf("apply of a refused keyset: exit %d, want %d", r.code, exitUsage)
	}
	mustContain(t, "apply of a refused keyset (stdout)", r.stdout, "done: create app \"Half\"", "done: create keyset \"ok\"", "secret key of keyset \"ok\"")
	mustNotContain(t, "apply of a refused keyset (stdout)", r.stdout, "Applied")
	mustContain(t, "apply of a refused keyset (stderr)", r.stderr, `apply stopped at "create keyset \"broken\" in app \"Half\"" after 2 of 3 changes`, "400 BadRequest", "messagePersistence.retention")
	fixed := writeFile(t, "fixed.yaml", strings.Replace(readFile(t, half), "retention: null}", "retention: 7}", 1))
	r = e.ok("apply", "-f", fixed)
	mustContain(t, "apply of the fixed file", r.stdout, "+ create keyset \"broken\"", "Applied 1 changes.")
	mustNotContain(t, "apply of the fixed file", r.stdout, "create app", "create keyset \"ok\"")

	// From stdin.
	r = e.kp(nil, readFile(t, fixed), "plan", "-f", "-")
	mustContain(t, "plan from stdin", r.stdout, "No changes: the account already holds what - declares.")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// OEM customers in a declaration: matched by external id, created with
// keysets the same apply creates, renamed, given more keysets; a second
// apply changes nothing.
func TestPlanApplyCustomers(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	e.key = createIntegration(t, e.db, "partner", "30d", append(fullAccess, "account:oem-customer:rw")...)
	file := writeFile(t, "keyplane.yaml", `apps:
  - name: Chat
    keysets: [{name: prod}, {name: staging}]
customers:
  - externalId: acme-1
    name: Acme
    keysets: [{app: Chat, keyset: prod}]
`)
	// Not a partner yet: the server's 403, before anything changes.
	e.fails(exitAuth, []string{"403 Forbidden", "partner"}, "plan", "-f", file)
	if _, _, err := runAdmin(t, e.db, "set-partner", "1"); err != nil {
		t.Fatal(err)
	}
	r := e.ok("plan", "-f", file)
	mustContain(t, "plan", r.stdout, "+ create customer \"acme-1\"\n    name: \"Acme\"\n    keysets: \"Chat/prod\"\n", "4 to create", "account:oem-customer:read ", "account:oem-customer:read-write")
	r = e.ok("apply", "-f", file)
	mustContain(t, "apply", r.stdout, "done: create customer \"acme-1\" (", "Applied 4 changes.")
	cu := decode(t, outputJSON, e.ok("customers", "list", "-o", "json"))
	cs := list(t, cu, "customers")
	if len(cs) != 1 || obj(t, cs[0])["externalId"] != "acme-1" || obj(t, cs[0])["keysetCount"] != 1.0 {
		t.Fatalf("customers after apply = %v", cu)
	}
	mustContain(t, "second apply", e.ok("apply", "-f", file).stdout, "No changes")

	// Renamed, and given the other keyset.
	file2 := writeFile(t, "keyplane2.yaml", strings.Replace(strings.Replace(readFile(t, file), "name: Acme", "name: Acme Inc", 1),
		"[{app: Chat, keyset: prod}]", "[{app: Chat, keyset: prod}, {app: Chat, keyset: staging}]", 1))
	r = e.ok("apply", "-f", file2, "-o", "json")
	out := decode(t, outputJSON, r)
	ch := obj(t, list(t, obj(t, out["plan"]), "changes")[0])
	if ch["action"] != "update" || ch["kind"] != "customer" || len(list(t, ch, "fields")) != 2 {
		t.Errorf("apply of a renamed customer: %v", ch)
	}
	cs = list(t, decode(t, outputJSON, e.ok("customers", "list", "-o", "json")), "customers")
	if obj(t, cs[0])["name"] != "Acme Inc" || obj(t, cs[0])["keysetCount"] != 2.0 {
		t.Errorf("customer after the second file = %v", cs)
	}
	mustContain(t, "apply again", e.ok("apply", "-f", file2).stdout, "No changes")

	// A keyset that is nowhere is named before anything changes.
	e.fails(exitError, []string{"customers[0].keysets[0]: keyset Chat/nope is neither declared in the file nor in the account"},
		"apply", "-f", writeFile(t, "bad.yaml", "customers:\n  - {externalId: b, name: B, keysets: [{app: Chat, keyset: nope}]}\n"))
	e.fails(exitUsage, []string{"customers[1].externalId: customer \"a\" is declared twice", "customers[1].name: required"},
		"plan", "-f", writeFile(t, "dup.yaml", "customers:\n  - {externalId: a, name: A}\n  - {externalId: a}\n"))
}
