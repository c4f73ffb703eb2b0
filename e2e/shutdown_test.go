package e2e

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
)

// Stopping the server lets a request in flight finish, then Run returns nil
// and the port is closed.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, in, _ := e.integration("slow client", "account:app:rw")

	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", e.base+"/v2/apps", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PubNub-Version", latest)
	req.Header.Set("Authorization", key)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		body   []byte
		err    error
	}
	resc := make(chan result, 1)
	go func() {
		res, err := e.client.Do(req)
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		resc <- result{res.StatusCode, b, err}
	}()
	if _, err := pw.Write([]byte(`{"name":`)); err != nil {
		t.Fatal(err)
	}
	// The request has been authenticated once its key's use is recorded;
	// its handler is now waiting for the rest of the body.
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := e.svc.ListIntegrations(context.Background(), keyplane.Operator(e.account))
		if err != nil {
			t.Fatal(err)
		}
		used := false
		for _, li := range list {
			used = used || li.ID == in.ID && li.LastUsedAt != nil
		}
		if used {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the server")
		}
		time.Sleep(5 * time.Millisecond)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- e.stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("server.Run returned (%v) while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	pw.Write([]byte(`"late but complete"}`))
	pw.Close()

	r := <-resc
	if r.err != nil || r.status != 201 {
		t.Fatalf("in-flight request: %d %s %v, want 201", r.status, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("server.Run returned %v, want nil", err)
	}
	e.client.CloseIdleConnections()
	if _, err := e.client.Get(e.base + "/healthz"); err == nil {
		t.Errorf("the server still answers after Run returned")
	}
}
