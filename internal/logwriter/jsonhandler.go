package logwriter

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// JSONHandler is slog's JSON handler (slog.NewJSONHandler, default
// options) writing to a Writer, with a cheaper way for the records a
// server writes most: the line of every request, whose attributes are
// strings and numbers. Such a record it formats itself, in a buffer on
// the stack, without slog's per-record state and its escaping of every
// byte; the bytes are the ones slog would write (a test compares the
// two). Whatever it cannot vouch for byte for byte goes to slog's
// handler unchanged: a string that needs escaping, an attribute of
// another kind, a time outside years 0 to 9999, and every handler made
// by WithAttrs or WithGroup.
type JSONHandler struct {
	w    *Writer
	slow *slog.JSONHandler
}

// NewJSONHandler returns the handler writing to w.
func NewJSONHandler(w *Writer) *JSONHandler {
	return &JSONHandler{w: w, slow: slog.NewJSONHandler(w, nil)}
}

// Enabled implements slog.Handler.
func (h *JSONHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.slow.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *JSONHandler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.slow.WithAttrs(attrs) }

// WithGroup implements slog.Handler.
func (h *JSONHandler) WithGroup(name string) slog.Handler { return h.slow.WithGroup(name) }

// Handle implements slog.Handler.
func (h *JSONHandler) Handle(ctx context.Context, r slog.Record) error {
	var stack [512]byte
	b, ok := appendRecord(stack[:0], r)
	if !ok {
		return h.slow.Handle(ctx, r)
	}
	_, err := h.w.Write(b)
	return err
}

// appendRecord appends r as slog's JSON handler writes it, or reports
// false when it cannot be sure to.
func appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b = append(b, '{')
	if !r.Time.IsZero() {
		t := r.Time.Round(0) // as slog: no monotonic reading
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	level := r.Level.String()
	if !plain(level) || !plain(r.Message) {
		return b, false
	}
	b = append(b, `"level":"`...)
	b = append(b, level...)
	b = append(b, `","msg":"`...)
	b = append(b, r.Message...)
	b = append(b, '"')
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		// An empty key is left to slog, which drops an attribute whose
		// key and value are both zero.
		if a.Key == "" || !plain(a.Key) {
			ok = false
			return false
		}
		b = append(b, `,"`...)
		b = append(b, a.Key...)
		b = append(b, `":`...)
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			if s := v.String(); plain(s) {
				b = append(b, '"')
				b = append(b, s...)
				b = append(b, '"')
			} else {
				ok = false
			}
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(b, v.Uint64(), 10)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindDuration:
			b = strconv.AppendInt(b, int64(v.Duration()), 10)
		default:
			ok = false
		}
		return ok
	})
	return append(b, '}', '\n'), ok
}

// plain says s is printable ASCII with no quote or backslash: what JSON
// writes as it is, escaping nothing.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
