package mail

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/smtptest"
)

func config(t *testing.T, srv *smtptest.Server) Config {
	t.Helper()
	c, err := ParseURL(srv.URL, "Keyplane <noreply@keyplane.example>", "")
	if err != nil {
		t.Fatal(err)
	}
	c.RootCAs = srv.RootCAs
	return c
}

// A message goes through a real SMTP server, over STARTTLS when the
// server offers it (on loopback too) and over implicit TLS for smtps://,
// and arrives as text and HTML carrying the product's name and its one
// link.
func TestSendThroughRealServer(t *testing.T) {
	for name, o := range map[string]smtptest.Options{"plain": {}, "starttls": {TLS: true}, "smtps": {Implicit: true}} {
		t.Run(name, func(t *testing.T) {
			srv := smtptest.Start(t, o)
			link := "https://keyplane.example/invitation?token=abc123"
			m := InvitationMessage(Invitation{To: "new@example.com", Account: "Acme <Inc> & Co", Inviter: "owner@example.com", Role: "Account Viewer", Link: link, Valid: "7 days"})
			if err := NewSMTP(config(t, srv), nil).Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			got := srv.Next(t)
			if got.To != "new@example.com" || got.From != "noreply@keyplane.example" {
				t.Errorf("envelope %s → %s", got.From, got.To)
			}
			if got.TLS != (o.TLS || o.Implicit) {
				t.Errorf("arrived over TLS: %v", got.TLS)
			}
			if s := got.Header.Get("Subject"); s != "You are invited to Acme <Inc> & Co on Keyplane" {
				t.Errorf("subject %q", s)
			}
			if got.Link(t) != link {
				t.Errorf("link %s", got.Link(t))
			}
			if !strings.Contains(got.Text, "Keyplane") || !strings.Contains(got.HTML, "Keyplane") {
				t.Error("the product is not named")
			}
			// The account's name is escaped in HTML, and nothing is loaded
			// from anywhere (no image, no tracking).
			if !strings.Contains(got.HTML, "Acme &lt;Inc&gt; &amp; Co") {
				t.Errorf("HTML: %s", got.HTML)
			}
			for _, bad := range []string{"<img", "src=", "<script"} {
				if strings.Contains(got.HTML, bad) {
					t.Errorf("HTML holds %q", bad)
				}
			}
		})
	}
}

// A server that refuses the credentials is an error naming the server,
// never the password.
func TestSendRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: true})
	c := config(t, srv)
	c.Password = "wrong-password-xyz"
	err := NewSMTP(c, nil).Send(context.Background(), PasswordResetMessage(PasswordReset{To: "a@example.com", Link: "https://x.example/reset?token=t", Valid: "1 hour"}))
	if err == nil {
		t.Fatal("sent with a wrong password")
	}
	if strings.Contains(err.Error(), "wrong-password-xyz") || !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("error %q", err)
	}
	srv.None(t, 0)
}

// A stalled server ends with the context's deadline.
func TestSendTimesOut(t *testing.T) {
	// A listener that accepts and never says a word.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	c := Config{Host: host, Port: port, From: "noreply@example.com"}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = NewSMTP(c, nil).Send(ctx, SignupMessage(Signup{To: "a@example.com", Link: "https://x.example/s?token=t", Valid: "24 hours"}))
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("error %v after %v", err, time.Since(start))
	}
}

func TestParseURL(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("from-file\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	from := "Keyplane <noreply@example.com>"
	for _, c := range []struct {
		url, from, file string
		want            Config
		err             string
	}{
		{"smtp://u:p@mail.example.com", from, "", Config{Host: "mail.example.com", Port: "587", Username: "u", Password: "p", From: `"Keyplane" <noreply@example.com>`}, ""},
		{"smtps://u:p@mail.example.com", from, "", Config{Host: "mail.example.com", Port: "465", Implicit: true, Username: "u", Password: "p", From: `"Keyplane" <noreply@example.com>`}, ""},
		{"smtp://u@mail.example.com:2525", "noreply@example.com", pw, Config{Host: "mail.example.com", Port: "2525", Username: "u", Password: "from-file", From: "<noreply@example.com>"}, ""},
		{"smtp://127.0.0.1:25", from, "", Config{Host: "127.0.0.1", Port: "25", From: `"Keyplane" <noreply@example.com>`}, ""},
		{"http://u:secretpw@x", from, "", Config{}, "scheme must be smtp://"},
		{"smtp://u:secret pw@x\x7f", from, "", Config{}, "want smtp://"},
		{"mail.example.com:587", from, "", Config{}, "want smtp://"},
		{"smtp://u:p@x", from, pw, Config{}, "in one place only"},
		{"smtp://x", from, pw, Config{}, "names no user"},
		{"smtp://u@x", from, empty, Config{}, "holds no password"},
		{"smtp://u:p@x", "", "", Config{}, "--smtp-from"},
		{"smtp://u:p@x", "not an address", "", Config{}, "--smtp-from"},
	} {
		got, err := ParseURL(c.url, c.from, c.file)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.url, err, c.err)
			}
			if err != nil && (strings.Contains(err.Error(), "secretpw") || strings.Contains(err.Error(), "secret pw")) {
				t.Errorf("%q: the error shows the password: %v", c.url, err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.url, err)
		case got != c.want:
			t.Errorf("%q: %+v, want %+v", c.url, got, c.want)
		}
	}
	c, _ := ParseURL("smtp://u:p@mail.example.com", from, "")
	if s := c.String(); s != "smtp://u@mail.example.com:587" {
		t.Errorf("String %q", s)
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "127.3.4.5": true,
		"mail.example.com": false, "10.0.0.1": false, "localhost.example.com": false} {
		if loopback(host) != want {
			t.Errorf("loopback(%q) = %v", host, !want)
		}
	}
}

// A header value cannot carry a line break into the message.
func TestComposeRefusesHeaderInjection(t *testing.T) {
	if _, err := compose("a@example.com", Message{To: "b@example.com\r\nBcc: c@example.com", Subject: "x"}, time.Unix(0, 0)); err == nil {
		t.Fatal("a line break in To was accepted")
	}
}
