package control_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// authenticator is a passkey device in software, made for these tests by
// the WebAuthn specification (Level 3, §6.1 authenticator data, §6.5.4
// attested credential data, §8.7 "none" attestation): one ES256 key
// (crypto/ecdsa), a signature counter, and the user handle it was given.
// It answers as a browser would, with the JSON of a PublicKeyCredential.
// (Chromium's own virtual authenticator is used in the portal's browser
// tests.)
type authenticator struct {
	key     *ecdsa.PrivateKey
	id      []byte
	handle  []byte
	counter uint32
	origin  string // what the "browser" puts in clientDataJSON
}

func newAuthenticator(t *testing.T) *authenticator {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &authenticator{key: k, id: id, origin: "http://localhost:8080"}
}

var b64 = base64.RawURLEncoding

// WebAuthn's authenticator data flags.
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

// authData is authenticator data for rpID: its hash, flags, the counter,
// and then attested (credential data), if any.
func (a *authenticator) authData(rpID string, flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.counter)
	return append(out, attested...)
}

// clientData is the browser's collected client data for a ceremony.
func (a *authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// create answers navigator.credentials.create for options (the JSON
// BeginPasskeyRegistration gave), with "none" attestation.
func (a *authenticator) create(t *testing.T, options []byte) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.handle = handle
	// The credential public key, COSE_Key EC2 (RFC 9053): kty 2, alg -7
	// (ES256), crv 1 (P-256), x, y.
	pub, err := a.key.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		t.Fatal(err)
	}
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:]})
	if err != nil {
		t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: zero, as a "none" attestation may give
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.id)))
	attested = append(append(attested, a.id...), cose...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{},
		"authData": a.authData(o.PublicKey.RP.ID, flagUP|flagUV|flagAT, attested)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(obj), "transports": []string{"internal"}},
		"clientExtensionResults": map[string]any{}})
	return string(b)
}

// get answers navigator.credentials.get for options, signing with the
// key (ES256 over authenticator data and the client data's hash); the
// counter moves on first, as a device's does.
func (a *authenticator) get(t *testing.T, options []byte) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RPID      string `json:"rpId"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	a.counter++
	ad := a.authData(o.PublicKey.RPID, flagUP|flagUV, nil)
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge)
	h := sha256.Sum256(cd)
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, sha256Of(append(append([]byte{}, ad...), h[:]...)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.handle)},
		"clientExtensionResults": map[string]any{}})
	return string(b)
}

func sha256Of(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

var rp = control.RelyingParty{ID: "localhost", Origin: "http://localhost:8080"}

// addPasskey registers dev for p under name.
func addPasskey(t *testing.T, svc *control.Service, p keyplane.Principal, dev *authenticator, name string) keyplane.Passkey {
	t.Helper()
	ctx := context.Background()
	opts, err := svc.BeginPasskeyRegistration(ctx, p, rp)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := svc.FinishPasskeyRegistration(ctx, p, rp, name, dev.create(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func TestNewRelyingParty(t *testing.T) {
	for base, want := range map[string]control.RelyingParty{
		"https://Keyplane.example.com":      {ID: "keyplane.example.com", Origin: "https://keyplane.example.com"},
		"https://keyplane.example.com:8443": {ID: "keyplane.example.com", Origin: "https://keyplane.example.com:8443"},
		"http://localhost:8080":             {ID: "localhost", Origin: "http://localhost:8080"},
	} {
		if got, err := control.NewRelyingParty(base); err != nil || got != want {
			t.Errorf("NewRelyingParty(%q) = %+v, %v; want %+v", base, got, err, want)
		}
	}
	for _, bad := range []string{"http://127.0.0.1:8080", "http://[::1]:80", "ftp://x", ""} {
		_, err := control.NewRelyingParty(bad)
		wantCode(t, err, keyplane.CodeInvalid)
	}
}

func TestPasskeyRegistrationAndSignIn(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	u := mustUser(t, svc, 1, "ada@example.com", keyplane.RoleAdmin)
	p := u.Principal()
	dev := newAuthenticator(t)

	// A name is required; the form changes nothing without one.
	opts, err := svc.BeginPasskeyRegistration(ctx, p, rp)
	if err != nil {
		t.Fatal(err)
	}
	answer := dev.create(t, opts)
	_, err = svc.FinishPasskeyRegistration(ctx, p, rp, " ", answer)
	wantCode(t, err, keyplane.CodeInvalid)
	// An answer from another site (origin) does not verify, and uses the
	// challenge up: the right answer to it is refused after.
	dev.origin = "https://evil.example"
	_, err = svc.FinishPasskeyRegistration(ctx, p, rp, "Laptop", dev.create(t, opts))
	wantCode(t, err, keyplane.CodeInvalid)
	dev.origin = rp.Origin
	_, err = svc.FinishPasskeyRegistration(ctx, p, rp, "Laptop", answer)
	wantCode(t, err, keyplane.CodeInvalid)
	// A challenge past its time is refused.
	opts, _ = svc.BeginPasskeyRegistration(ctx, p, rp)
	clk.Advance(keyplane.PasskeyCeremonyTTL)
	_, err = svc.FinishPasskeyRegistration(ctx, p, rp, "Laptop", dev.create(t, opts))
	wantCode(t, err, keyplane.CodeInvalid)
	// Another person cannot finish p's ceremony.
	bob, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "bob@example.com", Password: pw, Role: keyplane.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	opts, _ = svc.BeginPasskeyRegistration(ctx, p, rp)
	_, err = svc.FinishPasskeyRegistration(ctx, bob.Principal(), rp, "Laptop", dev.create(t, opts))
	wantCode(t, err, keyplane.CodeInvalid)

	pk := addPasskey(t, svc, p, dev, "Laptop")
	if f, err := svc.SecondFactors(ctx, p); err != nil || len(f.Passkeys) != 1 || f.Passkeys[0].Name != "Laptop" || !f.Any() {
		t.Fatalf("factors = %+v, %v", f, err)
	}
	// The same device again is excluded by the options, and refused.
	opts, _ = svc.BeginPasskeyRegistration(ctx, p, rp)
	var o struct {
		PublicKey struct {
			Exclude []struct{ ID string } `json:"excludeCredentials"`
			Auth    struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || len(o.PublicKey.Exclude) != 1 || o.PublicKey.Exclude[0].ID != b64.EncodeToString(dev.id) ||
		o.PublicKey.Auth.ResidentKey != "required" || o.PublicKey.Auth.UserVerification != "required" {
		t.Fatalf("registration options = %s", opts)
	}
	_, err = svc.FinishPasskeyRegistration(ctx, p, rp, "Again", dev.create(t, opts))
	wantCode(t, err, keyplane.CodeConflict)

	// Sign-in without a password.
	opts, err = svc.BeginPasskeySignIn(ctx, rp, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	answer = dev.get(t, opts)
	token, got, err := svc.PasskeySignIn(ctx, rp, "10.0.0.1", "", answer)
	if err != nil || got.ID != u.ID {
		t.Fatalf("PasskeySignIn = %+v, %v", got, err)
	}
	if sp, _, err := svc.Session(ctx, token); err != nil || sp.UserID != u.ID {
		t.Fatalf("session = %+v, %v", sp, err)
	}
	// The same answer again: its challenge is used up.
	_, _, err = svc.PasskeySignIn(ctx, rp, "10.0.0.1", "", answer)
	wantCode(t, err, keyplane.CodeInvalid)
	// A device whose counter went back (a copy of the key) is refused.
	opts, _ = svc.BeginPasskeySignIn(ctx, rp, "10.0.0.1")
	dev.counter -= 2
	_, _, err = svc.PasskeySignIn(ctx, rp, "10.0.0.1", "", dev.get(t, opts))
	wantCode(t, err, keyplane.CodeUnauthorized)
	dev.counter += 5
	// A signature by another key is refused.
	opts, _ = svc.BeginPasskeySignIn(ctx, rp, "10.0.0.1")
	forged := newAuthenticator(t)
	forged.id, forged.handle, forged.counter = dev.id, dev.handle, dev.counter+10
	_, _, err = svc.PasskeySignIn(ctx, rp, "10.0.0.1", "", forged.get(t, opts))
	wantCode(t, err, keyplane.CodeUnauthorized)

	// With a passkey, a password opens only a second step, which the
	// passkey completes.
	st := signInStep(t, svc, "ada@example.com")
	if !st.Passkey || st.TOTP {
		t.Fatalf("second step = %+v", st)
	}
	opts, err = svc.BeginPasskeySecondStep(ctx, rp, st.Token)
	if err != nil {
		t.Fatal(err)
	}
	if token, got, err = svc.CompletePasskeySignIn(ctx, rp, st.Token, "10.0.0.1", "", dev.get(t, opts)); err != nil || got.ID != u.ID {
		t.Fatalf("CompletePasskeySignIn = %+v, %v", got, err)
	}
	if _, _, err := svc.Session(ctx, token); err != nil {
		t.Fatal(err)
	}
	// The waiting sign-in is used up.
	_, err = svc.BeginPasskeySecondStep(ctx, rp, st.Token)
	wantCode(t, err, keyplane.CodeUnauthorized)
	// Bob's waiting sign-in cannot be completed with Ada's passkey.
	bobDev := newAuthenticator(t)
	addPasskey(t, svc, bob.Principal(), bobDev, "Phone")
	bst := signInStep(t, svc, "bob@example.com")
	opts, _ = svc.BeginPasskeySecondStep(ctx, rp, bst.Token)
	_, _, err = svc.CompletePasskeySignIn(ctx, rp, bst.Token, "10.0.0.1", "", dev.get(t, opts))
	wantCode(t, err, keyplane.CodeUnauthorized)

	// Removal asks the password again; another person's passkey is
	// missing to them.
	err = svc.RemovePasskey(ctx, p, "10.0.0.1", "wrong password", pk.ID)
	wantCode(t, err, keyplane.CodeInvalid)
	err = svc.RemovePasskey(ctx, bob.Principal(), "10.0.0.1", pw, pk.ID)
	wantCode(t, err, keyplane.CodeNotFound)
	// The account requires two factors: the last one stays.
	if _, _, err := svc.SetSignInPolicy(ctx, keyplane.Operator(1), u.AccountID, true); err != nil {
		t.Fatal(err)
	}
	err = svc.RemovePasskey(ctx, p, "10.0.0.1", pw, pk.ID)
	wantCode(t, err, keyplane.CodeConflict)
	if _, _, err := svc.SetSignInPolicy(ctx, keyplane.Operator(1), u.AccountID, false); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemovePasskey(ctx, p, "10.0.0.1", pw, pk.ID); err != nil {
		t.Fatal(err)
	}
	if f, _ := svc.SecondFactors(ctx, p); len(f.Passkeys) != 0 {
		t.Fatalf("factors after removal = %+v", f)
	}
	// A removed passkey signs no one in.
	opts, _ = svc.BeginPasskeySignIn(ctx, rp, "10.0.0.1")
	_, _, err = svc.PasskeySignIn(ctx, rp, "10.0.0.1", "", dev.get(t, opts))
	wantCode(t, err, keyplane.CodeUnauthorized)
	// Without a second factor, the password alone opens a session again.
	if _, _, err := svc.SignIn(ctx, "ada@example.com", pw, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}

	page, err := svc.ListAuditEvents(ctx, keyplane.Operator(1), keyplane.AuditQuery{AccountID: u.AccountID, Limit: 100}, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range page.Events {
		seen[e.Type]++
	}
	if seen[keyplane.EventSecondFactorEnrolled] != 2 || seen[keyplane.EventSecondFactorRemoved] != 1 || seen[keyplane.EventPasskeySignIn] != 2 {
		t.Fatalf("audit = %v", seen)
	}
}

func TestPasskeyFailuresAreThrottled(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	u := mustUser(t, svc, 1, "ada@example.com", keyplane.RoleAdmin)
	dev := newAuthenticator(t)
	addPasskey(t, svc, u.Principal(), dev, "Laptop")
	forged := newAuthenticator(t)
	forged.id, forged.handle = dev.id, dev.handle
	for i := range keyplane.MaxSecondFactorFailures + 1 {
		opts, err := svc.BeginPasskeySignIn(ctx, rp, "10.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		forged.counter = dev.counter + 100
		_, _, err = svc.PasskeySignIn(ctx, rp, "10.0.0.1", "", forged.get(t, opts))
		want := keyplane.CodeUnauthorized
		if i == keyplane.MaxSecondFactorFailures {
			want = keyplane.CodeTooManyRequests
		}
		wantCode(t, err, want)
	}
	// The person's own device is refused too, for now: the guesses were
	// against them.
	opts, _ := svc.BeginPasskeySignIn(ctx, rp, "10.0.0.1")
	_, _, err := svc.PasskeySignIn(ctx, rp, "10.0.0.2", "", dev.get(t, opts))
	if keyplane.ErrorCode(err) != keyplane.CodeTooManyRequests {
		t.Fatalf("after too many failures: %v", err)
	}
}

// Beginning a password-less passkey sign-in stores a challenge before
// anyone is signed in, so a client may begin only so many a window; the
// window passing, it may again, and other clients meanwhile.
func TestPasskeySignInStartsAreThrottled(t *testing.T) {
	svc, _, clk := setup(t)
	ctx := context.Background()
	for range keyplane.MaxPasskeyStartsClient {
		if _, err := svc.BeginPasskeySignIn(ctx, rp, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := svc.BeginPasskeySignIn(ctx, rp, "192.0.2.1")
	wantCode(t, err, keyplane.CodeTooManyRequests)
	if e, ok := err.(*keyplane.Error); !ok || e.RetryAfter <= 0 || !strings.Contains(err.Error(), "passkey sign-ins were begun from your network address") {
		t.Errorf("refusal %v", err)
	}
	if _, err := svc.BeginPasskeySignIn(ctx, rp, "192.0.2.2"); err != nil {
		t.Errorf("another client: %v", err)
	}
	clk.Advance(keyplane.LoginWindow)
	if _, err := svc.BeginPasskeySignIn(ctx, rp, "192.0.2.1"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// A session a provider opened does not change the person's passkeys,
// which hold in every account of theirs, as for their other factors.
func TestPasskeysAreNotChangedFromAnSSOSession(t *testing.T) {
	svc, _, _ := setup(t)
	ctx := context.Background()
	p := mustUser(t, svc, 1, "ada@example.com", keyplane.RoleViewer).Principal()
	p.SSO = true
	_, err := svc.BeginPasskeyRegistration(ctx, p, rp)
	wantCode(t, err, keyplane.CodeForbidden)
	_, err = svc.FinishPasskeyRegistration(ctx, p, rp, "Laptop", "{}")
	wantCode(t, err, keyplane.CodeForbidden)
	wantCode(t, svc.RemovePasskey(ctx, p, "10.0.0.1", pw, 1), keyplane.CodeForbidden)
}
