package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Group commit. An acknowledged write must survive a crash, so every
// commit waits for the disk (SQLite synchronous=FULL, PostgreSQL
// synchronous_commit=on), and writers are serialized (one SQLite writer,
// one PostgreSQL advisory lock). One commit per write would cap writes at
// the disk's flush rate. Instead one goroutine per database runs the write
// transactions waiting at a time one after another inside ONE database
// transaction, each in a savepoint of its own, and commits them together:
// while a batch waits for its flush, the next one gathers.
//
// Each write keeps its own all-or-nothing: a write that fails rolls back
// to its savepoint, leaving the batch's other writes alone, and none is
// acknowledged before the commit that holds it. A batch that cannot commit
// fails every write in it.

// maxGroup bounds how many writes share one commit, so the first of a
// batch does not wait for too many others.
const maxGroup = 128

// writeReq is one write transaction waiting for its turn.
type writeReq struct {
	ctx  context.Context
	fn   func(*sql.Tx, *auditTail) error
	done chan writeResult
}

// auditTail is the audit log's end as a batch left it: the newest row's
// install-wide id and the end of each account's chain it has touched, so
// that only the first event of each account in a batch reads them from the
// database: the batch holds the write lock, nobody else appends meanwhile.
// A write rolled back to its savepoint forgets it all (the write may have
// appended).
type auditTail struct {
	row    int64 // the newest row's id; valid while chains is not nil
	chains map[int64]chainEnd
	// queued: a write of the batch queued webhook deliveries, so the
	// delivery worker is woken once the batch commits. Kept when a write
	// rolls back: a wake-up with nothing to send costs one read.
	queued bool
}

// chainEnd is the newest event of one account's chain, and whether the
// account has an enabled webhook (read with it: events of an account with
// none have no deliveries to queue).
type chainEnd struct {
	seq   int64
	hash  []byte
	hooks bool
}

// chainEnd answers the newest row id and the end of account's chain, if
// the batch knows them. A nil tail (outside a batch) knows nothing.
func (t *auditTail) chainEnd(account int64) (row int64, end chainEnd, ok bool) {
	if t == nil || t.chains == nil {
		return 0, chainEnd{}, false
	}
	end, ok = t.chains[account]
	return t.row, end, ok
}

// appended records an event just written as row, the new end of its
// account's chain.
func (t *auditTail) appended(row, account int64, end chainEnd) {
	if t == nil {
		return
	}
	if t.chains == nil {
		t.chains = map[int64]chainEnd{}
	}
	t.row, t.chains[account] = row, end
}

// forgetTail drops what the batch knows: a write changed the webhooks, which
// the chain ends carry.
func (t *txn) forgetTail() {
	if t.tail != nil {
		*t.tail = auditTail{}
	}
}

type writeResult struct {
	err   error
	panic any // what fn panicked with, re-raised in the caller
}

// groupWrite runs fn in the next batch and waits until the batch commits
// (or fn fails). fn's statements run with ctx's values but not its
// cancellation: cancelling one statement may abort the whole transaction
// in SQLite, and with it the other writes of the batch.
func (db *DB) groupWrite(ctx context.Context, fn func(*sql.Tx, *auditTail) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := writeReq{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	select {
	case db.writes <- r:
	case <-db.closed:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the write's outcome is waited for even if ctx ends:
	// returning early could report a failure for a write that commits.
	res := <-r.done
	if res.panic != nil {
		panic(res.panic)
	}
	return res.err
}

var errClosed = errors.New("database closed")

// DeliveriesQueued implements control.DeliveryNotifier: the channel has a
// value after a commit of this process queued webhook deliveries, so the
// delivery worker sends them at once instead of at its next poll. One
// value stands for any number of commits; other processes' commits are
// not told (their workers poll).
func (db *DB) DeliveriesQueued() <-chan struct{} { return db.queued }

// deliveriesQueued tells the worker, never waiting: a value already
// waiting says the same.
func (db *DB) deliveriesQueued() {
	select {
	case db.queued <- struct{}{}:
	default:
	}
}

// startWrites starts the goroutine that runs the writes.
func (db *DB) startWrites() {
	db.writes = make(chan writeReq)
	db.closed = make(chan struct{})
	db.stopped = make(chan struct{})
	db.queued = make(chan struct{}, 1)
	go db.runWrites()
}

// stopWrites fails the writes not yet taken and waits for the batch in
// progress to end.
func (db *DB) stopWrites() {
	db.closeOnce.Do(func() { close(db.closed) })
	<-db.stopped
}

// runWrites is the goroutine that takes the queued writes in batches
// until the database is closed.
func (db *DB) runWrites() {
	defer close(db.stopped)
	batch := make([]writeReq, 0, maxGroup)
	for {
		select {
		case r := <-db.writes:
			batch = append(batch[:0], r)
		case <-db.closed:
			db.drainWrites()
			return
		}
	gather:
		for len(batch) < maxGroup {
			select {
			case r := <-db.writes:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		db.commitBatch(batch)
	}
}

// drainWrites fails the writes still queued when the database closes.
func (db *DB) drainWrites() {
	for {
		select {
		case r := <-db.writes:
			r.done <- writeResult{err: errClosed}
		default:
			return
		}
	}
}

// commitBatch runs the batch's writes in one transaction and commits it.
func (db *DB) commitBatch(batch []writeReq) {
	results := make([]writeResult, len(batch))
	err := func() error {
		acquire(context.Background(), db.writeSlots)
		defer release(db.writeSlots)
		// The transaction belongs to the batch, not to any one caller.
		tx, err := db.write.BeginTx(context.Background(), nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() // a no-op after Commit
		// Each write runs in a savepoint. What must happen before the
		// next savepoint — the lock, releasing the last one — goes in the
		// same round trip; COMMIT releases the last savepoint itself.
		next := "SAVEPOINT w"
		if db.lockWrites != "" {
			next = db.lockWrites + "; " + next
		}
		var tail auditTail
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				results[i].err = err
				continue
			}
			// Both drivers run every statement of an Exec without
			// arguments.
			if _, err := tx.Exec(next); err != nil {
				return err
			}
			next = "RELEASE w; SAVEPOINT w"
			results[i] = runOne(r, tx, &tail)
			if results[i].err == nil && results[i].panic == nil {
				continue
			}
			// Undo this write only. If even that fails, the transaction is
			// lost and with it every write of the batch.
			tail = auditTail{queued: tail.queued}
			if _, err := tx.Exec("ROLLBACK TO w"); err != nil {
				return fmt.Errorf("rolling back a failed write: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if tail.queued {
			db.deliveriesQueued()
		}
		return nil
	}()
	for i, r := range batch {
		// A write that succeeded (or was not reached) shares the fate of
		// the commit; one that failed keeps its own error.
		if err != nil && results[i].err == nil && results[i].panic == nil {
			results[i].err = err
		}
		r.done <- results[i]
	}
}

// runOne runs one write, turning a panic into a result.
func runOne(r writeReq, tx *sql.Tx, tail *auditTail) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panic: p}
		}
	}()
	return writeResult{err: r.fn(tx, tail)}
}
