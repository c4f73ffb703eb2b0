package keyplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type decodeInner struct {
	Enabled bool    `json:"enabled"`
	Ratio   float64 `json:"ratio"`
}

type decodeEmbedded struct {
	Extra string `json:"extra"`
	Name  int    `json:"name"` // shadowed by decodeBody.Name
}

// decodeCode decodes itself from text, refusing with an *Error.
type decodeCode string

func (c *decodeCode) UnmarshalText(b []byte) error {
	if s := string(b); s != "a" && s != "b" {
		return Invalid("must be a or b")
	}
	*c = decodeCode(b)
	return nil
}

type decodeBody struct {
	decodeEmbedded
	Name    string         `json:"name"`
	Count   int            `json:"count"`
	Small   int8           `json:"small"`
	Size    uint           `json:"size"`
	Note    *string        `json:"note"`
	Inner   decodeInner    `json:"inner"`
	Section *decodeInner   `json:"section"`
	List    []decodeInner  `json:"list"`
	Tags    map[string]int `json:"tags"`
	Any     any            `json:"any"`
	Opt     Opt[int]       `json:"opt"`
	When    *time.Time     `json:"when"`
	Code    decodeCode     `json:"code"`
	Quoted  int            `json:"quoted,string"`
	Hidden  string         `json:"-"`
	//lint:ignore U1000 the field is there to show that DecodeJSON leaves unexported fields alone
	private string
}

func TestDecodeJSONAccepts(t *testing.T) {
	body := `{
		"name": "x", "count": -3, "small": 127, "size": 7, "note": null,
		"inner": {"enabled": true, "ratio": 1.5e3},
		"section": {"enabled": false},
		"list": [{"enabled": true}, {}],
		"tags": {"a": 1},
		"any": {"whatever": [1, "two"]},
		"opt": null,
		"when": "2026-11-23T10:00:00.000Z",
		"code": "b",
		"quoted": "12",
		"extra": "promoted"
	}`
	var got decodeBody
	if err := DecodeJSON([]byte(body), &got); err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	when := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	want := decodeBody{
		decodeEmbedded: decodeEmbedded{Extra: "promoted"},
		Name:           "x", Count: -3, Small: 127, Size: 7,
		Inner:   decodeInner{Enabled: true, Ratio: 1500},
		Section: &decodeInner{},
		List:    []decodeInner{{Enabled: true}, {}},
		Tags:    map[string]int{"a": 1},
		Any:     map[string]any{"whatever": []any{1.0, "two"}},
		Opt:     Opt[int]{Set: true, Null: true},
		When:    &when,
		Code:    "b",
		Quoted:  12,
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(decodeBody{})); diff != "" {
		t.Errorf("decoded value (-want +got):\n%s", diff)
	}
}

func TestDecodeJSONRefuses(t *testing.T) {
	long := strings.Repeat("x", 100)
	var many []string
	for i := range 25 {
		many = append(many, fmt.Sprintf(`"u%d":1`, i))
	}
	manyWant := []string{}
	for i := range 20 {
		manyWant = append(manyWant, fmt.Sprintf("u%d: unknown field", i))
	}
	manyWant = append(manyWant, "body: 5 more problems not shown")

	tests := []struct {
		name string
		body string
		want []string
	}{
		{"empty", ``, []string{"body: required"}},
		{"only spaces", " \n\t", []string{"body: required"}},
		{"syntax", `{"name" 1}`, []string{"body: invalid JSON at offset 9"}},
		{"truncated", `{"name":`, []string{"body: invalid JSON: unexpected end of input"}},
		{"two objects", `{} {}`, []string{"body: unexpected data after the JSON object"}},
		{"trailing brace", `{"name":"x"}}`, []string{"body: unexpected data after the JSON object"}},
		{"top-level array", `[{"name":"x"}]`, []string{"body: must be a JSON object"}},
		{"top-level string", `"x"`, []string{"body: must be a JSON object"}},
		{"top-level null", `null`, []string{"body: must be a JSON object"}},

		{"unknown at top", `{"nmae":"x"}`, []string{"nmae: unknown field"}},
		{"unknown nested", `{"inner":{"enabeld":true}}`, []string{"inner.enabeld: unknown field"}},
		{"all unknown fields, in order", `{"a":1,"inner":{"b":2},"list":[{},{"c":3}],"section":{"d":{"e":1}},"tags":{"f":1}}`,
			[]string{"a: unknown field", "inner.b: unknown field", "list[1].c: unknown field", "section.d: unknown field"}},
		{"names are exact", `{"Name":"x","inner":{"Enabled":true}}`, []string{"Name: unknown field", "inner.Enabled: unknown field"}},
		{"hidden fields are unknown", `{"Hidden":"x","private":"y"}`, []string{"Hidden: unknown field", "private: unknown field"}},
		{"duplicate", `{"name":"a","name":"b"}`, []string{"name: duplicate field"}},
		{"long name cut short", `{"` + long + `":1}`, []string{strings.Repeat("x", 40) + "…: unknown field"}},
		{"too many problems", `{` + strings.Join(many, ",") + `}`, manyWant},

		{"string", `{"name":1}`, []string{"name: must be a string"}},
		{"integer from string", `{"count":"1"}`, []string{"count: must be an integer"}},
		{"integer with fraction", `{"count":1.5}`, []string{"count: must be an integer"}},
		{"integer with exponent", `{"count":1e2}`, []string{"count: must be an integer"}},
		{"integer too large", `{"count":99999999999999999999}`, []string{"count: out of range"}},
		{"small integer too large", `{"small":128}`, []string{"small: out of range"}},
		{"negative unsigned", `{"size":-1}`, []string{"size: must be a non-negative integer"}},
		{"boolean", `{"inner":{"enabled":"true"}}`, []string{"inner.enabled: must be a boolean"}},
		{"number", `{"inner":{"ratio":"1"}}`, []string{"inner.ratio: must be a number"}},
		{"object", `{"inner":[],"section":"x","tags":[1]}`,
			[]string{"inner: must be an object", "section: must be an object", "tags: must be an object"}},
		{"array", `{"list":{}}`, []string{"list: must be an array"}},
		{"map value", `{"tags":{"a":"1"}}`, []string{"tags.a: must be an integer"}},
		{"inside Opt", `{"opt":"1"}`, []string{"opt: must be an integer"}},
		{"fraction inside Opt", `{"opt":2.5}`, []string{"opt: must be an integer"}},
		{"text type", `{"code":5}`, []string{"code: must be a string"}},
		{"text type refuses", `{"code":"z"}`, []string{"code: must be a or b"}},
		{"unmarshaler refuses", `{"when":"yesterday"}`, []string{"when: invalid value"}},
		{"quoted number", `{"quoted":"x"}`, []string{"body: invalid value"}},

		{"null string", `{"name":null}`, []string{"name: must be a string"}},
		{"null object", `{"inner":null}`, []string{"inner: must be an object"}},
		{"null pointer to object", `{"section":null}`, []string{"section: must be an object"}},
		{"null array", `{"list":null}`, []string{"list: must be an array"}},
		{"null text type", `{"code":null}`, []string{"code: must be a string"}},

		{"every problem at once", `{"name":2,"x":1,"inner":{"enabled":null,"y":2},"list":[{"ratio":true}]}`,
			[]string{"name: must be a string", "x: unknown field", "inner.enabled: must be a boolean", "inner.y: unknown field", "list[0].ratio: must be a number"}},
	}
	goWords := []string{"int8", "int64", "uint", "float64", "string\"", "struct", "map[", "keyplane.", "time.", "Opt[", "json:", "decode"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v decodeBody
			err := DecodeJSON([]byte(tt.body), &v)
			if ErrorCode(err) != CodeInvalid {
				t.Fatalf("DecodeJSON(%s) = %v, want a CodeInvalid *Error", tt.body, err)
			}
			got := ErrorMessages(err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			for _, m := range got {
				for _, w := range goWords {
					if strings.Contains(m, w) {
						t.Errorf("message %q names Go's %q", m, w)
					}
				}
			}
		})
	}
}

func TestDecodeJSONNeedsPointer(t *testing.T) {
	var v decodeBody
	err := DecodeJSON([]byte(`{}`), v)
	if err == nil || ErrorCode(err) != CodeInternal {
		t.Errorf("DecodeJSON(non-pointer) = %v, want an internal error", err)
	}
}

func TestOpt(t *testing.T) {
	type body struct {
		A Opt[string] `json:"a"`
		B Opt[int]    `json:"b"`
		C Opt[bool]   `json:"c"`
	}
	tests := []struct {
		body string
		want body
	}{
		{`{}`, body{}},
		{`{"a":null,"b":null,"c":null}`, body{A: Opt[string]{Set: true, Null: true}, B: Opt[int]{Set: true, Null: true}, C: Opt[bool]{Set: true, Null: true}}},
		{`{"a":"","b":0,"c":false}`, body{A: Opt[string]{Set: true}, B: Opt[int]{Set: true}, C: Opt[bool]{Set: true}}},
		{`{"a":"x","b":7,"c":true}`, body{A: Opt[string]{Set: true, V: "x"}, B: Opt[int]{Set: true, V: 7}, C: Opt[bool]{Set: true, V: true}}},
	}
	for _, tt := range tests {
		var got body
		if err := DecodeJSON([]byte(tt.body), &got); err != nil {
			t.Fatalf("DecodeJSON(%s): %v", tt.body, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("DecodeJSON(%s) (-want +got):\n%s", tt.body, diff)
		}
	}

	// Outside DecodeJSON a wrong type still fails, with the field's path.
	var b body
	var te *json.UnmarshalTypeError
	if err := json.Unmarshal([]byte(`{"b":"x"}`), &b); !errors.As(err, &te) || te.Field != "b" {
		t.Errorf("json.Unmarshal into Opt[int] = %v, want an UnmarshalTypeError for field b", err)
	}
}

func TestPrefixMessages(t *testing.T) {
	orig := &Error{Code: CodeInvalid, Messages: []string{"files.region: required", "presence.interval: must be an integer"}}
	got := PrefixMessages(orig, "config.")
	want := &Error{Code: CodeInvalid, Messages: []string{"config.files.region: required", "config.presence.interval: must be an integer"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PrefixMessages (-want +got):\n%s", diff)
	}
	if orig.Messages[0] != "files.region: required" {
		t.Errorf("PrefixMessages changed its argument: %q", orig.Messages)
	}
	wrapped := fmt.Errorf("wrapped: %w", orig)
	if got := ErrorMessages(PrefixMessages(wrapped, "x.")); got[0] != "x.files.region: required" {
		t.Errorf("PrefixMessages(wrapped) = %q", got)
	}
	plain := errors.New("disk on fire")
	if got := PrefixMessages(plain, "config."); got != plain {
		t.Errorf("PrefixMessages(plain error) = %v, want it unchanged", got)
	}
	if got := PrefixMessages(nil, "config."); got != nil {
		t.Errorf("PrefixMessages(nil) = %v", got)
	}
}
