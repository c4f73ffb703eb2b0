package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rotate rotates a keyset's main key (with an expiry for the old one when
// expires is non-empty) and returns the new main key.
func (e *env) rotate(keysetID, expires string) string {
	e.t.Helper()
	var body any
	if expires != "" {
		body = map[string]any{"expiresAt": expires}
	}
	var out struct {
		SecretKey string `json:"secretKey"`
	}
	r := e.do("POST", "/v2/keysets/"+keysetID+"/secret-keys", body).want(201)
	r.decode(&out)
	if !secretKeyRx.MatchString(out.SecretKey) {
		e.t.Errorf("rotate answered %s, want {\"secretKey\":\"sec-c-…\"}", r.Body)
	}
	if len(r.object()) != 1 {
		e.t.Errorf("rotate answer has fields beyond secretKey: %s", r.Body)
	}
	return out.SecretKey
}

// Rotation without expiresAt: the old key is gone at once.
func TestRotateWithoutExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "k")
	ks, sec0 := k.Keyset.ID, k.Keyset.SecretKeys[0].SecretKey

	sec1 := e.rotate(ks, "")
	if sec1 == sec0 {
		t.Fatalf("rotation answered the old key")
	}
	if diff := cmp.Diff([]secretKeyJSON{{SecretKey: sec1}}, e.secretKeys(ks)); diff != "" {
		t.Errorf("secret keys after rotation (-want +got):\n%s", diff)
	}
	// An empty object, and a chunked empty body, rotate the same way.
	sec2 := e.do("POST", "/v2/keysets/"+ks+"/secret-keys", `{}`).want(201).object()["secretKey"].(string)
	if diff := cmp.Diff([]secretKeyJSON{{SecretKey: sec2}}, e.secretKeys(ks)); diff != "" {
		t.Errorf("secret keys after rotation with {} (-want +got):\n%s", diff)
	}
	e.do("POST", "/v2/keysets/"+ks+"/secret-keys", `{"expiresAt":null}`).want(201)
	if n := len(e.secretKeys(ks)); n != 1 {
		t.Errorf("rotation with expiresAt null left %d keys, want 1", n)
	}
	// The old main keys cannot be addressed any more.
	e.do("DELETE", "/v2/keysets/"+ks+"/secret-keys/"+sec0[:11], nil).wantError(404, "secret key "+sec0[:11]+": not found in keyset "+ks)
}

// Rotation with expiresAt keeps the old key as a rotated key until then, up
// to 5 of them; S3 moves an expiry, S4 deletes a rotated key; the main key
// cannot be addressed by prefix.
func TestRotateWithExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "k")
	ks := k.Keyset.ID
	main := k.Keyset.SecretKeys[0].SecretKey
	now := e.clock.Now()

	var rotated []secretKeyJSON // in expiry order
	for i := 1; i <= 5; i++ {
		exp := iso(now.Add(time.Duration(i) * time.Hour))
		next := e.rotate(ks, exp)
		rotated = append(rotated, secretKeyJSON{SecretKey: main, ExpiresAt: ptr(exp)})
		main = next
		want := append([]secretKeyJSON{{SecretKey: main}}, rotated...)
		if diff := cmp.Diff(want, e.secretKeys(ks)); diff != "" {
			t.Fatalf("secret keys after rotation %d (-want +got):\n%s", i, diff)
		}
	}
	all := append([]secretKeyJSON{{SecretKey: main}}, rotated...)

	// A sixth rotated key is refused and nothing changes.
	e.do("POST", "/v2/keysets/"+ks+"/secret-keys", map[string]any{"expiresAt": iso(now.Add(7 * time.Hour))}).
		wantErrorContaining(409, "5 rotated secret keys")
	if diff := cmp.Diff(all, e.secretKeys(ks)); diff != "" {
		t.Errorf("secret keys after the refused sixth rotation (-want +got):\n%s", diff)
	}

	// S3: a new expiry for the first rotated key (the answer uses milliseconds).
	first := rotated[0].SecretKey
	newExp := now.Add(10 * time.Hour).UTC().Truncate(time.Second)
	got := e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+first[:11],
		map[string]any{"expiresAt": newExp.Format("2006-01-02T15:04:05Z")}).want(200).object()
	wantAnswer := map[string]any{"secretKey": map[string]any{"secretKey": first, "expiresAt": iso(newExp)}}
	if diff := cmp.Diff(wantAnswer, got); diff != "" {
		t.Errorf("PATCH secret key answer (-want +got):\n%s", diff)
	}
	rotated = append(rotated[1:], secretKeyJSON{SecretKey: first, ExpiresAt: ptr(iso(newExp))})
	if diff := cmp.Diff(append([]secretKeyJSON{{SecretKey: main}}, rotated...), e.secretKeys(ks)); diff != "" {
		t.Errorf("secret keys after S3 (-want +got):\n%s", diff)
	}

	// The main key is not reachable through the prefix routes.
	mainMsg := "secretKeyPrefix: " + main[:11] + " is the main key, which never expires and cannot be deleted; rotate it instead"
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+main[:11], map[string]any{"expiresAt": iso(now.Add(time.Hour))}).wantError(400, mainMsg)
	e.do("DELETE", "/v2/keysets/"+ks+"/secret-keys/"+main[:11], nil).wantError(400, mainMsg)

	// S4 deletes a rotated key, which makes room for another rotation.
	gone := rotated[0].SecretKey
	e.do("DELETE", "/v2/keysets/"+ks+"/secret-keys/"+gone[:11], nil).want(200)
	e.do("DELETE", "/v2/keysets/"+ks+"/secret-keys/"+gone[:11], nil).wantError(404, "secret key "+gone[:11]+": not found in keyset "+ks)
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+gone[:11], map[string]any{"expiresAt": iso(now.Add(time.Hour))}).
		wantError(404, "secret key "+gone[:11]+": not found in keyset "+ks)
	rotated = rotated[1:]
	if diff := cmp.Diff(append([]secretKeyJSON{{SecretKey: main}}, rotated...), e.secretKeys(ks)); diff != "" {
		t.Errorf("secret keys after S4 (-want +got):\n%s", diff)
	}
	e.rotate(ks, iso(now.Add(30*time.Minute)))
	if n := len(e.secretKeys(ks)); n != 6 {
		t.Errorf("after refilling the limit: %d keys, want 6", n)
	}
	// Without expiresAt a rotation at the limit is fine: it only replaces the main key.
	newMain := e.rotate(ks, "")
	keys := e.secretKeys(ks)
	if len(keys) != 6 || keys[0].SecretKey != newMain || keys[0].ExpiresAt != nil {
		t.Errorf("after rotating at the limit without expiresAt: %+v", keys)
	}
}

// activeOnly hides expired rotated keys; expired keys do not count against
// the limit, and the oldest expired ones are dropped to keep at most 5.
func TestSecretKeysExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "k")
	ks := k.Keyset.ID
	now := e.clock.Now()
	old := k.Keyset.SecretKeys[0].SecretKey
	main := e.rotate(ks, iso(now.Add(time.Hour)))
	for i := 2; i <= 5; i++ {
		main = e.rotate(ks, iso(now.Add(time.Duration(i)*time.Hour)))
	}
	if n := len(e.secretKeys(ks)); n != 6 {
		t.Fatalf("%d keys, want 6", n)
	}

	e.clock.Advance(90 * time.Minute) // the first rotated key has expired
	var l secretKeyList
	e.do("GET", "/v2/keysets/"+ks+"/secret-keys?activeOnly=true", nil).want(200).decode(&l)
	if len(l.SecretKeys) != 5 || l.SecretKeys[0].SecretKey != main {
		t.Errorf("activeOnly=true: %d keys (main first?), want 5", len(l.SecretKeys))
	}
	for _, s := range l.SecretKeys {
		if s.SecretKey == old {
			t.Errorf("activeOnly=true lists the expired key %s", old[:11])
		}
	}
	for _, q := range []string{"", "?activeOnly=false"} {
		e.do("GET", "/v2/keysets/"+ks+"/secret-keys"+q, nil).want(200).decode(&l)
		if len(l.SecretKeys) != 6 || l.SecretKeys[1].SecretKey != old {
			t.Errorf("secret-keys%s: %d keys, want 6 with the expired one", q, len(l.SecretKeys))
		}
	}
	for _, v := range []string{"maybe", "1", "TRUE", ""} {
		e.do("GET", "/v2/keysets/"+ks+"/secret-keys?activeOnly="+v, nil).wantError(400, "activeOnly: must be true or false")
	}

	// Only 4 rotated keys are unexpired, so one more rotation with an expiry
	// is allowed; the expired key is dropped to keep 5 rotated keys stored.
	e.rotate(ks, iso(e.clock.Now().Add(6*time.Hour)))
	keys := e.secretKeys(ks)
	if len(keys) != 6 {
		t.Errorf("after rotating past an expired key: %d keys, want 6", len(keys))
	}
	for _, s := range keys {
		if s.SecretKey == old {
			t.Errorf("the expired key %s was kept beyond the 5 rotated keys", old[:11])
		}
	}
	// Now at 5 unexpired rotated keys: refused.
	e.do("POST", "/v2/keysets/"+ks+"/secret-keys", map[string]any{"expiresAt": iso(e.clock.Now().Add(7 * time.Hour))}).want(409)

	// Everything expires: activeOnly leaves the main key alone.
	e.clock.Advance(30 * 24 * time.Hour)
	e.do("GET", "/v2/keysets/"+ks+"/secret-keys?activeOnly=true", nil).want(200).decode(&l)
	if len(l.SecretKeys) != 1 || l.SecretKeys[0].ExpiresAt != nil {
		t.Errorf("activeOnly after everything expired: %+v, want the main key only", l.SecretKeys)
	}
}

// Prefix shapes, expiries out of range and bad time formats are 400s that
// change nothing.
func TestSecretKeyRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	k := e.createKeyset(a.ID, "k")
	ks := k.Keyset.ID
	now := e.clock.Now()
	rotatedKey := k.Keyset.SecretKeys[0].SecretKey
	e.rotate(ks, iso(now.Add(time.Hour)))
	before := e.secretKeys(ks)

	prefixMsg := "secretKeyPrefix: must be the first 11 characters of a secret key (sec-c- and 5 letters or digits), never the whole key"
	fullLookalike := "sec-c-" + strings.Repeat("Ab1", 16) // the shape of a whole key, not a real one
	for _, p := range []string{fullLookalike, "sec-c-AB", "sec-c-ABCDEF", "sec-c-AB_CD", "pub-c-ABCDE", "sec-cABCDEF", "ABCDEFGHIJK"} {
		e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+p, map[string]any{"expiresAt": iso(now.Add(2 * time.Hour))}).wantError(400, prefixMsg)
		e.do("DELETE", "/v2/keysets/"+ks+"/secret-keys/"+p, nil).wantError(400, prefixMsg)
	}
	unknown := "sec-c-zzzzz"
	if strings.HasPrefix(rotatedKey, unknown) || strings.HasPrefix(before[0].SecretKey, unknown) {
		unknown = "sec-c-yyyyy"
	}
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+unknown, map[string]any{"expiresAt": iso(now.Add(2 * time.Hour))}).
		wantError(404, "secret key "+unknown+": not found in keyset "+ks)
	e.do("DELETE", "/v2/keysets/"+ks+"/secret-keys/"+unknown, nil).wantError(404, "secret key "+unknown+": not found in keyset "+ks)

	tooSoon := "expiresAt: must be at least 60 seconds in the future"
	tooLate := "expiresAt: must be at most 366 days in the future"
	format := "expiresAt: must be an ISO 8601 UTC time such as 2026-01-02T15:04:05.000Z"
	for _, tc := range []struct {
		body any
		msg  string
	}{
		{map[string]any{"expiresAt": iso(now.Add(59 * time.Second))}, tooSoon},
		{map[string]any{"expiresAt": iso(now.Add(-time.Hour))}, tooSoon},
		{map[string]any{"expiresAt": iso(now.Add(366*24*time.Hour + time.Minute))}, tooLate},
		{map[string]any{"expiresAt": iso(now.Add(2 * 366 * 24 * time.Hour))}, tooLate},
		{map[string]any{"expiresAt": "2026-12-01"}, format},
		{map[string]any{"expiresAt": "tomorrow"}, format},
		{map[string]any{"expiresAt": "2026-12-01T10:00:00+01:00"}, format},
		{map[string]any{"expiresAt": "2026-12-01 10:00:00Z"}, format},
		{map[string]any{"expiresAt": "2026-12-01T10:00:00.1Z"}, format},
		{map[string]any{"expiresAt": "2026-12-01T10:00:00z"}, format},
		{map[string]any{"expiresAt": ""}, format},
		{map[string]any{"expiresAt": "2026-13-45T10:00:00Z"}, "expiresAt: not a valid date and time"},
		{map[string]any{"expiresAt": 1798761600}, "expiresAt: must be a string"},
		{map[string]any{"expiresAt": iso(now.Add(2 * time.Hour)), "note": "x"}, "note: unknown field"},
	} {
		e.do("POST", "/v2/keysets/"+ks+"/secret-keys", tc.body).wantError(400, tc.msg)
		e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+rotatedKey[:11], tc.body).wantError(400, tc.msg)
	}
	// The bounds themselves are accepted.
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+rotatedKey[:11], map[string]any{"expiresAt": iso(now.Add(366 * 24 * time.Hour))}).want(200)
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+rotatedKey[:11], map[string]any{"expiresAt": iso(now.Add(60 * time.Second))}).want(200)
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+rotatedKey[:11], map[string]any{"expiresAt": iso(now.Add(time.Hour))}).want(200)

	// S3 needs a body with expiresAt.
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+rotatedKey[:11], `{}`).wantError(400, "expiresAt: required")
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+rotatedKey[:11], nil).wantError(400, "body: required")
	e.do("POST", "/v2/keysets/"+ks+"/secret-keys", `{"expiresAt":`).wantErrorContaining(400, "body: invalid JSON")
	e.do("POST", "/v2/keysets/"+ks+"/secret-keys", `[]`).wantError(400, "body: must be a JSON object")

	if diff := cmp.Diff(before, e.secretKeys(ks)); diff != "" {
		t.Errorf("refused requests changed the secret keys (-before +after):\n%s", diff)
	}
}

// Racing rotations cannot pass the limit of 5 rotated keys together.
func TestConcurrentRotations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("a")
	ks := e.createKeyset(a.ID, "k").Keyset.ID
	now := e.clock.Now()
	for i := 1; i <= 3; i++ {
		e.rotate(ks, iso(now.Add(time.Duration(i)*time.Hour)))
	}
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	for i := range statuses {
		wg.Go(func() {
			r := e.do("POST", "/v2/keysets/"+ks+"/secret-keys", map[string]any{"expiresAt": iso(now.Add(time.Duration(10+i) * time.Hour))})
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	created, conflicts := 0, 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
			conflicts++
		}
	}
	if created != 2 || conflicts != 4 {
		t.Errorf("6 racing rotations at 3 rotated keys: %v, want two 201 and four 409", statuses)
	}
	keys := e.secretKeys(ks)
	if len(keys) != 6 || keys[0].ExpiresAt != nil {
		t.Errorf("after the race: %d keys, want the main key and 5 rotated", len(keys))
	}
}
