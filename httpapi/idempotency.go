package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// replayedHeaders are the headers of an answer kept for replay, beside its
// status and body; the rest (PubNub-Version, rate limits, security headers)
// belong to the request that gets the replay.
var replayedHeaders = []string{"Content-Type", "Location", "ETag"}

// idempotent runs h for a POST that may carry an Idempotency-Key: without
// one, h runs as it is. With one, a request seen before is answered with
// its stored answer (and Idempotent-Replayed: true), and a new one runs
// with the claim in its context, so that its operation records the key in
// its own transaction, and its answer is stored after.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, p keyplane.Principal, h handler) error {
	if r.Method != http.MethodPost {
		return h(w, r, p)
	}
	keys := r.Header.Values("Idempotency-Key")
	if len(keys) == 0 {
		return h(w, r, p)
	}
	if len(keys) > 1 {
		return keyplane.Errorf(keyplane.CodeInvalid, "Idempotency-Key: give it once, not %d times", len(keys))
	}
	if err := control.ValidateIdempotencyKey(keys[0]); err != nil {
		return err
	}
	// Its own type is the handler's to check (JSON, or a multipart upload).
	data, err := rawBody(w, r)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	claim, stored, err := a.svc.BeginIdempotent(r.Context(), p, keys[0], fingerprint(r, data))
	if err != nil {
		return err
	}
	if stored != nil {
		for k, v := range stored.Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(stored.Status)
		w.Write(stored.Body)
		return nil
	}
	rec := &answerRecorder{ResponseWriter: w}
	r = r.WithContext(control.WithIdempotency(r.Context(), claim))
	if err := h(rec, r, p); err != nil {
		a.fail(rec, r, err)
	}
	if rec.status == 0 {
		return nil // the client went away before an answer was written
	}
	if err := a.svc.FinishIdempotent(r.Context(), claim, rec.answer()); err != nil {
		// The operation is done and answered; a retry gets a 409 saying
		// the answer was not kept, never a second run.
		a.log.Error("storing the answer of an idempotency key", "path", redactPath(r.URL.Path), "err", err)
	}
	return nil
}

// fingerprint identifies a request for its idempotency key: method, path,
// query (in canonical order) and body (JSON re-encoded canonically, so
// spacing and the order of fields do not count; anything else as sent).
func fingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	io.WriteString(h, r.Method+"\x00"+r.URL.Path+"\x00"+r.URL.Query().Encode()+"\x00")
	h.Write(canonicalJSON(body))
	return h.Sum(nil)
}

func canonicalJSON(b []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return b
	}
	if _, err := dec.Token(); err != io.EOF {
		return b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}

// answerRecorder passes an answer through and keeps a copy of it.
type answerRecorder struct {
	http.ResponseWriter
	status int
	header map[string]string
	body   bytes.Buffer
}

// WriteHeader implements http.ResponseWriter.
func (a *answerRecorder) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
		a.header = map[string]string{}
		for _, k := range replayedHeaders {
			if v := a.ResponseWriter.Header().Get(k); v != "" {
				a.header[k] = v
			}
		}
	}
	a.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	a.body.Write(b)
	return a.ResponseWriter.Write(b)
}

func (a *answerRecorder) answer() control.StoredResponse {
	return control.StoredResponse{Status: a.status, Header: a.header, Body: a.body.Bytes()}
}
