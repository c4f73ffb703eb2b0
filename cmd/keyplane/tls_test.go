package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "keyplane test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With --tls-cert and --tls-key the server speaks HTTPS only, with HSTS;
// every answer says nosniff, and /v2 answers are never cached.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	db := newDB(t)
	key := createIntegration(t, db, "root", "30d", fullAccess...)
	s := startServer(t, map[string]string{"KEYPLANE_TLS_KEY": keyFile}, "--addr", "127.0.0.1:0", "--database", db, "--tls-cert", certFile)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+s.Addr+"/v2/apps", nil)
	req.Header.Set("Authorization", key)
	req.Header.Set("PubNub-Version", apiVersion)
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "max-age=31536000" ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /v2/apps over HTTPS: %d, headers %v", res.StatusCode, res.Header)
	}
	if res, err := httpClient.Get("http://" + s.Addr + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Error("plain HTTP got 200 from a TLS server")
		}
	}
	// Without TLS: no HSTS, the other headers still.
	plain := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	res, err = httpClient.Get(plain.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") != "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("plain /healthz headers %v", res.Header)
	}
}

func TestServeTLSErrors(t *testing.T) {
	t.Parallel()
	certFile, _, _ := selfSigned(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", certFile}, "give both --tls-cert and --tls-key, or neither"},
		{[]string{"--tls-cert", certFile, "--tls-key", missing}, missing},
		{[]string{"--tls-cert", certFile, "--tls-key", certFile}, "TLS: loading certificate"},
	} {
		_, _, err := runKeyplane(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0", "--database", newDB(t)}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}
