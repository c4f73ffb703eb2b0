package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane"
)

// auditCols read an event with its account's own id (seq) as its id: the
// install-wide row id is never shown.
const auditCols = `seq, account_id, at, type, actor, target_type, target_id, before, after, prev_hash, hash, actor_type, actor_id`

// auditRow is one stored event with the actor columns kept beside it.
type auditRow struct {
	e         keyplane.AuditEvent
	actorType string
	actorID   int64
}

func scanAudit(rows *sql.Rows) (auditRow, error) { return scanAuditRow(rows, nil) }

// scanAuditRow scans auditCols, after the install-wide row id into row
// when row is not nil.
func scanAuditRow(rows *sql.Rows, row *int64) (auditRow, error) {
	var r auditRow
	var at int64
	var actor string
	var before, after sql.NullString
	dest := []any{&r.e.ID, &r.e.AccountID, &at, &r.e.Type, &actor, &r.e.TargetType, &r.e.TargetID,
		&before, &after, &r.e.PrevHash, &r.e.Hash, &r.actorType, &r.actorID}
	if row != nil {
		dest = append([]any{row}, dest...)
	}
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	r.e.At = fromMS(at)
	if before.Valid {
		r.e.Before = []byte(before.String)
	}
	if after.Valid {
		r.e.After = []byte(after.String)
	}
	if r.e.PrevHash == nil {
		r.e.PrevHash = []byte{}
	}
	// A stored actor that is not our JSON is left zero: the chain check
	// then reports the event as altered rather than the walk failing.
	json.Unmarshal([]byte(actor), &r.e.Actor)
	return r, nil
}

// AuditEvents implements control.Tx: up to q.Limit events of q's account
// after q.After, oldest first, or with q.NewestFirst, newest first and
// older than q.After (when set).
func (t *txn) AuditEvents(q keyplane.AuditQuery) ([]keyplane.AuditEvent, error) {
	conds := []string{"account_id = $1", "seq > $2"}
	args := []any{q.AccountID, q.After}
	order := "seq"
	if q.NewestFirst {
		conds[1], order = "seq < $2", "seq DESC"
		if q.After == 0 {
			args[1] = int64(math.MaxInt64)
		}
	}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if !q.From.IsZero() {
		add("at >= ?", ms(q.From))
	}
	if !q.To.IsZero() {
		add("at < ?", ms(q.To))
	}
	if len(q.Types) > 0 {
		var marks []string
		for _, typ := range q.Types {
			args = append(args, typ)
			marks = append(marks, "$"+strconv.Itoa(len(args)))
		}
		conds = append(conds, "type IN ("+strings.Join(marks, ", ")+")")
	}
	if q.ActorType != "" {
		add("actor_type = ?", q.ActorType)
		if q.ActorID != 0 {
			add("actor_id = ?", q.ActorID)
		}
	}
	if q.TargetType != "" {
		add("target_type = ?", q.TargetType)
		if q.TargetID != 0 {
			add("target_id = ?", q.TargetID)
		}
	}
	args = append(args, q.Limit)
	rows, err := t.query(fmt.Sprintf(`SELECT %s FROM audit_events WHERE %s ORDER BY %s LIMIT $%d`,
		auditCols, strings.Join(conds, " AND "), order, len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []keyplane.AuditEvent{}
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r.e)
	}
	return out, rows.Err()
}

// EachAuditEvent implements control.Tx: every event of one account in its
// chain's order, or of all when accountID is 0 in the order they were
// recorded, with its stored actor columns.
func (t *txn) EachAuditEvent(accountID int64, fn func(e keyplane.AuditEvent, actorType string, actorID int64) error) error {
	q, args := `SELECT `+auditCols+` FROM audit_events ORDER BY id`, []any{}
	if accountID != 0 {
		q, args = `SELECT `+auditCols+` FROM audit_events WHERE account_id = $1 ORDER BY seq`, []any{accountID}
	}
	return t.eachAudit(q, args, fn)
}

// EachAuditChain implements control.Tx: every event, account by account,
// each account's in its chain's order.
func (t *txn) EachAuditChain(fn func(e keyplane.AuditEvent, actorType string, actorID int64) error) error {
	return t.eachAudit(`SELECT `+auditCols+` FROM audit_events ORDER BY account_id, seq`, nil, fn)
}

func (t *txn) eachAudit(q string, args []any, fn func(e keyplane.AuditEvent, actorType string, actorID int64) error) error {
	rows, err := t.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return err
		}
		if err := fn(r.e, r.actorType, r.actorID); err != nil {
			return err
		}
	}
	return rows.Err()
}

// relinkAuditChains is migration 0011's step: it turns the install-wide
// audit chain into one chain per account. The old chain is checked first,
// with the rule it was sealed by (ids of the install, one chain through
// every account): re-sealing the events of a chain already broken would
// hide what broke it, so such a database is not upgraded and the error
// names the event. Then each account's events, in the order they were
// recorded, are sealed again under their new ids (seq, filled in by the
// migration's SQL), each onto the account's event before it, with the rule
// AppendAudit uses.
//
// Hashing is done here rather than in the SQL: SQLite has no SHA-256, and
// the hash covers the actor as Go encodes it, not as the row stores it.
func relinkAuditChains(ctx context.Context, tx *sql.Tx) error {
	type relinked struct {
		row            int64
		prevHash, hash []byte
	}
	var (
		old     keyplane.ChainVerifier
		ends    = map[int64][]byte{}
		updates []relinked
	)
	rows, err := tx.QueryContext(ctx, `SELECT id, `+auditCols+` FROM audit_events ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var row int64
		r, err := scanAuditRow(rows, &row)
		if err != nil {
			return err
		}
		seq := r.e.ID
		r.e.ID = row // the old rule sealed the install-wide id
		old.Add(r.e, r.actorType, r.actorID)
		if b := old.Break; b != nil {
			return fmt.Errorf("the audit chain is broken at event %d (%s): upgrading seals each account's events anew, "+
				"which would hide it; run keyplane admin verify-audit with the release that wrote it, and restore the audit log from a backup", b.EventID, b.Reason)
		}
		r.e.ID = seq
		r.e.PrevHash = ends[r.e.AccountID]
		if r.e.PrevHash == nil {
			r.e.PrevHash = []byte{}
		}
		r.e.Hash = r.e.ChainHash()
		ends[r.e.AccountID] = r.e.Hash
		updates = append(updates, relinked{row: row, prevHash: r.e.PrevHash, hash: r.e.Hash})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close() // PostgreSQL runs one statement at a time on a connection
	stmt, err := tx.PrepareContext(ctx, `UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE id = $3`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, u := range updates {
		if _, err := stmt.ExecContext(ctx, u.prevHash, u.hash, u.row); err != nil {
			return err
		}
	}
	return nil
}

// AppendAudit implements control.Tx. The event joins its account's chain:
// it takes the next id of the account and seals the hash of the account's
// newest event. The row also gets the next install-wide id, its key, which
// is never shown. The single writer keeps both race-free, and within a
// write batch they are known without reading (auditTail).
func (t *txn) AppendAudit(e *keyplane.AuditEvent) error {
	row, end, known := t.tail.chainEnd(e.AccountID)
	if !known {
		// One round trip for all: the install's newest row, the
		// account's newest event (none: NULLs), and whether it has an
		// enabled webhook (kept for the batch's other events of the
		// account, which also holds the write lock: a write that changes
		// the webhooks makes the batch forget it).
		var seq sql.NullInt64
		var hash []byte
		var hooks bool
		err := t.queryRow(`SELECT (SELECT COALESCE(MAX(id), 0) FROM audit_events),
			(SELECT seq FROM audit_events WHERE account_id = $1 ORDER BY seq DESC LIMIT 1),
			(SELECT hash FROM audit_events WHERE account_id = $1 ORDER BY seq DESC LIMIT 1),
			EXISTS (SELECT 1 FROM webhooks WHERE account_id = $1 AND disabled_at IS NULL)`, e.AccountID).Scan(&row, &seq, &hash, &hooks)
		if err != nil {
			return err
		}
		end = chainEnd{seq: seq.Int64, hash: hash, hooks: hooks}
	}
	if end.hash == nil {
		end.hash = []byte{}
	}
	actor, err := json.Marshal(e.Actor)
	if err != nil {
		return err
	}
	e.ID, e.PrevHash = end.seq+1, end.hash
	e.Hash = e.ChainHash()
	_, err = t.exec(`INSERT INTO audit_events (id, seq, account_id, at, type, actor, target_type, target_id, before, after, prev_hash, hash, actor_type, actor_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		row+1, e.ID, e.AccountID, ms(e.At), e.Type, string(actor), e.TargetType, e.TargetID, nullJSON(e.Before), nullJSON(e.After), e.PrevHash, e.Hash,
		e.Actor.Type, e.Actor.ID)
	if err != nil {
		return err
	}
	t.tail.appended(row+1, e.AccountID, chainEnd{seq: e.ID, hash: e.Hash, hooks: end.hooks})
	// The outbox: the event's deliveries commit with it, or neither does.
	// An account without an enabled webhook has none, except a test
	// event, which goes to the webhook it names even when disabled.
	if !end.hooks && e.Type != keyplane.EventWebhookTested {
		return nil
	}
	return t.enqueueDeliveries(e, row+1)
}

func nullJSON(b []byte) sql.NullString {
	return sql.NullString{String: string(b), Valid: b != nil}
}
