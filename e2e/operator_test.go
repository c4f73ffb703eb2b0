package e2e

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
)

// operatorKey makes an operator key as keyplane admin create-operator-key
// does, expiring after ttl on the env's clock, and remembers it as a secret.
func (e *env) operatorKey(name string, ttl time.Duration) (string, int64) {
	e.t.Helper()
	k, err := e.svc.CreateOperatorKey(context.Background(), keyplane.InstallOperator, name, e.clock.Now().Add(ttl))
	if err != nil {
		e.t.Fatalf("CreateOperatorKey: %v", err)
	}
	e.remember(k.Key)
	return k.Key, k.ID
}

// bearer sends key as "Bearer <key>", without PubNub-Version (the
// operator API has none).
func bearer(key string) option {
	return func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Del("PubNub-Version")
	}
}

// operatorAccountJSON is an account as the operator API answers it.
type operatorAccountJSON struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CreatedAt  string  `json:"createdAt"`
	Disabled   bool    `json:"disabled"`
	DisabledAt *string `json:"disabledAt"`
	Partner    bool    `json:"partner"`
}

// Every route of the operator API over real HTTP, each answer checked
// against the contract: an account is made, listed, read, renamed,
// disabled (its keys then get 403 on /v2), enabled, and given its first
// Owner, who can sign in with the password answered once; a second Owner
// is a conflict. Each change is audited in the account as the operator,
// naming the operator key.
func TestOperatorAPIRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, keyID := e.operatorKey("provisioning", 24*time.Hour)
	op := bearer(key)

	var acc operatorAccountJSON
	e.do("POST", "/operator/v1/accounts", map[string]any{"name": "Acme Inc"}, op).want(201).decode(&acc)
	if acc.ID == "" || acc.Name != "Acme Inc" || acc.Disabled || acc.DisabledAt != nil || acc.CreatedAt != iso(e.clock.Now()) {
		t.Errorf("created account %+v", acc)
	}
	var list struct {
		Accounts []operatorAccountJSON `json:"accounts"`
		Total    int                   `json:"total"`
	}
	e.do("GET", "/operator/v1/accounts", nil, op).want(200).decode(&list)
	if list.Total != 2 || len(list.Accounts) != 2 || list.Accounts[1] != acc {
		t.Errorf("list %+v, want the default account and %+v", list, acc)
	}
	var got operatorAccountJSON
	e.do("GET", "/operator/v1/accounts/"+acc.ID, nil, op).want(200).decode(&got)
	if got != acc {
		t.Errorf("get %+v, want %+v", got, acc)
	}
	e.do("PATCH", "/operator/v1/accounts/"+acc.ID, map[string]any{"name": "Acme Corp"}, op).want(200).decode(&got)
	if got.Name != "Acme Corp" {
		t.Errorf("renamed %+v", got)
	}

	// The account's own integration key works until the account is disabled.
	id, _ := strconv.ParseInt(acc.ID, 10, 64)
	_, siKey, err := e.svc.CreateIntegration(context.Background(), keyplane.Operator(id), "tenant CI", grants(t, "account:app:read"), e.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.remember(siKey.Key)
	e.do("GET", "/v2/apps", nil, as(siKey.Key)).want(200)
	e.do("POST", "/operator/v1/accounts/"+acc.ID+"/disable", nil, op).want(200).decode(&got)
	if !got.Disabled || got.DisabledAt == nil || *got.DisabledAt != iso(e.clock.Now()) {
		t.Errorf("disabled %+v", got)
	}
	e.do("GET", "/v2/apps", nil, as(siKey.Key)).wantErrorContaining(403, "account "+acc.ID+" is disabled")
	e.do("POST", "/operator/v1/accounts/"+acc.ID+"/disable", nil, op).want(200) // already: unchanged
	e.do("POST", "/operator/v1/accounts/"+acc.ID+"/enable", nil, op).want(200).decode(&got)
	if got.Disabled || got.DisabledAt != nil {
		t.Errorf("enabled %+v", got)
	}
	e.do("GET", "/v2/apps", nil, as(siKey.Key)).want(200)

	var owner struct {
		AccountID string `json:"accountId"`
		User      struct {
			ID, Email, Role string
		} `json:"user"`
		Password string `json:"password"`
	}
	e.do("POST", "/operator/v1/accounts/"+acc.ID+"/owner", map[string]any{"email": "Owner@Acme.example"}, op).want(201).decode(&owner)
	e.remember(owner.Password)
	if owner.AccountID != acc.ID || owner.User.Email != "owner@acme.example" || owner.User.Role != "owner" || len(owner.Password) < 20 {
		t.Errorf("owner %+v", owner)
	}
	if _, _, err := e.svc.SignIn(context.Background(), "owner@acme.example", owner.Password, "10.0.0.1"); err != nil {
		t.Errorf("the first Owner cannot sign in with the answered password: %v", err)
	}
	e.do("POST", "/operator/v1/accounts/"+acc.ID+"/owner", map[string]any{"email": "second@acme.example"}, op).
		wantErrorContaining(409, "already has an Owner")

	// Audited in the account, as the operator, naming the key.
	var events []string
	err = e.svc.ExportAudit(context.Background(), id, func(ev keyplane.AuditEvent) error {
		// The test's own integration was made as keyplane admin.
		if ev.Actor.Type == "operator" && ev.Actor != keyplane.OperatorActor {
			if ev.Actor.KeyID != keyID || ev.Actor.Name != "operator key provisioning" {
				t.Errorf("event %s actor %+v, want operator key %d", ev.Type, ev.Actor, keyID)
			}
			events = append(events, ev.Type)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "AccountCreated AccountRenamed AccountDisabled AccountEnabled UserAccountAccessGranted"
	if strings.Join(events, " ") != want {
		t.Errorf("operator events %q, want %q", events, want)
	}
}

// The operator API refuses what it must, each with the Error body: no key,
// a malformed or unknown key, an expired and a revoked operator key (from
// the very next request), a Service Integration's si_ key (naming the
// mix-up), an unknown account id (404), bad JSON, unknown fields, unknown
// query parameters, a bad id, a body over 1 MiB; and an operator key is
// refused on /v2 (and /mcp) in turn.
func TestOperatorAPIRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, _ := e.operatorKey("provisioning", time.Hour)
	op := bearer(key)
	const path = "/operator/v1/accounts"

	e.do("GET", path, nil, header("Authorization", "")).wantErrorContaining(401, "Authorization: required", "kpop_")
	e.do("GET", path, nil, bearer("kpop_nonsense")).wantErrorContaining(401, "not a Keyplane operator key")
	// The last character changed: the checksum no longer matches.
	last := byte('a')
	if key[len(key)-1] == 'a' {
		last = 'b'
	}
	mistyped := key[:len(key)-1] + string(last)
	e.do("GET", path, nil, bearer(mistyped)).wantErrorContaining(401, "checksum")
	unknown, err := keyplane.OperatorKeyFormat.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	e.remember(unknown)
	e.do("GET", path, nil, bearer(unknown)).wantError(401, "Authorization: unknown operator key")
	// A /v2 key on /operator: 401 naming the problem, in both header forms.
	e.do("GET", path, nil, as(e.key)).wantErrorContaining(401, "works only on /v2", "operator key (kpop_…)")
	e.do("GET", path, nil, bearer(e.key)).wantErrorContaining(401, "works only on /v2")
	// An operator key on /v2: 401 naming the problem, bare or Bearer.
	e.do("GET", "/v2/apps", nil, as(key)).wantErrorContaining(401, "works only on /operator")
	e.do("GET", "/v2/apps", nil, header("Authorization", "Bearer "+key)).wantErrorContaining(401, "works only on /operator")

	e.do("GET", path+"/99", nil, op).wantError(404, "account 99: not found")
	e.do("PATCH", path+"/99", map[string]any{"name": "X"}, op).wantError(404, "account 99: not found")
	e.do("POST", path+"/99/disable", nil, op).wantError(404, "account 99: not found")
	e.do("POST", path+"/99/enable", nil, op).wantError(404, "account 99: not found")
	e.do("POST", path+"/99/owner", map[string]any{"email": "a@b.example"}, op).wantError(404, "account 99: not found")
	e.do("GET", path+"/abc", nil, op).wantErrorContaining(400, "accountId: must be a positive integer")
	e.do("POST", path, `{"name":`, op).wantErrorContaining(400, "body")
	e.do("POST", path, `{"name":"X","plan":"gold"}`, op).wantErrorContaining(400, "plan")
	e.do("POST", path, `{}`, op).wantError(400, "name: required")
	e.do("POST", path, map[string]any{"name": " "}, op).wantErrorContaining(400, "name")
	e.do("POST", path+"/1/owner", `{"email":"not an address"}`, op).wantErrorContaining(400, "email")
	e.do("POST", path+"/1/disable", `{"why":"x"}`, op).wantError(400, "body: this route takes none")
	e.do("GET", path+"?page=2", nil, op).wantErrorContaining(400, "page: unknown query parameter")
	e.do("POST", path, `{"name":"`+strings.Repeat("a", 1<<20)+`"}`, op).want(413)
	e.do("POST", path, "name=X", op, header("Content-Type", "application/x-www-form-urlencoded")).want(415)
	e.do("DELETE", path+"/1", nil, op).want(405)
	e.do("GET", "/operator/v1/nothing", nil, op).want(404)

	// Revoked: refused from the very next request.
	e.do("GET", path, nil, op).want(200)
	if _, _, err := e.svc.RevokeOperatorKey(context.Background(), keyplane.InstallOperator, key); err != nil {
		t.Fatal(err)
	}
	e.do("GET", path, nil, op).wantError(401, "Authorization: operator key revoked")

	// Expired: refused once its time has come, on the server's clock.
	short, _ := e.operatorKey("short-lived", 2*time.Minute)
	e.do("GET", path, nil, bearer(short)).want(200)
	e.clock.Advance(2 * time.Minute)
	e.do("GET", path, nil, bearer(short)).wantError(401, "Authorization: operator key expired")
	// Nothing refused made an account.
	ks, err := e.svc.Accounts(context.Background())
	if err != nil || len(ks) != 1 {
		t.Errorf("accounts after refusals: %v %v", ks, err)
	}
}

// Automation that provisions tenants retries safely: a POST of the
// operator API with an Idempotency-Key runs once, a retry replays its
// answer (Idempotent-Replayed), the same key with another body is a 422,
// and keys are the operator key's own, not shared with another operator
// key or with /v2 keys.
func TestOperatorAPIIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, _ := e.operatorKey("provisioning", 24*time.Hour)
	other, _ := e.operatorKey("another pipeline", 24*time.Hour)
	idem := header("Idempotency-Key", "tenant-acme-1")

	first := e.do("POST", "/operator/v1/accounts", map[string]any{"name": "Acme Inc"}, bearer(key), idem).want(201)
	again := e.do("POST", "/operator/v1/accounts", map[string]any{"name": "Acme Inc"}, bearer(key), idem).want(201)
	if string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %s (replayed %q), want %s replayed", again.Body, again.Header.Get("Idempotent-Replayed"), first.Body)
	}
	e.do("POST", "/operator/v1/accounts", map[string]any{"name": "Globex"}, bearer(key), idem).want(422)
	// Another operator key's same key is its own.
	theirs := e.do("POST", "/operator/v1/accounts", map[string]any{"name": "Acme Inc"}, bearer(other), idem).want(201)
	if theirs.Header.Get("Idempotent-Replayed") != "" || string(theirs.Body) == string(first.Body) {
		t.Errorf("another operator key got %s (replayed %q), want an account of its own", theirs.Body, theirs.Header.Get("Idempotent-Replayed"))
	}
	accounts, err := e.svc.ListAccounts(context.Background(), keyplane.InstallOperator)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, a := range accounts {
		names[a.Name]++
	}
	if names["Acme Inc"] != 2 || names["Globex"] != 0 {
		t.Errorf("accounts %v, want two Acme Inc (one per operator key) and no Globex", names)
	}
}
