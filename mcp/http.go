package mcp

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
	"github.com/keyplane/keyplane/internal/clientaddr"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// Authenticator says whose an API key used from origin is, or refuses it
// with a keyplane.Error (CodeUnauthorized for a missing, unknown, revoked
// or expired key, CodeForbidden for a key of a disabled account or a
// suspended integration, or one used from outside its integration's
// networks).
type Authenticator func(ctx context.Context, key string, origin keyplane.Origin) (keyplane.Principal, error)

// originHeader carries the client address of an /mcp request to the tool
// calls it makes on the API in process, so the API checks and records the
// caller's address, not the transport's. The handler sets it itself, after
// removing any a client sent.
const originHeader = "Keyplane-Mcp-Client-Address"

// MaxBodyBytes caps an MCP request body, as the API caps its own.
const MaxBodyBytes = 1 << 20

// loopbackBase is the base URL the tools of /mcp call the API at. The
// transport never dials it: it hands each request to the API handler in
// process.
const loopbackBase = "http://keyplane.internal"

// NewHTTPHandler returns the streamable HTTP endpoint of the MCP server
// (mounted at /mcp). Every request must carry an API key in Authorization,
// bare or as "Bearer <key>"; one that is missing or refused gets the API's
// 401 body before any MCP is spoken.
//
// The tools call api, the server's own /v2 handler, in process, through
// the same Go client that keyplane mcp uses over the network, with the key
// of the HTTP request that carries the call. So the tools have one
// implementation for both transports, and every call passes the API's
// authentication, authorization, validation and error rendering: an MCP
// caller can never do what its key may not do on the API, and a refusal
// carries the very messages the API gives.
//
// The server is stateless (no Mcp-Session-Id): each request stands alone,
// so any replica behind a load balancer can answer it, as with /v2.
//
// trustProxy takes the client address from X-Forwarded-For, as the API
// does (serve --trust-proxy).
func NewHTTPHandler(api http.Handler, authenticate Authenticator, log *slog.Logger, version string, trustProxy bool) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clientFor := func(ctx context.Context, req *sdk.CallToolRequest) (*client.Client, error) {
		var from netip.Addr
		if req != nil && req.Extra != nil && req.Extra.Header != nil {
			from, _ = netip.ParseAddr(req.Extra.Header.Get(originHeader))
		}
		hc := &http.Client{Transport: inProcess{api, from}}
		return client.New(loopbackBase, requestKey(req), client.WithHTTPClient(hc), client.WithUserAgent("keyplane-mcp/"+client.Version))
	}
	s := NewServer(clientFor, Options{Version: version})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{
		Stateless:    true,
		JSONResponse: true,
		Logger:       log,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from := clientaddr.Of(r, trustProxy)
		r.Header.Del(originHeader)
		if from.IsValid() {
			r.Header.Set(originHeader, from.String())
		}
		if _, err := authenticate(r.Context(), credential(r.Header.Get("Authorization")), keyplane.Origin{Addr: from, UserAgent: r.Header.Get("User-Agent")}); err != nil {
			code, msgs := keyplane.ErrorCode(err), keyplane.ErrorMessages(err)
			switch code {
			case keyplane.CodeUnauthorized:
				w.Header().Set("WWW-Authenticate", `Bearer realm="keyplane"`)
			case keyplane.CodeUnavailable, keyplane.CodeForbidden:
				// Forbidden: a key of a disabled account, refused with the
				// reason, as /v2 refuses it.
			default:
				log.Error("mcp: authenticating", "err", err)
				code, msgs = keyplane.CodeInternal, []string{"internal error"}
			}
			writeError(w, httpstatus.Of(code), string(code), msgs)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

// writeError writes the API's error body.
func writeError(w http.ResponseWriter, status int, name string, msgs []string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "error": name, "message": msgs})
}

// requestKey is the API key of the HTTP request that carries a tool call.
func requestKey(req *sdk.CallToolRequest) string {
	if req == nil || req.Extra == nil || req.Extra.Header == nil {
		return ""
	}
	return credential(req.Extra.Header.Get("Authorization"))
}

// credential takes the key out of an Authorization header: bare, as PubNub
// documents, or "Bearer <key>", as MCP clients send it.
func credential(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimSpace(h[7:])
	}
	return h
}

// inProcess is an http.RoundTripper that serves each request with a
// handler in this process: the API, without a socket, as if from the
// address of the /mcp request that carries the tool call.
type inProcess struct {
	h    http.Handler
	from netip.Addr // invalid when unknown
}

// RoundTrip implements http.RoundTripper.
func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	r.RemoteAddr = "mcp"
	if t.from.IsValid() {
		r.RemoteAddr = netip.AddrPortFrom(t.from, 0).String()
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
