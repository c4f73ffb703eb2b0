package portal_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// p8 is a fresh APNs token key file.
func p8(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// pushKeyset is an env with a keyset and an Admin signed in.
func pushKeyset(t *testing.T) (*env, *http.Client, keyplane.Keyset) {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.svc.CreateApp(ctx, keyplane.Operator(1), "Push")
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, err := e.svc.CreateKeyset(ctx, keyplane.Operator(1), control.NewKeyset{AppID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.user("admin@example.com", keyplane.RoleAdmin)
	c := e.client()
	e.signIn(c, "admin@example.com")
	return e, c, k
}

// The keyset page uploads APNs credentials as a browser's file field
// sends them (multipart, with the page's one-time token): the key lands
// sealed through the API's operation, the page then names the file, a
// reload of the form's answer does nothing twice, and a bad file shows
// every problem with nothing uploaded.
func TestPushUploadForm(t *testing.T) {
	e, c, k := pushKeyset(t)
	send := func(token string, fields map[string]string, name string, content []byte) answer {
		t.Helper()
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("form", token)
		for f, v := range fields {
			mw.WriteField(f, v)
		}
		if name != "" {
			fw, _ := mw.CreateFormFile("file", name)
			fw.Write(content)
		}
		mw.Close()
		req, _ := http.NewRequest("POST", e.base+"/keysets/"+itoa(k.ID)+"/push/apns", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return e.do(c, req)
	}
	ids := map[string]string{"teamId": "ABCDE12345", "authKeyId": "KEY1234567"}
	token := formToken()
	r := send(token, ids, "AuthKey_KEY1234567.p8", p8(t))
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "done=uploaded") {
		t.Fatalf("upload: %d %s", r.status, r.header.Get("Location"))
	}
	if again := send(token, ids, "AuthKey_KEY1234567.p8", p8(t)); again.status != http.StatusSeeOther {
		t.Errorf("the same form again: %d, want the first answer replayed", again.status)
	}
	events := 0
	for _, ev := range auditEvents(t, e) {
		if ev.Type == keyplane.EventPushCredentialsUploaded {
			events++
		}
	}
	if events != 1 {
		t.Errorf("%d uploads audited, want 1 (the form was sent twice with one token)", events)
	}
	page := e.get(c, "/keysets/"+itoa(k.ID))
	if !strings.Contains(page.body, `Key <span class="mono">AuthKey_KEY1234567.p8</span>`) || strings.Contains(page.body, "PRIVATE KEY") {
		t.Errorf("the keyset page after the upload does not name the key")
	}
	bad := send(formToken(), map[string]string{"teamId": "short"}, "key.txt", []byte("hello"))
	for _, want := range []string{"Nothing was uploaded.", "teamId: must be 10 letters or digits", "authKeyId: required", "file: not a .p8 key"} {
		if !strings.Contains(bad.body, want) {
			t.Errorf("a bad upload: %d, page lacks %q", bad.status, want)
		}
	}
	if bad.status != http.StatusBadRequest {
		t.Errorf("a bad upload: %d, want 400", bad.status)
	}
}

// In Chromium, the APNs form takes a chosen .p8 file and the page then
// names it.
func TestPushUploadInBrowser(t *testing.T) {
	e, _, k := pushKeyset(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "AuthKey_KEY1234567.p8")
	if err := os.WriteFile(file, p8(t), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := tab(t)
	signInBrowser(t, ctx, e, "admin@example.com")
	run(t, ctx, "upload the APNs key",
		chromedp.Navigate(e.base+"/keysets/"+itoa(k.ID)),
		chromedp.WaitVisible(chromedp.ID("upload-apns")),
		chromedp.SendKeys(chromedp.ID("apns-team"), "ABCDE12345"),
		chromedp.SendKeys(chromedp.ID("apns-key-id"), "KEY1234567"),
		chromedp.SetUploadFiles("#apns-file", []string{file}),
		chromedp.Click(chromedp.ID("upload-apns")),
		chromedp.WaitVisible(chromedp.CSS(".notice.ok")), // the page after the upload
	)
	if got := text(t, ctx, "#apns-current"); !strings.Contains(got, "AuthKey_KEY1234567.p8") || !strings.Contains(got, "ABCDE12345") {
		t.Errorf("after the upload the page says %q", got)
	}
}
