package control

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
)

// TestKeysetCreatedRecordIsWhatJSONWrites: the audit record of a keyset
// created, encoded around its id before the write, is byte for byte what
// json.Marshal writes of the whole view (the audit chain hashes these
// bytes), whatever the name, type and configuration hold.
func TestKeysetCreatedRecordIsWhatJSONWrites(t *testing.T) {
	patched, err := keyplane.ParseConfigPatch([]byte(`{"presence":{"announceMax":7},"files":{"enabled":true,"region":"us-east-1","retention":7}}`))
	if err != nil {
		t.Fatal(err)
	}
	withFiles, err := keyplane.NewConfig(patched)
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name   string
		typ    keyplane.KeysetType
		cfg    keyplane.Config
		id     int64
		expiry *time.Time
	}{
		{"Default Keyset", keyplane.KeysetTesting, keyplane.DefaultConfig(), 1, nil},
		{`a ,"name":"b" <&> é 😀 \ "`, keyplane.KeysetProduction, withFiles, 9007199254740993, nil},
		{"", keyplane.KeysetTesting, withFiles, 42, &expires},
	} {
		k := keyplane.Keyset{ID: c.id, AccountID: 3, AppID: 12345, Name: c.name, Type: c.typ,
			PublishKey: "pub-c-1", SubscribeKey: "sub-c-2"}
		secret := keyplane.SecretKey{Secret: "sec-c-0123456789abcdef", ExpiresAt: c.expiry}
		enc, err := encodeKeysetCreated(k, c.cfg, secret)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(keysetCreatedView(k, c.cfg, secret))
		if err != nil {
			t.Fatal(err)
		}
		if got := enc.withID(c.id); !bytes.Equal(got, want) {
			t.Errorf("name %q:\n got %s\nwant %s", c.name, got, want)
		}
	}
}
