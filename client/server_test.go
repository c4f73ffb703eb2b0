package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/testdb"
	"github.com/keyplane/keyplane/server"
	"github.com/keyplane/keyplane/store"
)

// clock is a fake clock: it stands still until a test moves it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testServer is a real Keyplane server on 127.0.0.1 over a fresh database,
// with the admin commands' way in to make integrations.
type testServer struct {
	t       *testing.T
	base    string
	clock   *clock
	svc     *control.Service
	account int64
}

// startServer runs server.Run on 127.0.0.1:0 until t ends, as the e2e
// harness does.
func startServer(t *testing.T) *testServer {
	t.Helper()
	s := &testServer{t: t, clock: &clock{now: time.Now()}}
	dsn := testdb.DSN(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			Addr: "127.0.0.1:0", Database: dsn, Now: s.clock.Now, KEKFile: filepath.Join(t.TempDir(), "kek"),
			Listening: func(addr string) { addrc <- addr },
		})
	}()
	select {
	case addr := <-addrc:
		s.base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server.Run returned before listening: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("server did not start listening within 20 s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server.Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("server.Run did not return within 15 s of its context ending")
		}
	})
	db, err := store.Open(context.Background(), dsn, s.clock.Now())
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	s.svc = control.New(db, control.Options{Now: s.clock.Now})
	as, err := s.svc.Accounts(context.Background())
	if err != nil || len(as) == 0 {
		t.Fatalf("Accounts: %v %v", as, err)
	}
	s.account = as[0].ID
	return s
}

// fullAccess are the rows of the key most tests use.
var fullAccess = []string{"account:app:rw", "account:keyset:rw", "account:secret-key:rw"}

// key makes a Service Integration holding grants and returns its API key.
func (s *testServer) key(grants ...string) string {
	s.t.Helper()
	var gs []keyplane.Grant
	for _, g := range grants {
		pg, err := keyplane.ParseGrant(g)
		if err != nil {
			s.t.Fatalf("ParseGrant(%q): %v", g, err)
		}
		gs = append(gs, pg)
	}
	_, key, err := s.svc.CreateIntegration(context.Background(), keyplane.Operator(s.account),
		fmt.Sprintf("client test %v", grants), gs, s.clock.Now().Add(30*24*time.Hour))
	if err != nil {
		s.t.Fatalf("CreateIntegration(%v): %v", grants, err)
	}
	return key.Key
}

// client returns a Client of the server with a key holding grants
// (fullAccess when none are given).
func (s *testServer) client(grants []string, opts ...client.Option) *client.Client {
	s.t.Helper()
	if len(grants) == 0 {
		grants = fullAccess
	}
	c, err := client.New(s.base, s.key(grants...), opts...)
	if err != nil {
		s.t.Fatalf("client.New: %v", err)
	}
	return c
}

// recorder is an http.RoundTripper that notes every request and answer.
type recorder struct {
	mu    sync.Mutex
	calls []call
	next  http.RoundTripper
}

type call struct {
	method string
	url    *url.URL
	header http.Header // of the request
	answer http.Header // nil when the round trip failed
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	next := r.next
	if next == nil {
		next = http.DefaultTransport
	}
	res, err := next.RoundTrip(req)
	c := call{method: req.Method, url: req.URL, header: req.Header.Clone()}
	if err == nil {
		c.answer = res.Header.Clone()
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return res, err
}

func (r *recorder) all() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func ptr[T any](v T) *T { return &v }

// ms is t as the server stores it: UTC, to the millisecond.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
