package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/keyplane/keyplane"
)

// The configuration form is made from keyplane.Config itself, so every
// section and field the API knows is editable here, and a field added
// there shows up without a change to the portal.

var sectionTitles = map[string]string{
	"accessManager":      "Access Manager",
	"files":              "Files",
	"streamController":   "Stream Controller",
	"appContext":         "App Context",
	"dataSync":           "DataSync",
	"apns":               "Apple Push Notifications (APNs)",
	"fcm":                "Firebase Cloud Messaging (FCM)",
	"messagePersistence": "Message Persistence",
	"presence":           "Presence",
}

// uploadedFields are set by uploading push credentials (the keyset page's
// Push credentials forms), not typed: the form shows them read-only.
var uploadedFields = map[string]bool{"apns.teamId": true, "apns.authKeyId": true, "apns.filename": true, "fcm.filename": true}

// fieldLabel turns a JSON name into words: "channelGroupLimit" → "Channel group limit".
func fieldLabel(name string) string {
	switch name {
	case "teamId":
		return "Team ID"
	case "authKeyId":
		return "Auth key ID"
	}
	var b strings.Builder
	for i, r := range name {
		switch {
		case i == 0:
			b.WriteRune(unicode.ToUpper(r))
		case unicode.IsUpper(r):
			b.WriteByte(' ')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// fieldKind is how a Config field is edited: a checkbox, a number or text.
func fieldKind(t reflect.Type) (kind string, nullable bool) {
	if t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	switch t.Kind() {
	case reflect.Bool:
		return "bool", nullable
	case reflect.Int, reflect.Int64:
		return "int", nullable
	}
	return "text", nullable
}

// eachField calls fn for every field of every section of c.
func eachField(c keyplane.Config, fn func(section string, f reflect.StructField, v reflect.Value)) {
	cv := reflect.ValueOf(c)
	for i := range cv.NumField() {
		sec := jsonName(cv.Type().Field(i))
		sv := cv.Field(i)
		for j := range sv.NumField() {
			fn(sec, sv.Type().Field(j), sv.Field(j))
		}
	}
}

// configPaths names every field as error messages do: "presence.interval".
func configPaths() []string {
	var out []string
	eachField(keyplane.Config{}, func(sec string, f reflect.StructField, _ reflect.Value) {
		out = append(out, sec+"."+jsonName(f))
	})
	return out
}

// formValue renders a field's value as its input holds it.
func formValue(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	}
	return v.String()
}

// configForm lays c out as form sections; sent, when set, holds what the
// person typed, shown again beside the errors it caused. A field with a
// fixed list (keyplane.ConfigRuleOf) is a select offering exactly that
// list; a write-once field already set is shown read-only.
func configForm(c keyplane.Config, errs map[string][]string, sent map[string]string) []cfgSection {
	var out []cfgSection
	eachField(c, func(sec string, f reflect.StructField, v reflect.Value) {
		if len(out) == 0 || out[len(out)-1].Key != sec {
			out = append(out, cfgSection{Key: sec, Title: sectionTitles[sec]})
		}
		path := sec + "." + jsonName(f)
		kind, nullable := fieldKind(f.Type)
		stored := formValue(v)
		val := stored
		if s, ok := sent[path]; ok {
			val = s
		}
		rule := keyplane.ConfigRuleOf(path)
		fld := cfgField{Path: path, Label: fieldLabel(jsonName(f)), Kind: kind, Value: val, Nullable: nullable, Errors: errs[path]}
		switch {
		case uploadedFields[path]:
			fld.Kind, fld.Value = "locked", stored
			fld.Hint = "Set by uploading the credentials below, under Push credentials."
		case rule.WriteOnce && stored != "":
			// The stored value, whatever was sent: it is the only one the
			// API takes now.
			fld.Kind, fld.Value = "locked", stored
			fld.Hint = "Set once and for all: data stored in a region stays there, so it cannot be changed."
		case rule.Choices != nil:
			fld.Kind, fld.Choices = "select", rule.Choices
			if rule.WriteOnce {
				fld.Hint = "Write-once: choose with care, it cannot be changed after it is saved."
			}
		}
		if rule.Unit != "" && rule.Choices == nil {
			fld.Label += " (" + rule.Unit + ")"
		}
		if rule.HasRange {
			fld.Hint = fmt.Sprintf("%d to %d %s.", rule.Min, rule.Max, rule.Unit)
			fld.Min, fld.Max = rule.Min, rule.Max
		}
		fld.Checked = kind == "bool" && val == "true"
		out[len(out)-1].Fields = append(out[len(out)-1].Fields, fld)
	})
	return out
}

// configPatch turns the form into the PATCH the API would receive: only
// the fields whose value differs from cur, each as the JSON the API takes
// (an empty nullable field is null). A number field holding something
// other than a whole number is left out of the patch and reported in
// problems, so that the caller can show it with every other error of the
// same form at once. It also returns what was sent, keyed by path.
func configPatch(cur keyplane.Config, form url.Values) (patch keyplane.ConfigPatch, sent map[string]string, problems []string, err error) {
	sent = map[string]string{}
	body := map[string]map[string]json.RawMessage{}
	eachField(cur, func(sec string, f reflect.StructField, v reflect.Value) {
		path := sec + "." + jsonName(f)
		vals, ok := form[path]
		if !ok {
			return
		}
		raw := strings.TrimSpace(vals[len(vals)-1]) // a checkbox follows its hidden "false"
		sent[path] = raw
		kind, nullable := fieldKind(f.Type)
		var msg json.RawMessage
		switch {
		case raw == "" && nullable:
			msg = json.RawMessage("null")
		case kind == "bool":
			msg = json.RawMessage(strconv.FormatBool(raw == "true"))
		case kind == "int":
			if _, err := strconv.ParseInt(raw, 10, 64); err != nil {
				problems = append(problems, path+": must be a whole number")
				return
			}
			msg = json.RawMessage(raw)
		default:
			msg, _ = json.Marshal(raw)
		}
		old, _ := json.Marshal(v.Interface())
		if bytes.Equal(old, msg) {
			return
		}
		if body[sec] == nil {
			body[sec] = map[string]json.RawMessage{}
		}
		body[sec][jsonName(f)] = msg
	})
	b, err := json.Marshal(body)
	if err != nil {
		return keyplane.ConfigPatch{}, sent, problems, err
	}
	patch, err = keyplane.ParseConfigPatch(b)
	return patch, sent, problems, err
}
