package main

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/keyplane/keyplane"
)

// baselineMain serves the baseline: the least any Go server must do to
// answer an authenticated GET of a keyset — take the key out of the
// Authorization header, hash it, compare the hash, write the keyset's
// JSON from memory. Keyplane's throughput is quoted as a ratio to it.
//
//	bench baseline --addr 127.0.0.1:0 --key-hash HEX --body FILE
//
// It prints "listening ADDR" on stdout once it accepts connections.
func baselineMain(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	keyHash := fs.String("key-hash", "", "hex SHA-256 of the one API key accepted")
	bodyFile := fs.String("body", "", "file holding the keyset JSON to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	want, err := hex.DecodeString(*keyHash)
	if err != nil || len(want) == 0 {
		return fmt.Errorf("baseline: --key-hash: want a hex SHA-256")
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if err := loopbackOnly("http://" + ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimSpace(r.Header.Get("Authorization"))
		if h := keyplane.HashAPIKey(key); subtle.ConstantTimeCompare(h[:], want) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"statusCode":401,"error":"Unauthorized","message":["Authorization: unknown API key"]}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	fmt.Printf("listening %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: h}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
