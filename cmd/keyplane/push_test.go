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

// plan and apply upload the push credentials a declaration names, files
// relative to it, checked before anything changes: the plan shows the ids
// and file names, apply uploads, and the next plan is empty; a new file
// name plans an upload again; a wrong file stops the plan, naming it.
func TestPlanApplyPushCredentials(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	dir := t.TempDir()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, name := range []string{"AuthKey_KEY1234567.p8", "AuthKey_KEY7654321.p8"} {
		if err := os.WriteFile(filepath.Join(dir, name), key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	decl := func(p8 string) string {
		file := filepath.Join(dir, "keyplane.yaml")
		body := "apps:\n  - name: Chat\n    keysets:\n      - name: prod\n        push:\n          apns: {teamId: ABCDE12345, authKeyId: KEY1234567, file: " + p8 + "}\n"
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	file := decl("AuthKey_KEY1234567.p8")
	mustContain(t, "plan", e.ok("plan", "-f", file).stdout,
		"push.apns.teamId: \"ABCDE12345\"", "push.apns.authKeyId: \"KEY1234567\"", "push.apns.filename: \"AuthKey_KEY1234567.p8\"")
	e.ok("apply", "-f", file)
	mustContain(t, "plan after apply", e.ok("plan", "-f", file).stdout, "No changes")

	file = decl("AuthKey_KEY7654321.p8")
	mustContain(t, "plan of a renamed key", e.ok("plan", "-f", file).stdout,
		"~ update keyset \"prod\"", "push.apns.filename: \"AuthKey_KEY1234567.p8\" → \"AuthKey_KEY7654321.p8\"")
	e.ok("apply", "-f", file)
	if r := e.ok("config", "get", findKeyset(t, e, "prod"), "-o", "json"); !strings.Contains(r.stdout, "AuthKey_KEY7654321.p8") {
		t.Errorf("after the second apply: %s", r.stdout)
	}

	file = decl("missing.p8")
	e.fails(2, []string{"apps[0].keysets[0].push.apns.file:", "missing.p8", "no such file"}, "plan", "-f", file)
}

// findKeyset is the id of the keyset named name, through the CLI.
func findKeyset(t *testing.T, e *apiEnv, name string) string {
	t.Helper()
	for _, k := range list(t, decode(t, outputJSON, e.ok("keysets", "list", "-o", "json")), "keysets") {
		if ks := obj(t, k); str(t, ks, "name") == name {
			return str(t, ks, "id")
		}
	}
	t.Fatalf("no keyset %q", name)
	return ""
}
