package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// An install made by a release with migrations 0001-0009 (the last before
// accounts, memberships and per-account audit chains), holding rows in
// every one of its tables, upgrades in place to the newest schema through
// the normal open path, and everything it held keeps working through
// control's own operations: API keys authenticate and their permission rows
// still allow exactly what they allowed, portal sessions stay signed in to
// their account with their role, sealed secret keys and idempotency answers
// open under the same key-encryption key, the audit log verifies account by
// account with its old events in their order, usage and OEM customers read
// back the same, and new writes land on the upgraded chains.
//
// The rows are written with SQL, as the code of that release wrote them:
// its formats (the audit chain's hash, sealing, password and key hashes,
// configuration and grant JSON) are written out again below rather than
// taken from today's code, so that a change to one of them that would
// strand an old database fails here.
func TestUpgradeFromSchema0009KeepsEverythingWorking(t *testing.T) {
	for _, eng := range migrationEngines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := eng.dsn(t)
			raw := schemaBefore(t, eng.name, eng.driver, dsn, 10)
			old := fill0009(t, raw, eng.name)
			raw.Close()

			// The normal start: open (which migrates), then seal with
			// the KEK file the old release used, as server.Run does.
			db := openDB(t, dsn)
			if v, err := db.SchemaVersion(ctx); err != nil || v != NewestSchema() {
				t.Fatalf("schema version %d after opening, %v; want %d", v, err, NewestSchema())
			}
			if created, err := db.SealSecrets(ctx, old.kekFile); err != nil || created {
				t.Fatalf("sealing with the old KEK file: created %v, %v", created, err)
			}
			now := old.upgradedAt
			svc := control.New(db, control.Options{Now: func() time.Time { return now }})

			checkAccounts(t, ctx, svc)
			p := checkAPIKeys(t, ctx, svc, old)
			checkAudit(t, ctx, svc, p, old) // before anyone signs in (audited)
			owner := checkPeople(t, ctx, svc, old)
			checkSecrets(t, ctx, svc, p, old)
			checkUsage(t, ctx, svc, p, old)
			checkOEM(t, ctx, svc, p, old)
			checkIdempotency(t, ctx, svc, p, old)
			checkNewWrites(t, ctx, svc, p, owner, old)
		})
	}
}

// install0009 is what fill0009 wrote, to check against after the upgrade.
type install0009 struct {
	upgradedAt time.Time // the clock when the new release starts
	kekFile    string

	accountA, accountB      int64 // "Default account" (a partner) and a second one
	appA, appB              int64 // an app of each account
	keysetProd, keysetStage int64 // account A's keysets, both in appA
	keysetB                 int64 // account B's keyset
	prodVersion             int64 // keysetProd's version (ETag), changed twice
	secrets                 map[int64][]string
	grants                  []string // integration CI's rows, as stored

	apiKey, revokedKey, expiredKey, keyB string // si_ keys
	integration                          int64  // CI, in account A

	ownerEmail, ownerPassword  string
	ownerID, viewerID, adminID int64
	ownerSession, adminSession string // tokens of live sessions
	viewerSession              string // an expired one
	setupToken                 string // the setup link printed before the Owner existed

	events   []keyplane.AuditEvent // every event, install-wide ids, as chained then
	customer int64
	usage    map[string]map[string]map[string]float64 // "keyset/1" → metric → day → value
	usageDay keyplane.Day                             // the first day of usage

	idemScope, idemKey string
	idemFingerprint    []byte
	idemAnswer         control.StoredResponse
}

// tableFiller writes rows and remembers which tables it wrote to.
type tableFiller struct {
	t      *testing.T
	db     *sql.DB
	filled map[string]bool
}

func (f *tableFiller) statement(table, cols string, n int) string {
	marks := make([]string, n)
	for i := range marks {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	f.filled[table] = true
	return "INSERT INTO " + table + " (" + cols + ") VALUES (" + strings.Join(marks, ", ") + ")"
}

// insert writes one row.
func (f *tableFiller) insert(table, cols string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(f.statement(table, cols, len(args)), args...); err != nil {
		f.t.Fatalf("%s: %v", table, err)
	}
}

// insertID writes one row and returns the id the database gave it: ids are
// left to the engine, as the old release did, so that the sequences of
// PostgreSQL's identities and SQLite's AUTOINCREMENT stand where a real
// install's would.
func (f *tableFiller) insertID(table, cols string, args ...any) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.QueryRow(f.statement(table, cols, len(args))+" RETURNING id", args...).Scan(&id); err != nil {
		f.t.Fatalf("%s: %v", table, err)
	}
	return id
}

// derived0009 are the tables filled by triggers of keysets (0008, 0009) and
// by the migration runner, not by statements of fill0009.
var derived0009 = map[string]bool{"keyset_counts": true, "keyset_buckets": true, "schema_migrations": true}

// fill0009 writes an install as the release of schema 0009 left it: one
// "Default account" made at its first start, and a second account (that
// release had no command for one, but its schema and queries were per
// account; the second makes the upgrade split the install-wide audit chain).
func fill0009(t *testing.T, db *sql.DB, engine string) install0009 {
	t.Helper()
	f := &tableFiller{t: t, db: db, filled: map[string]bool{}}
	up := t0 // the upgrade
	start := up.Add(-40 * 24 * time.Hour)
	at := func(d time.Duration) int64 { return ms(start.Add(d)) }
	o := install0009{upgradedAt: up, secrets: map[int64][]string{}}

	// The key-encryption key and its fingerprint (0005): a file beside
	// the database, 64 hex digits.
	kek := make([]byte, 32)
	rand.Read(kek)
	o.kekFile = filepath.Join(t.TempDir(), "keyplane.db.kek")
	if err := os.WriteFile(o.kekFile, []byte(hex.EncodeToString(kek)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fp := sha256.Sum256(append([]byte("keyplane kek fingerprint\x00"), kek...))
	f.insert("kek", "id, fingerprint", 1, hex.EncodeToString(fp[:8]))
	block, err := aes.NewCipher(kek)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}

	o.accountA = f.insertID("accounts", "name, created_at, partner", "Default account", at(0), 1)
	o.accountB = f.insertID("accounts", "name, created_at, partner", "Second", at(time.Hour), 0)
	o.appA = f.insertID("apps", "account_id, name, created_at, updated_at", o.accountA, "Chat", at(2*time.Hour), at(2*time.Hour))
	o.appB = f.insertID("apps", "account_id, name, created_at, updated_at", o.accountB, "Telemetry", at(5*time.Hour), at(5*time.Hour))

	// Configurations as that release stored them: every section, its
	// defaults of the day (App Context's referential integrity on, Files
	// and Message Persistence off). The production keyset's persistence
	// was turned on later (version 2), and it was renamed (version 3).
	const stagingConfig = `{"accessManager":{"enabled":false,"tokenRevoke":false},"files":{"enabled":false,"retention":null,"region":null},"streamController":{"enabled":true,"wildcardSubscribe":true,"channelGroupLimit":100},"appContext":{"enabled":false,"userMetadataEvents":true,"channelMetadataEvents":true,"membershipEvents":true,"disallowGetAllChannelMetadata":false,"disallowGetAllUserMetadata":false,"referentialIntegrity":true,"region":null},"dataSync":{"enabled":false,"region":null},"apns":{"enabled":false,"teamId":null,"authKeyId":null,"filename":null},"fcm":{"filename":null},"messagePersistence":{"enabled":false,"includePresenceEvents":false,"deleteFromHistory":false,"retention":null},"presence":{"enabled":true,"deltas":false,"generateLeaveOnDisconnect":false,"streamFiltering":false,"activeNoticeChannel":null,"announceMax":20,"interval":10,"debounce":2}}`
	prodConfig := strings.Replace(stagingConfig, `"messagePersistence":{"enabled":false,"includePresenceEvents":false,"deleteFromHistory":false,"retention":null}`,
		`"messagePersistence":{"enabled":true,"includePresenceEvents":false,"deleteFromHistory":false,"retention":30}`, 1)
	keyset := func(account, app int64, name, typ, config string, version int64, created time.Duration) int64 {
		return f.insertID("keysets", "account_id, app_id, name, type, publish_key, subscribe_key, config, created_at, updated_at, version",
			account, app, name, typ, "pub-c-"+uuid(t), "sub-c-"+uuid(t), config, at(created), at(created+24*time.Hour), version)
	}
	o.prodVersion = 3
	o.keysetProd = keyset(o.accountA, o.appA, "Production", "production", prodConfig, o.prodVersion, 3*time.Hour)
	o.keysetStage = keyset(o.accountA, o.appA, "Staging", "testing", stagingConfig, 1, 7*time.Hour)
	o.keysetB = keyset(o.accountB, o.appB, "Main", "testing", stagingConfig, 1, 6*time.Hour)

	// Secret keys, sealed (0005): "enc:v1:" and the base64 of nonce and
	// AES-256-GCM ciphertext, bound to the keyset and prefix. The
	// production keyset's key was rotated an hour before the upgrade: the
	// old one expires in a week.
	seal := func(keyset int64, secret string) string {
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		ad := append(binary.BigEndian.AppendUint64(nil, uint64(keyset)), secret[:keyplane.SecretKeyPrefixLen]...)
		return "enc:v1:" + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(secret), ad))
	}
	secretKey := func(keyset int64, created time.Time, expires *time.Time) {
		s, err := keyplane.NewSecretKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		var exp any
		if expires != nil {
			exp = ms(*expires)
		}
		f.insert("secret_keys", "keyset_id, prefix, secret, expires_at, created_at", keyset, s[:keyplane.SecretKeyPrefixLen], seal(keyset, s), exp, ms(created))
		o.secrets[keyset] = append(o.secrets[keyset], s)
	}
	rotatedOut := up.Add(7 * 24 * time.Hour)
	secretKey(o.keysetProd, up.Add(-time.Hour), nil) // main first, as they are listed
	secretKey(o.keysetProd, start.Add(3*time.Hour), &rotatedOut)
	secretKey(o.keysetStage, start.Add(7*time.Hour), nil)
	secretKey(o.keysetB, start.Add(6*time.Hour), nil)

	// A Service Integration in each account; its rows are grant strings
	// in JSON, never changed. CI has keys active, revoked and expired.
	o.grants = []string{"account:app:read-write", fmt.Sprintf("app/%d:keyset:read-write", o.appA), fmt.Sprintf("keyset/%d:secret-key:read", o.keysetProd),
		"account:usage:read", "account:oem-customer:read-write", "account:audit-log:read"}
	grants, _ := json.Marshal(o.grants)
	o.integration = f.insertID("integrations", "account_id, name, grants, created_at, last_used_at", o.accountA, "CI", string(grants), at(time.Hour), ms(up.Add(-time.Minute)))
	integrationB := f.insertID("integrations", "account_id, name, grants, created_at, last_used_at", o.accountB, "Reporting", `["account:app:read"]`, at(4*time.Hour), nil)
	apiKey := func(integration int64, created, expires time.Time, revoked any) (string, int64) {
		k, err := keyplane.NewAPIKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(k)) // only the SHA-256 is stored
		return k, f.insertID("api_keys", "integration_id, prefix, hash, created_at, expires_at, revoked_at, last_used_at",
			integration, k[:len(keyplane.APIKeyPrefix)+8], h[:], ms(created), ms(expires), revoked, ms(created.Add(time.Hour)))
	}
	var keyA, revokedID, keyBID int64
	o.apiKey, keyA = apiKey(o.integration, start.Add(time.Hour), up.Add(90*24*time.Hour), nil)
	o.revokedKey, revokedID = apiKey(o.integration, start.Add(2*time.Hour), up.Add(90*24*time.Hour), ms(up.Add(-30*time.Minute)))
	o.expiredKey, _ = apiKey(o.integration, start, up.Add(-24*time.Hour), nil)
	o.keyB, keyBID = apiKey(integrationB, start.Add(4*time.Hour), up.Add(30*24*time.Hour), nil)

	// People (0003), one account each, with an argon2id hash in PHC form.
	phc := func(password string) string {
		salt := make([]byte, 16)
		rand.Read(salt)
		key := argon2.IDKey([]byte(password), salt, 2, 19*1024, 1, 32)
		return fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	}
	o.ownerEmail, o.ownerPassword = "owner@a.test", "correct horse battery staple"
	o.ownerID = f.insertID("users", "account_id, email, password_hash, role, created_at", o.accountA, o.ownerEmail, phc(o.ownerPassword), "owner", at(time.Hour))
	o.viewerID = f.insertID("users", "account_id, email, password_hash, role, created_at", o.accountA, "viewer@a.test", phc("viewer's own password"), "viewer", at(8*time.Hour))
	o.adminID = f.insertID("users", "account_id, email, password_hash, role, created_at", o.accountB, "admin@b.test", phc("admin's own password"), "admin", at(9*time.Hour))
	session := func(user int64, created time.Time) string {
		tok, err := keyplane.NewToken(rand.Reader, 43)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(tok))
		f.insert("sessions", "token_hash, user_id, created_at, expires_at", h[:], user, ms(created), ms(created.Add(keyplane.SessionTTL)))
		return tok
	}
	o.ownerSession = session(o.ownerID, up.Add(-2*time.Hour))
	o.adminSession = session(o.adminID, up.Add(-time.Hour))
	o.viewerSession = session(o.viewerID, up.Add(-keyplane.SessionTTL-time.Minute))
	// The viewer's address has had as many failed sign-ins in the last
	// minutes as the limit allows; the rows of 0003 carry no attempt id.
	for i := range keyplane.MaxLoginFailuresUser {
		f.insert("login_failures", "subject, at", "email:viewer@a.test", ms(up.Add(-time.Duration(10-i)*time.Minute)))
	}
	// The link printed at the first start, before the Owner was made with
	// keyplane admin create-user: never used.
	o.setupToken, _ = keyplane.NewToken(rand.Reader, 32)
	setupHash := sha256.Sum256([]byte(o.setupToken))
	f.insert("setup_tokens", "hash, created_at, expires_at", setupHash[:], at(0), at(time.Hour))

	// OEM (0002): account A is a partner with one customer holding the
	// production keyset.
	o.customer = f.insertID("oem_customers", "account_id, external_id, name, created_at, updated_at", o.accountA, "acme-eu", "Acme EU", at(10*time.Hour), at(11*time.Hour))
	f.insert("oem_customer_keysets", "keyset_id, customer_id, assigned_at", o.keysetProd, o.customer, at(11*time.Hour))

	// Usage (0004, 0007): keyset rows, and the app and account rollups
	// kept beside them, for the three days before the upgrade.
	o.usageDay = keyplane.DayOf(up) - 3
	o.usage = map[string]map[string]map[string]float64{}
	add := func(entity string, metric string, d keyplane.Day, v float64) {
		if o.usage[entity] == nil {
			o.usage[entity] = map[string]map[string]float64{}
		}
		if o.usage[entity][metric] == nil {
			o.usage[entity][metric] = map[string]float64{}
		}
		o.usage[entity][metric][d.String()] += v
	}
	// The rollups are what the old release kept beside the keyset rows:
	// per app and per account, the sum of their keysets' values.
	type rollupKey struct {
		id   int64
		code keyplane.MetricCode
		day  keyplane.Day
	}
	apps, accounts := map[rollupKey]float64{}, map[rollupKey]float64{}
	for _, ks := range []struct{ keyset, app, account int64 }{{o.keysetProd, o.appA, o.accountA}, {o.keysetStage, o.appA, o.accountA}, {o.keysetB, o.appB, o.accountB}} {
		for _, metric := range []string{"publish", "subscribe_transactions"} {
			code, _ := keyplane.Metric(metric)
			for d := o.usageDay; d < o.usageDay+3; d++ {
				v := float64(ks.keyset*1000+int64(code)) + float64(d-o.usageDay)/4
				f.insert("usage_keyset_daily", "keyset_id, metric, day, value", ks.keyset, int64(code), int64(d), v)
				apps[rollupKey{ks.app, code, d}] += v
				accounts[rollupKey{ks.account, code, d}] += v
				add(fmt.Sprintf("keyset/%d", ks.keyset), metric, d, v)
				add(fmt.Sprintf("app/%d", ks.app), metric, d, v)
				add(fmt.Sprintf("account/%d", ks.account), metric, d, v)
				if ks.keyset == o.keysetProd {
					add(fmt.Sprintf("customer/%d", o.customer), metric, d, v)
				}
			}
		}
	}
	for k, v := range apps {
		f.insert("usage_app_daily", "app_id, metric, day, value", k.id, int64(k.code), int64(k.day), v)
	}
	for k, v := range accounts {
		f.insert("usage_account_daily", "account_id, metric, day, value", k.id, int64(k.code), int64(k.day), v)
	}

	// An idempotency key (0006) of the secret key's rotation, answered:
	// the answer carries the new secret, so it is sealed ('s', nonce,
	// AES-GCM under the KEK, bound to the caller and key).
	o.idemScope, o.idemKey = fmt.Sprintf("integration/%d", o.integration), "rotate-2026-11-23"
	fph := sha256.Sum256([]byte("POST /v2/keysets/1/secret-keys {}"))
	o.idemFingerprint = fph[:]
	body := []byte(`{"data":{"secretKey":"` + o.secrets[o.keysetProd][0] + `"}}`)
	o.idemAnswer = control.StoredResponse{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: body}
	answer := fmt.Sprintf(`{"status":200,"header":{"Content-Type":"application/json"},"body":%q}`, base64.StdEncoding.EncodeToString(body))
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	sealed := aead.Seal(append([]byte{'s'}, nonce...), nonce, []byte(answer), []byte("keyplane idempotency answer\x00"+o.idemScope+"\x00"+o.idemKey))
	f.insert("idempotency_keys", "scope, idem_key, fingerprint, created_at, expires_at, response", o.idemScope, o.idemKey, o.idemFingerprint, ms(up.Add(-time.Hour)), ms(up.Add(23*time.Hour)), sealed)

	// The audit log: one chain through the whole install, ids of the
	// install, each event sealing the one before whatever its account.
	// Actors are the JSON that release's keyplane.Actor encoded to.
	operator := `{"type":"operator","name":"keyplane admin"}`
	ci := fmt.Sprintf(`{"type":"integration","id":%d,"name":"CI","keyId":%d}`, o.integration, keyA)
	reporting := fmt.Sprintf(`{"type":"integration","id":%d,"name":"Reporting","keyId":%d}`, integrationB, keyBID)
	ownerActor := fmt.Sprintf(`{"type":"user","id":%d,"name":"owner@a.test","role":"owner"}`, o.ownerID)
	type ev struct {
		account    int64
		at         time.Time
		typ, actor string
		target     string
		targetID   int64
		before     string
		after      string
	}
	evs := []ev{
		{o.accountA, start.Add(time.Hour), keyplane.EventServiceIntegrationCreated, operator, "integration", o.integration, "", `{"id":"1","name":"CI","grants":` + string(grants) + `}`},
		{o.accountA, start.Add(time.Hour + time.Minute), keyplane.EventUserAccessGranted, operator, "user", o.ownerID, "", `{"id":"1","email":"owner@a.test","role":"owner"}`},
		{o.accountA, start.Add(2 * time.Hour), keyplane.EventAppCreated, ci, "app", o.appA, "", `{"id":"1","name":"Chat"}`},
		{o.accountA, start.Add(3 * time.Hour), keyplane.EventKeysetCreated, ci, "keyset", o.keysetProd, "", `{"id":"1","appId":"1","name":"Prod","type":"production"}`},
		{o.accountB, start.Add(4 * time.Hour), keyplane.EventServiceIntegrationCreated, operator, "integration", integrationB, "", `{"id":"2","name":"Reporting","grants":["account:app:read"]}`},
		{o.accountB, start.Add(5 * time.Hour), keyplane.EventAppCreated, reporting, "app", o.appB, "", `{"id":"2","name":"Telemetry"}`},
		{o.accountB, start.Add(6 * time.Hour), keyplane.EventKeysetCreated, operator, "keyset", o.keysetB, "", `{"id":"3","appId":"2","name":"Main","type":"testing"}`},
		{o.accountA, start.Add(7 * time.Hour), keyplane.EventKeysetCreated, ci, "keyset", o.keysetStage, "", `{"id":"2","appId":"1","name":"Staging","type":"testing"}`},
		{o.accountA, start.Add(8 * time.Hour), keyplane.EventUserAccessGranted, ownerActor, "user", o.viewerID, "", `{"id":"2","email":"viewer@a.test","role":"viewer"}`},
		{o.accountB, start.Add(9 * time.Hour), keyplane.EventUserAccessGranted, operator, "user", o.adminID, "", `{"id":"3","email":"admin@b.test","role":"admin"}`},
		{o.accountA, start.Add(10 * time.Hour), keyplane.EventAccountPartnerChanged, operator, "account", o.accountA, `{"partner":false}`, `{"partner":true}`},
		{o.accountA, start.Add(10*time.Hour + time.Minute), keyplane.EventOemCustomerCreated, ci, "customer", o.customer, "", `{"id":"1","externalId":"acme-eu","name":"Acme"}`},
		{o.accountA, start.Add(11 * time.Hour), keyplane.EventOemCustomerUpdated, ci, "customer", o.customer, `{"name":"Acme"}`, `{"name":"Acme EU","keysets":[1]}`},
		{o.accountA, start.Add(12 * time.Hour), keyplane.EventKeysetConfigChanged, ownerActor, "keyset", o.keysetProd, `{"messagePersistence":{"enabled":false}}`, `{"messagePersistence":{"enabled":true,"retention":30}}`},
		{o.accountA, start.Add(13 * time.Hour), keyplane.EventKeysetRenamed, ci, "keyset", o.keysetProd, `{"name":"Prod"}`, `{"name":"Production"}`},
		{o.accountA, up.Add(-time.Hour), keyplane.EventSecretKeyRotated, ci, "keyset", o.keysetProd, "", `{"prefix":"` + o.secrets[o.keysetProd][0][:keyplane.SecretKeyPrefixLen] + `"}`},
		{o.accountA, up.Add(-30 * time.Minute), keyplane.EventApiKeyRevoked, operator, "api-key", revokedID, "", ""},
	}
	prev := []byte{}
	for i, e := range evs {
		var actor keyplane.Actor
		if err := json.Unmarshal([]byte(e.actor), &actor); err != nil {
			t.Fatal(err)
		}
		ae := keyplane.AuditEvent{ID: int64(i + 1), AccountID: e.account, At: e.at, Type: e.typ, Actor: actor,
			TargetType: e.target, TargetID: e.targetID, Before: optJSON(e.before), After: optJSON(e.after), PrevHash: prev}
		ae.Hash = chainHash0009(ae, []byte(e.actor))
		f.insert("audit_events", "id, account_id, at, type, actor, target_type, target_id, before, after, prev_hash, hash, actor_type, actor_id",
			ae.ID, ae.AccountID, ms(ae.At), ae.Type, e.actor, ae.TargetType, ae.TargetID, nullJSON(ae.Before), nullJSON(ae.After), ae.PrevHash, ae.Hash, actor.Type, actor.ID)
		o.events = append(o.events, ae)
		prev = ae.Hash
	}

	// Every table of the schema holds rows, and each was written here or
	// is derived: a table added to an old schema without rows here would
	// go through the upgrade untested.
	for _, table := range tables(t, db, engine) {
		if !f.filled[table] && !derived0009[table] {
			t.Errorf("table %s exists at schema 0009 but fill0009 writes no row to it", table)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n == 0 {
			t.Errorf("table %s holds %d rows (%v); every table must hold some", table, n, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return o
}

// tables lists the tables of the database from the engine's catalogue,
// without the engine's own.
func tables(t *testing.T, db *sql.DB, engine string) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if engine == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		t.Fatalf("catalogue: %d tables, %v", len(out), err)
	}
	return out
}

// chainHash0009 is the audit chain's hash as the releases before migration
// 0011 computed it: SHA-256 over the previous hash and the event's fields,
// each length-prefixed or fixed-width, with the install-wide id, and the
// actor as those releases' JSON (actor).
func chainHash0009(e keyplane.AuditEvent, actor []byte) []byte {
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}
	num := func(v int64) { h.Write(binary.BigEndian.AppendUint64(nil, uint64(v))) }
	field(e.PrevHash)
	num(e.ID)
	num(e.AccountID)
	num(e.At.UnixMilli())
	field([]byte(e.Type))
	field(actor)
	field([]byte(e.TargetType))
	num(e.TargetID)
	field(e.Before)
	field(e.After)
	return h.Sum(nil)
}

func optJSON(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

// uuid is a random UUID (version 4) as keysets' keys carry them.
func uuid(t *testing.T) string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// checkAccounts: "Default account" keeps its name and partner status, and
// becomes one account among others the operator can add.
func checkAccounts(t *testing.T, ctx context.Context, svc *control.Service) {
	t.Helper()
	as, err := svc.ListAccounts(ctx, keyplane.InstallOperator)
	if err != nil || len(as) != 2 || as[0].Name != keyplane.DefaultAccountName || !as[0].Partner || as[0].Disabled() ||
		as[1].Name != "Second" || as[1].Partner || as[1].Disabled() {
		t.Fatalf("accounts after upgrading: %+v, %v", as, err)
	}
}

// checkAPIKeys: the active key authenticates, with the rows it was made
// with, which still allow what they did and nothing more; revoked and
// expired keys stay refused. It returns CI's principal.
func checkAPIKeys(t *testing.T, ctx context.Context, svc *control.Service, o install0009) keyplane.Principal {
	t.Helper()
	p, err := svc.Authenticate(ctx, o.apiKey, keyplane.Origin{})
	if err != nil {
		t.Fatalf("the old API key after upgrading: %v", err)
	}
	var got []string
	for _, g := range p.Grants {
		got = append(got, g.String())
	}
	if p.AccountID != o.accountA || p.IntegrationID != o.integration || !slices.Equal(got, o.grants) {
		t.Errorf("the old key's principal: account %d, integration %d, rows %v", p.AccountID, p.IntegrationID, got)
	}
	k, err := svc.GetKeyset(ctx, p, o.keysetProd)
	if err != nil || k.Name != "Production" || k.Type != keyplane.KeysetProduction || k.Version != o.prodVersion || k.AppID != o.appA {
		t.Errorf("reading keyset %d with app/1:keyset:read-write: %+v, %v", o.keysetProd, k, err)
	}
	// The stored configuration reads as it was: persistence on for 30
	// days, and nothing the old release left off turned on by today's
	// defaults (which enable Files).
	c, v, err := svc.GetConfigVersion(ctx, p, o.keysetProd)
	if err != nil || v != o.prodVersion || !c.MessagePersistence.Enabled || c.MessagePersistence.Retention == nil || *c.MessagePersistence.Retention != 30 ||
		c.Files.Enabled || c.Files.Region != nil || c.AppContext.Enabled || !c.AppContext.ReferentialIntegrity || !c.Presence.Enabled {
		t.Errorf("keyset %d's configuration: %+v, version %d, %v", o.keysetProd, c, v, err)
	}
	ks, _, err := svc.ListKeysetsOfApp(ctx, p, o.appA, keyplane.Page{Page: 1, Limit: 10})
	if err != nil || len(ks) != 2 || ks[0].ID != o.keysetProd || ks[1].ID != o.keysetStage {
		t.Errorf("app %d's keysets: %+v, %v", o.appA, ks, err)
	}
	// The rows limit as before: no Secret key row on the staging keyset,
	// and another account's app answers as a missing one.
	if _, err := svc.ListSecretKeys(ctx, p, o.keysetStage, false); keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		t.Errorf("secret keys of keyset %d without a row: %v, want Forbidden", o.keysetStage, err)
	}
	if _, err := svc.GetApp(ctx, p, o.appB); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("account B's app with account A's key: %v, want NotFound", err)
	}
	for name, key := range map[string]string{"revoked": o.revokedKey, "expired": o.expiredKey} {
		if _, err := svc.Authenticate(ctx, key, keyplane.Origin{}); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
			t.Errorf("the %s key after upgrading: %v, want Unauthorized", name, err)
		}
	}
	pb, err := svc.Authenticate(ctx, o.keyB, keyplane.Origin{})
	if err != nil || pb.AccountID != o.accountB {
		t.Fatalf("account B's key: %+v, %v", pb, err)
	}
	if a, err := svc.GetApp(ctx, pb, o.appB); err != nil || a.Name != "Telemetry" {
		t.Errorf("account B's app with its key: %+v, %v", a, err)
	}
	if _, err := svc.GetApp(ctx, pb, o.appA); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("account A's app with account B's key: %v, want NotFound", err)
	}
	return p
}

// checkPeople: each person has a membership of their account with their
// old role, live sessions stay signed in there, an expired one stays
// expired, passwords still sign in, recorded failures still throttle, and
// the old setup link stays used up. It returns the Owner's principal.
func checkPeople(t *testing.T, ctx context.Context, svc *control.Service, o install0009) keyplane.Principal {
	t.Helper()
	owner, _, err := svc.Session(ctx, o.ownerSession)
	if err != nil || owner.AccountID != o.accountA || owner.UserID != o.ownerID || owner.Role != keyplane.RoleOwner || owner.UserEmail != o.ownerEmail {
		t.Fatalf("the Owner's session after upgrading: %+v, %v", owner, err)
	}
	ms, err := svc.Memberships(ctx, owner)
	if err != nil || len(ms) != 1 || ms[0].Account.ID != o.accountA || ms[0].Role != keyplane.RoleOwner {
		t.Errorf("the Owner's memberships: %+v, %v", ms, err)
	}
	us, err := svc.ListUsers(ctx, owner)
	if err != nil || len(us) != 2 || us[0].Email != o.ownerEmail || us[0].Role != keyplane.RoleOwner || us[1].Email != "viewer@a.test" || us[1].Role != keyplane.RoleViewer {
		t.Errorf("account A's people, as its Owner sees them: %+v, %v", us, err)
	}
	// The account-wide list's total comes from keyset_counts (0008).
	if _, total, err := svc.ListKeysets(ctx, owner, keyplane.Page{Page: 1, Limit: 10}); err != nil || total != 2 {
		t.Errorf("account A's keysets, as its Owner sees them: total %d, %v", total, err)
	}
	if _, err := svc.GetKeyset(ctx, owner, o.keysetB); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("account B's keyset, as account A's Owner: %v, want NotFound", err)
	}
	admin, _, err := svc.Session(ctx, o.adminSession)
	if err != nil || admin.AccountID != o.accountB || admin.UserID != o.adminID || admin.Role != keyplane.RoleAdmin {
		t.Errorf("account B's Admin's session: %+v, %v", admin, err)
	}
	if _, _, err := svc.Session(ctx, o.viewerSession); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Errorf("an expired session after upgrading: %v, want Unauthorized", err)
	}
	if _, u, err := svc.SignIn(ctx, o.ownerEmail, o.ownerPassword, "192.0.2.1"); err != nil || u.AccountID != o.accountA || u.Role != keyplane.RoleOwner {
		t.Errorf("the Owner signing in with their old password: %+v, %v", u, err)
	}
	if _, _, err := svc.SignIn(ctx, "viewer@a.test", "viewer's own password", "192.0.2.2"); keyplane.ErrorCode(err) != keyplane.CodeTooManyRequests {
		t.Errorf("signing in past the failures recorded before the upgrade: %v, want TooManyRequests", err)
	}
	if err := svc.CheckSetupToken(ctx, o.setupToken); keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		t.Errorf("the old setup link once the Owner exists: %v, want NotFound", err)
	}
	return owner
}

// checkSecrets: the sealed secret keys open under the old KEK, main first.
func checkSecrets(t *testing.T, ctx context.Context, svc *control.Service, p keyplane.Principal, o install0009) {
	t.Helper()
	keys, err := svc.ListSecretKeys(ctx, p, o.keysetProd, false)
	if err != nil {
		t.Fatalf("secret keys of keyset %d: %v", o.keysetProd, err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.Secret)
	}
	if !slices.Equal(got, o.secrets[o.keysetProd]) || !keys[0].Main() || keys[1].Main() {
		t.Errorf("secret keys of keyset %d after upgrading: %v, want %v", o.keysetProd, got, o.secrets[o.keysetProd])
	}
}

// checkAudit: every account's chain verifies on its own, and each account's
// old events come in the order they were recorded, numbered from 1, with
// everything they recorded unchanged and each linked to the one before.
func checkAudit(t *testing.T, ctx context.Context, svc *control.Service, p keyplane.Principal, o install0009) {
	t.Helper()
	v, err := svc.VerifyAudit(ctx)
	if err != nil || v.Break != nil || v.Events != int64(len(o.events)) {
		t.Fatalf("verify-audit after upgrading: %+v, %v", v, err)
	}
	perAccount := map[int64][]keyplane.AuditEvent{}
	for _, e := range o.events {
		perAccount[e.AccountID] = append(perAccount[e.AccountID], e)
	}
	if len(v.Accounts) != 2 {
		t.Fatalf("verify-audit found chains %+v, want accounts %d and %d", v.Accounts, o.accountA, o.accountB)
	}
	for _, c := range v.Accounts {
		if c.Break != nil || c.Events != int64(len(perAccount[c.AccountID])) {
			t.Errorf("account %d's chain: %+v, want %d events intact", c.AccountID, c, len(perAccount[c.AccountID]))
		}
	}
	for account, who := range map[int64]keyplane.Principal{o.accountA: p, o.accountB: keyplane.Operator(o.accountB)} {
		page, err := svc.ListAuditEvents(ctx, who, keyplane.AuditQuery{Limit: keyplane.MaxAuditLimit}, "")
		if err != nil {
			t.Fatalf("account %d's audit log: %v", account, err)
		}
		want := perAccount[account]
		if len(page.Events) != len(want) {
			t.Fatalf("account %d's audit log holds %d events, want %d", account, len(page.Events), len(want))
		}
		prev := []byte{}
		for i, e := range page.Events {
			w := want[i]
			if e.ID != int64(i+1) || e.AccountID != account || !e.At.Equal(w.At) || e.Type != w.Type || e.Actor != w.Actor ||
				e.TargetType != w.TargetType || e.TargetID != w.TargetID || string(e.Before) != string(w.Before) || string(e.After) != string(w.After) {
				t.Errorf("account %d's event %d: %+v\nwant (install-wide %d) %+v", account, i+1, e, w.ID, w)
			}
			if string(e.PrevHash) != string(prev) || string(e.Hash) != string(e.ChainHash()) {
				t.Errorf("account %d's event %d is not linked to the one before", account, i+1)
			}
			prev = e.Hash
		}
	}
}

// checkUsage: every level reads back what was stored, day by day.
func checkUsage(t *testing.T, ctx context.Context, svc *control.Service, p keyplane.Principal, o install0009) {
	t.Helper()
	for _, entity := range []string{fmt.Sprintf("keyset/%d", o.keysetProd), fmt.Sprintf("keyset/%d", o.keysetStage),
		fmt.Sprintf("app/%d", o.appA), fmt.Sprintf("account/%d", o.accountA), fmt.Sprintf("customer/%d", o.customer)} {
		typ, id, _ := strings.Cut(entity, "/")
		got, err := svc.UsageMetrics(ctx, p, control.UsageParams{EntityType: typ, EntityID: id,
			From: o.usageDay.String(), To: (o.usageDay + 3).String(), Metrics: "publish,subscribe_transactions"})
		if err != nil || !reflect.DeepEqual(got, o.usage[entity]) {
			t.Errorf("usage of %s after upgrading: %v, %v\nwant %v", entity, got, err, o.usage[entity])
		}
	}
}

// checkOEM: the customer reads back with its keyset, from both sides.
func checkOEM(t *testing.T, ctx context.Context, svc *control.Service, p keyplane.Principal, o install0009) {
	t.Helper()
	c, err := svc.GetCustomer(ctx, p, o.customer)
	if err != nil || c.ExternalID != "acme-eu" || c.Name != "Acme EU" || len(c.Keysets) != 1 || c.Keysets[0].KeysetID != o.keysetProd ||
		c.Keysets[0].AppID != o.appA || !c.Keysets[0].AssignedAt.Equal(o.upgradedAt.Add(-40*24*time.Hour+11*time.Hour)) {
		t.Errorf("customer %d after upgrading: %+v, %v", o.customer, c, err)
	}
	if c, err := svc.KeysetCustomer(ctx, p, o.keysetProd); err != nil || c.ID != o.customer {
		t.Errorf("keyset %d's customer: %+v, %v", o.keysetProd, c, err)
	}
}

// checkIdempotency: a retry of the request answered before the upgrade
// replays its sealed answer instead of running again.
func checkIdempotency(t *testing.T, ctx context.Context, svc *control.Service, p keyplane.Principal, o install0009) {
	t.Helper()
	claim, answer, err := svc.BeginIdempotent(ctx, p, o.idemKey, o.idemFingerprint)
	if err != nil || claim != nil || answer == nil || !reflect.DeepEqual(*answer, o.idemAnswer) {
		t.Errorf("retrying with an idempotency key of before the upgrade: claim %v, answer %+v, %v; want the stored answer", claim, answer, err)
	}
}

// checkNewWrites: writes after the upgrade continue the ids, the keyset
// counts and the audit chains, and secret keys made now open too.
func checkNewWrites(t *testing.T, ctx context.Context, svc *control.Service, p, owner keyplane.Principal, o install0009) {
	t.Helper()
	app, err := svc.CreateApp(ctx, p, "Analytics")
	if err != nil || app.ID != o.appB+1 {
		t.Fatalf("creating an app after upgrading: %+v, %v; want id %d", app, err, o.appB+1)
	}
	name := "Canary"
	k, secret, _, err := svc.CreateKeyset(ctx, owner, control.NewKeyset{AppID: o.appA, Name: &name})
	if err != nil || k.ID != o.keysetB+1 {
		t.Fatalf("creating a keyset after upgrading: %+v, %v; want id %d", k, err, o.keysetB+1)
	}
	if keys, err := svc.ListSecretKeys(ctx, owner, k.ID, false); err != nil || len(keys) != 1 || keys[0].Secret != secret.Secret {
		t.Errorf("the new keyset's secret key: %+v, %v", keys, err)
	}
	if _, total, err := svc.ListKeysets(ctx, owner, keyplane.Page{Page: 1, Limit: 10}); err != nil || total != 3 {
		t.Errorf("account A's keysets after adding one: total %d, %v", total, err)
	}
	acme, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Acme")
	if err != nil || acme.ID != o.accountB+1 {
		t.Fatalf("creating an account after upgrading: %+v, %v", acme, err)
	}

	oldA := 0
	for _, e := range o.events {
		if e.AccountID == o.accountA {
			oldA++
		}
	}
	// After the old events: the Owner's sign-in (checkPeople), then the
	// two writes.
	page, err := svc.ListAuditEvents(ctx, p, keyplane.AuditQuery{Limit: keyplane.MaxAuditLimit}, "")
	if err != nil || len(page.Events) != oldA+3 || page.Events[oldA].Type != keyplane.EventSignInSucceeded {
		t.Fatalf("account A's audit log after a sign-in and two writes: %d events, %v; want %d", len(page.Events), err, oldA+3)
	}
	last := page.Events[oldA+1:]
	if last[0].ID != int64(oldA+2) || last[0].Type != keyplane.EventAppCreated || last[0].TargetID != app.ID || last[0].Actor.ID != o.integration ||
		string(last[0].PrevHash) != string(page.Events[oldA].Hash) || last[1].Type != keyplane.EventKeysetCreated || last[1].Actor.ID != o.ownerID {
		t.Errorf("account A's new events: %+v", last)
	}
	v, err := svc.VerifyAudit(ctx)
	if err != nil || v.Break != nil || v.Events != int64(len(o.events)+4) || len(v.Accounts) != 3 {
		t.Errorf("verify-audit after new writes: %+v, %v", v, err)
	}
}
