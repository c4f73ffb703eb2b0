package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/pgtest"
	"github.com/keyplane/keyplane/internal/smtptest"
	"github.com/keyplane/keyplane/mail"
)

// tick is a clock that moves on by a little over a second every time it is
// read, so every stored time differs and has milliseconds.
type tick struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tick) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(1234 * time.Millisecond)
	return c.t
}

func sqliteDSN(t *testing.T) string   { return filepath.Join(t.TempDir(), "k.db") }
func postgresDSN(t *testing.T) string { return pgtest.DSN(t) }

// openDB opens a database for the test, closed when it ends.
func openDB(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustGrants(t *testing.T, ss ...string) []keyplane.Grant {
	t.Helper()
	var gs []keyplane.Grant
	for _, s := range ss {
		g, err := keyplane.ParseGrant(s)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	return gs
}

// populated is what populate made.
type populated struct {
	key, revokedKey string // API keys, the second one revoked
	deletedApp      int64  // the highest app id, deleted
	deletedKeyset   int64  // the highest keyset id, deleted
	session         string // the token of a portal session
}

// populate fills db through the operations, as a real install is filled:
// integrations with keys (one revoked, one used), apps (renamed, deleted),
// keysets with configuration and rotated secret keys, and so audit events.
func populate(t *testing.T, db *DB) populated {
	t.Helper()
	ctx := context.Background()
	svc := control.New(db, control.Options{Now: (&tick{t: t0}).now})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var out populated
	in, k1, err := svc.CreateIntegration(ctx, keyplane.Operator(1), "CI/CD Pipeline",
		mustGrants(t, "account:app:rw", "account:keyset:rw", "account:secret-key:rw"), t0.Add(90*24*time.Hour))
	must(err)
	k2, err := svc.CreateAPIKey(ctx, keyplane.Operator(1), in.ID, t0.Add(30*24*time.Hour))
	must(err)
	_, _, err = svc.RevokeAPIKey(ctx, keyplane.Operator(1), k2.Key)
	must(err)
	out.key, out.revokedKey = k1.Key, k2.Key
	p, err := svc.Authenticate(ctx, k1.Key, keyplane.Origin{Addr: netip.MustParseAddr("192.0.2.4"), UserAgent: "populate/1"}) // records its last use
	must(err)

	var apps []keyplane.App
	for i := range 3 {
		a, err := svc.CreateApp(ctx, p, fmt.Sprintf("app %d", i))
		must(err)
		apps = append(apps, a)
	}
	_, err = svc.RenameApp(ctx, p, apps[0].ID, "Télémédecine ✓ \"quoted\"")
	must(err)
	prod := keyplane.KeysetProduction
	name := "prod"
	patch, err := keyplane.ParseConfigPatch([]byte(`{"messagePersistence":{"enabled":true,"retention":30},"presence":{"interval":42}}`))
	must(err)
	k, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: apps[0].ID, Name: &name, Type: &prod, Config: patch})
	must(err)
	k2s, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: apps[1].ID})
	must(err)
	patch, err = keyplane.ParseConfigPatch([]byte(`{"accessManager":{"enabled":true}}`))
	must(err)
	_, err = svc.UpdateConfig(ctx, p, k2s.ID, patch)
	must(err)
	for i := range 2 {
		at := t0.Add(time.Duration(24*(i+1)) * time.Hour)
		_, err = svc.RotateSecretKey(ctx, p, k.ID, &at)
		must(err)
	}
	_, err = svc.RotateSecretKey(ctx, p, k2s.ID, nil)
	must(err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	must(err)
	_, err = svc.UploadAPNs(ctx, p, k.ID, keyplane.APNsUpload{TeamID: "ABCDE12345", AuthKeyID: "KEY1234567", Filename: "AuthKey.p8",
		Key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})})
	must(err)
	renamed := "staging"
	_, err = svc.UpdateKeyset(ctx, p, k2s.ID, &renamed, nil)
	must(err)
	// The highest ids of apps and keysets are deleted: a copy must not
	// hand them out again.
	gone, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: apps[2].ID})
	must(err)
	must(svc.DeleteKeyset(ctx, p, gone.ID))
	must(svc.DeleteApp(ctx, p, apps[2].ID))
	out.deletedApp, out.deletedKeyset = apps[2].ID, gone.ID
	// Usage, fractions included: values must cross engines bit for bit.
	day := keyplane.DayOf(t0).String()
	var reports []keyplane.UsageReport
	for _, r := range []struct {
		ks     int64
		metric string
		value  float64
	}{{k.ID, "publish", 1234}, {k.ID, "bytes_stored", 0.1}, {k2s.ID, "publish", 1e15 + 0.5}} {
		id := keyplane.FlexibleID(r.ks)
		reports = append(reports, keyplane.UsageReport{KeysetID: &id, Date: &day, Metric: &r.metric, Value: &r.value})
	}
	_, err = svc.ImportUsage(ctx, reports, func(i int) string { return fmt.Sprintf("line %d: ", i+1) })
	must(err)
	_, _, err = svc.CreateIntegration(ctx, keyplane.Operator(1), "reader",
		mustGrants(t, fmt.Sprintf("app/%d:keyset:read", apps[0].ID)), t0.Add(7*24*time.Hour))
	must(err)
	// The key lifecycle: an integration with allowed networks, suspended,
	// whose key was rolled; the account's policy; the notice the reader's
	// key is due (it expires within 14 days).
	edge, ek, err := svc.CreateIntegrationWith(ctx, keyplane.Operator(1), control.NewIntegration{Name: "edge",
		Grants: mustGrants(t, "account:app:read"), Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Expires: t0.Add(60 * 24 * time.Hour)})
	must(err)
	_, _, err = svc.RollAPIKey(ctx, keyplane.Operator(1), ek.Key, time.Hour, time.Time{})
	must(err)
	_, _, err = svc.SetIntegrationSuspended(ctx, keyplane.Operator(1), edge.ID, true)
	must(err)
	_, _, err = svc.SetAccountPolicy(ctx, keyplane.Operator(1), keyplane.AccountPolicy{MaxKeyLifetime: 180 * 24 * time.Hour, NoticeDays: []int{14, 2}})
	must(err)
	if n, err := svc.GiveKeyNotices(ctx, keyplane.InstallOperator); err != nil || n == 0 {
		t.Fatalf("GiveKeyNotices: %d, %v; want the reader key's notice", n, err)
	}
	// An operator key, used and then revoked: every column holds a value.
	opKey, err := svc.CreateOperatorKey(ctx, keyplane.InstallOperator, "provisioning", t0.Add(30*24*time.Hour))
	must(err)
	_, err = svc.AuthenticateOperator(ctx, opKey.Key)
	must(err)
	_, _, err = svc.RevokeOperatorKey(ctx, keyplane.InstallOperator, opKey.Key)
	must(err)
	// A partner account with OEM customers, one holding both keysets.
	_, err = svc.SetPartner(ctx, keyplane.Operator(1), 1, true)
	must(err)
	// A second account, disabled: every column of accounts holds a value.
	second, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Second")
	must(err)
	_, _, err = svc.SetAccountDisabled(ctx, keyplane.Operator(second.ID), second.ID, true)
	must(err)
	_, oemKey, err := svc.CreateIntegration(ctx, keyplane.Operator(1), "partner portal",
		mustGrants(t, "account:oem-customer:rw"), t0.Add(7*24*time.Hour))
	must(err)
	op, err := svc.Authenticate(ctx, oemKey.Key, keyplane.Origin{})
	must(err)
	_, err = svc.CreateCustomer(ctx, op, control.NewCustomer{ExternalID: "acme-1", Name: "Acme", KeysetIDs: []int64{k.ID, k2s.ID}})
	must(err)
	_, err = svc.CreateCustomer(ctx, op, control.NewCustomer{ExternalID: "globex", Name: "Globex"})
	must(err)
	// Webhooks: one for every event, one disabled by its receiver's 410
	// with a secret in its rotation overlap; deliveries delivered, failed
	// and waiting for their next attempt.
	svc.ConfigureWebhooks(control.WebhookConfig{AllowPrivate: true})
	_, err = svc.CreateWebhook(ctx, keyplane.Operator(1), control.NewWebhook{URL: "http://127.0.0.1:9/all", Description: "SIEM", Events: []string{"*"}})
	must(err)
	goneHook, err := svc.CreateWebhook(ctx, keyplane.Operator(1), control.NewWebhook{URL: "http://127.0.0.1:9/gone", Events: []string{keyplane.EventAppCreated}})
	must(err)
	overlap := t0.Add(72 * time.Hour)
	_, err = svc.RotateWebhookSecret(ctx, keyplane.Operator(1), goneHook.ID, &overlap)
	must(err)
	_, err = svc.TestWebhook(ctx, keyplane.Operator(1), goneHook.ID)
	must(err)
	claimed, _, err := svc.ClaimWebhookDeliveries(ctx, keyplane.InstallOperator, time.Minute, 10)
	must(err)
	// Both creations (the first webhook's own included), the rotation
	// and the test event.
	if len(claimed) != 4 {
		t.Fatalf("claimed %d deliveries, want 4", len(claimed))
	}
	for _, d := range claimed {
		r := control.AttemptResult{Answered: true, Status: 500, Latency: 12 * time.Millisecond}
		switch {
		case d.Delivery.WebhookID == goneHook.ID:
			r.Status = 410
		case d.Delivery.EventType == keyplane.EventWebhookCreated:
			r.Status = 204
		}
		must(svc.FinishWebhookDelivery(ctx, keyplane.InstallOperator, d, r))
	}
	// Portal users, a session, a failed sign-in and a setup token.
	_, _, err = svc.NewSetupToken(ctx)
	must(err)
	_, _, err = svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "owner@example.com", Password: "correct horse battery", Role: keyplane.RoleOwner})
	must(err)
	_, _, err = svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "viewer@example.com", Password: "correct horse battery", Role: keyplane.RoleViewer})
	must(err)
	// A scoped person: membership_scopes holds a row.
	_, _, err = svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: "app-viewer@example.com", Password: "correct horse battery", Role: keyplane.RoleAppViewer, Apps: []int64{apps[0].ID}})
	must(err)
	// Second factors: an authenticator (sealed, confirmed, a step used),
	// recovery codes (one used) and a sign-in waiting for its second step.
	must(db.Write(ctx, func(tx control.Tx) error {
		v, err := tx.UserByEmail("viewer@example.com")
		if err != nil {
			return err
		}
		confirmed := t0.Add(time.Minute)
		if err := tx.PutTOTP(v.ID, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", t0); err != nil {
			return err
		}
		if err := tx.AcceptTOTPStep(v.ID, 59000000, &confirmed); err != nil {
			return err
		}
		if err := tx.ReplaceRecoveryCodes(v.ID, [][]byte{{1, 2, 3}, {4, 5, 6}}); err != nil {
			return err
		}
		if _, err := tx.UseRecoveryCode(v.ID, []byte{4, 5, 6}, confirmed); err != nil {
			return err
		}
		if err := tx.PutSignInPolicy(keyplane.SignInPolicy{AccountID: second.ID, RequireTwoFactors: true}); err != nil {
			return err
		}
		return tx.InsertPendingSignIn([]byte{7, 8, 9}, v.ID, t0, t0.Add(keyplane.SecondStepTTL))
	}))
	_, _, err = svc.SignIn(ctx, "viewer@example.com", "wrong password!!", "10.0.0.1")
	if keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
		t.Fatalf("wrong password: %v", err)
	}
	out.session, _, err = svc.SignIn(ctx, "owner@example.com", "correct horse battery", "10.0.0.1")
	must(err)
	// The e-mail flows' rows: an invitation (a scoped one, so scope holds
	// ids), a password reset, and a sign-up (sent through a real SMTP
	// server).
	_, _, err = svc.Invite(ctx, keyplane.Operator(1), control.NewInvitation{Email: "invited@example.com", Role: keyplane.RoleAppAdmin, Apps: []int64{apps[0].ID, apps[1].ID}})
	must(err)
	_, _, err = svc.PasswordResetLink(ctx, keyplane.Operator(1), "viewer@example.com")
	must(err)
	smtp := smtptest.Start(t, smtptest.Options{})
	mc, err := mail.ParseURL(smtp.URL, "noreply@example.com", "")
	must(err)
	withMail := control.New(db, control.Options{Now: (&tick{t: t0}).now, Mailer: mail.NewSMTP(mc, nil), Signup: true})
	must(withMail.RequestSignup(ctx, "signup@example.com", "10.0.0.2"))
	smtp.Next(t)
	// An idempotency key with its stored answer (a request that wrote nothing).
	claim, _, err := svc.BeginIdempotent(ctx, p, "populate-check", []byte{1, 2, 3})
	must(err)
	must(svc.FinishIdempotent(ctx, claim, control.StoredResponse{Status: 200,
		Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"allowed":true}`)}))
	return out
}

// tableOrder is every table copy copies with the order that lists its
// rows the same way on both engines: copyTables', which checkCopySchema
// holds to the schema's catalogue.
var tableOrder = func() (out []struct{ name, order string }) {
	for _, t := range copyTables {
		out = append(out, struct{ name, order string }{t.name, t.orderBy})
	}
	return out
}()

// dump reads every column of every row of a table, as the driver returns
// them: int64, float64, string, []byte or nil.
func dump(t *testing.T, db *DB, table, order string) (cols []string, rows [][]any) {
	t.Helper()
	rs, err := db.read.Query(`SELECT * FROM ` + table + ` ORDER BY ` + order)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if cols, err = rs.Columns(); err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			switch v := v.(type) {
			case []byte:
				// SQLite hands an empty BLOB over as a nil []byte (NULL
				// would be a nil any); sqliteBlobTypes checks the storage.
				if v == nil {
					vals[i] = []byte{}
				}
			case int64, float64, string, nil:
			default:
				t.Fatalf("%s.%s: unexpected %T", table, cols[i], v)
			}
		}
		rows = append(rows, vals)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, rows
}

// derivedOrder is every table of derivedTables, which copy leaves to the
// destination's triggers: they must rebuild the same rows.
var derivedOrder = []struct{ name, order string }{{"keyset_counts", "account_id"}, {"keyset_buckets", "account_id, bucket"}}

// sameData fails the test unless a and b hold the same rows, column by
// column, byte for byte, in the tables copied and the tables derived.
func sameData(t *testing.T, a, b *DB) {
	t.Helper()
	if len(derivedOrder) != len(derivedTables) {
		t.Fatalf("derivedOrder names %d tables, derivedTables %d", len(derivedOrder), len(derivedTables))
	}
	for _, tb := range append(tableOrder[:len(tableOrder):len(tableOrder)], derivedOrder...) {
		ca, ra := dump(t, a, tb.name, tb.order)
		cb, rb := dump(t, b, tb.name, tb.order)
		if d := cmp.Diff(ca, cb); d != "" {
			t.Errorf("%s: columns differ (-%s +%s):\n%s", tb.name, a.Engine(), b.Engine(), d)
		}
		if d := cmp.Diff(ra, rb); d != "" {
			t.Errorf("%s: rows differ (-%s +%s):\n%s", tb.name, a.Engine(), b.Engine(), d)
		}
	}
}

// sqliteBlobTypes is the storage class of every BLOB value of a SQLite
// database: an empty hash must stay a BLOB, not become TEXT or NULL.
func sqliteBlobTypes(t *testing.T, db *DB) string {
	t.Helper()
	var s string
	err := db.read.QueryRow(`SELECT
		(SELECT group_concat(DISTINCT typeof(prev_hash) || '/' || typeof(hash)) FROM audit_events) || ' ' ||
		(SELECT group_concat(DISTINCT typeof(hash)) FROM api_keys) || ' ' ||
		(SELECT group_concat(DISTINCT typeof(hash)) FROM operator_keys) || ' ' ||
		(SELECT count(*) FROM audit_events WHERE length(prev_hash) = 0)`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// highWaters is the largest id each table with a sequence ever gave out.
func highWaters(t *testing.T, db *DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := db.inTx(context.Background(), db.read, db.readOpts, func(tx *sql.Tx) error {
		for _, tb := range copyTables {
			if tb.autoincrement {
				h, err := highWater(context.Background(), tx, db.Engine(), tb)
				if err != nil {
					return err
				}
				out[tb.name] = h
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t *testing.T, db *DB, table string) int64 {
	t.Helper()
	var n int64
	if err := db.read.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var enginePairs = []struct {
	name     string
	from, to func(*testing.T) string
}{
	{"sqlite→postgres", sqliteDSN, postgresDSN},
	{"sqlite→sqlite", sqliteDSN, sqliteDSN},
	{"postgres→sqlite", postgresDSN, sqliteDSN},
	{"postgres→postgres", postgresDSN, postgresDSN},
}

func TestCopy(t *testing.T) {
	for _, pair := range enginePairs {
		t.Run(pair.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := openDB(t, pair.from(t)), openDB(t, pair.to(t))
			pop := populate(t, src)

			rep, err := Copy(ctx, src, dst, CopyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, rep, src)
			sameData(t, src, dst)
			if src.Engine() == "sqlite" && dst.Engine() == "sqlite" {
				if a, b := sqliteBlobTypes(t, src), sqliteBlobTypes(t, dst); a != b || a != "blob/blob blob blob 3" { // a chain start in each of the two accounts and the install's (operator keys)
					t.Errorf("BLOB storage: source %q, target %q, want \"blob/blob blob blob 3\"", a, b)
				}
			}
			// The id sequences stand where the source's do: at the deleted
			// app and keyset, not at the largest id copied.
			hw := highWaters(t, dst)
			if d := cmp.Diff(highWaters(t, src), hw); d != "" {
				t.Errorf("high-water marks (-source +target):\n%s", d)
			}
			if hw["apps"] != pop.deletedApp || hw["keysets"] != pop.deletedKeyset {
				t.Errorf("target high-water marks %v, want apps %d, keysets %d", hw, pop.deletedApp, pop.deletedKeyset)
			}
			if dst.Engine() == "sqlite" {
				var seq int64
				if err := dst.read.QueryRow(`SELECT seq FROM sqlite_sequence WHERE name = 'api_keys'`).Scan(&seq); err != nil || seq != count(t, src, "api_keys") {
					t.Errorf("sqlite_sequence of api_keys after the copy: %d %v, want %d", seq, err, count(t, src, "api_keys"))
				}
			}

			// Again without force: refused, naming what is there, changing nothing.
			_, err = Copy(ctx, src, dst, CopyOptions{})
			if !errors.Is(err, ErrTargetNotEmpty) {
				t.Fatalf("second copy: %v, want ErrTargetNotEmpty", err)
			}
			for _, want := range []string{dst.Name(), "apps 2", "keysets 2", fmt.Sprintf("audit_events %d", count(t, src, "audit_events"))} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q does not name %q", err, want)
				}
			}
			sameData(t, src, dst)
			// With force it replaces them.
			rep, err = Copy(ctx, src, dst, CopyOptions{Force: true})
			if err != nil {
				t.Fatalf("forced copy: %v", err)
			}
			checkReport(t, rep, src)
			sameData(t, src, dst)

			// The target carries on where the source stood.
			svc := control.New(dst, control.Options{Now: (&tick{t: t0.Add(time.Hour)}).now})
			p, err := svc.Authenticate(ctx, pop.key, keyplane.Origin{})
			if err != nil {
				t.Fatalf("the source's API key on the target: %v", err)
			}
			if p.IntegrationName != "CI/CD Pipeline" || len(p.Grants) != 3 {
				t.Errorf("principal on the target: %+v", p)
			}
			if _, err := svc.Authenticate(ctx, pop.revokedKey, keyplane.Origin{}); keyplane.ErrorCode(err) != keyplane.CodeUnauthorized || !strings.Contains(err.Error(), "revoked") {
				t.Errorf("the revoked key on the target: %v", err)
			}
			if sp, _, err := svc.Session(ctx, pop.session); err != nil || sp.UserEmail != "owner@example.com" {
				t.Errorf("the source's portal session on the target: %+v, %v", sp, err)
			}
			// The viewer's authenticator moved, and its sealed secret opens
			// on the target: the password leads to the second step.
			if _, _, err := svc.SignIn(ctx, "viewer@example.com", "correct horse battery", "10.0.0.2"); !errors.As(err, new(*control.SecondStep)) {
				t.Errorf("signing in on the target: %v, want a second step", err)
			}
			a, err := svc.CreateApp(ctx, p, "new")
			if err != nil {
				t.Fatal(err)
			}
			if a.ID != pop.deletedApp+1 {
				t.Errorf("new app on the target has id %d, want %d (above every app the source ever had)", a.ID, pop.deletedApp+1)
			}
			ks, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: a.ID})
			if err != nil {
				t.Fatal(err)
			}
			if ks.ID != pop.deletedKeyset+1 {
				t.Errorf("new keyset on the target has id %d, want %d", ks.ID, pop.deletedKeyset+1)
			}
			_, key, err := svc.CreateIntegration(ctx, keyplane.Operator(1), "after", mustGrants(t, "account:app:read"), t0.Add(48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if want := count(t, src, "api_keys") + 1; key.ID != want {
				t.Errorf("new API key has id %d, want %d", key.ID, want)
			}
			checkChainContinues(t, dst, rep.TargetAuditHead, count(t, src, "audit_events"))
		})
	}
}

// checkReport checks a report of a copy from src.
func checkReport(t *testing.T, rep CopyReport, src *DB) {
	t.Helper()
	if len(rep.Tables) != len(tableOrder) {
		t.Fatalf("report of %d tables: %+v", len(rep.Tables), rep.Tables)
	}
	for i, tc := range rep.Tables {
		if tc.Table != tableOrder[i].name || tc.Source != tc.Target || tc.Source != count(t, src, tc.Table) {
			t.Errorf("report row %d: %+v, want table %s with %d rows on both sides", i, tc, tableOrder[i].name, count(t, src, tableOrder[i].name))
		}
	}
	if len(rep.SourceAuditHead) != 32 || string(rep.SourceAuditHead) != string(rep.TargetAuditHead) {
		t.Errorf("audit heads: source %x, target %x", rep.SourceAuditHead, rep.TargetAuditHead)
	}
	if v, err := src.SchemaVersion(context.Background()); err != nil || rep.SchemaVersion != v {
		t.Errorf("schema version %d, the source's is %d (%v)", rep.SchemaVersion, v, err)
	}
}

// auditChain checks the audit chain of db links up, event to event, and
// returns the hash of each event in order.
func auditChain(t *testing.T, db *DB) [][]byte {
	t.Helper()
	rows, err := db.read.Query(`SELECT id, account_id, prev_hash, hash FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var hashes [][]byte
	prev := map[int64][]byte{} // each account's chain is its own
	for rows.Next() {
		var id, account int64
		var p, h []byte
		if err := rows.Scan(&id, &account, &p, &h); err != nil {
			t.Fatal(err)
		}
		if id != int64(len(hashes)+1) || string(p) != string(prev[account]) {
			t.Errorf("event %d (#%d) of account %d: prev %x, want %x", id, len(hashes)+1, account, p, prev[account])
		}
		hashes = append(hashes, h)
		prev[account] = h
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hashes
}

// checkChainContinues checks the audit chain of db links up, and that the
// events after the copied ones (the first n) follow head.
func checkChainContinues(t *testing.T, db *DB, head []byte, n int64) {
	t.Helper()
	hashes := auditChain(t, db)
	if int64(len(hashes)) <= n {
		t.Fatalf("%d events, want more than the %d copied", len(hashes), n)
	}
	if string(hashes[n-1]) != string(head) {
		t.Errorf("event %d, the last copied one: hash %x, want the reported head %x", n, hashes[n-1], head)
	}
}

// A round trip through PostgreSQL gives back the very same SQLite database.
func TestCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	a, b, c := openDB(t, sqliteDSN(t)), openDB(t, postgresDSN(t)), openDB(t, sqliteDSN(t))
	populate(t, a)
	if _, err := Copy(ctx, a, b, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Copy(ctx, b, c, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	sameData(t, a, c)
	var seqA, seqC string
	q := `SELECT group_concat(name || '=' || seq, ' ') FROM (SELECT name, seq FROM sqlite_sequence ORDER BY name)`
	if err := a.read.QueryRow(q).Scan(&seqA); err != nil {
		t.Fatal(err)
	}
	if err := c.read.QueryRow(q).Scan(&seqC); err != nil {
		t.Fatal(err)
	}
	if seqA != seqC {
		t.Errorf("sqlite_sequence: before %q, after the round trip %q", seqA, seqC)
	}
	if a, c := sqliteBlobTypes(t, a), sqliteBlobTypes(t, c); a != c {
		t.Errorf("BLOB storage: before %q, after %q", a, c)
	}
}

// Many rows: several full batches and a partial one, batch sizes that do
// and do not divide the counts.
func TestCopyBatches(t *testing.T) {
	for _, batch := range []int{0, 7, 100000} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := openDB(t, sqliteDSN(t)), openDB(t, postgresDSN(t))
			write(t, src, func(tx control.Tx) error {
				for i := range 1234 {
					a := keyplane.App{AccountID: 1, Name: fmt.Sprintf("app %d", i), CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(i) * time.Millisecond)}
					if err := tx.InsertApp(&a); err != nil {
						return err
					}
					e := keyplane.AuditEvent{AccountID: 1, At: t0, Type: keyplane.EventAppCreated, Actor: keyplane.OperatorActor, TargetType: "app", TargetID: a.ID, After: []byte(`{}`)}
					if err := tx.AppendAudit(&e); err != nil {
						return err
					}
				}
				return nil
			})
			start := time.Now()
			rep, err := Copy(ctx, src, dst, CopyOptions{BatchSize: batch})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("batch %d: copied %+v in %v", batch, rep.Tables, time.Since(start))
			sameData(t, src, dst)
		})
	}
}

func TestCopyRefuses(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		from, to func(*testing.T) string
		// prepare breaks something; same makes the target the source
		prepare func(t *testing.T, src, dst *DB)
		same    bool
		want    []string
	}{
		{name: "newer target schema, postgres", from: sqliteDSN, to: postgresDSN,
			prepare: func(t *testing.T, _, dst *DB) {
				exec(t, dst, fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)`, latestVersion(t)+1))
			},
			want: []string{"schema versions differ", fmt.Sprintf("version %d", latestVersion(t)), fmt.Sprintf("at %d", latestVersion(t)+1)}},
		{name: "newer source schema, sqlite", from: sqliteDSN, to: sqliteDSN,
			prepare: func(t *testing.T, src, _ *DB) {
				exec(t, src, fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 0)`, latestVersion(t)+1))
			},
			want: []string{"schema versions differ", fmt.Sprintf("version %d", latestVersion(t)+1), fmt.Sprintf("at %d", latestVersion(t))}},
		{name: "unknown column", from: sqliteDSN, to: postgresDSN,
			prepare: func(t *testing.T, src, _ *DB) { exec(t, src, `ALTER TABLE apps ADD COLUMN color TEXT`) },
			want:    []string{"source", "table apps has columns", "color"}},
		{name: "unknown table", from: sqliteDSN, to: postgresDSN,
			prepare: func(t *testing.T, _, dst *DB) { exec(t, dst, `CREATE TABLE notes (id BIGINT)`) },
			want:    []string{"table notes is not one"}},
		{name: "same sqlite file", from: sqliteDSN, same: true, want: []string{"the same database"}},
		{name: "same postgres database", from: postgresDSN, same: true, want: []string{"the same database"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srcDSN := c.from(t)
			src := openDB(t, srcDSN)
			var dst *DB
			if c.same {
				dst = openDB(t, srcDSN)
			} else {
				dst = openDB(t, c.to(t))
			}
			populate(t, src)
			if c.prepare != nil {
				c.prepare(t, src, dst)
			}
			_, err := Copy(ctx, src, dst, CopyOptions{Force: true})
			if err == nil {
				t.Fatal("copy succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !c.same && (count(t, dst, "apps") != 0 || count(t, dst, "accounts") != 1) {
				t.Error("a refused copy changed the target")
			}
		})
	}
}

// latestVersion is the number of the newest embedded migration, the
// version every database this package opens is at.
func latestVersion(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(migrations, "migrations/sqlite/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v", err)
	}
	v, err := strconv.Atoi(strings.SplitN(path.Base(files[len(files)-1]), "_", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func exec(t *testing.T, db *DB, q string) {
	t.Helper()
	if _, err := db.write.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// A copy that fails part way leaves the target as it was, and names the
// table it failed on.
func TestCopyIsAllOrNothing(t *testing.T) {
	for _, c := range []struct {
		name    string
		to      func(*testing.T) string
		corrupt func(t *testing.T, src *DB, dsn string)
		want    string
	}{
		// PostgreSQL text cannot hold a NUL byte; SQLite's can.
		{"NUL in an app name", postgresDSN, func(t *testing.T, src *DB, _ string) {
			write(t, src, func(tx control.Tx) error {
				return tx.InsertApp(&keyplane.App{AccountID: 1, Name: "bad\x00name", CreatedAt: t0, UpdatedAt: t0})
			})
		}, "table apps"},
		// A keyset of a missing app, stored with foreign keys off.
		{"dangling keyset", sqliteDSN, func(t *testing.T, _ *DB, dsn string) {
			raw, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=foreign_keys(0)&_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`INSERT INTO keysets (account_id, app_id, name, type, publish_key, subscribe_key, config, created_at, updated_at)
				VALUES (1, 999, 'k', 'testing', 'pub-c-x', 'sub-c-x', '{}', 0, 0)`); err != nil {
				t.Fatal(err)
			}
		}, "table keysets"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dsn := sqliteDSN(t)
			src, dst := openDB(t, dsn), openDB(t, c.to(t))
			populate(t, src)
			c.corrupt(t, src, dsn)
			before := highWaters(t, dst)
			_, err := Copy(context.Background(), src, dst, CopyOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("copy: %v, want an error naming %q", err, c.want)
			}
			for _, tb := range tableOrder {
				want := int64(0)
				if tb.name == "accounts" {
					want = 1
				}
				if n := count(t, dst, tb.name); n != want {
					t.Errorf("after the failed copy the target holds %d %s", n, tb.name)
				}
			}
			if d := cmp.Diff(before, highWaters(t, dst)); d != "" {
				t.Errorf("the failed copy moved sequences:\n%s", d)
			}
		})
	}
}

// Copy writes under the target's write lock: it waits for a writer that
// holds it, as any writer would.
func TestCopyWaitsForTheWriteLock(t *testing.T) {
	for _, to := range []struct {
		name string
		dsn  func(*testing.T) string
	}{{"sqlite", sqliteDSN}, {"postgres", postgresDSN}} {
		t.Run(to.name, func(t *testing.T) {
			t.Parallel()
			src, dst := openDB(t, sqliteDSN(t)), openDB(t, to.dsn(t))
			populate(t, src)
			inWrite, release := make(chan struct{}), make(chan struct{})
			writeDone := make(chan error, 1)
			go func() {
				writeDone <- dst.Write(context.Background(), func(control.Tx) error {
					close(inWrite)
					<-release
					return nil
				})
			}()
			<-inWrite
			copied := make(chan error, 1)
			go func() {
				_, err := Copy(context.Background(), src, dst, CopyOptions{})
				copied <- err
			}()
			select {
			case err := <-copied:
				t.Fatalf("copy finished (%v) while another writer held the lock", err)
			case <-time.After(300 * time.Millisecond):
			}
			close(release)
			if err := <-writeDone; err != nil {
				t.Fatal(err)
			}
			if err := <-copied; err != nil {
				t.Fatal(err)
			}
			sameData(t, src, dst)
		})
	}
}
