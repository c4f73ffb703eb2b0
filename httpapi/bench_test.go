package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/httpapi"
	"github.com/keyplane/keyplane/internal/logwriter"
	"github.com/keyplane/keyplane/store"
)

// BenchmarkListKeysets is one GET /v2/keysets?page=1&limit=100 through the
// whole /v2 handler (version, authentication, authorization, the store on
// a real SQLite file, encoding) over 100 keysets: P3's page 1 without the
// network, to profile what a full page costs.
//
//	go test -run '^$' -bench ListKeysets -benchmem -cpuprofile cpu.out ./httpapi/
func BenchmarkListKeysets(b *testing.B) {
	svc, db, key := benchSetup(b)
	h := httpapi.New(svc, slog.New(slog.DiscardHandler), db.Ping, httpapi.Limits{}, nil).Handler()
	req := httptest.NewRequest("GET", "/v2/keysets?page=1&limit=100", nil)
	req.Header.Set("Authorization", key)
	req.Header.Set("PubNub-Version", "2026-09-03")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Body.Len() < 100*150 {
			b.Fatalf("%d: %s", w.Code, w.Body.Bytes()[:min(w.Body.Len(), 300)])
		}
	}
}

// BenchmarkGetKeyset is one GET /v2/keysets/{id} through the whole /v2
// handler, logging its line as serve does (to a discarding writer): P1
// without the network and the server's own mux.
//
//	go test -run '^$' -bench GetKeyset -benchmem -cpuprofile cpu.out ./httpapi/
func BenchmarkGetKeyset(b *testing.B) {
	svc, db, key := benchSetup(b)
	log := slog.New(logwriter.NewJSONHandler(logwriter.New(io.Discard)))
	h := httpapi.New(svc, log, db.Ping, httpapi.Limits{}, nil).Handler()
	req := httptest.NewRequest("GET", "/v2/keysets/1", nil)
	req.Header.Set("Authorization", key)
	req.Header.Set("PubNub-Version", "2026-09-03")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d: %s", w.Code, w.Body.Bytes())
		}
	}
}

// benchSetup makes an integration with an API key, and 10 apps of 10
// keysets, on a real SQLite file.
func benchSetup(b *testing.B) (*control.Service, *store.DB, string) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "k.db"), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc := control.New(db, control.Options{})
	var grants []keyplane.Grant
	for _, s := range []string{"account:app:rw", "account:keyset:rw", "account:secret-key:read"} {
		g, err := keyplane.ParseGrant(s)
		if err != nil {
			b.Fatal(err)
		}
		grants = append(grants, g)
	}
	in, key, err := svc.CreateIntegration(ctx, keyplane.Operator(1), "bench", grants, time.Now().Add(24*time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	p := keyplane.Principal{AccountID: 1, IntegrationID: in.ID, Grants: grants}
	for a := range 10 {
		app, err := svc.CreateApp(ctx, p, "app")
		if err != nil {
			b.Fatal(err)
		}
		for range 10 {
			if _, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: app.ID}); err != nil {
				b.Fatalf("app %d: %v", a, err)
			}
		}
	}
	return svc, db, key.Key
}
