// Package client is the Go client of Keyplane's REST API, which is
// wire-compatible with PubNub's Admin API v2: one typed method per /v2
// route, iterators that walk paged lists, errors that carry the server's
// status, error name and messages, and retries with backoff where a retry is
// safe.
//
// A Client is safe for concurrent use. Every method takes a context, which
// bounds the whole call, retries and waits between them included.
//
// # Retries
//
// A request is tried again, up to the limit set by WithRetry, only when
// doing so cannot apply it twice:
//
//   - GET and DELETE, which are idempotent, on 429, 502, 503 and 504, and
//     on connection errors (refused, reset, closed, timed out); GET on 500
//     too, since reading has no effect to repeat.
//   - POST /v2/authz/check (CheckAuthz, CheckAuthzRequest) as GET: it
//     only asks, and runs nothing.
//   - Other POSTs, PUT and PATCH only when the connection could not be
//     made at all, so that the server provably never saw the request.
//
// Waits grow exponentially from the base delay, with full jitter. On 429 and
// 503 a Retry-After header (seconds or an HTTP date) is waited for instead,
// unless it is over a minute, in which case the error is returned at once.
// No wait outlasts the context: when its deadline would pass during a wait,
// the last error is returned without waiting.
//
// A DELETE retried after a lost answer (a connection error, 502 or 504) may
// answer 404 when an earlier attempt did reach the server and was applied.
//
// # Times
//
// Times in answers are Time values: a time.Time (app.CreatedAt.Time, or its
// methods, app.CreatedAt.Before(t)) that encodes as the API writes times, so
// an answer encoded again as JSON reads as the server's own. Times the
// methods take are plain time.Time.
package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Version is the API release this client is written against, sent as the
// PubNub-Version header of every request unless WithVersion says otherwise.
const Version = "2026-09-03"

// Defaults of the options.
const (
	DefaultMaxRetries = 3                      // retries after the first attempt
	DefaultRetryBase  = 100 * time.Millisecond // the first backoff's upper bound
	DefaultTimeout    = 30 * time.Second       // per attempt, of the default HTTP client
	DefaultPageSize   = 100                    // items per page the iterators ask for: the server's maximum, so a walk takes the fewest requests
)

const (
	maxBackoff    = 30 * time.Second // cap of the exponential backoff
	maxRetryAfter = time.Minute      // longer Retry-After waits are not made
	maxAnswer     = 16 << 20         // bytes read of an answer at most
)

// Client talks to one Keyplane server with one API key. Make it with New.
type Client struct {
	base       string // scheme://host[/prefix], without a trailing slash
	key        string
	version    string
	userAgent  string
	http       *http.Client
	maxRetries int
	retryBase  time.Duration
	pageSize   int
}

// Option changes how New sets up a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc instead of its
// own (the default transport, DefaultTimeout per attempt).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithVersion sends v (a release date, YYYY-MM-DD) as PubNub-Version instead
// of Version. The server answers as the newest release on or before v.
func WithVersion(v string) Option { return func(c *Client) { c.version = v } }

// WithRetry sets how many times a request may be retried after its first
// attempt (0 never retries) and the base of the exponential backoff between
// attempts. The defaults are DefaultMaxRetries and DefaultRetryBase.
func WithRetry(max int, base time.Duration) Option {
	return func(c *Client) { c.maxRetries, c.retryBase = max, base }
}

// WithPageSize makes the iterators (Apps, Keysets, AuditEvents) ask for
// pages of n items (1 to 100) instead of DefaultPageSize.
func WithPageSize(n int) Option { return func(c *Client) { c.pageSize = n } }

// WithUserAgent sends ua as User-Agent instead of "keyplane-go/" + Version.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

var versionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// New returns a Client of the server at baseURL (such as
// "http://127.0.0.1:8080", without /v2) that authenticates with apiKey, a
// Service Integration API key sent as Authorization, as PubNub documents.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("keyplane: base URL %q: want http(s)://host[:port]: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("keyplane: base URL %q: want http(s)://host[:port], without credentials, query or fragment", baseURL)
	}
	if apiKey == "" {
		return nil, errors.New("keyplane: empty API key")
	}
	c := &Client{
		base:       strings.TrimRight(u.String(), "/"),
		key:        apiKey,
		version:    Version,
		userAgent:  "keyplane-go/" + Version,
		http:       &http.Client{Timeout: DefaultTimeout},
		maxRetries: DefaultMaxRetries,
		retryBase:  DefaultRetryBase,
		pageSize:   DefaultPageSize,
	}
	for _, o := range opts {
		o(c)
	}
	if _, err := time.Parse(time.DateOnly, c.version); err != nil || !versionRE.MatchString(c.version) {
		return nil, fmt.Errorf("keyplane: version %q: want a release date YYYY-MM-DD such as %s", c.version, Version)
	}
	if c.maxRetries < 0 || c.retryBase < 0 {
		return nil, fmt.Errorf("keyplane: WithRetry(%d, %v): want both 0 or more", c.maxRetries, c.retryBase)
	}
	if c.pageSize < 1 || c.pageSize > 100 {
		return nil, fmt.Errorf("keyplane: WithPageSize(%d): want 1 to 100", c.pageSize)
	}
	if c.http == nil {
		return nil, errors.New("keyplane: WithHTTPClient(nil)")
	}
	return c, nil
}

// do sends one API call, retrying it as the package documentation says, and
// decodes a 2xx answer into out (unless out is nil). in, unless nil, is the
// JSON body; it is encoded once and re-sent from the same bytes.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	_, err := c.send(ctx, method, path, query, in, out, method == http.MethodGet, nil)
	return err
}

// ask is do for a POST that only asks a question and changes nothing
// (POST /v2/authz/check): it is retried as a GET is.
func (c *Client) ask(ctx context.Context, path string, in, out any) error {
	_, err := c.send(ctx, http.MethodPost, path, nil, in, out, true, nil)
	return err
}

// send is do with readOnly saying whether the call has no effect at all, so
// that it may be repeated whatever became of an earlier attempt, and hdr
// headers to send. It answers the headers of the successful answer.
//
// Every POST that is not read-only carries an Idempotency-Key (the
// context's, see WithIdempotencyKey, or a new random one), the same on
// every attempt: the server runs it at most once and answers a retry with
// the first answer, so it is retried as a DELETE is.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in, out any, readOnly bool, hdr http.Header) (http.Header, error) {
	var body []byte
	if f, ok := in.(form); ok {
		body = f.body
		hdr = hdr.Clone()
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr.Set("Content-Type", f.contentType)
	} else if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("keyplane: %s %s: encoding the body: %w", method, path, err)
		}
		body = b
	}
	idempotent := readOnly || method == http.MethodDelete
	if method == http.MethodPost && !readOnly {
		key, _ := ctx.Value(idempotencyKey{}).(string)
		if key == "" {
			key = crand.Text()
		}
		hdr = hdr.Clone()
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr.Set("Idempotency-Key", key)
		idempotent = true
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		o := c.once(ctx, method, u, body, out, hdr)
		if o.err == nil {
			return o.header, nil
		}
		if attempt >= c.maxRetries || ctx.Err() != nil || !retryable(idempotent, readOnly, o) {
			return nil, o.err
		}
		wait := o.retryAfter
		if wait < 0 {
			wait = backoff(c.retryBase, attempt)
		} else if wait > maxRetryAfter {
			return nil, o.err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, o.err // the context would end first: no use waiting
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("keyplane: %s %s: stopped retrying: %w (last attempt: %w)", method, path, context.Cause(ctx), o.err)
		case <-t.C:
		}
	}
}

// outcome is what one attempt came to.
type outcome struct {
	err        error
	status     int           // the answer's status; 0 when none came
	retryAfter time.Duration // the answer's Retry-After on 429 or 503; -1 when none
	conn       bool          // no complete answer came: the connection failed
	dial       bool          // the connection was never made: the server never saw the request
	header     http.Header   // the answer's headers
}

// once makes one attempt.
func (c *Client) once(ctx context.Context, method, u string, body []byte, out any, hdr http.Header) outcome {
	o := outcome{retryAfter: -1}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		o.err = fmt.Errorf("keyplane: %w", err)
		return o
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", c.key)
	req.Header.Set("PubNub-Version", c.version)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		o.err = fmt.Errorf("keyplane: %w", err)
		o.conn = true
		var op *net.OpError
		o.dial = errors.As(err, &op) && op.Op == "dial"
		return o
	}
	defer res.Body.Close()
	o.status, o.header = res.StatusCode, res.Header
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	if err != nil {
		o.err = fmt.Errorf("keyplane: %s %s: reading the answer: %w", method, req.URL.Path, err)
		o.conn = true
		return o
	}
	if len(data) > maxAnswer {
		o.err = fmt.Errorf("keyplane: %s %s: answer over %d bytes", method, req.URL.Path, maxAnswer)
		return o
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		o.err = errorFrom(res.StatusCode, data)
		if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
			o.retryAfter = parseRetryAfter(res.Header.Get("Retry-After"))
		}
		return o
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			o.err = fmt.Errorf("keyplane: %s %s: decoding the %d answer: %w", method, req.URL.Path, res.StatusCode, err)
		}
	}
	return o
}

// retryable reports whether an attempt that failed as o may be made again;
// readOnly says the call has no effect (GET, and POSTs that only ask),
// idempotent that running it twice does what running it once does (those,
// DELETE, and POSTs with an Idempotency-Key).
func retryable(idempotent, readOnly bool, o outcome) bool {
	switch {
	case o.dial:
		return true
	case o.conn:
		return idempotent && connError(o.err)
	case !idempotent:
		return false
	}
	switch o.status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusInternalServerError:
		return readOnly
	}
	return false
}

// connError reports whether err is a failure of the connection, which may
// pass, rather than of the request itself (a bad URL, a refused certificate).
func connError(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// backoff is the wait before retry number attempt+1: a uniformly random
// duration up to base·2^attempt, capped ("full jitter").
func backoff(base time.Duration, attempt int) time.Duration {
	d := maxBackoff
	if attempt < 30 && base < maxBackoff>>attempt {
		d = base << attempt
	}
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// parseRetryAfter reads a Retry-After value, seconds or an HTTP date; -1
// when there is none or it cannot be read.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return -1
		}
		return time.Duration(min(n, int(maxRetryAfter/time.Second)+1)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}

// ListOptions chooses one page of a list. Zero fields are left to the
// server: page 1, 10 items.
type ListOptions struct {
	Page  int // from 1
	Limit int // 1 to 100
	// AppID keeps one app's keysets; only ListKeysets takes it (the other
	// lists refuse it, as the server refuses any parameter a route lacks).
	AppID string
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Page != 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.AppID != "" {
		q.Set("appId", o.AppID)
	}
	return q
}

// walk yields every item of a paged list, asking for pages of pageSize until
// total items are seen or a page comes back short. An error is yielded once,
// as the last pair.
func walk[T any](ctx context.Context, pageSize int, fetch func(context.Context, ListOptions) ([]T, int, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		seen := 0
		for page := 1; ; page++ {
			items, total, err := fetch(ctx, ListOptions{Page: page, Limit: pageSize})
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			seen += len(items)
			if len(items) < pageSize || seen >= total {
				return
			}
		}
	}
}

// escape makes s one path segment.
func escape(s string) string { return url.PathEscape(s) }

// wireTime renders t as the API writes times.
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
