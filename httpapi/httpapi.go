// Package httpapi serves Keyplane's REST API, wire-compatible with PubNub's
// Admin API v2. Handlers only translate: decode the request, call the
// control package, encode the answer. Every non-2xx answer is the JSON body
// {statusCode, error, message[]}.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane/internal/buildinfo"
	"github.com/keyplane/keyplane/internal/clientaddr"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/api"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// MaxBodyBytes caps a request body.
const MaxBodyBytes = 1 << 20

// API is the HTTP face of a control.Service.
type API struct {
	svc     *control.Service
	log     *slog.Logger
	ready   func(context.Context) error
	limiter *limiter
	// keysetBodies keeps keysets' answers encoded (keysetbody.go).
	keysetBodies keysetBodies
	// TrustProxy takes the client address from X-Forwarded-For (serve
	// --trust-proxy): the address an integration's allowed networks are
	// checked against and a key's last use records.
	TrustProxy bool
}

// New returns the API over svc. ready reports whether the server can serve
// (its database answers); it backs /readyz. limits bound each API key.
//
// now is the clock the rate limits refill by (nil: the wall clock), the
// same the server gives control, so tests move it instead of sleeping.
func New(svc *control.Service, log *slog.Logger, ready func(context.Context) error, limits Limits, now func() time.Time) *API {
	if now == nil {
		now = time.Now
	}
	return &API{svc: svc, log: log, ready: ready, limiter: newLimiter(limits, now)}
}

// handler is a /v2 handler: it runs after version and authentication
// checks and returns an error for the one writer to render.
type handler func(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error

// Handler returns the routes: /v2, the operator API, health, and the contract.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	route := func(op keyplane.Operation, h handler) {
		mux.Handle(op.Method+" "+op.Path, a.v2(op, h))
		methods[op.Path] = append(methods[op.Path], op.Method)
	}
	route(keyplane.OpListApps, a.listApps)
	route(keyplane.OpCreateApp, a.createApp)
	route(keyplane.OpGetApp, a.getApp)
	route(keyplane.OpUpdateApp, a.updateApp)
	route(keyplane.OpDeleteApp, a.deleteApp)
	route(keyplane.OpListKeysets, a.listKeysets)
	route(keyplane.OpCreateKeyset, a.createKeyset)
	route(keyplane.OpGetKeyset, a.getKeyset)
	route(keyplane.OpUpdateKeyset, a.updateKeyset)
	route(keyplane.OpDeleteKeyset, a.deleteKeyset)
	route(keyplane.OpGetConfig, a.getConfig)
	route(keyplane.OpUpdateConfig, a.updateConfig)
	route(keyplane.OpUploadAPNs, a.uploadAPNs)
	route(keyplane.OpUploadFCM, a.uploadFCM)
	route(keyplane.OpListSecretKeys, a.listSecretKeys)
	route(keyplane.OpRotateSecretKey, a.rotateSecretKey)
	route(keyplane.OpUpdateSecretKey, a.updateSecretKey)
	route(keyplane.OpDeleteSecretKey, a.deleteSecretKey)
	route(keyplane.OpGetUsage, a.getUsage)
	route(keyplane.OpReportUsage, a.reportUsage)
	route(keyplane.OpListAuditEvents, a.listAuditEvents)
	route(keyplane.OpGetMe, a.getMe)
	route(keyplane.OpCheckAuthz, a.checkAuthz)
	route(keyplane.OpCreateCustomer, a.createCustomer)
	route(keyplane.OpListCustomers, a.listCustomers)
	route(keyplane.OpGetCustomer, a.getCustomer)
	route(keyplane.OpUpdateCustomer, a.updateCustomer)
	route(keyplane.OpAssignCustomerKeysets, a.assignCustomerKeysets)
	route(keyplane.OpListCustomerApps, a.listCustomerApps)
	route(keyplane.OpListCustomerKeysets, a.listCustomerKeysets)
	route(keyplane.OpGetKeysetCustomer, a.getKeysetCustomer)
	route(keyplane.OpListWebhooks, a.listWebhooks)
	route(keyplane.OpCreateWebhook, a.createWebhook)
	route(keyplane.OpGetWebhook, a.getWebhook)
	route(keyplane.OpUpdateWebhook, a.updateWebhook)
	route(keyplane.OpDeleteWebhook, a.deleteWebhook)
	route(keyplane.OpRotateWebhookSecret, a.rotateWebhookSecret)
	route(keyplane.OpTestWebhook, a.testWebhook)
	route(keyplane.OpListWebhookDeliveries, a.listWebhookDeliveries)
	route(keyplane.OpRetryWebhookDelivery, a.retryWebhookDelivery)
	a.operatorRoutes(func(op keyplane.Operation, h http.Handler) {
		mux.Handle(op.Method+" "+op.Path, h)
		methods[op.Path] = append(methods[op.Path], op.Method)
	})

	for _, p := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		methods[p] = []string{"GET"}
	}
	// A path pattern without a method catches the methods the path lacks,
	// so they get a JSON 405 rather than the mux's plain-text one.
	for path, ms := range methods {
		allow := strings.Join(ms, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			echoVersion(w, r)
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", []string{r.Method + " " + redactPath(r.URL.Path) + ": method not allowed; allowed: " + allow})
		})
	}
	build := buildinfo.Read().String()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Keyplane-Build", build)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.ready(ctx); err != nil {
			a.log.Warn("not ready", "err", err)
			writeError(w, http.StatusServiceUnavailable, string(keyplane.CodeUnavailable), []string{"database: not answering"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(api.Spec)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		echoVersion(w, r)
		writeError(w, http.StatusNotFound, "NotFound", []string{r.Method + " " + redactPath(r.URL.Path) + ": no such route"})
	})
	return a.logged(mux)
}

// v2 wraps the handler of op with what every /v2 route needs, in order:
// the version header, authentication, the query parameters op reads (and
// no others), then the handler, whose error is rendered here.
func (a *API) v2(op keyplane.Operation, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Headers are read by their canonical keys, as Header.Get would
		// after canonicalizing (and, for PubNub-Version, allocating) a key
		// on every request.
		v, err := resolveRelease(first(r.Header[pubnubVersionKey]))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header()[pubnubVersionKey] = releaseValues[v]
		// Two keys leave it open which one acts; neither is picked.
		auth := r.Header["Authorization"]
		if n := len(auth); n > 1 {
			a.fail(w, r, keyplane.Errorf(keyplane.CodeInvalid, "Authorization: give it once, not %d times", n))
			return
		}
		// The request's reads share one look at whether the database
		// changed (see control.Service.ForRequest).
		r = r.WithContext(a.svc.ForRequest(r.Context()))
		p, err := a.svc.Authenticate(r.Context(), credential(first(auth)),
			keyplane.Origin{Addr: clientaddr.Of(r, a.TrustProxy), UserAgent: first(r.Header["User-Agent"])})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if l, ok := w.(*statusWriter); ok {
			l.authenticated, l.integrationID, l.keyID = true, p.IntegrationID, p.KeyID
		}
		release, err := a.limiter.admit(w, p.KeyID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		defer release()
		// No query, no parameter to refuse: nothing to parse.
		if r.URL.RawQuery != "" {
			if err := op.CheckQuery(r.URL.Query()); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		if err := a.idempotent(w, r, p, h); err != nil {
			a.fail(w, r, err)
		}
	})
}

// first is a header's first value, or "" (Header.Get without the key's
// canonicalization).
func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// echoVersion answers a /v2 request that matched no operation with the
// release its PubNub-Version resolves to, as every /v2 answer carries it.
func echoVersion(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v2/") {
		if v, err := ResolveVersion(r.Header.Get("PubNub-Version")); err == nil {
			w.Header().Set("PubNub-Version", v)
		}
	}
}

// redactPath shortens path segments that look like secrets (a whole secret
// key sent where its prefix belongs, an API key) so they reach neither logs
// nor messages.
func redactPath(p string) string {
	const max = 200 // long enough for any real route, short enough for a log line
	if len(p) > max {
		p = p[:max] + "…"
	}
	if !strings.Contains(p, "sec-c-") && !strings.Contains(p, keyplane.APIKeyPrefix) && !strings.Contains(p, keyplane.OperatorKeyPrefix) {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "sec-c-") && len(s) > keyplane.SecretKeyPrefixLen:
			segs[i] = s[:keyplane.SecretKeyPrefixLen] + "…"
		case strings.HasPrefix(s, keyplane.APIKeyPrefix):
			segs[i] = keyplane.APIKeyPrefix + "…"
		case strings.HasPrefix(s, keyplane.OperatorKeyPrefix):
			segs[i] = keyplane.OperatorKeyPrefix + "…"
		}
	}
	return strings.Join(segs, "/")
}

// credential takes the key out of an Authorization header: the bare key, as
// PubNub documents, or "Bearer <key>", as its MCP server also sends.
func credential(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		h = strings.TrimSpace(h[7:])
	}
	return h
}

// fail renders err. Internal errors are logged with their cause and shown
// without it.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := keyplane.ErrorCode(err)
	if code == keyplane.CodeUnavailable {
		a.log.Warn("database unavailable", "method", r.Method, "path", redactPath(r.URL.Path), "err", err)
	}
	if code == keyplane.CodeInternal {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return // the client went away; nobody is listening
		}
		a.log.Error("request failed", "method", r.Method, "path", redactPath(r.URL.Path), "err", err)
	}
	name := string(code)
	var e *keyplane.Error
	if errors.As(err, &e) && e.Wire != "" {
		name = e.Wire
	}
	httpstatus.SetRetryAfter(w.Header(), err)
	writeError(w, httpstatus.Of(code), name, keyplane.ErrorMessages(err))
}

type errorBody struct {
	StatusCode int      `json:"statusCode"`
	Error      string   `json:"error"`
	Message    []string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, name string, msgs []string) {
	writeJSON(w, status, errorBody{StatusCode: status, Error: name, Message: msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // messages say "Read & write", not "Read \u0026 write"
	enc.Encode(v)
}

// body reads a request body of at most MaxBodyBytes, sent as JSON.
func body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := rawBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		if err := jsonContentType(r.Header.Values("Content-Type")); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// rawBody reads a request body of at most MaxBodyBytes, whatever its type.
func rawBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, keyplane.Errorf(keyplane.CodeTooLarge, "body: larger than %d bytes", MaxBodyBytes)
		}
		return nil, keyplane.Errorf(keyplane.CodeInvalid, "body: could not be read")
	}
	return data, nil
}

// jsonContentType accepts the Content-Type of a body when it names JSON
// (application/json or application/*+json, in UTF-8) or is not given at
// all, as PubNub's own client and curl without -H send it. A body that says
// it is something else (text/plain, a form) was not meant as JSON, and
// reading it as JSON anyway would hide the caller's mistake.
func jsonContentType(values []string) error {
	if len(values) == 0 || (len(values) == 1 && strings.TrimSpace(values[0]) == "") {
		return nil
	}
	unsupported := keyplane.Errorf(keyplane.CodeUnsupportedMediaType,
		"Content-Type: %q is not JSON; send application/json (or no Content-Type)", clip(strings.Join(values, ", ")))
	if len(values) > 1 {
		return unsupported
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil {
		return unsupported
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return unsupported
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return keyplane.Errorf(keyplane.CodeUnsupportedMediaType, "Content-Type: charset %q: JSON is UTF-8; send charset=utf-8 or none", clip(cs))
	}
	return nil
}

// decode reads a JSON body strictly into v.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := body(w, r)
	if err != nil {
		return err
	}
	return keyplane.DecodeJSON(data, v)
}

// parseID reads an id as we write them: digits, no sign, no leading zero.
func parseID(v string) (int64, bool) {
	if v == "" || v[0] < '1' || v[0] > '9' {
		return 0, false
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil
}

// pathID reads a numeric id from the path.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, ok := parseID(v)
	if !ok {
		return 0, keyplane.Errorf(keyplane.CodeInvalid, "%s: must be a positive integer, not %q", name, redactPath(v))
	}
	return id, nil
}

// bodyID reads a numeric id sent as a string in a body.
func bodyID(field, v string) (int64, string) {
	id, ok := parseID(v)
	if !ok {
		return 0, field + ": must be a numeric id such as \"12\", not " + strconv.Quote(clip(v))
	}
	return id, ""
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// page reads page and limit from the query.
func page(r *http.Request) (keyplane.Page, error) {
	p := keyplane.Page{Page: 1, Limit: keyplane.DefaultLimit}
	var msgs []string
	q := r.URL.Query()
	if v := q.Get("page"); q.Has("page") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			msgs = append(msgs, "page: must be a whole number, 1 or more")
		}
		p.Page = n
	}
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > keyplane.MaxLimit {
			msgs = append(msgs, "limit: must be a whole number from 1 to 100")
		}
		p.Limit = n
	}
	// Deep pages beyond any real list would only make the database count
	// rows for nothing; offsets past int64 would overflow.
	if len(msgs) == 0 && p.Page > 1_000_000_000/p.Limit {
		msgs = append(msgs, "page: too large")
	}
	return p, keyplane.Invalid(msgs...)
}

// statusWriter remembers the status, and who asked, for the request log.
type statusWriter struct {
	httpstatus.Recorder
	// authenticated says an API key was, the one of keyID in
	// integrationID: copies of what the line names, since a pointer to the
	// Principal would move every request's Principal to the heap.
	authenticated        bool
	integrationID, keyID int64
	// operatorKeyID is the operator key of an operator API request.
	operatorKeyID int64
}

// logged logs one line per request and turns a panic into a 500. The line
// names the integration and key id, never the key, and no body or query.
func (a *API) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{Recorder: httpstatus.Recorder{ResponseWriter: w}}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic", "method", r.Method, "path", redactPath(r.URL.Path), "panic", v)
				if sw.Status == 0 {
					writeError(sw, http.StatusInternalServerError, string(keyplane.CodeInternal), []string{"internal error"})
				}
			}
			a.logRequest(r, sw, start)
		}()
		// The mux would answer an unclean path ("/v2//apps") with an HTML
		// redirect; no route lives there, so say so in JSON.
		if r.URL.Path != path.Clean(r.URL.Path) && r.URL.Path != "/" {
			writeError(sw, http.StatusNotFound, "NotFound", []string{r.Method + " " + redactPath(r.URL.Path) + ": no such route"})
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// logRequest writes the request's line. It hands the record to the
// handler itself rather than through Logger.LogAttrs, which would also
// capture the caller's stack (runtime.Callers, for a source location
// the request line has no use for: it is always this function) and read
// the clock again: the end of the request is the line's time and the
// end of its duration, one clock reading for both.
func (a *API) logRequest(r *http.Request, sw *statusWriter, start time.Time) {
	h := a.log.Handler()
	ctx := r.Context()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	end := time.Now()
	rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("method", r.Method), slog.String("path", redactPath(r.URL.Path)),
		slog.Int("status", sw.Status), slog.Int64("ms", end.Sub(start).Milliseconds()))
	if sw.authenticated {
		rec.AddAttrs(slog.Int64("integrationId", sw.integrationID), slog.Int64("keyId", sw.keyID))
	}
	if sw.operatorKeyID != 0 {
		rec.AddAttrs(slog.Int64("operatorKeyId", sw.operatorKeyID))
	}
	h.Handle(ctx, rec) // a failed log write is dropped, as Logger drops it
}
