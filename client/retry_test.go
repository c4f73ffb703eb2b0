package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keyplane/keyplane/client"
)

// faulty is an httptest server whose first fail requests are answered by
// fault and the rest by ok. It counts the requests it saw.
type faulty struct {
	srv   *httptest.Server
	seen  atomic.Int32
	fail  int32
	fault func(w http.ResponseWriter, r *http.Request)
}

func newFaulty(t *testing.T, fail int32, fault func(w http.ResponseWriter, r *http.Request)) *faulty {
	f := &faulty{fail: fail, fault: fault}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.seen.Add(1)
		io.Copy(io.Discard, r.Body)
		if n <= f.fail {
			f.fault(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"1","name":"a","createdAt":"2026-11-23T10:00:00.000Z","updatedAt":"2026-11-23T10:00:00.000Z"}`)
		case http.MethodDelete:
			io.WriteString(w, `{"success":true}`)
		default:
			io.WriteString(w, `{"apps":[],"total":0,"page":1,"limit":10}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// status answers an API error body with code, and Retry-After when given.
func status(code int, retryAfter string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"statusCode":%d,"error":"Injected","message":["injected fault %d"]}`, code, code)
	}
}

// hangUp closes the connection without answering, after reading the request.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

func fastClient(t *testing.T, base string, retries int, opts ...client.Option) *client.Client {
	t.Helper()
	// A client of its own, without idle connections, so that a hang-up is
	// never mistaken by the transport for a stale pooled connection.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c, err := client.New(base, "si_test", append([]client.Option{client.WithRetry(retries, time.Millisecond), client.WithHTTPClient(hc)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listApps(c *client.Client) error {
	_, err := c.ListApps(context.Background(), client.ListOptions{})
	return err
}
func createApp(c *client.Client) error {
	_, err := c.CreateApp(context.Background(), "a")
	return err
}
func renameApp(c *client.Client) error {
	_, err := c.RenameApp(context.Background(), "1", "b")
	return err
}
func deleteApp(c *client.Client) error { return c.DeleteApp(context.Background(), "1") }
func renameCustomer(c *client.Client) error {
	_, err := c.RenameCustomer(context.Background(), "1", "b")
	return err
}
func checkAuthz(c *client.Client) error {
	_, err := c.CheckAuthzRequest(context.Background(), "GET", "/v2/apps")
	return err
}

// Which answers are retried, and how often: GET and DELETE on 429 and
// 502–504 and lost connections; GET on 500; the authorization check, a POST
// that only asks, as GET; other POSTs, which carry an Idempotency-Key, as
// DELETE; PUT and PATCH never once the server may have seen them.
func TestRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		call     func(*client.Client) error
		fail     int32
		fault    func(http.ResponseWriter, *http.Request)
		attempts int32 // the server saw this many requests
		status   int   // of the error returned; 0: success, -1: a connection error
	}{
		{"GET 503 twice then ok", listApps, 2, status(503, ""), 3, 0},
		{"GET 429", listApps, 1, status(429, ""), 2, 0},
		{"GET 502", listApps, 1, status(502, ""), 2, 0},
		{"GET 504", listApps, 1, status(504, ""), 2, 0},
		{"GET 500", listApps, 1, status(500, ""), 2, 0},
		{"GET 503 past the limit", listApps, 10, status(503, ""), 4, 503},
		{"GET 400 is final", listApps, 1, status(400, ""), 1, 400},
		{"GET 404 is final", listApps, 1, status(404, ""), 1, 404},
		{"GET 429 Retry-After too long", listApps, 1, status(429, "120"), 1, 429},
		{"GET hang-up", listApps, 2, hangUp, 3, 0},
		{"DELETE 503", deleteApp, 1, status(503, ""), 2, 0},
		{"DELETE 500 is final", deleteApp, 1, status(500, ""), 1, 500},
		{"DELETE hang-up", deleteApp, 1, hangUp, 2, 0},
		{"POST 503", createApp, 1, status(503, ""), 2, 0},
		{"POST 429", createApp, 1, status(429, "0"), 2, 0},
		{"POST hang-up", createApp, 1, hangUp, 2, 0},
		{"POST 500 is final", createApp, 1, status(500, ""), 1, 500},
		{"PATCH 502 is final", renameApp, 1, status(502, ""), 1, 502},
		{"PATCH hang-up is final", renameApp, 1, hangUp, 1, -1},
		{"PUT 503 is final", renameCustomer, 1, status(503, ""), 1, 503},
		{"POST authz check 503", checkAuthz, 2, status(503, ""), 3, 0},
		{"POST authz check 500", checkAuthz, 1, status(500, ""), 2, 0},
		{"POST authz check hang-up", checkAuthz, 1, hangUp, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFaulty(t, tc.fail, tc.fault)
			err := tc.call(fastClient(t, f.srv.URL, 3))
			if got := f.seen.Load(); got != tc.attempts {
				t.Errorf("the server saw %d requests, want %d", got, tc.attempts)
			}
			switch {
			case tc.status == 0 && err != nil:
				t.Errorf("error %v, want success", err)
			case tc.status > 0:
				var e *client.Error
				if !errors.As(err, &e) || e.StatusCode != tc.status || e.Name != "Injected" || len(e.Messages) != 1 {
					t.Errorf("error %v, want the %d answer decoded", err, tc.status)
				}
			case tc.status < 0 && (err == nil || client.StatusCode(err) != 0):
				t.Errorf("error %v, want a connection error", err)
			}
		})
	}
}

// Retry-After is waited for, in seconds or as an HTTP date, instead of the
// backoff; a context that would end first is not waited out.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	t.Run("seconds", func(t *testing.T) {
		t.Parallel()
		f := newFaulty(t, 1, status(429, "1"))
		start := time.Now()
		if err := listApps(fastClient(t, f.srv.URL, 3)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("retried after %v, want Retry-After's 1 s", d)
		}
		if f.seen.Load() != 2 {
			t.Errorf("%d attempts, want 2", f.seen.Load())
		}
	})
	t.Run("date", func(t *testing.T) {
		t.Parallel()
		f := newFaulty(t, 1, func(w http.ResponseWriter, r *http.Request) {
			status(503, time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))(w, r)
		})
		start := time.Now()
		if err := listApps(fastClient(t, f.srv.URL, 3)); err != nil {
			t.Fatal(err)
		}
		// An HTTP date has whole seconds: at least 1 s remains of the 2.
		if d := time.Since(start); d < time.Second {
			t.Errorf("retried after %v, want the Retry-After date's ≥ 1 s", d)
		}
	})
	t.Run("deadline first", func(t *testing.T) {
		t.Parallel()
		f := newFaulty(t, 1, status(503, "30"))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := fastClient(t, f.srv.URL, 3).ListApps(ctx, client.ListOptions{})
		if client.StatusCode(err) != 503 {
			t.Errorf("error %v, want the 503", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned after %v: waited although the context would end before Retry-After", d)
		}
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		f := newFaulty(t, 1, status(503, "5"))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := fastClient(t, f.srv.URL, 3).ListApps(ctx, client.ListOptions{})
		if !errors.Is(err, context.Canceled) || client.StatusCode(err) != 503 {
			t.Errorf("error %v, want context.Canceled with the last 503", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("returned after %v, want soon after the cancel", d)
		}
	})
}

// lossy is a fault injector in front of a real server: for the first fail
// requests it either drops the request before sending it (beforeSend, as a
// refused connection) or sends it and loses the answer (as a connection
// reset after the server acted).
type lossy struct {
	mu         sync.Mutex
	fail       int
	beforeSend bool
	sent       int // requests that reached the server
	tried      int // round trips asked of lossy
}

func (l *lossy) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.tried++
	failing := l.tried <= l.fail
	l.mu.Unlock()
	if failing && l.beforeSend {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	l.mu.Lock()
	l.sent++
	l.mu.Unlock()
	if failing && err == nil {
		res.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return res, err
}

// Against a real server: a POST whose answer was lost is sent again with
// the same Idempotency-Key and answered with the first answer (one app, not
// two), a POST whose connection was never made is sent again, and a GET is
// retried either way.
func TestRetriesAgainstServer(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	key := s.key(fullAccess...)
	newClient := func(l *lossy) *client.Client {
		c, err := client.New(s.base, key, client.WithRetry(3, time.Millisecond), client.WithHTTPClient(&http.Client{Transport: l}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	count := func() int {
		p, err := s.client(nil).ListApps(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}

	lost := &lossy{fail: 1}
	app, err := newClient(lost).CreateApp(ctx, "lost answer")
	if err != nil || app.Name != "lost answer" {
		t.Errorf("CreateApp with its first answer lost: %+v, %v; want the app, from the replayed answer", app, err)
	}
	if lost.tried != 2 || lost.sent != 2 {
		t.Errorf("POST with a lost answer: %d tries, %d sent; want 2 and 2", lost.tried, lost.sent)
	}
	if n := count(); n != 1 {
		t.Errorf("%d apps after a POST whose answer was lost, want 1", n)
	}

	refused := &lossy{fail: 2, beforeSend: true}
	if _, err := newClient(refused).CreateApp(ctx, "refused twice"); err != nil {
		t.Errorf("CreateApp after two refused connections: %v", err)
	}
	if refused.tried != 3 || refused.sent != 1 {
		t.Errorf("POST after refused connections: %d tries, %d sent; want 3 and 1", refused.tried, refused.sent)
	}
	if n := count(); n != 2 {
		t.Errorf("%d apps, want 2", n)
	}

	get := &lossy{fail: 2}
	p, err := newClient(get).ListApps(ctx, client.ListOptions{})
	if err != nil || p.Total != 2 {
		t.Errorf("ListApps after two lost answers: %+v, %v", p, err)
	}
	if get.tried != 3 || get.sent != 3 {
		t.Errorf("GET with lost answers: %d tries, %d sent; want 3 and 3", get.tried, get.sent)
	}
}

// A server that is not there: a closed 127.0.0.1 port refuses every
// connection, and every method, POST included, is tried 1+retries times.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rec := &recorder{}
	c, err := client.New("http://"+addr, "si_test", client.WithRetry(2, time.Millisecond), client.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateApp(context.Background(), "a")
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || client.StatusCode(err) != 0 {
		t.Errorf("error %v, want the dial error", err)
	}
	if n := len(rec.all()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}
