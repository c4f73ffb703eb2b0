package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// config upload-apns sends the .p8 file with its ids and prints what is
// stored; the file's name, not its folders, is what the configuration
// shows; a missing or oversized file is refused before anything is sent.
func TestCLIUploadAPNs(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	_, keyset, _ := e.createKeysetCLI("push")
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	dir := t.TempDir()
	p8 := filepath.Join(dir, "AuthKey_KEY1234567.p8")
	if err := os.WriteFile(p8, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	out := decode(t, outputJSON, e.ok("config", "upload-apns", keyset, "--team-id", "ABCDE12345", "--auth-key-id", "KEY1234567", "--file", p8, "-o", "json"))
	if str(t, out, "filename") != "AuthKey_KEY1234567.p8" || str(t, out, "teamId") != "ABCDE12345" || str(t, out, "authKeyId") != "KEY1234567" {
		t.Errorf("upload-apns printed %v", out)
	}
	if r := e.ok("config", "get", keyset); !strings.Contains(r.stdout, "AuthKey_KEY1234567.p8") {
		t.Errorf("config get after the upload:\n%s", r.stdout)
	}
	e.fails(2, []string{"--file: required"}, "config", "upload-apns", keyset, "--team-id", "ABCDE12345", "--auth-key-id", "KEY1234567")
	big := filepath.Join(dir, "big.json")
	os.WriteFile(big, make([]byte, 70<<10), 0o600)
	e.fails(1, []string{"larger than 64 KiB"}, "config", "upload-fcm", keyset, "--file", big)
	e.fails(2, []string{"file: not a service-account file"}, "config", "upload-fcm", keyset, "--file", p8)
}
