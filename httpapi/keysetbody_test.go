package httpapi

import (
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
)

// The cached answer of a keyset is the one setETag and writeJSON send,
// byte for byte, and a changed keyset is encoded afresh.
func TestKeysetBodyMatchesWriteJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 30, 45, 123_000_000, time.UTC)
	k := keyplane.Keyset{ID: 42, AccountID: 7, AppID: 9, Name: `Prod <&> "ü" \ tab	`, Type: keyplane.KeysetType("production"),
		PublishKey: "pub-c-1", SubscribeKey: "sub-c-1", CreatedAt: at, UpdatedAt: at.Add(time.Hour), Version: 3}
	var c keysetBodies
	for i, k := range []keyplane.Keyset{k, k, func() keyplane.Keyset { k.Name, k.Version = "renamed", 4; return k }()} {
		want := httptest.NewRecorder()
		setETag(want, k.ID, k.Version)
		writeJSON(want, 200, keysetOut(k))
		got := httptest.NewRecorder()
		c.get(k).write(got)
		if got.Code != want.Code || got.Body.String() != want.Body.String() || !reflect.DeepEqual(got.Header(), want.Header()) {
			t.Errorf("answer %d: got %d %v %q, want %d %v %q", i, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
	other := k
	other.AccountID = 8
	if c.get(other) == c.get(k) {
		t.Error("another account's keyset of the same id shared an entry")
	}
}
