// Package server wires Keyplane together: it opens the store, builds the
// operations and the HTTP API, and serves them until its context ends.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/httpapi"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/mail"
	"github.com/keyplane/keyplane/mcp"
	"github.com/keyplane/keyplane/portal"
	"github.com/keyplane/keyplane/store"
	"github.com/keyplane/keyplane/webhook"
)

// Config is what a server needs.
type Config struct {
	Addr     string // host:port; port 0 picks a free one
	Database string // path of the SQLite file
	Logger   *slog.Logger
	// Listening, when set, is told the address once the server accepts
	// connections (tests use it with Addr "127.0.0.1:0").
	Listening func(addr string)
	// Now replaces the clock (tests move time forward to expire keys).
	Now func() time.Time
	// UsageRetentionDays is how many days of usage are kept; 0 means
	// keyplane.DefaultUsageRetentionDays.
	UsageRetentionDays int
	// IdempotencyTTL is how long Idempotency-Keys are remembered; 0 means
	// control.DefaultIdempotencyTTL (24 hours).
	IdempotencyTTL time.Duration
	// KEKFile is the file of the key-encryption key that seals keyset
	// secret keys at rest; DefaultKEKFile(Database) when empty. It is made
	// on first start, for a database that has no secret sealed yet.
	KEKFile string
	// TLSCert and TLSKey, both or neither, are PEM files of the
	// certificate chain and its private key: with them the server speaks
	// only HTTPS and sends Strict-Transport-Security.
	TLSCert, TLSKey string
	// Limits bound each API key on this server (httpapi.DefaultLimits is
	// what `keyplane serve` uses unless told otherwise; the zero value
	// turns every limit off).
	Limits httpapi.Limits
	// SetupLink, when set, is given the one-time link that creates the
	// portal's Owner, when no user exists yet. It is a secret: the serve
	// command prints it on stdout, apart from the logs.
	SetupLink func(url string)
	// TrustProxy says a reverse proxy or load balancer stands in front: the
	// API, MCP and the portal then take the client address from its
	// X-Forwarded-For header (and the portal the scheme from
	// X-Forwarded-Proto).
	TrustProxy bool
	// SMTPURL (smtp://user:password@host:587, or smtps:// for implicit
	// TLS), SMTPFrom and SMTPPasswordFile set up the mail server that
	// sends invitations, password resets and sign-up links (see
	// mail.ParseURL); without SMTPURL no mail is sent.
	SMTPURL, SMTPFrom, SMTPPasswordFile string
	// PublicURL is the base of links in e-mails and of the setup link, as
	// people's browsers reach the server (https://keyplane.example.com);
	// empty means the listening address. Passkeys belong to its host
	// (empty: the host each request names). Required with SMTPURL.
	PublicURL string
	// Signup turns on self-service sign-up; it needs SMTPURL.
	Signup bool
	// KeyNoticeEvery is how often the server looks for key notices come
	// due (see control.Service.GiveKeyNotices); 0 means
	// control.KeyNoticeEvery. Whether one is due is decided by Now, so
	// tests move the clock and set this short.
	KeyNoticeEvery time.Duration
	// PprofAddr, when set, is a host:port where Go's profiler
	// (net/http/pprof) is served, apart from the API. Off by default: a
	// profile shows the server's memory, so give a loopback address.
	PprofAddr string
	// WebhooksAllowPrivate lets webhooks be registered for and sent to
	// loopback, private and link-local destinations, and over plain http
	// (serve --webhooks-allow-private): for tests and internal receivers.
	WebhooksAllowPrivate bool
	// WebhookPoll is how often an idle delivery worker looks for due
	// deliveries; 0 means webhook.DefaultPoll. Tests set it short.
	WebhookPoll time.Duration
	// WebhookSenders bounds the webhook deliveries in flight at once; 0
	// means webhook.DefaultSenders.
	WebhookSenders int
	// WebhookClient, when set, sends the deliveries instead of
	// webhook.NewClient's (which guards each connection's address).
	WebhookClient *http.Client
}

// retentionEvery is how often a server deletes usage past its retention.
// Every replica does: the deletes are idempotent and cheap once done.
const retentionEvery = time.Hour

// ShutdownGrace is how long requests in flight may take to finish after a
// stop is asked for.
const ShutdownGrace = 10 * time.Second

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = wallclock.Now
	}
	start := time.Now()
	tlsConfig, err := loadTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.Database, now())
	if err != nil {
		return err
	}
	defer db.Close()
	if files := db.ExposedFiles(); len(files) > 0 {
		log.Warn("the database's files can be read by other users of this machine: they hold password hashes, the audit log and usage; chmod 600 them",
			"files", files)
	}
	kek := cfg.KEKFile
	if kek == "" {
		kek = DefaultKEKFile(cfg.Database)
	}
	created, err := db.SealSecrets(ctx, kek)
	if err != nil {
		return err
	}
	if created {
		log.Warn("created a key-encryption key; back it up with the database: without it the secret keys cannot be read", "kekFile", kek)
	}
	mailer, err := newMailer(cfg, now, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	addr := ln.Addr().String()
	public := cfg.PublicURL
	if public == "" {
		public = BaseURL(addr, tlsConfig != nil)
	}
	svc := control.New(db, control.Options{Now: now, Logger: log, UsageRetentionDays: cfg.UsageRetentionDays, IdempotencyTTL: cfg.IdempotencyTTL,
		Mailer: mailer, PublicURL: public, Signup: cfg.Signup})
	// With a mailer, the Service itself e-mails the account's Owners when
	// the worker disables a webhook, and its Owners and Admins of each key
	// notice.
	svc.ConfigureWebhooks(control.WebhookConfig{AllowPrivate: cfg.WebhooksAllowPrivate})
	a := httpapi.New(svc, log, db.Ping, cfg.Limits, now)
	a.TrustProxy = cfg.TrustProxy
	api := a.Handler()
	// The MCP endpoint is a handler tree of its own beside /v2; its tools
	// call the API handler in process (see mcp.NewHTTPHandler).
	handler := routes(api, mcp.NewHTTPHandler(api, svc.Authenticate, log, "", cfg.TrustProxy),
		portal.New(svc, log, portal.Options{Now: now, TrustProxy: cfg.TrustProxy, PublicURL: cfg.PublicURL}).Handler())

	srv := &http.Server{
		Handler:           secureHeaders(handler, tlsConfig != nil),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The link comes before the "listening" line, so whoever waits for
	// that line finds the link already printed.
	if cfg.SetupLink != nil {
		token, ok, err := svc.NewSetupToken(ctx)
		if err != nil {
			ln.Close()
			return fmt.Errorf("making the setup link: %w", err)
		}
		if ok {
			cfg.SetupLink(strings.TrimRight(public, "/") + "/setup?token=" + token)
		}
	}
	log.Info("listening", "addr", addr, "tls", tlsConfig != nil, "database", db.Name(), "engine", db.Engine(), "startupMs", time.Since(start).Milliseconds())
	if cfg.Listening != nil {
		cfg.Listening(addr)
	}
	if cfg.PprofAddr != "" {
		stop, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go enforceRetention(ctx, svc, log)
	go giveKeyNotices(ctx, svc, log, cfg.KeyNoticeEvery)
	// The webhook worker stops with the server and is waited for, so its
	// last outcomes are recorded before the database closes.
	wctx, stopWebhooks := context.WithCancel(ctx)
	webhooksDone := make(chan struct{})
	go func() {
		defer close(webhooksDone)
		webhook.New(svc, webhook.Options{AllowPrivate: cfg.WebhooksAllowPrivate, Client: cfg.WebhookClient, Now: now,
			Poll: cfg.WebhookPoll, Senders: cfg.WebhookSenders, Logger: log}).Run(wctx)
	}()
	defer func() {
		stopWebhooks()
		<-webhooksDone
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Messages still being sent (a password reset's) get the rest of
	// the grace.
	svc.WaitBackground(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newMailer is the sender cfg sets up, or nil without SMTPURL; it refuses
// settings that cannot work before anything starts.
func newMailer(cfg Config, now func() time.Time, log *slog.Logger) (mail.Sender, error) {
	if cfg.PublicURL != "" {
		if err := CheckPublicURL(cfg.PublicURL); err != nil {
			return nil, err
		}
	}
	if cfg.SMTPURL == "" {
		switch {
		case cfg.Signup:
			return nil, errors.New("--signup needs --smtp-url: sign-up confirms each address by e-mail")
		case cfg.SMTPFrom != "" || cfg.SMTPPasswordFile != "":
			return nil, errors.New("--smtp-from and --smtp-password-file need --smtp-url (or KEYPLANE_SMTP_URL)")
		}
		return nil, nil
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("--smtp-url needs --public-url (or KEYPLANE_PUBLIC_URL): the links in e-mails must lead to this server as people's browsers reach it, e.g. https://keyplane.example.com")
	}
	mc, err := mail.ParseURL(cfg.SMTPURL, cfg.SMTPFrom, cfg.SMTPPasswordFile)
	if err != nil {
		return nil, err
	}
	log.Info("mail", "server", mc.String(), "from", mc.From)
	return mail.NewSMTP(mc, now), nil
}

// CheckPublicURL checks a --public-url: an absolute http(s) URL with a
// host and nothing after its path.
func CheckPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--public-url %q (or KEYPLANE_PUBLIC_URL): want the address people's browsers reach this server at, such as https://keyplane.example.com", s)
	}
	return nil
}

// enforceRetention deletes usage past the retention window now and then
// every retentionEvery, until ctx ends. A failure is logged and retried at
// the next turn.
func enforceRetention(ctx context.Context, svc *control.Service, log *slog.Logger) {
	t := time.NewTicker(retentionEvery)
	defer t.Stop()
	for {
		n, err := svc.EnforceUsageRetention(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("usage retention", "err", err)
		case n > 0:
			log.Info("usage retention", "deletedRows", n, "keptDays", svc.UsageRetention())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// giveKeyNotices records the key notices that have come due, now and
// then every every, until ctx ends. Every replica runs it: each notice is
// claimed in the database, so it is given once between them. A failure is
// logged and retried at the next turn.
func giveKeyNotices(ctx context.Context, svc *control.Service, log *slog.Logger, every time.Duration) {
	if every <= 0 {
		every = control.KeyNoticeEvery
	}
	// The first look waits a little (a minute at most): a server started
	// and stopped at once, as tests and short jobs do, records nothing of
	// its own, and notices count days, so a minute is nothing to them.
	select {
	case <-ctx.Done():
		return
	case <-time.After(min(every, time.Minute)):
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := svc.GiveKeyNotices(ctx, keyplane.InstallOperator)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("key notices", "err", err)
		case n > 0:
			log.Info("key notices", "given", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loadTLS reads the certificate and key, or returns nil when neither is
// given.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, errors.New("TLS: give both --tls-cert and --tls-key, or neither")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS: loading certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// secureHeaders adds the headers every answer carries: no MIME sniffing,
// no caching of answers that may hold secret keys, and under TLS a year of
// Strict-Transport-Security.
//
// The values are built once and assigned under their canonical keys, as
// Header.Set would store them, without its per-request work; they are
// shared between answers and only read (a value added later appends to a
// copy, each slice's capacity being its length).
func secureHeaders(next http.Handler, tls bool) http.Handler {
	nosniff, noStore, hsts := []string{"nosniff"}, []string{"no-store"}, []string{"max-age=31536000"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		// The operator API answers a first Owner's password once: no copy
		// may stay in a cache either.
		if strings.HasPrefix(r.URL.Path, "/v2/") || strings.HasPrefix(r.URL.Path, httpapi.OperatorPrefix) || r.URL.Path == "/mcp" {
			h["Cache-Control"] = noStore
		}
		if tls {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

// DefaultKEKFile is where the key-encryption key of a database is kept
// unless told otherwise: beside a SQLite file, or keyplane.kek in the
// working directory for PostgreSQL (give every replica the same file).
func DefaultKEKFile(database string) string {
	if store.IsPostgres(database) {
		return "keyplane.kek"
	}
	return database + ".kek"
}

// routes puts the API, MCP and the portal on one mux: /v2, the operator
// API and the service routes are the API's, /mcp is MCP's, everything else is the portal's.
func routes(api, mcp, portal http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/v2", "/v2/", httpapi.OperatorPrefix, "/healthz", "/readyz", "/openapi.yaml"} {
		mux.Handle(p, api)
	}
	mux.Handle("/mcp", mcp)
	mux.Handle("/", portal)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A clean /v2/ path is the API's, as the mux would find: handed
		// over at once, the mux is not searched twice (the API's own
		// mux routes it next). Anything else, an unclean path the mux
		// redirects included, goes through the mux.
		if p := r.URL.Path; strings.HasPrefix(p, "/v2/") && r.Method != http.MethodConnect && path.Clean(p) == p {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// BaseURL is how a person on this machine reaches addr in a browser: the
// public URL when none is given.
func BaseURL(addr string, tls bool) string {
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return scheme + net.JoinHostPort(host, port)
}
