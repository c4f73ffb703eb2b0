package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/testdb"
)

type auditRow struct {
	ID         int64
	AccountID  int64
	At         int64
	Type       string
	Actor      string
	TargetType string
	TargetID   int64
	Before     sql.NullString
	After      sql.NullString
	PrevHash   []byte
	Hash       []byte
}

func readAudit(t *testing.T, path string) []auditRow {
	t.Helper()
	db := testdb.OpenSQL(t, path)
	rows, err := db.QueryContext(context.Background(), `SELECT id, account_id, at, type, actor, target_type, target_id, before, after, prev_hash, hash FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.ID, &r.AccountID, &r.At, &r.Type, &r.Actor, &r.TargetType, &r.TargetID, &r.Before, &r.After, &r.PrevHash, &r.Hash); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every change is recorded, in order, with its actor and without secrets,
// on an unbroken hash chain; reads and refused requests record nothing.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	app := e.createApp("Telemedicine")
	created := e.createKeyset(app.ID, "prod")
	ks := created.Keyset.ID
	firstSecret := created.Keyset.SecretKeys[0].SecretKey
	e.patchConfig(ks, `{"messagePersistence":{"enabled":true,"retention":30}}`)
	e.patchConfig(ks, `{"messagePersistence":{"enabled":true}}`) // no change: no event
	e.do("PATCH", "/v2/keysets/"+ks+"/config", `{"presence":{"interval":1}}`).want(400)
	e.clock.Advance(time.Second)
	newMain := e.rotate(ks, iso(e.clock.Now().Add(time.Hour)))
	e.do("PATCH", "/v2/keysets/"+ks+"/secret-keys/"+firstSecret[:11], map[string]any{"expiresAt": iso(e.clock.Now().Add(2 * time.Hour))}).want(200)
	e.do("PATCH", "/v2/apps/"+app.ID, map[string]any{"name": "Telehealth"}).want(200)
	e.do("PATCH", "/v2/keysets/"+ks, map[string]any{"name": "production", "type": "production"}).want(200)
	e.do("GET", "/v2/keysets/"+ks+"/secret-keys", nil).want(200)
	e.do("DELETE", "/v2/keysets/"+ks+"/secret-keys/"+firstSecret[:11], nil).want(200)
	key2, err := e.svc.CreateAPIKey(ctx, keyplane.Operator(e.account), e.admin.ID, e.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.remember(key2.Key)
	e.do("GET", "/v2/apps", nil, as(key2.Key)).want(200)
	if _, _, err := e.svc.RevokeAPIKey(ctx, keyplane.Operator(1), key2.Key); err != nil {
		t.Fatal(err)
	}
	e.do("DELETE", "/v2/apps/"+app.ID, nil).want(409)
	e.do("DELETE", "/v2/keysets/"+ks, nil).want(200)
	e.do("DELETE", "/v2/apps/"+app.ID, nil).want(200)

	rows := readAudit(t, e.dbPath)
	var types []string
	for _, r := range rows {
		types = append(types, r.Type)
	}
	wantTypes := []string{
		"ServiceIntegrationCreated", "ApiKeyCreated", // newEnv's admin integration
		"AppCreated", "KeysetCreated", "KeysetConfigChanged", "SecretKeyRotated",
		"SecretKeyExpirationChanged", "AppRenamed", "KeysetRenamed", "KeysetTypeChanged",
		"SecretKeyDeleted", "ApiKeyCreated", "ApiKeyRevoked", "KeysetDeleted", "AppDeleted",
	}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Fatalf("audit event types (-want +got):\n%s", diff)
	}

	// An integration's changes say where its requests came from.
	integrationActor := keyplane.Actor{Type: "integration", ID: e.admin.ID, Name: "CI/CD Pipeline", KeyID: firstKeyID(t, rows),
		Address: "127.0.0.1", UserAgent: "Go-http-client/1.1"}
	operator := keyplane.OperatorActor
	wantActors := []keyplane.Actor{operator, operator}
	for range 9 {
		wantActors = append(wantActors, integrationActor)
	}
	wantActors = append(wantActors, operator, operator, integrationActor, integrationActor)
	appID, _ := strconv.ParseInt(app.ID, 10, 64)
	ksID, _ := strconv.ParseInt(ks, 10, 64)
	wantTargets := []struct {
		typ string
		id  int64
	}{
		{"integration", e.admin.ID}, {"api-key", integrationActor.KeyID},
		{"app", appID}, {"keyset", ksID}, {"keyset", ksID}, {"keyset", ksID},
		{"keyset", ksID}, {"app", appID}, {"keyset", ksID}, {"keyset", ksID},
		{"keyset", ksID}, {"api-key", key2.ID}, {"api-key", key2.ID}, {"keyset", ksID}, {"app", appID},
	}

	secretRE := regexp.MustCompile(`sec-c-[A-Za-z0-9]{6,}`)
	longAPIKeyRE := regexp.MustCompile(`si_[A-Za-z0-9]{9,}`)
	allSecrets := []string{firstSecret, newMain, key2.Key, e.key}
	var prev []byte = []byte{}
	for i, r := range rows {
		var actor keyplane.Actor
		dec := json.NewDecoder(strings.NewReader(r.Actor))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&actor); err != nil {
			t.Errorf("event %d actor %s: %v", r.ID, r.Actor, err)
		}
		if actor != wantActors[i] {
			t.Errorf("event %d (%s) actor %+v, want %+v", r.ID, r.Type, actor, wantActors[i])
		}
		if r.TargetType != wantTargets[i].typ || r.TargetID != wantTargets[i].id {
			t.Errorf("event %d (%s) target %s %d, want %s %d", r.ID, r.Type, r.TargetType, r.TargetID, wantTargets[i].typ, wantTargets[i].id)
		}
		if r.AccountID != e.account {
			t.Errorf("event %d account %d, want %d", r.ID, r.AccountID, e.account)
		}
		for _, col := range []string{r.Type, r.Actor, r.TargetType, r.Before.String, r.After.String} {
			if m := secretRE.FindString(col); m != "" {
				t.Errorf("event %d (%s) holds more of a secret key than its prefix: %.14s…", r.ID, r.Type, m)
			}
			if m := longAPIKeyRE.FindString(col); m != "" {
				t.Errorf("event %d (%s) holds more of an API key than its prefix: %.14s…", r.ID, r.Type, m)
			}
			for _, s := range allSecrets {
				if strings.Contains(col, s) {
					t.Errorf("event %d (%s) holds a full key %.14s…", r.ID, r.Type, s)
				}
			}
		}
		if !bytes.Equal(r.PrevHash, prev) {
			t.Errorf("event %d prev_hash %x, want the previous event's hash %x", r.ID, r.PrevHash, prev)
		}
		ev := keyplane.AuditEvent{
			ID: r.ID, AccountID: r.AccountID, At: time.UnixMilli(r.At), Type: r.Type, Actor: actor,
			TargetType: r.TargetType, TargetID: r.TargetID, PrevHash: r.PrevHash,
		}
		if r.Before.Valid {
			ev.Before = []byte(r.Before.String)
		}
		if r.After.Valid {
			ev.After = []byte(r.After.String)
		}
		if !bytes.Equal(ev.ChainHash(), r.Hash) {
			t.Errorf("event %d (%s): stored hash does not seal its fields", r.ID, r.Type)
		}
		prev = r.Hash
	}

	// What the events say of the objects they record.
	kc := jsonObject(t, rows[3].After.String)
	sks, _ := kc["secretKeys"].([]any)
	if len(sks) != 1 || sks[0].(map[string]any)["prefix"] != firstSecret[:11] {
		t.Errorf("KeysetCreated records secret keys %v, want the prefix %s", kc["secretKeys"], firstSecret[:11])
	}
	before := jsonObject(t, rows[4].Before.String)
	after := jsonObject(t, rows[4].After.String)
	if diff := cmp.Diff(jsonObject(t, defaultConfig), before); diff != "" {
		t.Errorf("KeysetConfigChanged before (-want +got):\n%s", diff)
	}
	if mp := after["messagePersistence"].(map[string]any); mp["enabled"] != true || mp["retention"] != float64(30) {
		t.Errorf("KeysetConfigChanged after = %v", mp)
	}
	if a := jsonObject(t, rows[7].After.String); a["name"] != "Telehealth" {
		t.Errorf("AppRenamed after = %v", a)
	}
	if rows[2].At != e.clock.Now().Add(-time.Second).UnixMilli() || rows[5].At != e.clock.Now().UnixMilli() {
		t.Errorf("event times %d, %d do not follow the server's clock", rows[2].At, rows[5].At)
	}
}

// firstKeyID is the id of the admin integration's first key, from its
// ApiKeyCreated event.
func firstKeyID(t *testing.T, rows []auditRow) int64 {
	t.Helper()
	var v struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(rows[1].After.String), &v); err != nil || v.ID == 0 {
		t.Fatalf("ApiKeyCreated after %q: %v", rows[1].After.String, err)
	}
	return v.ID
}
