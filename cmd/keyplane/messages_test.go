package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command that only holds others refuses an unknown subcommand with
// exit 2 and a message naming it, as the README promises: a typo in a
// script (keyplane admin frobnicate-integration 3) must fail, not print help
// and exit 0.
func TestUnknownSubcommandOfEveryGroup(t *testing.T) {
	var groups []string
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.HasSubCommands() {
			groups = append(groups, cmd.CommandPath())
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	root := rootCommand(getenvFrom(nil), &strings.Builder{}, &strings.Builder{})
	walk(root)
	for _, want := range []string{"keyplane admin", "keyplane apps", "keyplane keysets", "keyplane config", "keyplane secret-keys",
		"keyplane customers", "keyplane usage", "keyplane audit", "keyplane authz", "keyplane webhooks", "keyplane completion"} {
		found := false
		for _, g := range groups {
			found = found || g == want
		}
		if !found {
			t.Errorf("%s is not among the command groups %q", want, groups)
		}
	}
	for _, g := range groups {
		args := append(strings.Fields(g)[1:], "frobnicate-integration", "3")
		out, errOut, err := runKeyplane(t, nil, args...)
		if code := exitCode(err); code != exitUsage {
			t.Errorf("keyplane %s: exit %d, want %d (stdout %q)", strings.Join(args, " "), code, exitUsage, out)
		}
		var msg strings.Builder
		report(&msg, err)
		if want := `unknown command "frobnicate-integration" for "` + g + `"`; !strings.Contains(msg.String(), want) {
			t.Errorf("keyplane %s: %q, want it to say %s", strings.Join(args, " "), msg.String(), want)
		}
		if out != "" || errOut != "" {
			t.Errorf("keyplane %s printed %q %q before refusing", strings.Join(args, " "), out, errOut)
		}
	}
	// Alone, a group still shows its help.
	if out, _, err := runKeyplane(t, nil, "admin"); err != nil || !strings.Contains(out, "create-integration") {
		t.Errorf("keyplane admin: %v, %q", err, out)
	}
}

// serve --addr with a port alone says what to write instead of Go's
// "missing port in address", and starts nothing.
func TestServeAddrWithoutPort(t *testing.T) {
	for addr, want := range map[string]string{
		"18102":     `--addr "18102" (or KEYPLANE_ADDR): a port alone is not an address; write 127.0.0.1:18102 (this machine only) or :18102 (every interface)`,
		"localhost": `--addr "localhost" (or KEYPLANE_ADDR): no port; write HOST:PORT such as localhost:8080`,
		"::1":       `--addr "::1" (or KEYPLANE_ADDR): no port; write HOST:PORT such as [::1]:8080`,
	} {
		_, _, err := runKeyplane(t, nil, "serve", "--addr", addr, "--database", newDB(t))
		if exitCode(err) != exitUsage || err == nil || err.Error() != want {
			t.Errorf("serve --addr %s: exit %d, %v; want exit 2, %s", addr, exitCode(err), err, want)
		}
	}
}

// The documented minimum lifetime of a key, 1m, works; less is refused
// before the database is opened.
func TestCreateIntegrationMinimumLifetime(t *testing.T) {
	db := newDB(t)
	createIntegration(t, db, "short-lived", "1m", "account:app:read")
	_, _, err := runAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "1m")
	if err != nil {
		t.Errorf("create-key --expires-in 1m: %v", err)
	}
	_, _, err = runAdmin(t, db, "create-integration", "--name", "x", "--grant", "account:app:read", "--expires-in", "59s")
	if err == nil || !strings.Contains(err.Error(), "at least one minute (1m)") {
		t.Errorf("--expires-in 59s: %v", err)
	}
}

// A patch that is not a JSON object is described in a person's words,
// never with a Go type (map[string]json.RawMessage).
func TestPatchMessages(t *testing.T) {
	for patch, want := range map[string]string{
		`[1]`:             "the patch is not a JSON object: it is a list",
		`"x"`:             "the patch is not a JSON object: it is a string",
		`null`:            "the patch is not a JSON object: it is null",
		`{"a":`:           "the patch is not a JSON object: the JSON ends too soon",
		"{\n  \"a\": x}":  "the patch is not a JSON object: invalid JSON at line 2, column 8",
		`{"a":1} {"b":2}`: "the patch is not a JSON object: more follows the first JSON value",
	} {
		_, _, err := runKeyplane(t, map[string]string{"KEYPLANE_API_KEY": "si_x"}, "config", "set", "1", patch)
		if exitCode(err) != exitUsage || err == nil || !strings.HasPrefix(err.Error(), want+" (want one such as {") {
			t.Errorf("config set %q: %v, want %q", patch, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "map[") {
			t.Errorf("config set %q names a Go type: %v", patch, err)
		}
	}
}
