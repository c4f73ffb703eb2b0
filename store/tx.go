package store

import (
	"context"
	"database/sql"

	"github.com/keyplane/keyplane/control"
)

// Read implements control.Store.
func (db *DB) Read(ctx context.Context, fn func(control.Tx) error) error {
	return unavailable(db.inTx(ctx, db.read, db.readOpts, func(tx *sql.Tx) error {
		return fn(&txn{ctx: ctx, tx: tx, seal: db.seal.Load(), stmts: db.readStmts, engine: db.engine.name})
	}))
}

// ReadOne implements control.SingleReader: fn's one statement runs
// without a transaction (one statement reads one snapshot by itself),
// which saves the BEGIN and COMMIT — two round trips on PostgreSQL. A
// second statement panics.
func (db *DB) ReadOne(ctx context.Context, fn func(control.Tx) error) error {
	if err := acquire(ctx, db.readSlots); err != nil {
		return err
	}
	defer release(db.readSlots)
	return unavailable(fn(&txn{ctx: ctx, pool: db.read, seal: db.seal.Load(), stmts: db.readStmts, engine: db.engine.name}))
}

// Write implements control.Store. Concurrent writes share commits (see
// group.go); each is still all or nothing, and none returns before its
// commit.
func (db *DB) Write(ctx context.Context, fn func(control.Tx) error) error {
	return unavailable(db.groupWrite(ctx, func(tx *sql.Tx, tail *auditTail) error {
		return fn(&txn{ctx: context.WithoutCancel(ctx), tx: tx, seal: db.seal.Load(), stmts: db.writeStmts, engine: db.engine.name, tail: tail})
	}))
}

// writeTx runs fn alone in a write transaction that first takes the
// engine's write lock, as every writer does (the admin commands included),
// and commits if fn succeeds. Bulk work that should not share a commit
// with the API's writes (copy, sealing) uses it.
func (db *DB) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return db.inTx(ctx, db.write, nil, func(tx *sql.Tx) error {
		if db.lockWrites != "" {
			if _, err := tx.ExecContext(ctx, db.lockWrites); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// slots are the transaction slots of pool, or nil.
func (db *DB) slots(pool *sql.DB) chan struct{} {
	if pool == db.write {
		return db.writeSlots
	}
	return db.readSlots
}

// acquire takes one of slots, unless slots is nil; release gives it back.
func acquire(ctx context.Context, slots chan struct{}) error {
	if slots == nil {
		return nil
	}
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func release(slots chan struct{}) {
	if slots != nil {
		<-slots
	}
}

func (db *DB) inTx(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) (err error) {
	slots := db.slots(pool)
	if err := acquire(ctx, slots); err != nil {
		return err
	}
	defer release(slots)
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// txn implements control.Tx on one SQL transaction.
type txn struct {
	ctx context.Context
	// tx is the transaction, or nil for ReadOne, whose one statement
	// runs on pool.
	tx    *sql.Tx
	pool  *sql.DB
	ran   bool       // ReadOne: its statement ran
	seal  *sealer    // nil: secret keys are written in plain text
	stmts *stmtCache // of the pool tx belongs to
	// engine is the engine's name, for the few statements written
	// differently on each (bulk usage writes bind "?" on SQLite).
	engine string
	// tail is the audit chain's end as the write batch left it, or nil
	// outside a batch.
	tail *auditTail
}

// runner is what runs t's statements: its transaction, or for ReadOne
// the pool. A second statement in a ReadOne is a programming error: it
// would not read the same snapshot as the first.
func (t *txn) runner() interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
} {
	if t.tx != nil {
		return t.tx
	}
	if t.ran {
		panic("store: ReadOne ran more than one statement")
	}
	t.ran = true
	return t.pool
}

// stmt is q prepared on t's connection (on its pool, for ReadOne), or nil
// if it cannot be (the caller then runs q as text, which reports the error).
func (t *txn) stmt(q string) *sql.Stmt {
	s := t.stmts.get(t.ctx, q)
	if s == nil || t.tx == nil {
		return s
	}
	return t.tx.StmtContext(t.ctx, s)
}

func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	r := t.runner()
	if s := t.stmt(q); s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return r.ExecContext(t.ctx, q, args...)
}

func (t *txn) query(q string, args ...any) (*sql.Rows, error) {
	r := t.runner()
	if s := t.stmt(q); s != nil {
		return s.QueryContext(t.ctx, args...)
	}
	return r.QueryContext(t.ctx, q, args...)
}

func (t *txn) queryRow(q string, args ...any) *sql.Row {
	r := t.runner()
	if s := t.stmt(q); s != nil {
		return s.QueryRowContext(t.ctx, args...)
	}
	return r.QueryRowContext(t.ctx, q, args...)
}
