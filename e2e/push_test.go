package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/testdb"
)

// pemKey is key as a PEM PKCS #8 block, as Apple's .p8 files and Google's
// service-account files hold it.
func pemKey(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// apnsKey is a fresh .p8 file.
func apnsKey(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(pemKey(t, k))
}

// serviceAccount is a fresh service-account JSON, as Google's console
// downloads it.
func serviceAccount(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "chat-prod", "private_key_id": "0123abcd",
		"private_key": pemKey(t, k), "client_email": "push@chat-prod.iam.gserviceaccount.com",
		"token_uri": "https://oauth2.googleapis.com/token",
	})
	return b
}

// upload is a multipart/form-data body of fields and, unless filename is
// "", a file part named "file"; it returns the body and its Content-Type.
func upload(t *testing.T, fields [][2]string, filename string, content []byte) ([]byte, option) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if filename != "" {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	mw.Close()
	return b.Bytes(), header("Content-Type", mw.FormDataContentType())
}

// A keyset's push credentials are uploaded as PubNub's newest pages
// describe (in the multipart encoding Keyplane chose): the answer and the
// configuration show the ids and file name, never the key, which is stored
// sealed under the KEK and opens to what was sent; each upload is audited;
// bad files, fields and types are refused, every problem named, changing
// nothing; a key without write on the keyset gets 403.
func TestPushCredentialUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.createApp("push")
	ks := e.createKeyset(app.ID, "push").Keyset
	path := "/v2/keysets/" + ks.ID + "/config/"
	p8 := apnsKey(t)

	body, ct := upload(t, [][2]string{{"teamId", "ABCDE12345"}, {"authKeyId", "KEY1234567"}}, "AuthKey_KEY1234567.p8", p8)
	var got map[string]string
	e.do("POST", path+"apns", body, ct).want(200).decode(&got)
	if want := map[string]string{"teamId": "ABCDE12345", "authKeyId": "KEY1234567", "filename": "AuthKey_KEY1234567.p8"}; !equalMaps(got, want) {
		t.Errorf("APNs upload answered %v, want %v", got, want)
	}
	sa := serviceAccount(t)
	body, ct = upload(t, nil, `C:\Users\me\chat-prod-firebase.json`, sa)
	got = nil
	e.do("POST", path+"fcm", body, ct).want(200).decode(&got)
	if got["filename"] != "chat-prod-firebase.json" || len(got) != 1 {
		t.Errorf("FCM upload answered %v", got)
	}
	cfg := e.config(ks.ID)
	apns, _ := json.Marshal(cfg["apns"])
	fcm, _ := json.Marshal(cfg["fcm"])
	if string(apns) != `{"authKeyId":"KEY1234567","enabled":true,"filename":"AuthKey_KEY1234567.p8","teamId":"ABCDE12345"}` ||
		string(fcm) != `{"filename":"chat-prod-firebase.json"}` {
		t.Errorf("configuration after the uploads: apns %s, fcm %s", apns, fcm)
	}

	// Sealed at rest, opening to what was sent.
	raw := testdb.OpenSQL(t, e.dbPath)
	for kind, sent := range map[keyplane.PushKind][]byte{keyplane.PushAPNs: p8, keyplane.PushFCM: sa} {
		var stored string
		if err := raw.QueryRow(`SELECT content FROM push_credentials WHERE keyset_id = $1 AND kind = $2`, num(t, ks.ID), string(kind)).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored, "enc:v1:") || strings.Contains(stored, "PRIVATE KEY") {
			t.Errorf("%s credentials stored unsealed: %.40q", kind, stored)
		}
		if opened, err := e.db.PushCredential(num(t, ks.ID), kind); err != nil || !bytes.Equal(opened, sent) {
			t.Errorf("%s credentials open to %d bytes (%v), want what was sent", kind, len(opened), err)
		}
	}
	audited, err := e.svc.ListAuditEvents(context.Background(), keyplane.Operator(e.account),
		keyplane.AuditQuery{Types: []string{keyplane.EventPushCredentialsUploaded}, Limit: 10}, "")
	if err != nil || len(audited.Events) != 2 || string(audited.Events[1].After) != `{"filename":"chat-prod-firebase.json","kind":"fcm"}` {
		t.Fatalf("audit: %+v, %v", audited.Events, err)
	}

	// Refusals, each changing nothing.
	before := e.config(ks.ID)
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, c := range []struct {
		what, route string
		fields      [][2]string
		name        string
		content     []byte
		status      int
		msgs        []string
	}{
		{"no ids, no file", "apns", nil, "", nil, 400, []string{"teamId: required", "authKeyId: required", "file: required"}},
		{"a P-384 key", "apns", [][2]string{{"teamId", "ABCDE12345"}, {"authKeyId", "KEY1234567"}}, "k.p8", []byte(pemKey(t, ec)), 400, []string{"file: not an APNs key"}},
		{"not PEM", "apns", [][2]string{{"teamId", "ABCDE1234!"}, {"authKeyId", "KEY1234567"}}, "k.p8", []byte("hello"), 400, []string{"teamId: must be 10 letters or digits", "file: not a .p8 key"}},
		{"a misspelled field", "apns", [][2]string{{"teamID", "ABCDE12345"}}, "k.p8", p8, 400, []string{"teamID: not a field of this upload"}},
		{"a JSON that is no service account", "fcm", nil, "x.json", []byte(`{"type":"user"}`), 400, []string{"file: not a service-account file", `file: "project_id": required`}},
		{"a file too large", "fcm", nil, "x.json", bytes.Repeat([]byte("x"), keyplane.MaxPushFileBytes+1), 400, []string{"file: larger than 64 KiB"}},
	} {
		body, ct := upload(t, c.fields, c.name, c.content)
		r := e.do("POST", path+c.route, body, ct)
		r.wantErrorContaining(c.status, c.msgs...)
	}
	e.do("POST", path+"apns", map[string]any{"teamId": "ABCDE12345"}).wantErrorContaining(415, "multipart/form-data")
	reader, _, _ := e.integration("reader", "account:keyset:read")
	body, ct = upload(t, [][2]string{{"teamId", "ABCDE12345"}, {"authKeyId", "KEY1234567"}}, "k.p8", p8)
	e.do("POST", path+"apns", body, ct, as(reader)).want(403)
	if after := e.config(ks.ID); !equalJSON(after, before) {
		t.Errorf("a refused upload changed the configuration:\n%v\n%v", before, after)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
