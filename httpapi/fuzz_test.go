package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/httpapi"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"
)

// FuzzAPI drives the real /v2 handler, on a real SQLite database, with a key
// holding every account-level row of a partner account, with fuzzed
// method, path, query, headers (PubNub-Version, Idempotency-Key, If-Match)
// and body. Whatever comes in: never a 5xx (a panic is answered as one),
// and every non-2xx is the error body {statusCode, error, message[]}
// whose statusCode is the HTTP status. Seeds: testdata/fuzz/FuzzAPI, a
// valid request of every POST, PUT and PATCH route.
func FuzzAPI(f *testing.F) {
	h, key := fuzzServer(f)
	f.Add("GET", "/v2/apps", "page=1&limit=10", "2026-09-03", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, query, version, idemKey, ifMatch string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		target := path
		if query != "" {
			target += "?" + query
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || !validToken(method) {
			return // net/http's server would refuse the request line itself
		}
		req := &http.Request{
			Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Host: "keyplane.test", Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
		}
		req = req.WithContext(context.Background())
		req.Header.Set("Authorization", key)
		req.Header.Set("Content-Type", "application/json")
		for name, v := range map[string]string{"PubNub-Version": version, "Idempotency-Key": idemKey, "If-Match": ifMatch} {
			if v == "" {
				continue
			}
			if !validHeaderValue(v) {
				return // the server would refuse the header
			}
			req.Header.Set(name, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		status := rec.Code
		if status >= 500 {
			t.Fatalf("%s %q: status %d: %s", method, target, status, rec.Body)
		}
		if status >= 200 && status <= 299 || method == http.MethodHead {
			return
		}
		var eb struct {
			StatusCode *int     `json:"statusCode"`
			Error      *string  `json:"error"`
			Message    []string `json:"message"`
		}
		dec := json.NewDecoder(rec.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&eb); err != nil {
			t.Fatalf("%s %q → %d: body is not the error object: %v: %s", method, target, status, err, rec.Body)
		}
		if eb.StatusCode == nil || *eb.StatusCode != status || eb.Error == nil || *eb.Error == "" ||
			len(eb.Message) == 0 || slices.Contains(eb.Message, "") {
			t.Fatalf("%s %q → %d: bad error body: %s", method, target, status, rec.Body)
		}
	})
}

// fuzzServer is the /v2 handler on a fresh SQLite database in a partner
// account with an app, a keyset and a customer, and a key holding every
// account-level row.
func fuzzServer(f *testing.F) (http.Handler, string) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), wallclock.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := db.SealSecrets(ctx, filepath.Join(f.TempDir(), "kek")); err != nil {
		f.Fatal(err)
	}
	svc := control.New(db, control.Options{})
	var grants []keyplane.Grant
	for _, s := range []string{"account:app:rw", "account:keyset:rw", "account:secret-key:rw", "account:usage:read",
		"account:usage-report:write", "account:audit-log:read", "account:oem-customer:rw"} {
		g, err := keyplane.ParseGrant(s)
		if err != nil {
			f.Fatal(err)
		}
		grants = append(grants, g)
	}
	if _, err := svc.SetPartner(ctx, keyplane.Operator(1), 1, true); err != nil {
		f.Fatal(err)
	}
	in, key, err := svc.CreateIntegration(ctx, keyplane.Operator(1), "fuzz", grants, wallclock.Now().Add(24*time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	p := keyplane.Principal{AccountID: 1, IntegrationID: in.ID, Grants: grants}
	app, err := svc.CreateApp(ctx, p, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	if _, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: app.ID}); err != nil {
		f.Fatal(err)
	}
	api := httpapi.New(svc, slog.New(slog.DiscardHandler), db.Ping, httpapi.Limits{}, nil)
	return api.Handler(), key.Key
}

// validToken reports whether s is an HTTP method token, as the server's
// request-line parser demands.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether the server would accept v as a header
// value: no control characters but tab.
func validHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
