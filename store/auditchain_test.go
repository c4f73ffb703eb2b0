package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// addAccount makes another account, as the tests of tenancy do.
func addAccount(t *testing.T, db *DB, name string) int64 {
	t.Helper()
	var id int64
	if err := db.write.QueryRow(`INSERT INTO accounts (name, created_at) VALUES ($1, 0) RETURNING id`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func appCreated(account int64, at time.Time, target int64) keyplane.AuditEvent {
	return keyplane.AuditEvent{AccountID: account, At: at, Type: keyplane.EventAppCreated, Actor: keyplane.OperatorActor,
		TargetType: "app", TargetID: target, After: []byte(`{}`)}
}

// Each account's event ids start at 1 and count only its own events, however
// the accounts' events interleave and whether they share a write batch or
// not: account 2 cannot tell from its ids that account 1 recorded anything.
// Each chain links only its own account's events, and pages of one account
// continue by its own ids.
func TestAuditIDsCountEachAccount(t *testing.T) { each(t, testAuditIDsCountEachAccount) }

func testAuditIDsCountEachAccount(t *testing.T, db *DB, _ string) {
	ctx := context.Background()
	other := addAccount(t, db, "Other")
	// Account 1 is busy before account 2 records its first event.
	for i := range 5 {
		write(t, db, func(tx control.Tx) error { e := appCreated(1, t0, int64(i)); return tx.AppendAudit(&e) })
	}
	// Then both, one after another in one transaction, ...
	write(t, db, func(tx control.Tx) error {
		for i := range 4 {
			for _, acc := range []int64{other, 1} {
				e := appCreated(acc, t0.Add(time.Second), int64(i))
				if err := tx.AppendAudit(&e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	// ... and in writes that share commits.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			acc := []int64{1, other}[i%2]
			errs <- db.Write(ctx, func(tx control.Tx) error { e := appCreated(acc, t0.Add(2*time.Second), 0); return tx.AppendAudit(&e) })
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[int64]int{1: 5 + 4 + 10, other: 4 + 10}
	for acc, n := range want {
		var events []keyplane.AuditEvent
		if err := db.Read(ctx, func(tx control.Tx) error {
			return tx.EachAuditEvent(acc, func(e keyplane.AuditEvent, _ string, _ int64) error { events = append(events, e); return nil })
		}); err != nil {
			t.Fatal(err)
		}
		if len(events) != n {
			t.Fatalf("account %d: %d events, want %d", acc, len(events), n)
		}
		for i, e := range events {
			if e.ID != int64(i+1) || e.AccountID != acc {
				t.Errorf("account %d, event #%d: id %d of account %d, want id %d", acc, i+1, e.ID, e.AccountID, i+1)
			}
			if i == 0 && len(e.PrevHash) != 0 {
				t.Errorf("account %d starts its chain on %x, want nothing: no other account's event", acc, e.PrevHash)
			}
		}
		// A page of 3 continues after id 3 of this account, not of the install.
		q := keyplane.AuditQuery{AccountID: acc, After: 3, Limit: 3}
		var page []keyplane.AuditEvent
		if err := db.Read(ctx, func(tx control.Tx) error { var err error; page, err = tx.AuditEvents(q); return err }); err != nil {
			t.Fatal(err)
		}
		if len(page) != 3 || page[0].ID != 4 || page[2].ID != 6 {
			t.Errorf("account %d: page after 3: %+v", acc, ids(page))
		}
	}
	svc := control.New(db, control.Options{Now: func() time.Time { return t0 }})
	v, err := svc.VerifyAudit(ctx)
	if err != nil || v.Break != nil || v.Events != int64(want[1]+want[other]) || len(v.Accounts) != 2 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	for _, c := range v.Accounts {
		if c.Events != int64(want[c.AccountID]) || len(c.Head) != 32 {
			t.Errorf("account %d: %+v, want %d events", c.AccountID, c, want[c.AccountID])
		}
	}
}

func ids(es []keyplane.AuditEvent) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// oldChain writes events as the release before migration 0011 did: one
// chain through every account, sealed with install-wide ids. Accounts
// alternate 1, 2, 2, 1, 2, 1, 1: n events in all.
func oldChain(t *testing.T, raw *sql.DB, n int) {
	t.Helper()
	pattern := []int64{1, 2, 2, 1, 2, 1, 1}
	prev := []byte{}
	for i := range n {
		actor := keyplane.Actor{Type: "integration", ID: int64(3 + i%2), Name: "CI", KeyID: 8}
		if i%3 == 0 {
			actor = keyplane.OperatorActor
		}
		e := keyplane.AuditEvent{ID: int64(i + 1), AccountID: pattern[i%len(pattern)], At: t0.Add(time.Duration(i) * time.Second),
			Type: keyplane.EventAppRenamed, Actor: actor, TargetType: "app", TargetID: int64(i + 1),
			Before: []byte(`{"name":"a"}`), After: []byte(fmt.Sprintf(`{"name":"b%d"}`, i)), PrevHash: prev}
		e.Hash = e.ChainHash()
		a, _ := json.Marshal(actor)
		if _, err := raw.Exec(`INSERT INTO audit_events (id, account_id, at, type, actor, target_type, target_id, before, after, prev_hash, hash, actor_type, actor_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			e.ID, e.AccountID, e.At.UnixMilli(), e.Type, string(a), e.TargetType, e.TargetID, string(e.Before), string(e.After), e.PrevHash, e.Hash,
			actor.Type, actor.ID); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
}

// A database of the release before migration 0011, with one chain through
// two accounts' events, upgrades in place: each account's events keep their
// order and contents, are numbered from 1 in their account, and chain on
// their own, so verify-audit passes for both; new events continue each
// account's chain; and a change to one account's event afterwards breaks
// that account's chain only.
func TestMigration0011GivesEachAccountItsChain(t *testing.T) {
	for _, eng := range migrationEngines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := eng.dsn(t)
			raw := schemaBefore(t, eng.name, eng.driver, dsn, 11)
			if _, err := raw.Exec(`INSERT INTO accounts (name, created_at) VALUES ('Default account', 0), ('Other', 0)`); err != nil {
				t.Fatal(err)
			}
			oldChain(t, raw, 14) // account 1: 8 events, account 2: 6
			type content struct {
				account     int64
				typ, after  string
				target, row int64
			}
			var before []content
			rows, err := raw.Query(`SELECT account_id, type, after, target_id, id FROM audit_events ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var c content
				if err := rows.Scan(&c.account, &c.typ, &c.after, &c.target, &c.row); err != nil {
					t.Fatal(err)
				}
				before = append(before, c)
			}
			rows.Close()
			raw.Close()

			db := openDB(t, dsn)
			if v, err := db.SchemaVersion(ctx); err != nil || v < 11 {
				t.Fatalf("schema version %d, %v", v, err)
			}
			svc := control.New(db, control.Options{Now: func() time.Time { return t0.Add(time.Hour) }})
			v, err := svc.VerifyAudit(ctx)
			if err != nil || v.Break != nil || v.Events != 14 || len(v.Accounts) != 2 || v.Accounts[0].Events != 8 || v.Accounts[1].Events != 6 {
				t.Fatalf("after upgrading: %+v, %v; want accounts 1 and 2 intact with 8 and 6 events", v, err)
			}
			// Contents and order are kept; ids count each account.
			next := map[int64]int64{}
			var all []keyplane.AuditEvent
			if err := db.Read(ctx, func(tx control.Tx) error {
				return tx.EachAuditEvent(0, func(e keyplane.AuditEvent, _ string, _ int64) error { all = append(all, e); return nil })
			}); err != nil {
				t.Fatal(err)
			}
			for i, e := range all {
				c := before[i]
				next[c.account]++
				if e.AccountID != c.account || e.Type != c.typ || string(e.After) != c.after || e.TargetID != c.target || e.ID != next[c.account] {
					t.Errorf("event #%d: %d of account %d %s %s, want %d of account %d %s %s", i+1, e.ID, e.AccountID, e.Type, e.After,
						next[c.account], c.account, c.typ, c.after)
				}
			}
			// New events continue each account's chain (a change of the
			// partner flag is recorded only when it changes).
			for _, c := range []struct {
				acc int64
				on  bool
			}{{2, true}, {1, true}, {2, false}} {
				if _, err := svc.SetPartner(ctx, keyplane.Operator(c.acc), c.acc, c.on); err != nil {
					t.Fatal(err)
				}
			}
			v, err = svc.VerifyAudit(ctx)
			if err != nil || v.Break != nil || v.Accounts[0].Events != 9 || v.Accounts[1].Events != 8 {
				t.Fatalf("after new events: %+v, %v", v, err)
			}
			// Tampering with account 2's event 3 breaks account 2 only.
			if _, err := db.write.Exec(`UPDATE audit_events SET after = '{"name":"innocent"}' WHERE account_id = 2 AND seq = 3`); err != nil {
				t.Fatal(err)
			}
			v, err = svc.VerifyAudit(ctx)
			if err != nil || v.Break == nil || v.Break.AccountID != 2 || v.Break.EventID != 3 {
				t.Fatalf("after tampering: %+v, %v; want account 2 broken at event 3", v, err)
			}
			if v.Accounts[0].Break != nil || v.Accounts[0].Events != 9 {
				t.Errorf("account 1 after account 2 was tampered with: %+v, want intact", v.Accounts[0])
			}
		})
	}
}

// Upgrading re-seals the events, which would hide a change made before it:
// a database whose chain is already broken is not upgraded, and the error
// names the event; nothing of the upgrade is kept, so the same release
// opens it again once it is repaired.
func TestMigration0011RefusesABrokenChain(t *testing.T) {
	for _, eng := range migrationEngines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			dsn := eng.dsn(t)
			raw := schemaBefore(t, eng.name, eng.driver, dsn, 11)
			if _, err := raw.Exec(`INSERT INTO accounts (name, created_at) VALUES ('Default account', 0), ('Other', 0)`); err != nil {
				t.Fatal(err)
			}
			oldChain(t, raw, 7)
			if _, err := raw.Exec(`UPDATE audit_events SET after = '{"name":"innocent"}' WHERE id = 5`); err != nil {
				t.Fatal(err)
			}
			db, err := Open(context.Background(), dsn, t0)
			if err == nil {
				db.Close()
				t.Fatal("a database with a broken audit chain was upgraded")
			}
			if !strings.Contains(err.Error(), "0011") || !strings.Contains(err.Error(), "broken at event 5") {
				t.Errorf("error %q, want migration 0011 naming event 5", err)
			}
			var v int
			if err := raw.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil || v != 10 {
				t.Errorf("schema version %d (%v) after the refusal, want 10", v, err)
			}
			if _, err := raw.Exec(`SELECT seq FROM audit_events`); err == nil {
				t.Error("the refused upgrade left its seq column")
			}
		})
	}
}
