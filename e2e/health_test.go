package e2e

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane/api"
)

// The service routes answer without a version header or a key.
func TestServiceRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		got := e.do("GET", path, nil, version(""), as(""), header("Content-Type", "")).want(200).object()
		if diff := cmp.Diff(map[string]any{"status": "ok"}, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", path, diff)
		}
	}
	r := e.do("GET", "/openapi.yaml", nil, version(""), as("")).want(200)
	if len(r.Body) == 0 || !bytes.HasPrefix(r.Body, []byte("openapi:")) {
		t.Errorf("GET /openapi.yaml: %.40q…, want a document starting with openapi:", r.Body)
	}
	if !bytes.Equal(r.Body, api.Spec) {
		t.Errorf("GET /openapi.yaml is not api/openapi.yaml")
	}
}

// The contract: "a known path with an unsupported method answers 405", the
// service routes included.
func TestServiceRoutesWrongMethod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		r := e.do("POST", path, nil, version(""), as(""))
		if r.Status != 405 || r.Header.Get("Allow") == "" {
			t.Errorf("POST %s: %d (Allow %q), want 405 with an Allow header", path, r.Status, r.Header.Get("Allow"))
		}
	}
}
