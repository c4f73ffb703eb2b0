package client_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/keyplane/keyplane/client"
)

// A Time encodes as the API writes times, whatever its zone and precision,
// and reads what the API writes back to the same instant.
func TestTimeEncoding(t *testing.T) {
	at := time.Date(2026, 11, 2, 15, 4, 5, 123456789, time.FixedZone("CET", 3600))
	k := client.SecretKey{SecretKey: "sec-c-x", ExpiresAt: &client.Time{Time: at}}
	b, err := json.Marshal([]any{client.App{ID: "1", CreatedAt: client.Time{Time: at}}, k, client.SecretKey{SecretKey: "sec-c-y"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"1","name":"","createdAt":"2026-11-02T14:04:05.123Z","updatedAt":"0001-01-01T00:00:00.000Z"},` +
		`{"secretKey":"sec-c-x","expiresAt":"2026-11-02T14:04:05.123Z"},{"secretKey":"sec-c-y","expiresAt":null}]`
	if string(b) != want {
		t.Errorf("json.Marshal = %s\nwant %s", b, want)
	}
	if s := (client.Time{Time: at}).String(); s != "2026-11-02T14:04:05.123Z" {
		t.Errorf("String() = %q", s)
	}
	if txt, err := (client.Time{Time: at}).MarshalText(); err != nil || string(txt) != "2026-11-02T14:04:05.123Z" {
		t.Errorf("MarshalText() = %q, %v", txt, err)
	}

	var back []client.SecretKey
	if err := json.Unmarshal([]byte(`[{"secretKey":"a","expiresAt":"2026-11-02T14:04:05.123Z"},{"secretKey":"b","expiresAt":null}]`), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0].ExpiresAt == nil || !back[0].ExpiresAt.Equal(at.Truncate(time.Millisecond)) || back[1].ExpiresAt != nil {
		t.Errorf("json.Unmarshal = %+v", back)
	}
	var bad client.App
	if err := json.Unmarshal([]byte(`{"createdAt":"yesterday"}`), &bad); err == nil {
		t.Errorf("json.Unmarshal of a time that is not RFC 3339 succeeded: %+v", bad)
	}
}
