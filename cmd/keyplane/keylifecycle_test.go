package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The key lifecycle's admin commands on a running server: roll-key prints
// the new key alone and both keys work during the overlap; suspension and
// networks take effect at the next request; list-integrations shows the
// state, the networks and where a key was last used from.
func TestKeyLifecycleCommands(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "k.db")
	out, _ := mustAdmin(t, db, "create-integration", "--name", "CI", "--expires-in", "30d", "--grant", "account:app:read",
		"--allow-cidr", "127.0.0.0/8", "--allow-cidr", "2001:db8::/32")
	old := strings.TrimSpace(out)
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	mustCall(t, s.URL, "GET", "/v2/apps", old, "", http.StatusOK)

	ins := listIntegrations(t, db)
	if len(ins) != 1 || ins[0].Networks != "127.0.0.0/8,2001:db8::/32" || ins[0].State != "active" {
		t.Fatalf("list-integrations: %+v", ins)
	}
	if k := ins[0].Keys[0]; k.From != "127.0.0.1" || !strings.HasPrefix(k.Agent, "Go-http-client/") || k.State != "active" {
		t.Errorf("the key's last use: %+v, want from 127.0.0.1 by Go's HTTP client", k)
	}

	// roll-key: the new key alone on stdout; both work for the overlap.
	out, stderr := mustAdmin(t, db, "roll-key", "1", "--overlap", "2h")
	if !keyLine.MatchString(out) {
		t.Fatalf("roll-key stdout = %q, want exactly a key", out)
	}
	if !strings.Contains(stderr, "rolled API key 1") || strings.Contains(stderr, "si_") && strings.Contains(stderr, strings.TrimSpace(out)) {
		t.Errorf("roll-key stderr: %q", stderr)
	}
	nk := strings.TrimSpace(out)
	for _, k := range []string{old, nk} {
		mustCall(t, s.URL, "GET", "/v2/apps", k, "", http.StatusOK)
	}
	if k := findKey(t, listIntegrations(t, db), 1); k.State != "rolled" {
		t.Errorf("the rolled key is listed %q, want rolled", k.State)
	}
	// Rolling the rolled key again is a conflict (exit 1), naming its successor.
	_, _, err := runAdmin(t, db, "roll-key", old)
	if exitCode(err) != exitError || !strings.Contains(errText(err), "roll key 2 instead") {
		t.Errorf("rolling a rolled key: exit %d, %v", exitCode(err), err)
	}

	// Suspension: 403 at the next request, back on resume.
	mustAdmin(t, db, "suspend-integration", "1")
	b := mustCall(t, s.URL, "GET", "/v2/apps", nk, "", http.StatusForbidden)
	if !strings.Contains(string(b), "integration suspended") {
		t.Errorf("a suspended integration's key: %s", b)
	}
	if ins := listIntegrations(t, db); ins[0].State != "suspended" {
		t.Errorf("listed as %q, want suspended", ins[0].State)
	}
	mustAdmin(t, db, "resume-integration", "1")
	mustCall(t, s.URL, "GET", "/v2/apps", nk, "", http.StatusOK)

	// Networks: a network without 127.0.0.1 refuses the test's requests,
	// naming the address; --anywhere lets them through again.
	mustAdmin(t, db, "set-integration-networks", "1", "--allow-cidr", "203.0.113.0/24")
	b = mustCall(t, s.URL, "GET", "/v2/apps", nk, "", http.StatusForbidden)
	if !strings.Contains(string(b), "this integration's keys are not allowed from 127.0.0.1") {
		t.Errorf("a key from outside its networks: %s", b)
	}
	mustAdmin(t, db, "set-integration-networks", "1", "--anywhere")
	mustCall(t, s.URL, "GET", "/v2/apps", nk, "", http.StatusOK)

	// The policy: shown, set, and enforced on create-key and roll-key.
	out, _ = mustAdmin(t, db, "set-account-policy", "1")
	if out != "account 1 key policy: max-key-lifetime none, notice-days 14,3,1\naccount 1 does not require two factors\n" {
		t.Errorf("the default policy reads %q", out)
	}
	out, _ = mustAdmin(t, db, "set-account-policy", "1", "--max-key-lifetime", "90d", "--notice-days", "7,1")
	if out != "set account 1 key policy: max-key-lifetime 90d, notice-days 7,1\naccount 1 does not require two factors\n" {
		t.Errorf("setting the policy: %q", out)
	}
	_, _, err = runAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "100d")
	if exitCode(err) != exitUsage || !strings.Contains(errText(err), "at most 90d") {
		t.Errorf("a key past the policy: exit %d, %v", exitCode(err), err)
	}

	// Mistakes in the command line exit 2; what is not there, 3.
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"roll-key", "2", "--overlap", "soon"}, exitUsage, `--overlap "soon"`},
		{[]string{"roll-key", "2", "--overlap", "31d"}, exitUsage, "overlap: from 0"},
		{[]string{"roll-key", "99"}, exitNotFound, "not found"},
		{[]string{"suspend-integration", "x"}, exitUsage, "want an integration id"},
		{[]string{"suspend-integration", "99"}, exitNotFound, "integration 99: not found"},
		{[]string{"set-integration-networks", "1"}, exitUsage, "--allow-cidr"},
		{[]string{"set-integration-networks", "1", "--allow-cidr", "10.1.2.3/8"}, exitUsage, "did you mean 10.0.0.0/8"},
		{[]string{"set-account-policy", "1", "--max-key-lifetime", "1h"}, exitUsage, "maxKeyLifetime"},
		{[]string{"set-account-policy", "9"}, exitNotFound, "account 9"},
		{[]string{"create-integration", "--name", "x", "--grant", "account:app:read", "--expires-in", "1d", "--allow-cidr", "nope"}, exitUsage, "not an IPv4 or IPv6 network"},
	} {
		_, _, err := runAdmin(t, db, c.args[0], c.args[1:]...)
		if exitCode(err) != c.code || !strings.Contains(errText(err), c.msg) {
			t.Errorf("admin %q: exit %d, %v; want %d with %q", c.args, exitCode(err), err, c.code, c.msg)
		}
	}
}

// errText is err's message, "" for none.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
