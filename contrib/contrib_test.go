// Package contrib_test checks the secret-scanning rules shipped in contrib/
// against real keys.
package contrib_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/keyplane/keyplane"
)

// The gitleaks rule finds every key Keyplane makes, in text, and only the
// key; it leaves look-alikes of other lengths alone.
func TestGitleaksRuleMatchesKeys(t *testing.T) {
	conf, err := os.ReadFile("gitleaks.toml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^regex = '''(.+)'''$`).FindSubmatch(conf)
	if m == nil {
		t.Fatal("no regex = '''…''' line in gitleaks.toml")
	}
	rule := regexp.MustCompile(string(m[1]))
	for range 200 {
		key, err := keyplane.NewAPIKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		text := "export KEYPLANE_API_KEY=" + key + "\n"
		got := rule.FindStringSubmatch(text)
		if got == nil || got[1] != key {
			t.Fatalf("the rule does not find %.11s… in %q: %q", key, text, got)
		}
	}
	body49 := "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4Y"
	for _, s := range []string{"si_short", "xsi_" + body49, "si_" + body49 + "Z"} {
		if rule.MatchString(s) {
			t.Errorf("the rule matches %q", s)
		}
	}
}
