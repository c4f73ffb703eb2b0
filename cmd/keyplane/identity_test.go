package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// as runs a command with key as KEYPLANE_API_KEY.
func (e *apiEnv) as(key string, args ...string) result {
	e.t.Helper()
	return e.kp(map[string]string{"KEYPLANE_API_KEY": key}, "", args...)
}

// okAs runs a command with key that must succeed.
func (e *apiEnv) okAs(key string, args ...string) result {
	e.t.Helper()
	r := e.as(key, args...)
	if r.code != 0 {
		e.t.Fatalf("keyplane %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r
}

// idNum is an id as the OEM routes write it, a number, as decode reads it.
func idNum(t *testing.T, id string) float64 {
	t.Helper()
	n, err := strconv.ParseFloat(id, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// me, in every format, for a key with rows at app and keyset level.
func TestCLIMe(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	app, ks, _ := e.createKeysetCLI("prod")
	other := str(t, decode(t, outputJSON, e.ok("apps", "create", "hidden", "-o", "json")), "id")
	key := createIntegration(t, e.db, "scoped", "30d", "app/"+app+":app:read", "keyset/"+ks+":keyset:rw", "app/"+other+":secret-key:read")

	for _, f := range []string{outputJSON, outputYAML} {
		m := decode(t, f, e.okAs(key, "me", "-o", f))
		if m["accountId"] != "1" || m["partner"] != false || obj(t, m["integration"])["name"] != "scoped" {
			t.Errorf("me -o %s = %v", f, m)
		}
		k := obj(t, m["key"])
		if !strings.HasPrefix(key, str(t, k, "prefix")) || !timeRE.MatchString(str(t, k, "expiresAt")) || !timeRE.MatchString(str(t, k, "createdAt")) {
			t.Errorf("me -o %s key = %v", f, k)
		}
		var grants []string
		for _, p := range list(t, m, "permissions") {
			grants = append(grants, str(t, obj(t, p), "grant"))
		}
		if strings.Join(grants, " ") != "app/"+app+":app:read keyset/"+ks+":keyset:read-write app/"+other+":secret-key:read" {
			t.Errorf("me -o %s permissions %v", f, grants)
		}
		acc := obj(t, m["access"])
		if len(obj(t, acc["account"])) != 0 {
			t.Errorf("me -o %s account access %v, want none", f, acc["account"])
		}
		apps := list(t, acc, "apps")
		if len(apps) != 2 || obj(t, apps[0])["name"] != "app of prod" || obj(t, apps[1])["id"] != other || obj(t, apps[1])["name"] != nil {
			t.Errorf("me -o %s apps %v: want app of prod named, the other unnamed (not readable)", f, apps)
		}
		kss := list(t, acc, "keysets")
		if len(kss) != 1 || obj(t, kss[0])["id"] != ks || obj(t, obj(t, kss[0])["access"])["keyset"] != "read-write" {
			t.Errorf("me -o %s keysets %v", f, kss)
		}
	}

	r := e.okAs(key, "me")
	for _, re := range []string{
		`(?m)^account +1 +not an OEM partner$`,
		`(?m)^integration +\d+ +scoped$`,
		`(?m)^key +\d+ +` + regexp.QuoteMeta(key[:11]) + `\S*… +expires \d{4}-\S+ +last used \d{4}-`,
		`(?m)^PERMISSION +GRANT$`,
		`(?m)^Keyset ` + ks + ` · Keyset · Read & write +keyset/` + ks + `:keyset:read-write$`,
		`(?m)^SCOPE +ID +NAME +ACCESS$`,
		`(?m)^account +1 +-$`,
		`(?m)^app +` + app + ` +app of prod +app=read$`,
		`(?m)^app +` + other + ` +- +secret-key=read$`,
		`(?m)^keyset +` + ks + ` +prod \(app ` + app + `\) +keyset=read-write$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("me table does not match %s:\n%s", re, r.stdout)
		}
	}
	if strings.Contains(r.stdout, key) {
		t.Errorf("me printed the whole key")
	}
	e.failsWith(map[string]string{"KEYPLANE_API_KEY": "si_wrong"}, "", exitAuth, []string{"401 Unauthorized"}, "me")
	e.fails(exitUsage, []string{"unknown command", "extra"}, "me", "extra")
}

// authz check: allowed (exit 0) and denied (exit 4, the reasons on
// stderr), by request and by action, in every format.
func TestCLIAuthzCheck(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	app, ks, _ := e.createKeysetCLI("prod")
	key := createIntegration(t, e.db, "scoped", "30d", "keyset/"+ks+":keyset:rw")

	r := e.okAs(key, "authz", "check", "--method", "patch", "--path", "/v2/keysets/"+ks+"/config")
	lines := strings.Split(r.stdout, "\n")
	if lines[0] != "allowed: PATCH /v2/keysets/{keysetId}/config (updateKeysetConfig) on app "+app+", keyset "+ks ||
		!regexp.MustCompile(`^NEEDS +STATUS +ROW +GRANT$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^keyset write +granted +Keyset `+ks+` · Keyset · Read & write +keyset/`+ks+`:keyset:read-write$`).MatchString(lines[2]) {
		t.Errorf("authz check allowed, table:\n%s", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("authz check allowed wrote on stderr: %q", r.stderr)
	}

	r = e.as(key, "authz", "check", "--method", "DELETE", "--path", "/v2/apps/"+app)
	if r.code != exitAuth || !strings.HasPrefix(r.stdout, "denied: DELETE /v2/apps/{appId} (deleteApp) on app "+app+"\n") ||
		!regexp.MustCompile(`(?m)^app write +missing +App `+app+` · App · Read & write +app/`+app+`:app:read-write$`).MatchString(r.stdout) {
		t.Errorf("authz check denied: exit %d, table:\n%s", r.code, r.stdout)
	}
	if want := "keyplane: denied: missing permission: App " + app + " · App · Read & write\n"; r.stderr != want {
		t.Errorf("authz check denied: stderr %q, want %q", r.stderr, want)
	}

	for _, f := range []string{outputJSON, outputYAML} {
		a := decode(t, f, e.okAs(key, "authz", "check", "--action", "getKeyset", "--keyset", ks, "-o", f))
		c := obj(t, list(t, a, "checks")[0])
		if a["allowed"] != true || a["action"] != "getKeyset" || obj(t, a["target"])["appId"] != app || obj(t, a["target"])["keysetId"] != ks ||
			obj(t, c["grantedBy"])["grant"] != "keyset/"+ks+":keyset:read-write" || c["missing"] != nil || len(list(t, a, "reasons")) != 0 {
			t.Errorf("authz check --action getKeyset -o %s = %v", f, a)
		}
		r := e.as(key, "authz", "check", "--action", "createApp", "-o", f)
		if r.code != exitAuth {
			t.Errorf("authz check --action createApp -o %s: exit %d, want 4", f, r.code)
		}
		a = decode(t, f, r)
		if a["allowed"] != false || obj(t, a["target"])["appId"] != nil || len(list(t, a, "reasons")) != 1 ||
			obj(t, obj(t, list(t, a, "checks")[0])["missing"])["grant"] != "account:app:read-write" {
			t.Errorf("authz check --action createApp -o %s = %v", f, a)
		}
	}
	// What the check says is what the operation does.
	e.failsWith(map[string]string{"KEYPLANE_API_KEY": key}, "", exitAuth, []string{"missing permission: App " + app + " · App · Read & write"}, "apps", "delete", app)

	e.fails(exitUsage, []string{"--method and --path go together"}, "authz", "check", "--method", "GET")
	e.fails(exitUsage, []string{"not both"}, "authz", "check", "--method", "GET", "--path", "/v2/apps", "--action", "listApps")
	e.fails(exitUsage, []string{"give --method and --path, or --action"}, "authz", "check")
	e.fails(exitUsage, []string{"400 BadRequest", "frobnicate"}, "authz", "check", "--action", "frobnicate")
	e.fails(exitUsage, []string{"400 BadRequest"}, "authz", "check", "--method", "GET", "--path", "/v2/nowhere")
}

// Every customers command in every format, in a partner account.
func TestCLICustomers(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	oem := createIntegration(t, e.db, "partner portal", "30d", "account:oem-customer:rw")
	r := e.as(oem, "customers", "list")
	if r.code != exitAuth || !strings.Contains(r.stderr, "not an OEM partner") {
		t.Errorf("customers list before set-partner: exit %d, %q", r.code, r.stderr)
	}
	mustAdmin(t, e.db, "set-partner", "1")
	app := str(t, decode(t, outputJSON, e.ok("apps", "create", "a", "-o", "json")), "id")
	keyset := func() string {
		t.Helper()
		k := decode(t, outputJSON, e.ok("keysets", "create", "--app", app, "-o", "json"))
		return str(t, obj(t, k["keyset"]), "id")
	}

	for _, f := range []string{outputJSON, outputYAML} {
		k1, k2 := keyset(), keyset()
		c := decode(t, f, e.okAs(oem, "customers", "create", "--external-id", "acme-"+f, "--name", "Acme "+f, "--keyset", k1, "-o", f))
		id := str(t, c, "id")
		ks := list(t, c, "keysets")
		if c["externalId"] != "acme-"+f || c["name"] != "Acme "+f || !timeRE.MatchString(str(t, c, "created")) ||
			len(ks) != 1 || obj(t, ks[0])["id"] != idNum(t, k1) || !timeRE.MatchString(str(t, obj(t, ks[0]), "assignedAt")) {
			t.Errorf("customers create -o %s = %v (keyset ids are numbers, as the API writes them)", f, c)
		}
		if g := decode(t, f, e.okAs(oem, "customers", "get", id, "-o", f)); g["name"] != "Acme "+f || len(list(t, g, "keysets")) != 1 {
			t.Errorf("customers get -o %s = %v", f, g)
		}
		if u := decode(t, f, e.okAs(oem, "customers", "update", id, "--name", "Renamed "+f, "-o", f)); u["name"] != "Renamed "+f || u["externalId"] != "acme-"+f {
			t.Errorf("customers update -o %s = %v", f, u)
		}
		as := decode(t, f, e.okAs(oem, "customers", "assign-keysets", id, k2, k1, "-o", f))
		if ks := list(t, as, "keysets"); len(ks) != 2 || obj(t, ks[1])["id"] != idNum(t, k2) {
			t.Errorf("customers assign-keysets -o %s = %v", f, as)
		}
		apps := list(t, decode(t, f, e.okAs(oem, "customers", "apps", id, "-o", f)), "apps")
		if len(apps) != 1 || obj(t, apps[0])["id"] != idNum(t, app) || obj(t, apps[0])["accountId"] != 1.0 {
			t.Errorf("customers apps -o %s = %v", f, apps)
		}
		kl := list(t, decode(t, f, e.okAs(oem, "customers", "keysets", id, "--app", app, "-o", f)), "keysets")
		if len(kl) != 2 || obj(t, kl[0])["id"] != idNum(t, k1) {
			t.Errorf("customers keysets -o %s = %v", f, kl)
		}
		owner := decode(t, f, e.okAs(oem, "customers", "of-keyset", k2, "-o", f))
		if owner["id"] != id || owner["keysets"] != nil || owner["name"] != "Renamed "+f {
			t.Errorf("customers of-keyset -o %s = %v, want the customer without keysets", f, owner)
		}
		l := decode(t, f, e.okAs(oem, "customers", "list", "--app", app, "-o", f))
		found := false
		for _, x := range list(t, l, "customers") {
			if obj(t, x)["id"] == id {
				found = obj(t, x)["keysetCount"] == 2.0 && obj(t, x)["appCount"] == 1.0
			}
		}
		if !found || l["total"] != float64(len(list(t, l, "customers"))) {
			t.Errorf("customers list -o %s = %v, want %s with 2 keysets in 1 app", f, l, id)
		}
	}

	// Tables.
	k1, k2, k3 := keyset(), keyset(), keyset()
	r = e.okAs(oem, "customers", "create", "--external-id", "globex", "--name", "Globex", "--keyset", k1+","+k2)
	rows := tableRows(r.stdout)
	if strings.Join(rows[0], " ") != "ID EXTERNAL ID NAME CREATED UPDATED" || rows[1][1] != "globex" || rows[1][2] != "Globex" ||
		len(rows[2]) != 0 || strings.Join(rows[3], " ") != "KEYSET ASSIGNED" || rows[4][0] != k1 || rows[5][0] != k2 || !timeRE.MatchString(rows[4][1]) {
		t.Fatalf("customers create table:\n%s", r.stdout)
	}
	id := rows[1][0]
	if r := e.okAs(oem, "customers", "update", id, "--name", "Globex Corp"); !strings.Contains(r.stdout, "Globex Corp") {
		t.Errorf("customers update table:\n%s", r.stdout)
	}
	if r := e.okAs(oem, "customers", "assign-keysets", id, k3); len(tableRows(r.stdout)) != 7 {
		t.Errorf("customers assign-keysets table, want 3 keysets:\n%s", r.stdout)
	}
	if r := e.okAs(oem, "customers", "list"); !regexp.MustCompile(`(?m)^` + id + ` +globex +Globex Corp +1 +3 +\d{4}-`).MatchString(r.stdout) {
		t.Errorf("customers list table:\n%s", r.stdout)
	}
	if r := e.okAs(oem, "customers", "apps", id); !regexp.MustCompile(`^APP +ACCOUNT\n` + app + ` +1\n$`).MatchString(r.stdout) {
		t.Errorf("customers apps table: %q", r.stdout)
	}
	if r := e.okAs(oem, "customers", "keysets", id); len(tableRows(r.stdout)) != 4 || !strings.HasPrefix(r.stdout, "KEYSET") {
		t.Errorf("customers keysets table:\n%s", r.stdout)
	}
	if r := e.okAs(oem, "customers", "of-keyset", k3); len(tableRows(r.stdout)) != 2 || !strings.Contains(r.stdout, "Globex Corp") {
		t.Errorf("customers of-keyset table:\n%s", r.stdout)
	}

	// Refusals.
	oemEnv := map[string]string{"KEYPLANE_API_KEY": oem}
	e.failsWith(oemEnv, "", exitError, []string{"409 Conflict"}, "customers", "create", "--external-id", "initech", "--name", "Initech", "--keyset", k1)
	e.failsWith(oemEnv, "", exitError, []string{"409 Conflict"}, "customers", "create", "--external-id", "globex", "--name", "Again")
	e.failsWith(oemEnv, "", exitUsage, []string{`KEYSET_ID "x"`, "positive integer"}, "customers", "assign-keysets", id, "x")
	e.failsWith(oemEnv, "", exitUsage, []string{`--keyset "0"`}, "customers", "create", "--external-id", "z", "--name", "Z", "--keyset", "0")
	e.failsWith(oemEnv, "", exitUsage, []string{"--external-id and --name: required"}, "customers", "create", "--name", "Z")
	e.failsWith(oemEnv, "", exitUsage, []string{"--name: required"}, "customers", "update", id)
	e.failsWith(oemEnv, "", exitUsage, []string{"400 BadRequest", "externalId"}, "customers", "create", "--external-id", "no spaces", "--name", "Z")
	e.failsWith(oemEnv, "", exitNotFound, []string{"404 NotFound"}, "customers", "get", "999999")
	e.failsWith(oemEnv, "", exitNotFound, []string{"404 NotFound"}, "customers", "of-keyset", keyset())
	e.failsWith(nil, "", exitAuth, []string{"403 Forbidden", "OEM Customer"}, "customers", "list")
	if l := decode(t, outputJSON, e.okAs(oem, "customers", "list", "-o", "json")); len(list(t, l, "customers")) != 3 {
		t.Errorf("after the refusals: %v, want the 3 customers made", l)
	}
}

// audit list: every page or one, each filter, every format.
func TestCLIAuditList(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	auditor := createIntegration(t, e.db, "auditor", "30d", "account:audit-log:read")
	app := str(t, decode(t, outputJSON, e.ok("apps", "create", "Telemedicine", "-o", "json")), "id")
	e.ok("apps", "rename", app, "Telehealth")
	e.ok("keysets", "create", "--app", app)

	types := func(v map[string]any) []string {
		var out []string
		for _, x := range list(t, v, "events") {
			out = append(out, str(t, obj(t, x), "type"))
		}
		return out
	}
	for _, f := range []string{outputJSON, outputYAML} {
		all := decode(t, f, e.okAs(auditor, "audit", "list", "-o", f))
		want := "ServiceIntegrationCreated ApiKeyCreated ServiceIntegrationCreated ApiKeyCreated AppCreated AppRenamed KeysetCreated"
		if got := strings.Join(types(all), " "); got != want || all["nextCursor"] != nil {
			t.Errorf("audit list -o %s: %s, next %v; want %s and no cursor", f, got, all["nextCursor"], want)
		}
		ev := obj(t, list(t, all, "events")[5])
		if ev["accountId"] != "1" || !timeRE.MatchString(str(t, ev, "at")) || obj(t, ev["target"])["id"] != app ||
			obj(t, ev["actor"])["type"] != "integration" || obj(t, ev["actor"])["name"] != "cli" ||
			obj(t, ev["before"])["name"] != "Telemedicine" || obj(t, ev["after"])["name"] != "Telehealth" || len(str(t, ev, "hash")) != 64 {
			t.Errorf("audit list -o %s AppRenamed = %v", f, ev)
		}
		if first := obj(t, list(t, all, "events")[0]); first["before"] != nil || obj(t, first["actor"])["type"] != "operator" {
			t.Errorf("audit list -o %s first event %v: want the operator's creation, before null", f, first)
		}

		// Filters.
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--type", "AppCreated,AppRenamed"}, "AppCreated AppRenamed"},
			{[]string{"--type", "KeysetCreated", "--type", "AppCreated"}, "AppCreated KeysetCreated"},
			{[]string{"--target", "app/" + app}, "AppCreated AppRenamed"},
			{[]string{"--actor", "operator"}, "ServiceIntegrationCreated ApiKeyCreated ServiceIntegrationCreated ApiKeyCreated"},
			{[]string{"--actor", "integration", "--from", "1h"}, "AppCreated AppRenamed KeysetCreated"},
			{[]string{"--to", "1h"}, ""},
			{[]string{"--from", "2099-01-01"}, ""},
			{[]string{"--from", "2020-01-01T00:00:00Z", "--to", "2099-01-01", "--type", "KeysetCreated"}, "KeysetCreated"},
		} {
			v := decode(t, f, e.okAs(auditor, append([]string{"audit", "list", "-o", f}, tc.args...)...))
			if got := strings.Join(types(v), " "); got != tc.want {
				t.Errorf("audit list %q -o %s: %q, want %q", tc.args, f, got, tc.want)
			}
		}

		// One page, then the next by its cursor.
		p1 := decode(t, f, e.okAs(auditor, "audit", "list", "--limit", "4", "-o", f))
		cursor, _ := p1["nextCursor"].(string)
		if len(list(t, p1, "events")) != 4 || cursor == "" {
			t.Fatalf("audit list --limit 4 -o %s = %v", f, p1)
		}
		p2 := decode(t, f, e.okAs(auditor, "audit", "list", "--limit", "4", "--cursor", cursor, "-o", f))
		if got := strings.Join(types(p2), " "); got != "AppCreated AppRenamed KeysetCreated" || p2["nextCursor"] != nil {
			t.Errorf("audit list --cursor -o %s = %v", f, p2)
		}
	}

	r := e.okAs(auditor, "audit", "list", "--type", "AppRenamed")
	if !regexp.MustCompile(`^ID +TIME +TYPE +TARGET +ACTOR +NAME\n\d+ +\d{4}-\S+ +AppRenamed +app/`+app+` +integration/\d+ +cli\n$`).MatchString(r.stdout) || r.stderr != "" {
		t.Errorf("audit list table: %q, stderr %q", r.stdout, r.stderr)
	}
	r = e.okAs(auditor, "audit", "list", "--limit", "1", "--actor", "operator")
	m := regexp.MustCompile(`^more events: add --cursor (\S+) \(with the same filters\)\n$`).FindStringSubmatch(r.stderr)
	if len(tableRows(r.stdout)) != 2 || m == nil {
		t.Fatalf("audit list --limit 1 table: %q, stderr %q", r.stdout, r.stderr)
	}
	if r := e.okAs(auditor, "audit", "list", "--limit", "1", "--actor", "operator", "--cursor", m[1]); !strings.Contains(r.stdout, "ApiKeyCreated") {
		t.Errorf("audit list --cursor table: %q", r.stdout)
	}

	// Refusals.
	aud := map[string]string{"KEYPLANE_API_KEY": auditor}
	e.failsWith(aud, "", exitUsage, []string{"400 BadRequest", "cursor"}, "audit", "list", "--limit", "1", "--cursor", m[1])
	e.failsWith(aud, "", exitUsage, []string{"--from", "yesterday"}, "audit", "list", "--from", "yesterday")
	e.failsWith(aud, "", exitUsage, []string{"400 BadRequest", "actor"}, "audit", "list", "--actor", "Nobody!")
	e.failsWith(aud, "", exitUsage, []string{"400 BadRequest", "limit"}, "audit", "list", "--limit", "1000")
	e.failsWith(aud, "", exitUsage, []string{"--limit 0"}, "audit", "list", "--limit", "0")
	e.fails(exitAuth, []string{"403 Forbidden", "Audit log"}, "audit", "list")
}

// Completion of the new commands: customer ids from the server, keysets
// where a keyset is wanted, fixed values of the flags.
func TestCLICompletionAccount(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	mustAdmin(t, e.db, "set-partner", "1")
	oem := createIntegration(t, e.db, "partner", "30d", "account:oem-customer:rw")
	app, ks, _ := e.createKeysetCLI("prod")
	id := str(t, decode(t, outputJSON, e.okAs(oem, "customers", "create", "--external-id", "acme", "--name", "Acme", "-o", "json")), "id")
	for _, tc := range []struct {
		key  string
		args []string
		want string
	}{
		{oem, []string{"customers", "get", ""}, id + "\tAcme (acme)\n"},
		{oem, []string{"customers", "keysets", ""}, id + "\tAcme (acme)\n"},
		{oem, []string{"customers", "assign-keysets", ""}, id + "\tAcme (acme)\n"},
		{e.key, []string{"customers", "assign-keysets", id, ""}, ks + "\tprod (app " + app + ", testing)\n"},
		{e.key, []string{"customers", "of-keyset", ""}, ks + "\tprod (app " + app + ", testing)\n"},
		{e.key, []string{"customers", "list", "--app", ""}, app + "\tapp of prod\n"},
		{e.key, []string{"authz", "check", "--keyset", ""}, ks + "\tprod (app " + app + ", testing)\n"},
		{e.key, []string{"authz", "check", "--method", ""}, "GET\n"},
		{e.key, []string{"audit", "list", "--type", ""}, "AppCreated\n"},
		{e.key, []string{"me", "-o", ""}, "table\n"},
	} {
		r := e.as(tc.key, append([]string{"__complete"}, tc.args...)...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, tc.want) || !strings.Contains(r.stdout, "\n:4\n") {
			t.Errorf("completing %q: exit %d, stdout %q; want %q first and no file completion (:4)", tc.args, r.code, r.stdout, tc.want)
		}
	}
	if r := e.as(e.key, "__complete", "authz", "check", "--action", ""); !strings.Contains(r.stdout, "updateKeysetConfig\tPATCH /v2/keysets/{keysetId}/config\n") {
		t.Errorf("completing --action: %q", r.stdout)
	}
	if r := e.as(e.key, "__complete", "customers", "update", id, ""); r.stdout != ":4\n" {
		t.Errorf("completing after the customer id: %q", r.stdout)
	}
}

// -o json prints what the API answers: the same fields, names, order and
// values as the route's own body (inside {"result": …} for the OEM routes).
func TestCLIJSONIsTheAPIAnswer(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	mustAdmin(t, e.db, "set-partner", "1")
	key := createIntegration(t, e.db, "everything", "30d", "account:app:rw", "account:keyset:rw", "account:secret-key:read",
		"account:oem-customer:rw", "account:audit-log:read")
	app := str(t, decode(t, outputJSON, e.okAs(key, "apps", "create", "a", "-o", "json")), "id")
	ks := str(t, obj(t, decode(t, outputJSON, e.okAs(key, "keysets", "create", "--app", app, "-o", "json"))["keyset"]), "id")
	cu := str(t, decode(t, outputJSON, e.okAs(key, "customers", "create", "--external-id", "acme", "--name", "Acme", "--keyset", ks, "-o", "json")), "id")
	e.okAs(key, "me") // the key's last use is written now, so both reads below see the same

	// unwrap takes the API's body apart as the CLI prints it: the value of
	// {"result": …}, or a list of it under name.
	unwrap := func(name string) func([]byte) any {
		return func(b []byte) any {
			var v struct{ Result json.RawMessage }
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if name == "" {
				return v.Result
			}
			return map[string]json.RawMessage{name: v.Result}
		}
	}
	for _, tc := range []struct {
		args         []string
		method, path string
		body         string
		api          func([]byte) any // the API's body as the CLI prints it; nil: as it is
	}{
		{[]string{"me"}, "GET", "/v2/me", "", nil},
		{[]string{"authz", "check", "--method", "PATCH", "--path", "/v2/keysets/" + ks + "/config"}, "POST", "/v2/authz/check",
			`{"method":"PATCH","path":"/v2/keysets/` + ks + `/config"}`, nil},
		{[]string{"audit", "list"}, "GET", "/v2/audit-events?limit=100", "", nil},
		{[]string{"audit", "list", "--limit", "2"}, "GET", "/v2/audit-events?limit=2", "", nil},
		{[]string{"customers", "get", cu}, "GET", "/v2/oem/customers/" + cu, "", unwrap("")},
		{[]string{"customers", "of-keyset", ks}, "GET", "/v2/oem/keysets/" + ks + "/customer", "", unwrap("")},
		{[]string{"customers", "apps", cu}, "GET", "/v2/oem/customers/" + cu + "/applications", "", unwrap("apps")},
		{[]string{"customers", "keysets", cu}, "GET", "/v2/oem/keysets?customerId=" + cu, "", unwrap("keysets")},
	} {
		out := e.okAs(key, append(tc.args, "-o", "json")...).stdout
		b := mustCall(t, e.srv.URL, tc.method, tc.path, key, tc.body, 200)
		var want any = json.RawMessage(b)
		if tc.api != nil {
			want = tc.api(b)
		}
		w, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(w)+"\n", out); diff != "" {
			t.Errorf("keyplane %q -o json differs from %s %s (-api +cli):\n%s", tc.args, tc.method, tc.path, diff)
		}
	}
}
