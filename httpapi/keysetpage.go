package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/keyplane/keyplane"
)

// writeKeysetPage writes a page of keysets: exactly the bytes writeJSON
// writes for list's envelope of keysetOut values, without reflection or a
// string per field. A full page is the largest answer a client asks for
// most often, and encoding/json with its intermediate strings was a fifth
// of its cost (see BenchmarkListKeysets). TestKeysetPageIsWriteJSON
// holds the two encodings equal.
func writeKeysetPage(w http.ResponseWriter, ks []keyplane.Keyset, total int, pg keyplane.Page) {
	buf := pageBuffers.Get().(*[]byte)
	defer pageBuffers.Put(buf)
	b := (*buf)[:0]
	defer func() { *buf = b[:0] }()
	var esc stringEscaper
	b = append(b, `{"keysets":[`...)
	for i, k := range ks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":"`...)
		b = strconv.AppendInt(b, k.ID, 10)
		b = append(b, `","appId":"`...)
		b = strconv.AppendInt(b, k.AppID, 10)
		b = append(b, `","name":`...)
		b = esc.append(b, k.Name)
		b = append(b, `,"type":`...)
		b = esc.append(b, string(k.Type))
		b = append(b, `,"publishKey":`...)
		b = esc.append(b, k.PublishKey)
		b = append(b, `,"subscribeKey":`...)
		b = esc.append(b, k.SubscribeKey)
		b = append(b, `,"createdAt":"`...)
		b = keyplane.AppendTime(b, k.CreatedAt)
		b = append(b, `","updatedAt":"`...)
		b = keyplane.AppendTime(b, k.UpdatedAt)
		b = append(b, `"}`...)
	}
	// encoding/json writes a map's keys in sorted order.
	b = append(b, `],"limit":`...)
	b = strconv.AppendInt(b, int64(pg.Limit), 10)
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(pg.Page), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, "}\n"...)
	// Its length known, the page goes out in one piece rather than in
	// chunks: fewer writes to the connection.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// pageBuffers keep the buffers of pages written: a page of 100 keysets
// is some 25 kB, which would otherwise be garbage at every request.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// stringEscaper appends strings as JSON string literals, as writeJSON's
// encoder does (no HTML escaping). Plain printable ASCII, which is every
// key, type and most names, is copied; anything else goes through
// encoding/json itself, so its rules (control characters, invalid UTF-8,
// U+2028 and U+2029) are never restated here. The zero value is ready;
// it makes its encoder on first need.
type stringEscaper struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func (e *stringEscaper) append(b []byte, s string) []byte {
	if plain(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.buf)
		e.enc.SetEscapeHTML(false)
	}
	e.buf.Reset()
	e.enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))...)
}

// plain reports whether s is printable ASCII with no quote or backslash:
// its JSON literal is s between quotes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
