package main

import (
	"strings"
	"testing"
)

// set-account-policy says what it set (or that it already was so), is
// audited as the operator's, and refuses a command that says nothing or
// names no account there.
func TestSetAccountPolicy(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"1", "--require-two-factors"}, "account 1 now requires two factors\n"},
		{[]string{"1", "--require-two-factors=true"}, "account 1 already requires two factors\n"},
		{[]string{"1", "--require-two-factors=false"}, "account 1 now does not require two factors\n"},
	} {
		if out, _ := mustAdmin(t, db, "set-account-policy", tc.args...); out != tc.out {
			t.Errorf("%q printed %q, want %q", tc.args, out, tc.out)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"1"}, exitUsage, "--require-two-factors=true or --require-two-factors=false"},
		{[]string{"99", "--require-two-factors"}, exitNotFound, "account 99: not found"},
	} {
		out, _, err := runAdmin(t, db, "set-account-policy", tc.args...)
		if code := exitCode(err); code != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%q: exit %d, %v, stdout %q; want exit %d saying %q", tc.args, code, err, out, tc.code, tc.want)
		}
	}
	out, _ := mustAdmin(t, db, "export-audit")
	if strings.Count(out, `"SignInPolicyChanged"`) != 2 {
		t.Errorf("audit: %s", out)
	}
}
