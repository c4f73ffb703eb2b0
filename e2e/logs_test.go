package e2e

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
)

// README: logs never contain an API key, a secret key or a request body —
// not even when a client puts a key where it does not belong.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "k")
	secret := k.Keyset.SecretKeys[0].SecretKey

	const marker = "BODY-MARKER-7f3a"
	e.do("PATCH", "/v2/apps/"+a.ID, map[string]any{"name": marker}).want(200)
	e.do("POST", "/v2/apps", `{"name":"`+marker+`","x":1}`).want(400)
	unknown, _ := keyplane.NewAPIKey(rand.Reader)
	e.remember(unknown)
	e.do("GET", "/v2/apps", nil, as(unknown)).want(401)
	e.do("GET", "/v2/apps?note="+marker, nil).want(400) // refused, and still not logged
	e.do("GET", "/v2/keysets?appId=1&limit=1&page=1&x="+marker, nil).want(400)

	logs := e.logs.String()
	if strings.Contains(logs, marker) {
		t.Errorf("the log holds a request body or query")
	}
	if strings.Contains(logs, e.key) || strings.Contains(logs, unknown) {
		t.Errorf("the log holds an API key")
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the log holds a secret key before any misuse")
	}

	// A client that sends the whole secret key instead of its prefix.
	e.do("DELETE", "/v2/keysets/"+k.Keyset.ID+"/secret-keys/"+secret, nil).want(400)
	if strings.Contains(e.logs.String(), secret) {
		t.Errorf("the log holds the whole secret key a client sent in place of its prefix (the request line's path is logged as it is)")
	}
}
