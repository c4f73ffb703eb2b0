package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
)

// Tenants never see each other, for every operation of the API (generated
// from keyplane.Operations, so a new route is covered or this fails): a key
// of account B holding every row a key may hold, in a partner account,
// asking with an id of account A's, gets exactly the answer it gets for an
// id that does not exist; lists never hold A's rows; and nothing of A's
// changes.
func TestIsolationOfEveryOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.setPartner(true)
	// Account A: the env's, with an app, a keyset with a rotated secret
	// key, and an OEM customer holding the keyset.
	app := e.createApp("A's app")
	ks := e.createKeyset(app.ID, "A's keyset").Keyset
	e.do("POST", "/v2/keysets/"+ks.ID+"/secret-keys", map[string]any{"expiresAt": keyplane.FormatTime(e.clock.Now().Add(48 * time.Hour))}).want(201)
	prefix := e.secretKeys(ks.ID)[0].SecretKey[:11]
	oemKey, _, _ := e.integration("A's partner portal", "account:oem-customer:rw")
	cust := e.createCustomer(oemKey, map[string]any{"externalId": "a-1", "name": "A's customer", "keysetIds": []int64{num(t, ks.ID)}})
	before := e.dump(app.ID, ks.ID)

	// Account B: a partner, with a key holding every row a key may hold.
	_, bID := e.otherAccountOEM()
	var rows []string
	for _, g := range keyplane.Offered() {
		if g.Level == keyplane.LevelAccount {
			rows = append(rows, g.String())
		}
	}
	_, bKey, err := e.svc.CreateIntegration(ctx, keyplane.Operator(bID), "B's everything", grants(t, rows...), e.clock.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.remember(bKey.Key)

	missing := map[string]string{"{appId}": "999999", "{keysetId}": "999998", "{customerId}": "999997", "{secretKeyPrefix}": "sec-c-ZZZZZ"}
	theirs := map[string]string{"{appId}": app.ID, "{keysetId}": ks.ID, "{customerId}": cust.ID, "{secretKeyPrefix}": prefix}
	bodies := map[string]any{
		"updateApp":                 map[string]any{"name": "taken"},
		"updateKeyset":              map[string]any{"name": "taken"},
		"updateKeysetConfig":        map[string]any{"presence": map[string]any{"announceMax": 7}},
		"rotateSecretKey":           map[string]any{"expiresAt": keyplane.FormatTime(e.clock.Now().Add(48 * time.Hour))},
		"updateSecretKeyExpiration": map[string]any{"expiresAt": keyplane.FormatTime(e.clock.Now().Add(48 * time.Hour))},
		"updateOemCustomer":         map[string]any{"name": "taken"},
		"assignOemCustomerKeysets":  map[string]any{"keysetIds": []int64{num(t, ks.ID)}},
	}
	// The uploads take files, valid ones, so that only the id decides.
	type filed struct {
		body []byte
		ct   option
	}
	uploads := map[string]filed{}
	uploads["uploadApnsCredentials"] = func() filed {
		b, ct := upload(t, [][2]string{{"teamId", "ABCDE12345"}, {"authKeyId", "KEY1234567"}}, "k.p8", apnsKey(t))
		return filed{b, ct}
	}()
	uploads["uploadFcmCredentials"] = func() filed {
		b, ct := upload(t, nil, "sa.json", serviceAccount(t))
		return filed{b, ct}
	}()
	send := func(op keyplane.Operation, path string) *resp {
		if u, ok := uploads[op.ID]; ok {
			return e.do(op.Method, path, u.body, as(bKey.Key), u.ct)
		}
		return e.do(op.Method, path, bodies[op.ID], as(bKey.Key))
	}
	// An answer with the ids it names put as ID: an error's messages may
	// name the id asked for; any other body must be the same to the byte.
	answer := func(r *resp, ids map[string]string) string {
		var eb struct{ Message []string }
		if r.Status < 400 || json.Unmarshal(r.Body, &eb) != nil {
			return fmt.Sprintf("%d %s", r.Status, r.Body)
		}
		msgs := strings.Join(eb.Message, "; ")
		for _, id := range ids {
			msgs = regexp.MustCompile(`\b`+regexp.QuoteMeta(id)+`\b`).ReplaceAllString(msgs, "ID")
		}
		return fmt.Sprintf("%d %s", r.Status, msgs)
	}
	covered := 0
	for _, op := range keyplane.Operations {
		if !strings.Contains(op.Path, "{") {
			continue
		}
		covered++
		path := func(ids map[string]string) string {
			p := op.Path
			for k, v := range ids {
				p = strings.ReplaceAll(p, k, v)
			}
			return p
		}
		foreign := answer(send(op, path(theirs)), theirs)
		absent := answer(send(op, path(missing)), missing)
		if foreign != absent {
			t.Errorf("%s with account A's ids:\n  %s\nwith missing ids:\n  %s", op, foreign, absent)
		}
	}
	if covered < 15 {
		t.Errorf("only %d operations take an id", covered)
	}
	// Ids in query strings and bodies too.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v2/keysets?appId=%s"},
		{"GET", "/v2/oem/customers?appId=%s"},
		{"GET", "/v2/oem/keysets?appId=%s"},
		{"GET", "/v2/usage-metrics?entityType=app&entityId=%s&from=2026-01-01&to=2026-01-02&metrics=publish"},
	} {
		foreign := answer(e.do(c.method, fmt.Sprintf(c.path, app.ID), nil, as(bKey.Key)), theirs)
		absent := answer(e.do(c.method, fmt.Sprintf(c.path, "999999"), nil, as(bKey.Key)), missing)
		if foreign != absent {
			t.Errorf("%s %s with A's app: %s; with a missing one: %s", c.method, c.path, foreign, absent)
		}
	}
	foreign := answer(e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"name": "x", "type": "testing", "appId": app.ID}}, as(bKey.Key)), theirs)
	absent := answer(e.do("POST", "/v2/keysets", map[string]any{"keyset": map[string]any{"name": "x", "type": "testing", "appId": "999999"}}, as(bKey.Key)), missing)
	if foreign != absent {
		t.Errorf("a keyset in A's app: %s; in a missing app: %s", foreign, absent)
	}
	// B's lists hold none of A's rows.
	for _, p := range []string{"/v2/apps?limit=100", "/v2/keysets?limit=100", "/v2/oem/customers", "/v2/audit-events?limit=100"} {
		body := string(e.do("GET", p, nil, as(bKey.Key)).want(200).Body)
		for _, s := range []string{"A's app", "A's keyset", "A's customer", "A's partner portal", ks.PublishKey} {
			if strings.Contains(body, s) {
				t.Errorf("GET %s by account B holds %q", p, s)
			}
		}
	}
	if after := e.dump(app.ID, ks.ID); after != before {
		t.Errorf("account A changed:\nbefore %s\nafter  %s", before, after)
	}
}

// dump is account A's app, keyset, configuration and secret keys as the
// API shows them to the env's own key.
func (e *env) dump(appID, keysetID string) string {
	e.t.Helper()
	var parts []string
	for _, p := range []string{"/v2/apps/" + appID, "/v2/keysets/" + keysetID, "/v2/keysets/" + keysetID + "/config", "/v2/keysets/" + keysetID + "/secret-keys"} {
		var v any
		if err := json.Unmarshal(e.do("GET", p, nil).want(200).Body, &v); err != nil {
			e.t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n")
}
