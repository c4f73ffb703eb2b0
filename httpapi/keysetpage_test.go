package httpapi

import (
	"bytes"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
)

// pageByWriteJSON is a page of keysets as list writes it: the reference
// writeKeysetPage must equal byte for byte.
func pageByWriteJSON(ks []keyplane.Keyset, total int, pg keyplane.Page) []byte {
	js := make([]keysetJSON, len(ks))
	for i, k := range ks {
		js[i] = keysetOut(k)
	}
	w := httptest.NewRecorder()
	writeJSON(w, 200, map[string]any{"keysets": js, "total": total, "page": pg.Page, "limit": pg.Limit})
	return w.Body.Bytes()
}

// pageByHand is the page writeKeysetPage writes, and its Content-Type,
// or a note that its Content-Length is not the body's.
func pageByHand(ks []keyplane.Keyset, total int, pg keyplane.Page) ([]byte, string) {
	w := httptest.NewRecorder()
	writeKeysetPage(w, ks, total, pg)
	if n := w.Header().Get("Content-Length"); n != strconv.Itoa(w.Body.Len()) {
		return w.Body.Bytes(), "Content-Length " + n + " for a body of " + strconv.Itoa(w.Body.Len())
	}
	return w.Body.Bytes(), w.Header().Get("Content-Type")
}

// Names a person or a script might give a keyset, and those that test
// every escaping rule of encoding/json.
var awkwardNames = []string{"", "prod", "Keyset 10", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\r",
	"\x00\x01\x1f\x7f", "é ü 日本語 🚀", "\u2028\u2029", "bad \xff\xfe utf-8", "lone \x80 continuation", "\xed\xa0\x80", "\b\f", "a/b", strings1k()}

func strings1k() string {
	b := make([]byte, 1000)
	for i := range b {
		b[i] = byte(' ' + i%95)
	}
	return string(b)
}

// writeKeysetPage writes what list with writeJSON writes, byte for byte:
// empty pages, full pages, any name, any time, any id.
func TestKeysetPageIsWriteJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 300 {
		var ks []keyplane.Keyset
		for i := range r.IntN(101) {
			name := awkwardNames[r.IntN(len(awkwardNames))]
			if r.IntN(4) == 0 {
				raw := make([]byte, r.IntN(20))
				for j := range raw {
					raw[j] = byte(r.IntN(256))
				}
				name = string(raw)
			}
			ks = append(ks, keyplane.Keyset{ID: r.Int64N(1 << 50), AccountID: 1, AppID: r.Int64N(1 << 40), Name: name,
				Type:       []keyplane.KeysetType{keyplane.KeysetTesting, keyplane.KeysetProduction}[i%2],
				PublishKey: "pub-c-" + name, SubscribeKey: "sub-c-00000000-0000-0000-0000-000000000000",
				CreatedAt: time.UnixMilli(r.Int64N(1 << 45)), UpdatedAt: time.UnixMilli(r.Int64N(1 << 45)).In(time.FixedZone("x", 3600))})
		}
		pg := keyplane.Page{Page: 1 + r.IntN(100000), Limit: 1 + r.IntN(100)}
		total := r.IntN(10000000)
		want := pageByWriteJSON(ks, total, pg)
		got, ctype := pageByHand(ks, total, pg)
		if !bytes.Equal(got, want) || ctype != "application/json" {
			t.Fatalf("page %d (%s):\n%s\nwriteJSON writes:\n%s", n, ctype, got, want)
		}
	}
}

// FuzzKeysetPage: whatever a keyset's strings hold, the page written by
// hand is the page encoding/json writes.
func FuzzKeysetPage(f *testing.F) {
	for _, s := range awkwardNames {
		f.Add(s, "testing", int64(12), int64(1700000000000))
	}
	f.Fuzz(func(t *testing.T, name, typ string, id, ms int64) {
		ks := []keyplane.Keyset{{ID: id, AppID: -id, Name: name, Type: keyplane.KeysetType(typ), PublishKey: typ, SubscribeKey: name,
			CreatedAt: time.UnixMilli(ms), UpdatedAt: time.UnixMilli(-ms)}}
		pg := keyplane.Page{Page: 1, Limit: 100}
		want := pageByWriteJSON(ks, 1, pg)
		if got, ctype := pageByHand(ks, 1, pg); !bytes.Equal(got, want) || ctype != "application/json" {
			t.Fatalf("by hand (%s):\n%q\nwriteJSON:\n%q", ctype, got, want)
		}
	})
}
