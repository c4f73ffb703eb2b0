package declare

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// goTypeName matches what a Go type name looks like in a message.
var goTypeName = regexp.MustCompile(`declare\.|map\[|\[\]|interface \{|json\.RawMessage|!!`)

func TestParse(t *testing.T) {
	f, err := Parse(strings.NewReader("apps:\n  - name: A\n    keysets:\n      - name: k\n        config: {presence: {announceMax: 50}}\n      - name: p\n        type: production\n"))
	if err != nil {
		t.Fatal(err)
	}
	k := f.Apps[0].Keysets
	if k[0].Type != "" || k[1].Type != "production" {
		t.Errorf("types = %q, %q; want none (not managed), then production", k[0].Type, k[1].Type)
	}
	// Numbers come out as the API's JSON numbers, so they compare alike.
	if v := k[0].Config["presence"].(map[string]any)["announceMax"]; v != 50.0 {
		t.Errorf("announceMax = %#v, want float64 50", v)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "the file is empty"},
		{"apps: []\n---\napps: []\n", "more than one YAML document"},
		{"apps: [\n", "not YAML: line 1"},
		// Mistakes of shape name the line and the place in the file, in
		// the file's terms, never the Go types it decodes into.
		{"apps: {name: A}", "line 1: apps: want a list of apps, not a mapping"},
		{"apps:\n  - Telemedicine\n", `line 2: apps[0]: want an app (a mapping with name and keysets, e.g. - name: Telemedicine), not the text "Telemedicine"`},
		{"apps: 3\n", "line 1: apps: want a list of apps, not the number 3"},
		{"apps:\n  - name: A\n    keysets: [{name: k, config: [1]}]\n", "line 3: apps[0].keysets[0].config: want a keyset configuration (a mapping such as presence: {announceMax: 50}), not a list"},
		{"apps:\n  - name: [A]\n", "line 2: apps[0].name: want an app name, not a list"},
		{"customers:\n  - externalId: x\n    name: X\n    keysets: [app/k]\n", `line 4: customers[0].keysets[0]: want a keyset reference ({app: NAME, keyset: NAME}), not the text "app/k"`},
		{"version: 2\napps: []\n", "line 1: version: unknown field; a declaration has apps and customers"},
		{"apps:\n  - name: A\n    colour: red\n", "line 3: apps[0].colour: unknown field; an app has name and keysets"},
		{"apps:\n  - name: A\n    name: B\n", "line 3: apps[0].name: given twice (first at line 2)"},
		{"apps:\n  - name: A\n    keysets: [{name: k, config: {presence: {a: 1, a: 2}}}]\n", `line 3: mapping key "a" already defined at line 3`},
		{"apps:\n  - name: A\n  - name: A\n", `apps[1].name: app "A" is declared twice`},
		{"apps:\n  - keysets: [{type: testing}]\n", "apps[0].name: required\napps[0].keysets[0].name: required"},
	} {
		_, err := Parse(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", tc.in, err, tc.want)
		}
		if err != nil && goTypeName.MatchString(err.Error()) {
			t.Errorf("Parse(%q) = %v: names a Go type", tc.in, err)
		}
	}
}

func TestDiff(t *testing.T) {
	current := map[string]any{
		"presence":           map[string]any{"announceMax": 20.0, "activeNoticeChannel": nil, "enabled": true},
		"messagePersistence": map[string]any{"enabled": false, "retention": nil},
	}
	var fields []Field
	patch := diff("config", map[string]any{
		"presence":           map[string]any{"announceMax": 50.0, "activeNoticeChannel": nil, "enabled": true},
		"messagePersistence": map[string]any{"enabled": true, "retention": 7.0},
		"newSection":         map[string]any{"x": 1.0},
	}, current, &fields)
	want := "config.messagePersistence.enabled false→true config.messagePersistence.retention <nil>→7 config.newSection.x <nil>→1 config.presence.announceMax 20→50"
	var got []string
	for _, f := range fields {
		got = append(got, f.Field+" "+fmt.Sprint(f.From)+"→"+fmt.Sprint(f.To))
	}
	if strings.Join(got, " ") != want {
		t.Errorf("fields = %s\nwant     %s", strings.Join(got, " "), want)
	}
	if p := patch["presence"].(map[string]any); len(p) != 1 || p["announceMax"] != 50.0 {
		t.Errorf("patch = %v: want only the changed settings", patch)
	}
	if fields = nil; diff("config", map[string]any{"presence": map[string]any{"announceMax": 20.0}}, current, &fields) != nil || fields != nil {
		t.Errorf("diff of equal settings = %v", fields)
	}
}
