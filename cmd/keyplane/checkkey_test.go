package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
)

// check-key tells a real key from a typo offline, from an argument or from
// standard input, and never prints a whole key.
func TestCheckKey(t *testing.T) {
	t.Parallel()
	good, err := keyplane.NewAPIKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	last := map[bool]string{true: "B", false: "A"}[good[len(good)-1] == 'A']
	typo := good[:len(good)-1] + last
	check := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"admin", "check-key"}, args...), getenvFrom(nil), strings.NewReader(stdin), &out, &errb)
		for _, k := range []string{good, typo} {
			if strings.Contains(out.String()+errb.String(), k) {
				t.Errorf("check-key printed a whole key: %q", out.String())
			}
		}
		return out.String(), err
	}
	if out, err := check("", good); err != nil || out != "well-formed "+good[:11]+"…\n" {
		t.Errorf("a good key: %q, %v", out, err)
	}
	out, err := check(good + "\n\n" + typo + "\nsk_live_123\n")
	if err == nil || err.Error() != "2 of 3 keys malformed" {
		t.Errorf("stdin: err %v", err)
	}
	want := "well-formed " + good[:11] + "…\n" +
		"malformed " + typo[:11] + "…: API key checksum does not match (mistyped or truncated key)\n" +
		"malformed sk_live_123…: not a Keyplane API key (si_…)\n"
	if out != want {
		t.Errorf("stdin: printed\n%s\nwant\n%s", out, want)
	}
	if _, err := check(""); err == nil || !strings.Contains(err.Error(), "no key given") {
		t.Errorf("no key: %v", err)
	}
	if _, err := check("", "--database", "x.db", good); err == nil || !strings.Contains(err.Error(), "--database does not apply") {
		t.Errorf("--database: %v", err)
	}
}
