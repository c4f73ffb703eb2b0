package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keyplane/keyplane/httpapi"
)

// routes sends each request where a plain mux of its patterns would, the
// /v2 paths it hands to the API without searching the mux included.
func TestRoutesAsTheMux(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name+" "+r.URL.Path) })
	}
	api, mcp, portal := named("api"), named("mcp"), named("portal")
	mux := http.NewServeMux()
	for _, p := range []string{"/v2", "/v2/", httpapi.OperatorPrefix, "/healthz", "/readyz", "/openapi.yaml"} {
		mux.Handle(p, api)
	}
	mux.Handle("/mcp", mcp)
	mux.Handle("/", portal)
	got := routes(api, mcp, portal)
	for _, c := range []struct{ method, target string }{
		{"GET", "/v2/keysets/1"}, {"GET", "/v2/keysets/1?x=1"}, {"POST", "/v2/keysets"}, {"GET", "/v2/"},
		{"GET", "/v2"}, {"GET", "/v2/keysets/"}, {"GET", "/v2//keysets"}, {"GET", "/v2/./keysets"},
		{"GET", "/v2/a/../keysets?q=1"}, {"GET", "/v2/%2e%2e/x"}, {"GET", "/v2x"}, {"GET", "/mcp"}, {"GET", "/"},
		{"GET", "/healthz"}, {"GET", httpapi.OperatorPrefix + "/accounts"}, {"CONNECT", "/v2/keysets"},
	} {
		want, have := httptest.NewRecorder(), httptest.NewRecorder()
		mux.ServeHTTP(want, httptest.NewRequest(c.method, c.target, nil))
		got.ServeHTTP(have, httptest.NewRequest(c.method, c.target, nil))
		if have.Code != want.Code || have.Body.String() != want.Body.String() || have.Header().Get("Location") != want.Header().Get("Location") {
			t.Errorf("%s %s: got %d %q %q, want %d %q %q", c.method, c.target, have.Code, have.Body, have.Header().Get("Location"),
				want.Code, want.Body, want.Header().Get("Location"))
		}
	}
}
