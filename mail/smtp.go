package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is how to reach the mail server and whom messages come from.
type Config struct {
	// Host and Port are the server's; Implicit is implicit TLS (smtps://),
	// otherwise the connection is plain SMTP upgraded with STARTTLS, which
	// is required unless Host is this machine (loopback).
	Host, Port string
	Implicit   bool
	// Username and Password authenticate with PLAIN, only ever over TLS or
	// to this machine; none when Username is empty.
	Username, Password string
	// From is the From header ("Keyplane <noreply@example.com>"); its
	// address is also the envelope sender.
	From string
	// RootCAs verifies the server's certificate; nil means the system's.
	RootCAs *x509.CertPool
}

// Port defaults: submission with STARTTLS, and submission over implicit TLS.
const (
	defaultPort         = "587"
	defaultImplicitPort = "465"
)

// ParseURL reads the mail server's URL (smtp://user:password@host:587 or
// smtps://user:password@host:465), the From address, and, when
// passwordFile is not empty, the password from that file (its first line)
// instead of the URL, so that it shows in no process list. Errors never
// repeat the URL: it may hold a password.
func ParseURL(raw, from, passwordFile string) (Config, error) {
	var c Config
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return c, errors.New("--smtp-url (or KEYPLANE_SMTP_URL): want smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 (TLS)")
	}
	switch u.Scheme {
	case "smtp":
		c.Port = defaultPort
	case "smtps":
		c.Implicit, c.Port = true, defaultImplicitPort
	default:
		return c, fmt.Errorf("--smtp-url (or KEYPLANE_SMTP_URL): the scheme must be smtp:// (STARTTLS) or smtps:// (TLS), not %q", u.Scheme)
	}
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		c.Port = p
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if passwordFile != "" {
		if c.Password != "" {
			return c, errors.New("--smtp-password-file: the URL holds a password too; give it in one place only")
		}
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return c, fmt.Errorf("--smtp-password-file: %w", err)
		}
		c.Password, _, _ = strings.Cut(string(b), "\n")
		c.Password = strings.TrimRight(c.Password, "\r")
		if c.Password == "" {
			return c, fmt.Errorf("--smtp-password-file %s: the file holds no password", passwordFile)
		}
		if c.Username == "" {
			return c, errors.New("--smtp-password-file: the URL names no user (smtp://user@host:587)")
		}
	}
	if from == "" {
		return c, errors.New("--smtp-from (or KEYPLANE_SMTP_FROM): required with --smtp-url, e.g. \"Keyplane <noreply@example.com>\"")
	}
	a, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return c, fmt.Errorf("--smtp-from %q: not an address like \"Keyplane <noreply@example.com>\"", from)
	}
	c.From = a.String()
	return c, nil
}

// String names the server without its password, for logs.
func (c Config) String() string {
	scheme := "smtp"
	if c.Implicit {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(c.Host, c.Port)}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	return u.String()
}

// SMTP sends messages through a mail server, one connection per message
// (messages are few: invitations, resets and sign-ups).
type SMTP struct {
	c   Config
	now func() time.Time
}

// NewSMTP returns a sender through the server of c; now dates messages
// (nil: the real clock).
func NewSMTP(c Config, now func() time.Time) *SMTP {
	if now == nil {
		now = time.Now
	}
	return &SMTP{c: c, now: now}
}

// sendTimeout bounds one delivery when ctx sets no deadline.
const sendTimeout = 30 * time.Second

// loopback reports whether host is this machine, where plain SMTP is
// allowed (a local relay): anywhere else STARTTLS is required.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m.
func (s *SMTP) Send(ctx context.Context, m Message) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("mail to %s through %s: %w", m.To, s.c, err)
		}
	}()
	from, err := mail.ParseAddress(s.c.From)
	if err != nil {
		return err
	}
	msg, err := compose(s.c.From, m, s.now())
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sendTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.c.Host, s.c.Port))
	if err != nil {
		return err
	}
	// A stalled server ends with ctx: its deadline, and its cancellation.
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	tlsConfig := &tls.Config{ServerName: s.c.Host, RootCAs: s.c.RootCAs, MinVersion: tls.VersionTLS12}
	if s.c.Implicit {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.c.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if !s.c.Implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return err
			}
		} else if !loopback(s.c.Host) {
			return errors.New("the server offers no STARTTLS, and messages (with their links) are not sent in the clear beyond this machine; use a server that offers it, or smtps://")
		}
	}
	if s.c.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server offers no authentication, but the URL names a user")
		}
		if err := c.Auth(smtp.PlainAuth("", s.c.Username, s.c.Password, s.c.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
