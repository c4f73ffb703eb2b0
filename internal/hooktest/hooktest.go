// Package hooktest is a real HTTP receiver of webhook deliveries for tests:
// it answers 204 and keeps what it gets, for a test to read in order.
package hooktest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Receiver listens on 127.0.0.1 (its URL) until the test ends.
type Receiver struct {
	*httptest.Server
	got chan Delivery
}

// Delivery is one request the receiver got.
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Start starts a receiver, closed when t ends. It holds up to 100
// deliveries no one has read; the sender waits beyond that.
func Start(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{got: make(chan Delivery, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.got <- Delivery{req.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// Next waits (15 s at most) for the next delivery of an event of type
// typ, skipping the others.
func (r *Receiver) Next(t testing.TB, typ string) Delivery {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case d := <-r.got:
			if strings.Contains(string(d.Body), `"type":"`+typ+`"`) {
				return d
			}
		case <-deadline:
			t.Fatalf("no %s delivery within 15 s", typ)
		}
	}
}
