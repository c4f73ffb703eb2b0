package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

func TestGroupCommitKeepsEachWriteAllOrNothing(t *testing.T) { each(t, testGroupCommit) }

// Many writes at once share commits; each is still all or nothing: those
// that fail (with an error, a database error or a panic) leave no row and
// the others of their batch are kept, in full.
func testGroupCommit(t *testing.T, db *DB, _ string) {
	ctx := context.Background()
	const n = 200
	boom := errors.New("boom")
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = db.Write(ctx, func(tx control.Tx) error {
				for j := range 2 { // two rows: a failure must take back both
					a := keyplane.App{AccountID: 1, Name: fmt.Sprintf("app %d/%d", i, j), CreatedAt: t0, UpdatedAt: t0}
					if err := tx.InsertApp(&a); err != nil {
						return err
					}
				}
				switch i % 4 {
				case 1:
					return boom
				case 2:
					// A statement the database refuses (no such account),
					// after the inserts: on PostgreSQL it aborts the
					// transaction, which the write's savepoint must undo.
					bad := keyplane.App{AccountID: 999999, Name: "x", CreatedAt: t0, UpdatedAt: t0}
					return tx.InsertApp(&bad)
				case 3:
					if i%8 == 3 {
						panic(fmt.Sprintf("panic %d", i))
					}
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := 0
	for i := range n {
		switch {
		case i%4 == 1 && errs[i] != boom:
			t.Errorf("write %d returned %v, want its own error", i, errs[i])
		case i%8 == 3 && panics[i] != fmt.Sprintf("panic %d", i):
			t.Errorf("write %d: panic %v in the caller, want its own", i, panics[i])
		case i%4 == 2 && errs[i] == nil:
			t.Errorf("write %d: the database accepted an app of no account", i)
		case i%4 == 0 || i%8 == 7:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("write %d failed: %v %v", i, errs[i], panics[i])
			}
			want += 2
		}
	}
	db.Read(ctx, func(tx control.Tx) error {
		_, got, err := tx.ListApps(1, keyplane.Visibility{All: true}, keyplane.Page{Page: 1, Limit: 1})
		if err != nil || got != want {
			t.Errorf("%d apps stored, want %d (%v)", got, want, err)
		}
		return nil
	})
}

// A write whose caller gave up before its turn is not run.
func TestGroupCommitSkipsCancelledWrites(t *testing.T) {
	db := openDB(t, sqliteDSN(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := db.Write(ctx, func(control.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Write with an ended context: ran %v, err %v", ran, err)
	}
}

func TestReadOneRunsOneStatement(t *testing.T) { each(t, testReadOne) }

// ReadOne answers a one-statement read without a transaction, and refuses
// (by panicking: it is a programming error) a second statement, which
// would not read the first one's snapshot.
func testReadOne(t *testing.T, db *DB, _ string) {
	ctx := context.Background()
	var k keyplane.Keyset
	write(t, db, func(tx control.Tx) error {
		a := keyplane.App{AccountID: 1, Name: "a", CreatedAt: t0, UpdatedAt: t0}
		if err := tx.InsertApp(&a); err != nil {
			return err
		}
		k = keyplane.Keyset{AccountID: 1, AppID: a.ID, Name: "k", Type: keyplane.KeysetTesting, PublishKey: "pub-c-r1", SubscribeKey: "sub-c-r1", CreatedAt: t0, UpdatedAt: t0}
		return tx.InsertKeyset(&k, keyplane.DefaultConfig())
	})
	err := db.ReadOne(ctx, func(tx control.Tx) error {
		got, err := tx.Keyset(1, k.ID)
		if err == nil && got.Name != "k" {
			t.Errorf("ReadOne read %+v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("a second statement in ReadOne did not panic")
		}
	}()
	db.ReadOne(ctx, func(tx control.Tx) error {
		tx.Keyset(1, k.ID)
		_, err := tx.Keyset(1, k.ID)
		return err
	})
}

func TestGroupCommitKeepsTheAuditChain(t *testing.T) { each(t, testGroupCommitAudit) }

// Within a batch each event chains onto the one before without reading
// it; a write that appended and then failed must not leave its event as
// the next one's predecessor.
func testGroupCommitAudit(t *testing.T, db *DB, _ string) {
	ctx := context.Background()
	const n = 120
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { recover() }()
			db.Write(ctx, func(tx control.Tx) error {
				e := keyplane.AuditEvent{AccountID: 1, At: t0, Type: "test", Actor: keyplane.OperatorActor, TargetType: "app", TargetID: int64(i)}
				if err := tx.AppendAudit(&e); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return errors.New("after appending")
				case 2:
					if i%6 == 2 {
						panic("after appending")
					}
				}
				return nil
			})
		})
	}
	wg.Wait()
	var v keyplane.ChainVerifier
	if err := db.Read(ctx, func(tx control.Tx) error {
		return tx.EachAuditEvent(0, func(e keyplane.AuditEvent, actorType string, actorID int64) error {
			v.Add(e, actorType, actorID)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if v.Break != nil {
		t.Fatalf("chain broken at event %d: %s", v.Break.EventID, v.Break.Reason)
	}
	if want := int64(n - n/3 - n/6); v.Count() != want {
		t.Errorf("%d events, want %d", v.Count(), want)
	}
}

// TestOutboxSeesAWebhookAddedInTheBatch: the batch keeps whether an
// account has an enabled webhook with its audit chain's end, to skip the
// outbox for accounts without one; a webhook made (or enabled) by a write
// in the same batch is seen by the events after it. One write stands for
// the batch here: the batch's writes share what it keeps.
func TestOutboxSeesAWebhookAddedInTheBatch(t *testing.T) { each(t, testOutboxSeesNewWebhook) }

func testOutboxSeesNewWebhook(t *testing.T, db *DB, _ string) {
	hook := keyplane.Webhook{AccountID: 1, URL: "https://hooks.example.com/", Events: []string{"*"}, Secret: "whsec_batchplain",
		CreatedAt: t0, UpdatedAt: t0, DisabledAt: &t0, DisabledReason: "paused"}
	event := func(tx control.Tx, n int64) error {
		return tx.AppendAudit(&keyplane.AuditEvent{AccountID: 1, At: t0, Type: keyplane.EventAppCreated,
			Actor: keyplane.Actor{Type: "operator"}, TargetType: "app", TargetID: n})
	}
	write(t, db, func(tx control.Tx) error {
		// Known to have no enabled webhook: nothing queued.
		if err := event(tx, 1); err != nil {
			return err
		}
		if err := tx.InsertWebhook(&hook); err != nil {
			return err
		}
		// Still none enabled.
		if err := event(tx, 2); err != nil {
			return err
		}
		hook.DisabledAt, hook.DisabledReason = nil, ""
		if err := tx.UpdateWebhook(hook); err != nil {
			return err
		}
		return event(tx, 3)
	})
	err := db.Read(context.Background(), func(tx control.Tx) error {
		ds, err := tx.WebhookDeliveries(1, hook.ID, "", 10)
		if err != nil {
			return err
		}
		if len(ds) != 1 {
			t.Fatalf("%d deliveries queued, want 1 (the event after the webhook was enabled): %+v", len(ds), ds)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
