// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp,
// a maintained server library) inside a test process, so that tests of
// Keyplane's e-mail send through a genuine SMTP conversation (EHLO,
// STARTTLS, AUTH PLAIN, DATA) and read what arrived, link included.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Server is a running SMTP server that keeps every message it accepts.
type Server struct {
	// Addr is host:port; URL is smtp://user:password@Addr (the user and
	// password are the ones the server accepts).
	Addr, URL string
	// RootCAs trusts the server's certificate (with TLS).
	RootCAs *x509.CertPool
	// User and Password are the only credentials the server accepts.
	User, Password string

	msgs chan Message
}

// Message is a message as it arrived.
type Message struct {
	From, To string
	// TLS tells whether the connection it came over was encrypted.
	TLS    bool
	Header mail.Header
	// Text and HTML are the decoded parts of a multipart/alternative body.
	Text, HTML string
	Raw        []byte
}

// Options choose what the server offers.
type Options struct {
	// TLS offers STARTTLS with a certificate made for 127.0.0.1.
	TLS bool
	// Implicit makes the listener speak TLS from the first byte (smtps).
	Implicit bool
}

// Start starts a server on 127.0.0.1 for the life of t.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{User: "keyplane", Password: "mail-secret-" + rand.Text(), msgs: make(chan Message, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, c: c}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.AllowInsecureAuth = !o.TLS && !o.Implicit
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	var ln net.Listener
	var err error
	if o.TLS || o.Implicit {
		cfg, pool := certificate(t)
		srv.TLSConfig, s.RootCAs = cfg, pool
	}
	if o.Implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	scheme := "smtp"
	if o.Implicit {
		scheme = "smtps"
	}
	s.URL = scheme + "://" + s.User + ":" + s.Password + "@" + s.Addr
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Next waits up to 10 seconds for the next message.
func (s *Server) Next(t testing.TB) Message {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message arrived within 10 seconds")
	}
	return Message{}
}

// None checks that no message is waiting, having given one that was sent
// a moment to arrive (a message sent in the background, or not at all).
func (s *Server) None(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case m := <-s.msgs:
		t.Fatalf("unexpected message to %s: %s", m.To, m.Header.Get("Subject"))
	case <-time.After(wait):
	}
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Link is the message's one link, as its text part gives it; the test
// fails unless the text and the HTML part carry exactly that link.
func (m Message) Link(t testing.TB) string {
	t.Helper()
	text := linkRE.FindAllString(m.Text, -1)
	if len(text) != 1 {
		t.Fatalf("the text part holds %d links, not 1:\n%s", len(text), m.Text)
	}
	for _, l := range linkRE.FindAllString(m.HTML, -1) {
		if strings.ReplaceAll(l, "&amp;", "&") != text[0] {
			t.Fatalf("the HTML part links to %s, not only %s", l, text[0])
		}
	}
	return text[0]
}

type session struct {
	s        *Server
	c        *smtp.Conn
	authed   bool
	from, to string
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if user != se.s.User || password != se.s.Password {
			return errors.New("bad credentials")
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if !se.authed {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = to
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return err
	}
	_, isTLS := se.c.TLSConnectionState()
	m.From, m.To, m.TLS = se.from, se.to, isTLS
	se.s.msgs <- m
	return nil
}

func (se *session) Reset()        {}
func (se *session) Logout() error { return nil }

// parse reads a multipart/alternative message into its parts.
func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: msg.Header, Raw: raw}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || typ != "multipart/alternative" {
		return m, errors.New("not multipart/alternative: " + msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, err
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return m, err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			m.Text = strings.ReplaceAll(string(b), "\r\n", "\n")
		case "text/html":
			m.HTML = strings.ReplaceAll(string(b), "\r\n", "\n")
		}
	}
	return m, nil
}

// certificate makes a self-signed certificate for 127.0.0.1 and a pool
// that trusts it.
func certificate(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}
