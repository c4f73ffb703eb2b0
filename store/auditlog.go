package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane"
)

const accountCols = `id, name, created_at, partner`

func scanAccount(s interface{ Scan(...any) error }) (keyplane.Account, error) {
	var a keyplane.Account
	var c, partner int64
	err := s.Scan(&a.ID, &a.Name, &c, &partner)
	a.CreatedAt, a.Partner = fromMS(c), partner != 0
	return a, err
}

// Account implements control.Tx.
func (t *txn) Account(id int64) (keyplane.Account, error) {
	a, err := scanAccount(t.queryRow(`SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("account", id)
	}
	return a, err
}

// SetPartner implements control.Tx.
func (t *txn) SetPartner(accountID int64, partner bool) error {
	v := 0
	if partner {
		v = 1
	}
	_, err := t.exec(`UPDATE accounts SET partner = $1 WHERE id = $2`, v, accountID)
	return err
}

const auditCols = `id, account_id, at, type, actor, target_type, target_id, before, after, prev_hash, hash, actor_type, actor_id`

// auditRow is one stored event with the actor columns kept beside it.
type auditRow struct {
	e         keyplane.AuditEvent
	actorType string
	actorID   int64
}

func scanAudit(rows *sql.Rows) (auditRow, error) {
	var r auditRow
	var at int64
	var actor string
	var before, after sql.NullString
	if err := rows.Scan(&r.e.ID, &r.e.AccountID, &at, &r.e.Type, &actor, &r.e.TargetType, &r.e.TargetID,
		&before, &after, &r.e.PrevHash, &r.e.Hash, &r.actorType, &r.actorID); err != nil {
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
// after q.After, oldest first.
func (t *txn) AuditEvents(q keyplane.AuditQuery) ([]keyplane.AuditEvent, error) {
	conds := []string{"account_id = $1", "id > $2"}
	args := []any{q.AccountID, q.After}
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
	rows, err := t.query(fmt.Sprintf(`SELECT %s FROM audit_events WHERE %s ORDER BY id LIMIT $%d`,
		auditCols, strings.Join(conds, " AND "), len(args)), args...)
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

// EachAuditEvent implements control.Tx: every event in id order (of one
// account, or of all when accountID is 0), with its stored actor columns.
func (t *txn) EachAuditEvent(accountID int64, fn func(e keyplane.AuditEvent, actorType string, actorID int64) error) error {
	q, args := `SELECT `+auditCols+` FROM audit_events ORDER BY id`, []any{}
	if accountID != 0 {
		q, args = `SELECT `+auditCols+` FROM audit_events WHERE account_id = $1 ORDER BY id`, []any{accountID}
	}
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
