package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/keyplane/keyplane/client"
)

// The client uploads APNs credentials as a multipart form, its folders
// left out of the file name, and reads the server's refusal as an error.
func TestUploadAPNs(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.client(nil)
	ctx := context.Background()
	app, err := c.CreateApp(ctx, "push")
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	p8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	got, err := c.UploadAPNs(ctx, k.Keyset.ID, "ABCDE12345", "KEY1234567", "/home/me/AuthKey_KEY1234567.p8", p8)
	if err != nil || got != (client.APNs{TeamID: "ABCDE12345", AuthKeyID: "KEY1234567", Filename: "AuthKey_KEY1234567.p8"}) {
		t.Fatalf("UploadAPNs = %+v, %v", got, err)
	}
	cfg, err := c.GetConfig(ctx, k.Keyset.ID)
	if err != nil || !cfg.APNs.Enabled || cfg.APNs.Filename == nil || *cfg.APNs.Filename != "AuthKey_KEY1234567.p8" {
		t.Errorf("config after the upload: %+v, %v", cfg.APNs, err)
	}
	if _, err := c.UploadFCM(ctx, k.Keyset.ID, "sa.json", []byte(`{"type":"service_account"}`)); client.StatusCode(err) != 400 {
		t.Errorf("UploadFCM of a bad file: %v, want a 400", err)
	}
}
