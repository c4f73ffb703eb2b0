package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// operatorKeyLine is one line of list-operator-keys: id, prefix, creation,
// expiry, state, last use or -, name.
var operatorKeyLine = regexp.MustCompile(`^(\d+)\t(kpop_[0-9A-Za-z]{8})…\t\S+Z\t\S+Z\t(active|revoked|expired)\t(-|\S+Z)\t(.+)$`)

// The operator key commands: create-operator-key prints the key alone,
// which then works on /operator (and not on /v2) of a server already
// running; list-operator-keys shows it; revoke-operator-key (by key or id)
// stops it from the next request; mistakes exit as the CLI's table says;
// both changes are audited as the operator on the install's own chain,
// which verify-audit walks.
func TestOperatorKeyCommands(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	out, errOut := mustAdmin(t, db, "create-operator-key", "--name", "provisioning", "--expires-in", "30d")
	if !regexp.MustCompile(`^kpop_[0-9A-Za-z]{49}\n$`).MatchString(out) {
		t.Fatalf("create-operator-key stdout %q, want the key alone", out)
	}
	key := strings.TrimSpace(out)
	if !strings.Contains(errOut, "created operator key 1 (provisioning)") || strings.Contains(errOut, key) {
		t.Errorf("create-operator-key stderr %q", errOut)
	}
	b := mustCall(t, s.URL, "POST", "/operator/v1/accounts", "Bearer "+key, `{"name":"Acme"}`, http.StatusCreated)
	if !strings.Contains(string(b), `"name":"Acme"`) {
		t.Errorf("POST /operator/v1/accounts: %s", b)
	}
	mustCall(t, s.URL, "GET", "/v2/apps", key, "", http.StatusUnauthorized)

	out, _ = mustAdmin(t, db, "list-operator-keys")
	m := operatorKeyLine.FindStringSubmatch(strings.TrimSuffix(out, "\n"))
	if m == nil || m[1] != "1" || m[2] != key[:13] || m[3] != "active" || m[4] == "-" || m[5] != "provisioning" {
		t.Errorf("list-operator-keys %q", out)
	}
	if strings.Contains(out, key) {
		t.Errorf("list-operator-keys shows the whole key")
	}

	if out, _ := mustAdmin(t, db, "revoke-operator-key", key); out != "revoked operator key 1 ("+key[:13]+"…, provisioning)\n" {
		t.Errorf("revoke-operator-key printed %q", out)
	}
	mustCall(t, s.URL, "GET", "/operator/v1/accounts", "Bearer "+key, "", http.StatusUnauthorized)
	if out, _ := mustAdmin(t, db, "revoke-operator-key", "1"); !strings.HasPrefix(out, "operator key 1 ("+key[:13]+"…) was already revoked at ") {
		t.Errorf("revoke-operator-key again printed %q", out)
	}
	out, _ = mustAdmin(t, db, "list-operator-keys")
	if m := operatorKeyLine.FindStringSubmatch(strings.TrimSuffix(out, "\n")); m == nil || m[3] != "revoked" {
		t.Errorf("list-operator-keys after revoking %q", out)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"revoke-operator-key", "99"}, exitNotFound, "operator key: not found"},
		{[]string{"revoke-operator-key", "x"}, exitUsage, "numeric id or the whole key"},
		{[]string{"revoke-operator-key", key[:len(key)-1] + "!"}, exitUsage, "not a Keyplane operator key"},
		{[]string{"revoke-operator-key"}, exitUsage, "accepts 1 arg"},
		{[]string{"create-operator-key", "--name", "x", "--expires-in", "2y"}, exitUsage, "at most one year"},
		{[]string{"create-operator-key", "--name", " ", "--expires-in", "1d"}, exitUsage, "name: required"},
		{[]string{"create-operator-key", "--name", "x"}, exitError, `"expires-in" not set`},
		{[]string{"list-operator-keys", "extra"}, exitUsage, "unknown command"},
	} {
		out, _, err := runAdmin(t, db, tc.args[0], tc.args[1:]...)
		if code := exitCode(err); code != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%q: exit %d, %v, stdout %q; want exit %d saying %q", tc.args, code, err, out, tc.code, tc.want)
		}
	}

	// Audited as the operator, under account 0: the install's chain.
	out, _ = mustAdmin(t, db, "export-audit", "--all")
	var events []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct {
			AccountID string `json:"accountId"`
			Type      string
			Actor     struct{ Type, Name string }
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("export-audit line %q: %v", l, err)
		}
		if strings.HasPrefix(e.Type, "OperatorKey") || e.AccountID == "2" {
			events = append(events, e.AccountID+" "+e.Type+" "+e.Actor.Name)
		}
	}
	want := "0 OperatorKeyCreated keyplane admin, 2 AccountCreated operator key provisioning, 0 OperatorKeyRevoked keyplane admin"
	if strings.Join(events, ", ") != want {
		t.Errorf("audit events %q, want %q", events, want)
	}
	if out, _ := mustAdmin(t, db, "verify-audit"); !strings.Contains(out, "account 0: audit chain intact: 2 events") {
		t.Errorf("verify-audit %q", out)
	}
}
