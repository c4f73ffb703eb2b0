package keyplane

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
)

// Push credentials: the files a keyset's mobile push needs, uploaded to
// POST /v2/keysets/{id}/config/apns and …/fcm. Their content is a private
// key; it is checked here, sealed at rest under the KEK like secret keys,
// and never answered back: the configuration shows its file name (and
// APNs's team and key ids) only.

// MaxPushFileBytes bounds an uploaded credential file. A .p8 key is about
// 250 bytes and a service-account JSON about 2.5 KiB.
const MaxPushFileBytes = 64 << 10

// PushKind names a push service whose credentials a keyset holds.
type PushKind string

// The push services.
const (
	PushAPNs PushKind = "apns"
	PushFCM  PushKind = "fcm"
)

// APNsUpload is an Apple Push Notification service token key as uploaded:
// the team and key ids Apple shows beside it, and the .p8 file.
type APNsUpload struct {
	TeamID, AuthKeyID string
	Filename          string
	Key               []byte // the .p8 file: a PEM PKCS #8 P-256 private key
}

// FCMUpload is a Firebase Cloud Messaging service-account file as
// uploaded.
type FCMUpload struct {
	Filename       string
	ServiceAccount []byte // the JSON Google's console downloads
}

// Validate checks an APNs upload, every problem at once, in the user's
// terms; the key's content never appears in a message.
func (u APNsUpload) Validate() error {
	var msgs []string
	for _, f := range []struct{ name, v string }{{"teamId", u.TeamID}, {"authKeyId", u.AuthKeyID}} {
		if f.v == "" {
			msgs = append(msgs, f.name+": required (Apple's Developer account shows it beside the key)")
		} else if m := ruleAppleID(f.v); m != "" {
			msgs = append(msgs, f.name+": "+m)
		}
	}
	msgs = append(msgs, checkUploadedFile(u.Filename, u.Key)...)
	if len(u.Key) > 0 && len(u.Key) <= MaxPushFileBytes {
		if m := checkAPNsKey(u.Key); m != "" {
			msgs = append(msgs, "file: "+m)
		}
	}
	return Invalid(msgs...)
}

// Validate checks an FCM upload, every problem at once.
func (u FCMUpload) Validate() error {
	msgs := checkUploadedFile(u.Filename, u.ServiceAccount)
	if len(u.ServiceAccount) > 0 && len(u.ServiceAccount) <= MaxPushFileBytes {
		for _, m := range checkServiceAccount(u.ServiceAccount) {
			msgs = append(msgs, "file: "+m)
		}
	}
	return Invalid(msgs...)
}

// checkUploadedFile checks what every upload needs: a file, not too large,
// with a name the configuration can show.
func checkUploadedFile(name string, content []byte) []string {
	var msgs []string
	switch {
	case len(content) == 0:
		msgs = append(msgs, "file: required; send it as the multipart field \"file\"")
	case len(content) > MaxPushFileBytes:
		msgs = append(msgs, "file: larger than 64 KiB; a credential file is a few KiB at most")
	}
	if m := ruleFileName(name); m != "" {
		msgs = append(msgs, "file: its name "+m)
	}
	return msgs
}

// checkAPNsKey tells what is wrong with a .p8 file, or "".
func checkAPNsKey(b []byte) string {
	block, rest := pem.Decode(b)
	if block == nil {
		return "not a .p8 key: expected a PEM block \"-----BEGIN PRIVATE KEY-----\""
	}
	if block.Type != "PRIVATE KEY" {
		return "not a .p8 key: the PEM block is \"" + block.Type + "\", expected \"PRIVATE KEY\" (PKCS #8)"
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return "not a .p8 key: holds more than one PEM block"
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "not a .p8 key: the PKCS #8 private key does not parse"
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return "not an APNs key: Apple's token keys are P-256 elliptic-curve keys"
	}
	return ""
}

// checkServiceAccount tells what is wrong with a service-account JSON,
// every problem: FCM's HTTP v1 API signs with its private key as its
// client e-mail, for its project.
func checkServiceAccount(b []byte) []string {
	var sa map[string]any
	if err := json.Unmarshal(b, &sa); err != nil {
		return []string{"not a service-account file: not a JSON object"}
	}
	str := func(k string) string { s, _ := sa[k].(string); return s }
	var msgs []string
	if t := str("type"); t != "service_account" {
		msgs = append(msgs, "not a service-account file: \"type\" must be \"service_account\"")
	}
	if str("project_id") == "" {
		msgs = append(msgs, "\"project_id\": required")
	}
	if e := str("client_email"); !strings.Contains(e, "@") {
		msgs = append(msgs, "\"client_email\": required, an e-mail address")
	}
	if k := str("private_key"); k == "" {
		msgs = append(msgs, "\"private_key\": required")
	} else if block, _ := pem.Decode([]byte(k)); block == nil || block.Type != "PRIVATE KEY" {
		msgs = append(msgs, "\"private_key\": not a PEM PKCS #8 private key")
	} else if key, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		msgs = append(msgs, "\"private_key\": the PKCS #8 private key does not parse")
	} else if _, ok := key.(*rsa.PrivateKey); !ok {
		msgs = append(msgs, "\"private_key\": Google's service-account keys are RSA keys")
	}
	return msgs
}

// set is an Opt holding v.
func set[T any](v T) Opt[T] { return Opt[T]{Set: true, V: v} }

// Patch is the change an APNs upload makes to the configuration: APNs on,
// with the upload's team id, key id and file name.
func (u APNsUpload) Patch() ConfigPatch {
	return ConfigPatch{APNs: &APNsPatch{Enabled: set(true), TeamID: set(u.TeamID), AuthKeyID: set(u.AuthKeyID), Filename: set(u.Filename)}}
}

// Patch is the change an FCM upload makes to the configuration: its file
// name.
func (u FCMUpload) Patch() ConfigPatch {
	return ConfigPatch{FCM: &FCMPatch{Filename: set(u.Filename)}}
}
