package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// migrationEngines are the engines the migration tests run on, with the
// database/sql driver that opens a database without migrating it.
var migrationEngines = []struct {
	name, driver string
	dsn          func(*testing.T) string
}{
	{"sqlite", "sqlite", sqliteDSN},
	{"postgres", "pgx", postgresDSN},
}

// schemaBefore opens the database at dsn without migrating it and applies
// the migrations numbered below before, recording each, as a release of
// that time left it. The caller closes it.
func schemaBefore(t *testing.T, engine, driver, dsn string, before int) *sql.DB {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations, "migrations/"+engine+"/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files { // in order: the names start with the number
		v, err := migrationVersion(path.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		if v >= before {
			break
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, v); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}

// An install made before migration 0002 (audit events recorded, no actor
// columns) migrates with its actors copied into the new columns, and its
// chain still verifies; the account is not a partner.
func TestMigration0002KeepsTheAuditChain(t *testing.T) {
	for _, eng := range migrationEngines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := eng.dsn(t)
			raw := schemaBefore(t, eng.name, eng.driver, dsn, 2)
			if _, err := raw.ExecContext(ctx, `INSERT INTO accounts (name, created_at) VALUES ('Default account', 0)`); err != nil {
				t.Fatal(err)
			}
			actors := []keyplane.Actor{keyplane.OperatorActor, {Type: "integration", ID: 5, Name: "CI", KeyID: 8}, {Type: "integration", ID: 12, Name: "x"}}
			prev := []byte{}
			for i, a := range actors {
				e := keyplane.AuditEvent{ID: int64(i + 1), AccountID: 1, At: t0.Add(time.Duration(i) * time.Second), Type: "AppCreated",
					Actor: a, TargetType: "app", TargetID: int64(i + 1), After: []byte(`{"id":1}`), PrevHash: prev}
				e.Hash = e.ChainHash()
				actor, _ := json.Marshal(a)
				if _, err := raw.ExecContext(ctx, `INSERT INTO audit_events (id, account_id, at, type, actor, target_type, target_id, before, after, prev_hash, hash)
					VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10)`,
					e.ID, e.AccountID, e.At.UnixMilli(), e.Type, string(actor), e.TargetType, e.TargetID, string(e.After), e.PrevHash, e.Hash); err != nil {
					t.Fatal(err)
				}
				prev = e.Hash
			}
			raw.Close()

			db := openDB(t, dsn)
			if v, err := db.SchemaVersion(ctx); err != nil || v != latestVersion(t) {
				t.Fatalf("schema version %d, %v", v, err)
			}
			rows, err := db.read.QueryContext(ctx, `SELECT actor_type, actor_id FROM audit_events ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for i := 0; rows.Next(); i++ {
				var typ string
				var id int64
				if err := rows.Scan(&typ, &id); err != nil {
					t.Fatal(err)
				}
				if typ != actors[i].Type || id != actors[i].ID {
					t.Errorf("event %d: actor columns %s %d, want %s %d", i+1, typ, id, actors[i].Type, actors[i].ID)
				}
			}
			svc := control.New(db, control.Options{Now: func() time.Time { return t0.Add(time.Hour) }})
			v, err := svc.VerifyAudit(ctx)
			if err != nil || v.Break != nil || v.Events != 3 {
				t.Errorf("after migrating: %+v, %v; want 3 events intact", v, err)
			}
			// New events continue the chain.
			if _, err := svc.SetPartner(ctx, keyplane.Operator(1), 1, true); err != nil {
				t.Fatal(err)
			}
			if v, err := svc.VerifyAudit(ctx); err != nil || v.Break != nil || v.Events != 4 {
				t.Errorf("after a new event: %+v, %v", v, err)
			}
			as, err := svc.Accounts(ctx)
			if err != nil || len(as) != 1 || !as[0].Partner {
				t.Errorf("accounts %+v, %v", as, err)
			}
		})
	}
}

// Usage stored before migration 0007 (keyset rows keyed by keyset, metric,
// day) is all there after it (keyed by keyset, day, metric), reads back the
// same, and takes new reports as before.
func TestMigration0007KeepsUsage(t *testing.T) {
	for _, eng := range migrationEngines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := eng.dsn(t)
			raw := schemaBefore(t, eng.name, eng.driver, dsn, 6)
			if _, err := raw.ExecContext(ctx, `INSERT INTO accounts (name, created_at) VALUES ('Default account', 0)`); err != nil {
				t.Fatal(err)
			}
			day := keyplane.DayOf(t0)
			want := map[keyplane.MetricCode]map[keyplane.Day]float64{0: {}, 11: {}}
			for ks := int64(1); ks <= 3; ks++ {
				for m := range want {
					for d := day - 5; d < day; d++ {
						v := float64(ks*1000 + int64(m)*10 + int64(d-day))
						if _, err := raw.ExecContext(ctx, `INSERT INTO usage_keyset_daily (keyset_id, metric, day, value) VALUES ($1, $2, $3, $4)`, ks, int64(m), int64(d), v); err != nil {
							t.Fatal(err)
						}
						if ks == 2 {
							want[m][d] = v
						}
					}
				}
			}
			raw.Close()

			db := openDB(t, dsn)
			if v, err := db.SchemaVersion(ctx); err != nil || v < 7 {
				t.Fatalf("schema version %d, %v", v, err)
			}
			var n int
			if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM usage_keyset_daily`).Scan(&n); err != nil || n != 3*2*5 {
				t.Fatalf("%d keyset rows after migrating, %v; want 30", n, err)
			}
			read := func() map[keyplane.MetricCode]map[keyplane.Day]float64 {
				t.Helper()
				var got map[keyplane.MetricCode]map[keyplane.Day]float64
				if err := db.Read(ctx, func(tx control.Tx) (err error) {
					got, err = tx.Usage(keyplane.UsageKeyset, 2, []keyplane.MetricCode{0, 11}, day-5, day)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return got
			}
			if got := read(); !reflect.DeepEqual(got, want) {
				t.Errorf("keyset 2 after migrating: %v, want %v", got, want)
			}
			// A report replaces a migrated value.
			write(t, db, func(tx control.Tx) error {
				return tx.PutUsage([]keyplane.UsagePoint{{AccountID: 1, AppID: 1, KeysetID: 2, Day: day - 1, Metric: 11, Value: 7}})
			})
			want[11][day-1] = 7
			if got := read(); !reflect.DeepEqual(got, want) {
				t.Errorf("keyset 2 after a report: %v, want %v", got, want)
			}
		})
	}
}

// NewestSchema names the schema a database has once opened.
func TestNewestSchemaIsWhatOpenMakes(t *testing.T) {
	db := openDB(t, sqliteDSN(t))
	if v, err := db.SchemaVersion(context.Background()); err != nil || v != NewestSchema() {
		t.Errorf("a new database is at schema %d (%v); NewestSchema says %d", v, err, NewestSchema())
	}
}

// A database a newer release migrated is refused at open, naming the
// migration this release does not know, and left as it is; before that
// an older release ran on it and misread the schema.
func TestOpenRefusesADatabaseOfANewerRelease(t *testing.T) {
	for _, eng := range migrationEngines {
		t.Run(eng.name, func(t *testing.T) {
			dsn := eng.dsn(t)
			db := openDB(t, dsn)
			db.Close()
			raw, err := sql.Open(eng.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
				t.Fatal(err)
			}
			_, err = Open(context.Background(), dsn, t0)
			if err == nil || !strings.Contains(err.Error(), "migration 9999 was applied by a newer Keyplane release") {
				t.Fatalf("Open of a newer database: %v", err)
			}
			var n int
			if err := raw.QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = 9999`).Scan(&n); err != nil || n != 1 {
				t.Errorf("the newer migration's record: %d, %v", n, err)
			}
		})
	}
}

// Migration 0013 makes each user a person with a membership of their
// account, and keeps every session signed in, in that account.
func TestMigration0013KeepsPeopleAndSessions(t *testing.T) {
	for _, eng := range migrationEngines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := eng.dsn(t)
			raw := schemaBefore(t, eng.name, eng.driver, dsn, 13)
			for _, q := range []string{
				`INSERT INTO accounts (name, created_at) VALUES ('Default account', 0), ('Second', 0)`,
				`INSERT INTO users (account_id, email, password_hash, role, created_at) VALUES (1, 'owner@a.test', 'h1', 'owner', 5), (2, 'viewer@b.test', 'h2', 'viewer', 6)`,
			} {
				if _, err := raw.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			for i, token := range []string{"s1", "s2"} {
				if _, err := raw.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, 0, 9000000000000)`, []byte(token), i+1); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()

			db := openDB(t, dsn)
			for _, c := range []struct {
				token   string
				account int64
				email   string
				role    keyplane.Role
			}{{"s1", 1, "owner@a.test", keyplane.RoleOwner}, {"s2", 2, "viewer@b.test", keyplane.RoleViewer}} {
				if err := db.Read(ctx, func(tx control.Tx) error {
					s, u, err := tx.SessionByHash([]byte(c.token))
					if err != nil {
						return err
					}
					if s.AccountID != c.account || u.AccountID != c.account || u.Email != c.email || u.Role != c.role {
						t.Errorf("session %s after migrating: %+v, %+v", c.token, s, u)
					}
					us, err := tx.Users(c.account)
					if err != nil || len(us) != 1 || us[0].Email != c.email || !us[0].CreatedAt.Equal(time.UnixMilli(map[string]int64{"s1": 5, "s2": 6}[c.token]).UTC()) {
						t.Errorf("account %d's people: %+v, %v", c.account, us, err)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
