package main

import (
	"strings"
	"testing"
)

// keyPolicy is what set-account-policy prints first, of the key policy.
const keyPolicy = "account 1 key policy: max-key-lifetime none, notice-days 14,3,1\n"

// set-account-policy sets the sign-in policy and says what it is now (and
// whether it changed), is audited as the operator's, and refuses an
// account that is not there.
func TestSetAccountSignInPolicy(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"1", "--require-two-factors"}, keyPolicy + "account 1 now requires two factors\n"},
		{[]string{"1", "--require-two-factors=true"}, keyPolicy + "account 1 requires two factors\n"},
		{[]string{"1"}, keyPolicy + "account 1 requires two factors\n"},
		{[]string{"1", "--require-two-factors=false"}, keyPolicy + "account 1 now does not require two factors\n"},
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

// set-account-policy sets the account's session limits, refusing what is
// out of range with the field's name, and keeps the other limit as it was.
func TestSetAccountSessionLimits(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	out, _ := mustAdmin(t, db, "set-account-policy", "1", "--session-idle-timeout", "30m", "--session-lifetime", "8h")
	if !strings.Contains(out, "account 1 sessions: idle timeout 30m, lifetime 8h\n") {
		t.Errorf("setting the limits printed %q", out)
	}
	out, _ = mustAdmin(t, db, "set-account-policy", "1", "--session-lifetime", "0")
	if !strings.Contains(out, "account 1 sessions: idle timeout 30m, lifetime 12h\n") {
		t.Errorf("clearing the lifetime printed %q", out)
	}
	_, _, err := runAdmin(t, db, "set-account-policy", "1", "--session-idle-timeout", "1m")
	if code := exitCode(err); code != exitUsage || !strings.Contains(errText(err), "sessionIdleTimeout: whole minutes from 5m to 12h") {
		t.Errorf("a 1-minute idle timeout: exit %d, %v", code, err)
	}
}
