package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/keyplane/keyplane"
)

// keysetBodies keeps the answer of GET /v2/keysets/{id} ready to send:
// the keyset's JSON, encoded as writeJSON encodes it, and its ETag. The
// read of an unchanged keyset, the hottest route, then costs no
// encoding and no formatting of ids or times.
//
// An entry is used only for the very keyset value it was encoded from
// (every field equal, the account and version included), which control
// has just read and authorized for this request: the cache decides
// nothing about freshness or access, it only saves encoding the same
// value twice.
type keysetBodies struct {
	mu sync.RWMutex
	m  map[int64]*keysetBody
}

// maxKeysetBodies bounds the cache; a full cache starts afresh. It is
// the size of control's own keyset cache, whose keysets these are.
const maxKeysetBodies = 10000

// keysetBody is one keyset's encoded answer.
type keysetBody struct {
	k    keyplane.Keyset
	body []byte
	// etag is the ETag header's value, shared by every answer that
	// sends it: it is only read (a header added later appends to a copy,
	// its capacity being its length).
	etag []string
}

// jsonContentTypeValue is the Content-Type of every JSON answer, as a
// header value shared the same way.
var jsonContentTypeValue = []string{"application/json"}

// get returns k's encoded answer, encoding it if the cache holds another
// version of it or none.
func (c *keysetBodies) get(k keyplane.Keyset) *keysetBody {
	c.mu.RLock()
	e := c.m[k.ID]
	c.mu.RUnlock()
	if e != nil && e.k == k {
		return e
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as writeJSON
	if err := enc.Encode(keysetOut(k)); err != nil {
		panic(err) // strings only: it cannot fail
	}
	e = &keysetBody{k: k, body: buf.Bytes(), etag: []string{etag(k.ID, k.Version)}}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxKeysetBodies {
		c.m = map[int64]*keysetBody{}
	}
	c.m[k.ID] = e
	c.mu.Unlock()
	return e
}

// write sends the answer: the same headers and bytes as setETag and
// writeJSON of keysetOut(k) with status 200. The header keys are in
// their canonical form, as Header.Set would store them.
func (e *keysetBody) write(w http.ResponseWriter) {
	h := w.Header()
	h["Etag"] = e.etag
	h["Content-Type"] = jsonContentTypeValue
	w.WriteHeader(http.StatusOK)
	w.Write(e.body)
}
