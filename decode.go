package keyplane

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// maxBodyProblems bounds the messages for one body, so that a body of
	// thousands of unknown fields does not come back as a huge error.
	maxBodyProblems = 20
	// maxEchoRunes bounds how much of the caller's own input (a field name) a
	// message repeats.
	maxEchoRunes = 40
)

// DecodeJSON decodes a request body into v, a pointer, more strictly than
// encoding/json: unknown or repeated fields at any depth, null where the
// field cannot hold it, and numbers with a fraction or an exponent for
// integers are refused, all of them at once, so a client fixes its request
// in one round trip. A refusal is a CodeInvalid *Error whose messages name
// the field by its dotted JSON path ("presence.interval: must be an
// integer").
//
// Null is accepted by pointers to scalars, Opt, interfaces and types that
// decode themselves, but not by a pointer to a plain struct: a nested object
// is given or left out, and a second way to leave it out would make PATCH
// bodies ambiguous. A field whose type implements json.Unmarshaler or
// encoding.TextUnmarshaler decodes itself; the messages of an *Error it
// returns are shown after the field's path, other errors as "invalid value".
func DecodeJSON(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("DecodeJSON needs a non-nil pointer, not %T", v)
	}
	if len(trimJSONSpace(data)) == 0 {
		return Invalid("body: required")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		// Only the offset: the parser's own words may quote the input.
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return Invalid(fmt.Sprintf("body: invalid JSON at offset %d", syn.Offset))
		}
		return Invalid("body: invalid JSON: unexpected end of input")
	}
	if len(trimJSONSpace(data[dec.InputOffset():])) > 0 {
		return Invalid("body: unexpected data after the JSON object")
	}
	raw = trimJSONSpace(raw)
	if raw[0] != '{' {
		return Invalid("body: must be a JSON object")
	}
	var w bodyWalker
	w.value(raw, rv.Type().Elem(), "")
	if err := w.err(); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		// The walk has checked everything encoding/json checks; this is a
		// fallback for what it cannot see (",string" fields, base64).
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Invalid(problemAt(te.Field, "must be "+typeWord(te.Type)))
		}
		return Invalid("body: invalid value")
	}
	return nil
}

// PrefixMessages returns a copy of the *Error in err with prefix put before
// each message, so that errors of a nested part ("files.region: …") name
// the field from the top of the body ("config.files.region: …"). Other
// errors, and nil, are returned as they are.
func PrefixMessages(err error, prefix string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	msgs := make([]string, len(e.Messages))
	for i, m := range e.Messages {
		msgs[i] = prefix + m
	}
	return &Error{Code: e.Code, Messages: msgs}
}

// Opt is a field of a PATCH body. It tells apart a field left out (Set is
// false: keep the stored value), null (Null is true: clear it, where that is
// allowed) and a value (V), which encoding/json alone would all fold into
// the zero value. Within DecodeJSON a wrong type inside an Opt is reported
// like any other ("presence.interval: must be an integer").
type Opt[T any] struct {
	Set  bool
	Null bool
	V    T
}

// UnmarshalJSON implements json.Unmarshaler. encoding/json calls it for null
// too, and never for a field that is absent, which leaves Set false.
func (o *Opt[T]) UnmarshalJSON(data []byte) error {
	*o = Opt[T]{Set: true, Null: string(data) == "null"}
	if o.Null {
		return nil
	}
	return json.Unmarshal(data, &o.V)
}

// valueType lets DecodeJSON check the value inside an Opt like any field.
func (Opt[T]) valueType() reflect.Type { return reflect.TypeFor[T]() }

type optional interface{ valueType() reflect.Type }

var (
	optionalType        = reflect.TypeFor[optional]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	anyType             = reflect.TypeFor[any]()
)

// bodyWalker checks a JSON value against the Go type it is decoded into and
// collects what does not fit, in the order of the body.
type bodyWalker struct {
	msgs   []string
	hidden int // problems past maxBodyProblems
}

func (w *bodyWalker) fail(path, msg string) {
	if len(w.msgs) < maxBodyProblems {
		w.msgs = append(w.msgs, problemAt(path, msg))
	} else {
		w.hidden++
	}
}

// failWith reports the error of a type that decodes itself.
func (w *bodyWalker) failWith(path string, err error) {
	var e *Error
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &e) && len(e.Messages) > 0:
		for _, m := range e.Messages {
			w.fail(path, m)
		}
	case errors.As(err, &te):
		w.fail(path, "must be "+typeWord(te.Type))
	default:
		w.fail(path, "invalid value") // its text may name Go types
	}
}

func (w *bodyWalker) err() error {
	msgs := w.msgs
	if w.hidden > 0 {
		msgs = append(msgs, fmt.Sprintf("body: %d more problems not shown", w.hidden))
	}
	return Invalid(msgs...)
}

// value checks raw, one syntactically valid JSON value, against t.
func (w *bodyWalker) value(raw json.RawMessage, t reflect.Type, path string) {
	raw = trimJSONSpace(raw)
	t, nullable := unwrapType(t)
	null := string(raw) == "null"
	switch {
	case null && nullable:
	case reflect.PointerTo(t).Implements(jsonUnmarshalerType):
		w.failWith(path, reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw))
	case null:
		w.fail(path, "must be "+typeWord(t))
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		var s string
		if json.Unmarshal(raw, &s) != nil {
			w.fail(path, "must be a string")
			return
		}
		w.failWith(path, reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)))
	case t.Kind() == reflect.Struct && raw[0] == '{':
		fields := jsonFieldTypes(t)
		seen := make(map[string]bool)
		jsonMembers(raw, func(key string, v json.RawMessage) {
			p := fieldPath(path, key)
			ft, known := fields[key]
			switch {
			case seen[key]:
				w.fail(p, "duplicate field")
			case !known:
				w.fail(p, "unknown field")
			default:
				w.value(v, ft, p)
			}
			seen[key] = true
		})
	case t.Kind() == reflect.Map && raw[0] == '{':
		jsonMembers(raw, func(key string, v json.RawMessage) { w.value(v, t.Elem(), fieldPath(path, key)) })
	case (t.Kind() == reflect.Slice && !isBytes(t) || t.Kind() == reflect.Array) && raw[0] == '[':
		i := 0
		jsonElements(raw, func(v json.RawMessage) {
			w.value(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			i++
		})
	case t.Kind() == reflect.Interface:
	default:
		if msg := scalarProblem(raw, t); msg != "" {
			w.fail(path, msg)
		}
	}
}

// unwrapType looks through Opt and pointers to the type that holds the
// value, and says whether null is accepted there.
func unwrapType(t reflect.Type) (reflect.Type, bool) {
	nullable := false
	for {
		switch {
		case t.Kind() == reflect.Struct && t.Implements(optionalType):
			t, nullable = reflect.Zero(t).Interface().(optional).valueType(), true
		case t.Kind() == reflect.Pointer:
			t = t.Elem()
			nullable = nullable || t.Kind() != reflect.Struct ||
				reflect.PointerTo(t).Implements(jsonUnmarshalerType) ||
				reflect.PointerTo(t).Implements(textUnmarshalerType)
		default:
			return t, nullable
		}
	}
}

// scalarProblem says what is wrong with raw, a JSON scalar, object or array,
// for a field of type t that is not a struct, map or slice holding it.
func scalarProblem(raw json.RawMessage, t reflect.Type) string {
	want := "must be " + typeWord(t)
	switch c := raw[0]; {
	case c == 't' || c == 'f':
		if t.Kind() == reflect.Bool {
			return ""
		}
	case c == '"':
		if t.Kind() == reflect.String || isBytes(t) {
			return ""
		}
	case c == '-' || c >= '0' && c <= '9':
		var err error
		s := string(raw)
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			_, err = strconv.ParseInt(s, 10, t.Bits())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			_, err = strconv.ParseUint(s, 10, t.Bits())
		case reflect.Float32, reflect.Float64:
			_, err = strconv.ParseFloat(s, t.Bits())
		default:
			return want
		}
		if errors.Is(err, strconv.ErrRange) {
			return "out of range"
		}
		if err == nil {
			return ""
		}
	}
	return want
}

// typeWord names what a JSON value for t must be, in the caller's terms
// rather than Go's.
func typeWord(t reflect.Type) string {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) && !reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if isBytes(t) {
			return "a string"
		}
		return "an array"
	}
	return "a valid value"
}

// isBytes reports a []byte, which encoding/json reads from a base64 string.
func isBytes(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

// jsonFieldTypes maps the JSON names of struct t's fields to their types as
// encoding/json sees them: the tag names a field, "-" hides it, embedded
// structs lend their fields unless the outer struct has the name.
// Matching is exact, where encoding/json would also accept "Enabled" for
// "enabled": one spelling per field.
func jsonFieldTypes(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	promoted := make(map[string]reflect.Type)
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if et := f.Type; f.Anonymous && name == "" {
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFieldTypes(et) {
					promoted[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
		if slices.Contains(strings.Split(opts, ","), "string") {
			fields[name] = anyType // a number in a string: left to encoding/json
		}
	}
	for k, v := range promoted {
		if _, ok := fields[k]; !ok {
			fields[k] = v
		}
	}
	return fields
}

// jsonMembers calls fn for each member of raw, a valid JSON object, in order.
func jsonMembers(raw json.RawMessage, fn func(key string, value json.RawMessage)) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return
	}
	for dec.More() {
		tok, err := dec.Token()
		key, _ := tok.(string)
		var v json.RawMessage
		if err != nil || dec.Decode(&v) != nil {
			return
		}
		fn(key, v)
	}
}

// jsonElements calls fn for each element of raw, a valid JSON array, in order.
func jsonElements(raw json.RawMessage, fn func(json.RawMessage)) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return
	}
	for dec.More() {
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return
		}
		fn(v)
	}
}

// fieldPath extends a dotted path with a key the caller chose, cut short so
// that a message never repeats much of the caller's input.
func fieldPath(path, key string) string {
	if utf8.RuneCountInString(key) > maxEchoRunes {
		key = string([]rune(key)[:maxEchoRunes]) + "…"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// problemAt formats one message; the body itself is at fault when no field is.
func problemAt(path, msg string) string {
	if path == "" {
		path = "body"
	}
	return path + ": " + msg
}

func trimJSONSpace(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }
