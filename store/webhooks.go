package store

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// webhookAAD binds a sealed signing secret to its webhook and column, so a
// value moved to another row or column no longer opens.
func webhookAAD(id int64, column string) []byte {
	b := binary.BigEndian.AppendUint64([]byte("webhook\x00"), uint64(id))
	return append(append(b, 0), column...)
}

// sealWebhookSecret is secret as stored in column of webhook id: sealed,
// or plain for a process without a KEK (sealed at its first start with one).
func (t *txn) sealWebhookSecret(id int64, column, secret string) (string, error) {
	if t.seal == nil {
		return secret, nil
	}
	return t.seal.sealWith(webhookAAD(id, column), secret)
}

func (t *txn) openWebhookSecret(id int64, column, stored string) (string, error) {
	return t.seal.openWith(webhookAAD(id, column), fmt.Sprintf("signing secret of webhook %d", id), stored)
}

// eventFilter is the stored form of a webhook's events: "*", or the types
// between commas, which the outbox's LIKE matches.
func eventFilter(events []string) string {
	if len(events) == 1 && events[0] == keyplane.AllEvents {
		return keyplane.AllEvents
	}
	return "," + strings.Join(events, ",") + ","
}

func parseEventFilter(s string) []string {
	if s == keyplane.AllEvents {
		return []string{keyplane.AllEvents}
	}
	return strings.Split(strings.Trim(s, ","), ",")
}

// InsertWebhook implements control.Tx: it sets w.ID and stores w.Secret
// sealed to the new row.
func (t *txn) InsertWebhook(w *keyplane.Webhook) error {
	t.forgetTail() // the batch knows which accounts have webhooks
	err := t.queryRow(`INSERT INTO webhooks (account_id, url, description, events, secret, created_at, updated_at, disabled_at, disabled_reason)
		VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8) RETURNING id`,
		w.AccountID, w.URL, w.Description, eventFilter(w.Events), ms(w.CreatedAt), ms(w.UpdatedAt), optMS(w.DisabledAt), nullText(w.DisabledReason)).Scan(&w.ID)
	if err != nil {
		return err
	}
	stored, err := t.sealWebhookSecret(w.ID, "secret", w.Secret)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE webhooks SET secret = $1 WHERE id = $2`, stored, w.ID)
	return err
}

func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

const webhookCols = `id, account_id, url, description, events, created_at, updated_at, disabled_at, disabled_reason`

func scanWebhook(sc interface{ Scan(...any) error }) (keyplane.Webhook, error) {
	var w keyplane.Webhook
	var events string
	var created, updated int64
	var disabled sql.NullInt64
	var reason sql.NullString
	if err := sc.Scan(&w.ID, &w.AccountID, &w.URL, &w.Description, &events, &created, &updated, &disabled, &reason); err != nil {
		return w, err
	}
	w.Events, w.CreatedAt, w.UpdatedAt, w.DisabledAt, w.DisabledReason = parseEventFilter(events), fromMS(created), fromMS(updated), fromOptMS(disabled), reason.String
	return w, nil
}

// Webhook implements control.Tx: one webhook of the account, without its
// secret.
func (t *txn) Webhook(accountID, id int64) (keyplane.Webhook, error) {
	w, err := scanWebhook(t.queryRow(`SELECT `+webhookCols+` FROM webhooks WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, notFound("webhook", id)
	}
	return w, err
}

// Webhooks implements control.Tx: the account's webhooks, oldest first.
func (t *txn) Webhooks(accountID int64) ([]keyplane.Webhook, error) {
	rows, err := t.query(`SELECT `+webhookCols+` FROM webhooks WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []keyplane.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateWebhook implements control.Tx: it stores w's URL, description,
// events, state and update time.
func (t *txn) UpdateWebhook(w keyplane.Webhook) error {
	t.forgetTail() // the batch knows which accounts have webhooks
	res, err := t.exec(`UPDATE webhooks SET url = $1, description = $2, events = $3, updated_at = $4, disabled_at = $5, disabled_reason = $6
		WHERE account_id = $7 AND id = $8`,
		w.URL, w.Description, eventFilter(w.Events), ms(w.UpdatedAt), optMS(w.DisabledAt), nullText(w.DisabledReason), w.AccountID, w.ID)
	return oneRow(res, err, "webhook", w.ID)
}

// oneRow turns a statement that changed no row into NotFound.
func oneRow(res sql.Result, err error, what string, id int64) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// SetWebhookSecret implements control.Tx: secret becomes the signing
// secret; the one it replaces keeps signing beside it until previousUntil,
// or is dropped at once when previousUntil is nil.
func (t *txn) SetWebhookSecret(accountID, id int64, secret string, previousUntil *time.Time, at time.Time) error {
	var current string
	err := t.queryRow(`SELECT secret FROM webhooks WHERE account_id = $1 AND id = $2`, accountID, id).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("webhook", id)
	}
	if err != nil {
		return err
	}
	stored, err := t.sealWebhookSecret(id, "secret", secret)
	if err != nil {
		return err
	}
	var previous sql.NullString
	if previousUntil != nil {
		// Re-sealed to its new column: a sealed value opens only where it
		// was sealed for.
		old, err := t.openWebhookSecret(id, "secret", current)
		if err != nil {
			return err
		}
		if previous.String, err = t.sealWebhookSecret(id, "previous_secret", old); err != nil {
			return err
		}
		previous.Valid = true
	}
	_, err = t.exec(`UPDATE webhooks SET secret = $1, previous_secret = $2, previous_until = $3, updated_at = $4 WHERE id = $5`,
		stored, previous, optMS(previousUntil), ms(at), id)
	return err
}

// DeleteWebhook implements control.Tx: the webhook goes with its
// deliveries.
func (t *txn) DeleteWebhook(accountID, id int64) error {
	t.forgetTail() // the batch knows which accounts have webhooks
	if _, err := t.exec(`DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND account_id = $2`, id, accountID); err != nil {
		return err
	}
	res, err := t.exec(`DELETE FROM webhooks WHERE account_id = $1 AND id = $2`, accountID, id)
	return oneRow(res, err, "webhook", id)
}

// enqueueDeliveries is the outbox: it queues event e (stored as row) for
// every enabled webhook of its account that subscribes to its type, in
// the transaction that appends e. A test event goes to the webhook it
// names alone.
//
// The pattern is built in the statement, not bound whole: SQLite
// prepares a statement again at every binding of a parameter that is a
// LIKE's whole pattern (it may plan a range search on it), which for this
// statement, run with every audit event, was a fifth of the CPU of
// creating keysets.
func (t *txn) enqueueDeliveries(e *keyplane.AuditEvent, row int64) error {
	var onlyTo int64
	if e.Type == keyplane.EventWebhookTested {
		onlyTo = e.TargetID
	}
	res, err := t.exec(`INSERT INTO webhook_deliveries (webhook_id, account_id, event_row, event_id, event_type, status, attempts, created_at, next_attempt_at)
		SELECT w.id, w.account_id, CAST($2 AS BIGINT), CAST($3 AS BIGINT), CAST($4 AS TEXT), 'pending', 0, CAST($5 AS BIGINT), CAST($5 AS BIGINT) FROM webhooks w
		WHERE w.account_id = $1 AND w.disabled_at IS NULL
		AND (w.id = $6 OR ($6 = 0 AND (w.events = '*' OR w.events LIKE '%,' || CAST($4 AS TEXT) || ',%')))`,
		e.AccountID, row, e.ID, e.Type, ms(e.At), onlyTo)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		t.wake()
	}
	return nil
}

const deliveryCols = `d.webhook_id, d.account_id, d.event_id, d.event_type, d.status, d.attempts, d.created_at, d.first_attempt_at,
	d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.last_latency_ms, d.delivered_at`

func scanDelivery(sc interface{ Scan(...any) error }, extra ...any) (keyplane.WebhookDelivery, error) {
	var d keyplane.WebhookDelivery
	var created int64
	var first, next, last, delivered, status, latency sql.NullInt64
	var lastErr sql.NullString
	dest := append([]any{&d.WebhookID, &d.AccountID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &created, &first,
		&next, &last, &status, &lastErr, &latency, &delivered}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return d, err
	}
	d.CreatedAt, d.FirstAttemptAt, d.LastAttemptAt, d.DeliveredAt = fromMS(created), fromOptMS(first), fromOptMS(last), fromOptMS(delivered)
	if d.Status == keyplane.DeliveryPending {
		d.NextAttemptAt = fromOptMS(next)
	}
	d.LastStatus, d.LastError, d.LastLatency = int(status.Int64), lastErr.String, time.Duration(latency.Int64)*time.Millisecond
	return d, nil
}

// WebhookDeliveries implements control.Tx: the newest deliveries of one
// webhook of the account (with status, only those), newest first.
func (t *txn) WebhookDeliveries(accountID, webhookID int64, status keyplane.DeliveryStatus, limit int) ([]keyplane.WebhookDelivery, error) {
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries d WHERE d.account_id = $1 AND d.webhook_id = $2`
	args := []any{accountID, webhookID}
	if status != "" {
		q += ` AND d.status = $4`
		args = append(args, limit, string(status))
	} else {
		args = append(args, limit)
	}
	rows, err := t.query(q+` ORDER BY d.event_id DESC LIMIT $3`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []keyplane.WebhookDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// WebhookDelivery implements control.Tx: the delivery of the account's
// event eventID to one of its webhooks.
func (t *txn) WebhookDelivery(accountID, webhookID, eventID int64) (keyplane.WebhookDelivery, error) {
	d, err := scanDelivery(t.queryRow(`SELECT `+deliveryCols+` FROM webhook_deliveries d WHERE d.account_id = $1 AND d.webhook_id = $2 AND d.event_id = $3`,
		accountID, webhookID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound("delivery", eventID)
	}
	return d, err
}

// RestartWebhookDelivery implements control.Tx: the delivery starts a new
// run (a redelivery), due at once, with the same webhook-id.
func (t *txn) RestartWebhookDelivery(accountID, webhookID, eventID int64, at time.Time) error {
	res, err := t.exec(`UPDATE webhook_deliveries SET status = 'pending', attempts = 0, first_attempt_at = NULL, next_attempt_at = $1,
		lease_until = NULL, delivered_at = NULL WHERE account_id = $2 AND webhook_id = $3 AND event_id = $4`, ms(at), accountID, webhookID, eventID)
	t.wake()
	return oneRow(res, err, "delivery", eventID)
}

// wake has the delivery worker woken when this write commits: it made
// deliveries due.
func (t *txn) wake() {
	if t.tail != nil {
		t.tail.queued = true
	}
}

// RestartPendingDeliveries implements control.Tx: every pending delivery
// of the webhook starts a new run, due at once (an endpoint enabled again
// is given its whole schedule afresh).
func (t *txn) RestartPendingDeliveries(webhookID int64, at time.Time) error {
	_, err := t.exec(`UPDATE webhook_deliveries SET attempts = 0, first_attempt_at = NULL, next_attempt_at = $1, lease_until = NULL
		WHERE webhook_id = $2 AND status = 'pending'`, ms(at), webhookID)
	t.wake()
	return err
}

// dueCondition is what makes a delivery claimable at $1: pending, due, not
// leased (or its lease run out), to an enabled webhook.
const dueCondition = `d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
	AND w.disabled_at IS NULL`

// WebhookDeliveryDue implements control.Tx: whether a delivery can be
// claimed at now, and otherwise when the next one falls due (nil: none is
// pending). A read, so that idle workers poll without taking the write
// lock.
func (t *txn) WebhookDeliveryDue(now time.Time) (due bool, next *time.Time, err error) {
	var n sql.NullInt64
	err = t.queryRow(`SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.status = 'pending' AND w.disabled_at IS NULL AND (d.lease_until IS NULL OR d.lease_until <= $1)`, ms(now)).Scan(&n)
	if err != nil || !n.Valid {
		return false, nil, err
	}
	return n.Int64 <= ms(now), fromOptMS(n), nil
}

// ClaimWebhookDeliveries implements control.Tx: it leases up to max due
// deliveries until leaseUntil, counting an attempt on each, and returns
// them with their event, URL and signing secrets. One statement claims
// (an UPDATE of the rows a subquery picks); on PostgreSQL the subquery
// takes its rows FOR UPDATE SKIP LOCKED, so a claim never waits on rows
// another transaction holds. Writers are serialized besides (see
// group.go), so two claims never pick the same row; the lease is what
// keeps a row from being sent twice at once across replicas.
func (t *txn) ClaimWebhookDeliveries(now, leaseUntil time.Time, max int) ([]control.WebhookDispatch, error) {
	lock := ""
	if t.engine == "postgres" {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	rows, err := t.query(`UPDATE webhook_deliveries SET lease_until = $2, attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, $1)
		WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE `+dueCondition+`
			ORDER BY d.next_attempt_at, d.id LIMIT $3`+lock+`)
		RETURNING id`, ms(now), ms(leaseUntil), max)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, err
	}
	// The ids go as one JSON array, so that the statement is the same
	// text each time, prepared once, however many were claimed.
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	in := `SELECT value FROM json_each($1)`
	if t.engine == "postgres" {
		in = `SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON))`
	}
	rows, err = t.query(`SELECT `+deliveryCols+`, w.url, w.secret, w.previous_secret, w.previous_until, `+qualified("a", auditCols)+`
		FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN audit_events a ON a.id = d.event_row
		WHERE d.id IN (`+in+`) ORDER BY d.next_attempt_at, d.id`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []control.WebhookDispatch
	for rows.Next() {
		var x control.WebhookDispatch
		var secret string
		var previous sql.NullString
		var previousUntil sql.NullInt64
		var ev auditRow
		var at int64
		var actor string
		var before, after sql.NullString
		d, err := scanDelivery(rows, &x.URL, &secret, &previous, &previousUntil,
			&ev.e.ID, &ev.e.AccountID, &at, &ev.e.Type, &actor, &ev.e.TargetType, &ev.e.TargetID,
			&before, &after, &ev.e.PrevHash, &ev.e.Hash, &ev.actorType, &ev.actorID)
		if err != nil {
			return nil, err
		}
		x.Delivery = d
		s, err := t.openWebhookSecret(d.WebhookID, "secret", secret)
		if err != nil {
			return nil, err
		}
		x.Secrets = []string{s}
		if previous.Valid && previousUntil.Int64 > ms(now) {
			p, err := t.openWebhookSecret(d.WebhookID, "previous_secret", previous.String)
			if err != nil {
				return nil, err
			}
			x.Secrets = append(x.Secrets, p)
		}
		ev.e.At = fromMS(at)
		if before.Valid {
			ev.e.Before = []byte(before.String)
		}
		if after.Valid {
			ev.e.After = []byte(after.String)
		}
		if ev.e.PrevHash == nil {
			ev.e.PrevHash = []byte{}
		}
		// As scanAuditRow: an actor that is not our JSON stays zero.
		json.Unmarshal([]byte(actor), &ev.e.Actor)
		x.Event = ev.e
		out = append(out, x)
	}
	return out, rows.Err()
}

// RecordWebhookAttempt implements control.Tx: it writes the outcome of
// attempt a.Attempt of a delivery, unless the delivery was claimed again
// (its lease ran out) or restarted meanwhile: applied is false then, and
// nothing changes.
func (t *txn) RecordWebhookAttempt(a control.WebhookAttempt) (applied bool, err error) {
	var latency sql.NullInt64
	if a.Answered || a.Latency > 0 {
		latency = sql.NullInt64{Int64: a.Latency.Milliseconds(), Valid: true}
	}
	var status sql.NullInt64
	if a.Status != 0 {
		status = sql.NullInt64{Int64: int64(a.Status), Valid: true}
	}
	var delivered sql.NullInt64
	if a.Outcome == keyplane.DeliveryDelivered {
		delivered = sql.NullInt64{Int64: ms(a.At), Valid: true}
	}
	res, err := t.exec(`UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, lease_until = NULL, last_attempt_at = $3,
		last_status = $4, last_error = $5, last_latency_ms = $6, delivered_at = $7
		WHERE account_id = $8 AND webhook_id = $9 AND event_id = $10 AND attempts = $11 AND status = 'pending' AND lease_until IS NOT NULL`,
		string(a.Outcome), optMS(a.Next), ms(a.At), status, nullText(a.Error), latency, delivered,
		a.AccountID, a.WebhookID, a.EventID, a.Attempt)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseWebhookDelivery implements control.Tx: a claimed delivery that
// was not attempted after all (its server is stopping) is handed back,
// due at once, without counting the attempt.
func (t *txn) ReleaseWebhookDelivery(accountID, webhookID, eventID int64, attempt int) error {
	_, err := t.exec(`UPDATE webhook_deliveries SET lease_until = NULL, attempts = attempts - 1,
		first_attempt_at = CASE WHEN attempts = 1 THEN NULL ELSE first_attempt_at END
		WHERE account_id = $1 AND webhook_id = $2 AND event_id = $3 AND attempts = $4 AND status = 'pending' AND lease_until IS NOT NULL`,
		accountID, webhookID, eventID, attempt)
	t.wake()
	return err
}

// qualified prefixes each column of a column list with table alias t.
func qualified(t, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = t + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
