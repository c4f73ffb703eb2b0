package keyplane

import (
	"strings"
	"testing"
)

// Names that could pass for another in a list are refused, naming the
// field and the character: only invisible characters, or a bidirectional
// override that reverses what follows.
func TestValidateName(t *testing.T) {
	for _, c := range []struct {
		name, want string
	}{
		{"Telemedicine", ""},
		{"prod ✓ 東京", ""},
		{"   ", "name: required, and not only spaces"},
		{"\u200b", "name: must not contain invisible or text-direction characters (U+200B)"},
		{"\u200b\u200c\u2060", "(U+200B)"},
		{"prod\u202Etset", "(U+202E)"},
		{"a\u2066b\u2069", "(U+2066)"},
		{"\ufeffapp", "(U+FEFF)"},
		{"soft\u00adhyphen", "(U+00AD)"},
		{"line\u2028sep", "(U+2028)"},
		{"para\u2029sep", "(U+2029)"},
		{"tab\tname", "name: must not contain control characters"},
		{strings.Repeat("a", 256), "name: at most 255 characters"},
	} {
		got := ValidateName("name", c.name)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("ValidateName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}
