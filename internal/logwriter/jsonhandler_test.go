package logwriter

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// The handler writes every record byte for byte as slog's JSON handler
// does: those it formats itself and those it hands on.
func TestJSONHandlerWritesAsSlog(t *testing.T) {
	at := time.Date(2026, 12, 3, 16, 45, 48, 120_000_000, time.UTC)
	strs := []string{"", "GET", "/v2/keysets/42", `say "hi"`, `back\slash`, "<&>", "tab\there", "line\nbreak",
		"ünïcode", "\u2028", "bad \xff utf-8", "\x00\x1f\x7f", "ok"}
	var attrs [][]slog.Attr
	for _, s := range strs {
		attrs = append(attrs, []slog.Attr{slog.String("method", s), slog.String(s, "v")})
	}
	attrs = append(attrs,
		[]slog.Attr{slog.Int("status", 200), slog.Int64("ms", -3), slog.Uint64("u", 1<<63), slog.Bool("b", true),
			slog.Duration("d", 1500*time.Millisecond)},
		[]slog.Attr{slog.Int64("", 0)}, []slog.Attr{slog.Int64("", 5)}, []slog.Attr{slog.String("", "")},
		[]slog.Attr{slog.Float64("f", 0.1)}, []slog.Attr{slog.Any("err", errors.New("boom \"x\""))},
		[]slog.Attr{slog.Time("at", at)}, []slog.Attr{slog.Group("g", slog.Int("a", 1))},
		[]slog.Attr{slog.String("a", "1"), slog.Int("b", 2), slog.String("c", "3"), slog.Int("d", 4), slog.String("e", "5"),
			slog.Int("f", 6), slog.String("g", "7")},
		nil)
	times := []time.Time{at, {}, at.Add(123456789), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), time.Now()}
	levels := []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelInfo + 2}
	msgs := []string{"request", "a \"quoted\" message", ""}

	var got, want bytes.Buffer
	w := New(&got)
	h := NewJSONHandler(w)
	ref := slog.NewJSONHandler(&want, nil)
	ctx := context.Background()
	n := 0
	for _, tm := range times {
		for _, l := range levels {
			for _, m := range msgs {
				for _, as := range attrs {
					r := slog.NewRecord(tm, l, m, 0)
					r.AddAttrs(as...)
					if err := h.Handle(ctx, r); err != nil {
						t.Fatal(err)
					}
					if err := ref.Handle(ctx, r); err != nil {
						t.Fatal(err)
					}
					n++
				}
			}
		}
	}
	w.Flush()
	gl, wl := bytes.Split(got.Bytes(), []byte("\n")), bytes.Split(want.Bytes(), []byte("\n"))
	if len(gl) != n+1 || len(wl) != n+1 {
		t.Fatalf("%d and %d lines, want %d", len(gl)-1, len(wl)-1, n)
	}
	for i := range gl {
		if !bytes.Equal(gl[i], wl[i]) {
			t.Errorf("line %d:\n got %s\nwant %s", i, gl[i], wl[i])
		}
	}
}

// A record of the request line's shape is formatted without slog's
// handler, and allocates nothing.
func TestJSONHandlerRequestLineAllocatesNothing(t *testing.T) {
	var out bytes.Buffer
	w := New(&out)
	h := NewJSONHandler(w)
	r := slog.NewRecord(time.Date(2026, 12, 3, 16, 45, 48, 0, time.UTC), slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("method", "GET"), slog.String("path", "/v2/keysets/42"), slog.Int("status", 200),
		slog.Int64("ms", 0), slog.Int64("integrationId", 3), slog.Int64("keyId", 4))
	if _, ok := appendRecord(nil, r); !ok {
		t.Fatal("the request line is not formatted on the fast path")
	}
	allocs := testing.AllocsPerRun(100, func() { h.Handle(context.Background(), r) })
	if allocs > 0 {
		t.Errorf("%v allocations per request line", allocs)
	}
}
