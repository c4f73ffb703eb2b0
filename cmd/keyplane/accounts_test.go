package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// accountLine is one line of list-accounts: id, partner flag, creation
// time, state, name.
var accountLine = regexp.MustCompile(`^(\d+)\t(partner|-)\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(enabled|disabled)\t(.+)$`)

// listAccounts runs list-accounts and returns id → "state name".
func listAccounts(t *testing.T, db string) map[string]string {
	t.Helper()
	out, _ := mustAdmin(t, db, "list-accounts")
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := accountLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("list-accounts line %q", l)
		}
		got[m[1]] = m[3] + " " + m[4]
	}
	return got
}

// The account commands: create-account prints the id alone, each change
// says what it did (or that nothing changed), list-accounts shows names and
// states, every change is audited as the operator's, and mistakes exit as
// the CLI's table says: 2 for a command that cannot work, 3 for an account
// that is not there.
func TestAccountCommands(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	out, errOut := mustAdmin(t, db, "create-account", "--name", "Acme Inc")
	if out != "2\n" {
		t.Fatalf("create-account stdout %q, want the id alone", out)
	}
	if !strings.Contains(errOut, "created account 2 (Acme Inc)") {
		t.Errorf("create-account stderr %q", errOut)
	}
	if got := listAccounts(t, db); len(got) != 2 || got["1"] != "enabled Default account" || got["2"] != "enabled Acme Inc" {
		t.Errorf("list-accounts: %q", got)
	}
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"rename-account", "2", "--name", "Acme Corp"}, "account 2 is now named Acme Corp\n"},
		{[]string{"rename-account", "2", "--name", "Acme Corp"}, "account 2 was already named Acme Corp\n"},
		{[]string{"disable-account", "2"}, "account 2 is now disabled\n"},
		{[]string{"disable-account", "2"}, "account 2 was already disabled\n"},
	} {
		if out, _ := mustAdmin(t, db, tc.args[0], tc.args[1:]...); out != tc.out {
			t.Errorf("%q printed %q, want %q", tc.args, out, tc.out)
		}
	}
	if got := listAccounts(t, db); got["1"] != "enabled Default account" || got["2"] != "disabled Acme Corp" {
		t.Errorf("list-accounts after disable: %q", got)
	}
	if out, _ := mustAdmin(t, db, "enable-account", "2"); out != "account 2 is now enabled\n" {
		t.Errorf("enable-account printed %q", out)
	}
	if out, _ := mustAdmin(t, db, "enable-account", "2"); out != "account 2 was already enabled\n" {
		t.Errorf("enable-account again printed %q", out)
	}
	if got := listAccounts(t, db); got["2"] != "enabled Acme Corp" {
		t.Errorf("list-accounts after enable: %q", got)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rename-account", "99", "--name", "X"}, exitNotFound, "account 99: not found"},
		{[]string{"disable-account", "99"}, exitNotFound, "account 99: not found"},
		{[]string{"enable-account", "99"}, exitNotFound, "account 99: not found"},
		{[]string{"disable-account", "x"}, exitUsage, `ACCOUNT "x": want an account id`},
		{[]string{"enable-account", "0"}, exitUsage, `ACCOUNT "0": want an account id`},
		{[]string{"disable-account"}, exitUsage, "accepts 1 arg"},
		// A missing required flag exits 1, as for every admin command
		// (cobra's own check, made after flag parsing).
		{[]string{"rename-account", "2"}, exitError, `"name" not set`},
		{[]string{"rename-account", "2", "--name", " "}, exitUsage, "name: required"},
		{[]string{"create-account"}, exitError, `"name" not set`},
		{[]string{"create-account", "--name", "a\u202eb"}, exitUsage, "name: must not contain invisible"},
		{[]string{"create-account", "--name", "X", "extra"}, exitUsage, "unknown command"},
	} {
		out, _, err := runAdmin(t, db, tc.args[0], tc.args[1:]...)
		if code := exitCode(err); code != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%q: exit %d, %v, stdout %q; want exit %d saying %q", tc.args, code, err, out, tc.code, tc.want)
		}
	}
	if got := listAccounts(t, db); len(got) != 2 {
		t.Errorf("refused commands made accounts: %q", got)
	}

	// Audited, as the operator, each in the account it changed.
	out, _ = mustAdmin(t, db, "export-audit", "--all")
	var events []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct {
			AccountID string `json:"accountId"`
			Type      string
			Actor     struct{ Type string }
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("export-audit line %q: %v", l, err)
		}
		events = append(events, e.AccountID+" "+e.Type+" "+e.Actor.Type)
	}
	want := "2 AccountCreated operator, 2 AccountRenamed operator, 2 AccountDisabled operator, 2 AccountEnabled operator"
	if strings.Join(events, ", ") != want {
		t.Errorf("audit events %q, want %q", events, want)
	}
}

// A disabled account's key gets 403 naming the reason, on /v2 and /mcp,
// from a server already running when the command is run beside it; another
// account's key is untouched; enabling makes the key work again.
func TestDisabledAccountKeyIsRefused(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	mustAdmin(t, db, "create-account", "--name", "Acme")
	key2, _ := mustAdmin(t, db, "create-integration", "--account", "2", "--name", "CI", "--expires-in", "30d", "--grant", "account:app:read")
	key2 = strings.TrimSpace(key2)
	key1 := createIntegration(t, db, "CI", "30d", "account:app:read")
	mustCall(t, s.URL, "GET", "/v2/apps", key2, "", http.StatusOK)

	mustAdmin(t, db, "disable-account", "2")
	b := mustCall(t, s.URL, "GET", "/v2/apps", key2, "", http.StatusForbidden)
	var body struct {
		StatusCode int      `json:"statusCode"`
		Error      string   `json:"error"`
		Message    []string `json:"message"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Error != "Forbidden" || len(body.Message) != 1 || !strings.HasPrefix(body.Message[0], "account 2 is disabled") {
		t.Errorf("a disabled account's key: %s, want a Forbidden naming the reason", b)
	}
	status, b := mcpCall(t, s.URL, key2)
	if status != http.StatusForbidden || !strings.Contains(string(b), "account 2 is disabled") {
		t.Errorf("/mcp with a disabled account's key: %d %s, want 403 naming the reason", status, b)
	}
	mustCall(t, s.URL, "GET", "/v2/apps", key1, "", http.StatusOK)

	mustAdmin(t, db, "enable-account", "2")
	mustCall(t, s.URL, "GET", "/v2/apps", key2, "", http.StatusOK)
	if status, b := mcpCall(t, s.URL, key2); status != http.StatusOK {
		t.Errorf("/mcp after enabling: %d %s", status, b)
	}
}

// mcpCall lists the tools of /mcp with key, returning the status and body.
func mcpCall(t *testing.T, base, key string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res.StatusCode, []byte(b.String())
}
