// Package server wires Keyplane together: it opens the store, builds the
// operations and the HTTP API, and serves them until its context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/httpapi"
	"github.com/keyplane/keyplane/portal"
	"github.com/keyplane/keyplane/store"
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
	// SetupLink, when set, is given the one-time link that creates the
	// portal's Owner, when no user exists yet. It is a secret: the serve
	// command prints it on stdout, apart from the logs.
	SetupLink func(url string)
	// TrustProxy says a reverse proxy or load balancer stands in front: the
	// portal then takes the client address and scheme from its
	// X-Forwarded-For and X-Forwarded-Proto headers.
	TrustProxy bool
}

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
		now = time.Now
	}
	start := time.Now()
	db, err := store.Open(ctx, cfg.Database, now())
	if err != nil {
		return err
	}
	defer db.Close()
	svc := control.New(db, control.Options{Now: now, Logger: log})
	api := httpapi.New(svc, log, db.Ping)
	handler := routes(api.Handler(), portal.New(svc, log, portal.Options{Now: now, TrustProxy: cfg.TrustProxy}).Handler())

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	addr := ln.Addr().String()
	// The link comes before the "listening" line, so whoever waits for
	// that line finds the link already printed.
	if cfg.SetupLink != nil {
		token, ok, err := svc.NewSetupToken(ctx)
		if err != nil {
			ln.Close()
			return fmt.Errorf("making the setup link: %w", err)
		}
		if ok {
			cfg.SetupLink(baseURL(addr) + "/setup?token=" + token)
		}
	}
	log.Info("listening", "addr", addr, "database", db.Name(), "engine", db.Engine(), "startupMs", time.Since(start).Milliseconds())
	if cfg.Listening != nil {
		cfg.Listening(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// routes puts the API and the portal on one mux: /v2 and the service
// routes are the API's, everything else is the portal's.
func routes(api, portal http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/v2", "/v2/", "/healthz", "/readyz", "/openapi.yaml"} {
		mux.Handle(p, api)
	}
	mux.Handle("/", portal)
	return mux
}

// baseURL is how a person on this machine reaches addr in a browser.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
