package control

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/keyplane/keyplane"
)

// WebhookTx reads and changes webhook endpoints and their outbox. The
// outbox itself is filled by AppendAudit: every event appended is queued,
// in the same transaction, for each enabled webhook of its account that
// wants it.
type WebhookTx interface {
	// InsertWebhook adds a webhook with its secret (stored sealed),
	// setting its ID.
	InsertWebhook(w *keyplane.Webhook) error
	// Webhook and Webhooks read an account's webhooks, without secrets;
	// NotFound when the account has no such webhook.
	Webhook(accountID, id int64) (keyplane.Webhook, error)
	Webhooks(accountID int64) ([]keyplane.Webhook, error)
	// UpdateWebhook stores w's URL, description, events, state and update
	// time.
	UpdateWebhook(w keyplane.Webhook) error
	// SetWebhookSecret replaces the signing secret; the old one keeps
	// signing beside it until previousUntil (nil: it goes at once).
	SetWebhookSecret(accountID, id int64, secret string, previousUntil *time.Time, at time.Time) error
	// DeleteWebhook deletes a webhook and its deliveries.
	DeleteWebhook(accountID, id int64) error
	// WebhookDeliveries lists a webhook's newest deliveries, newest first,
	// only those with status when it is not empty.
	WebhookDeliveries(accountID, webhookID int64, status keyplane.DeliveryStatus, limit int) ([]keyplane.WebhookDelivery, error)
	// WebhookDelivery is the delivery of event eventID to a webhook.
	WebhookDelivery(accountID, webhookID, eventID int64) (keyplane.WebhookDelivery, error)
	// RestartWebhookDelivery makes a delivery pending again, due at, with
	// a new run of attempts.
	RestartWebhookDelivery(accountID, webhookID, eventID int64, at time.Time) error
	// RestartPendingDeliveries gives each pending delivery of a webhook a
	// new run of attempts, due at.
	RestartPendingDeliveries(webhookID int64, at time.Time) error

	// WebhookDeliveryDue tells whether a delivery of any account can be
	// claimed at now and, if not, when the next falls due (nil: none).
	WebhookDeliveryDue(now time.Time) (due bool, next *time.Time, err error)
	// ClaimWebhookDeliveries leases up to max due deliveries until
	// leaseUntil, counting an attempt on each.
	ClaimWebhookDeliveries(now, leaseUntil time.Time, max int) ([]WebhookDispatch, error)
	// RecordWebhookAttempt writes an attempt's outcome, unless the
	// delivery was claimed again or restarted since (applied false).
	RecordWebhookAttempt(a WebhookAttempt) (applied bool, err error)
	// ReleaseWebhookDelivery hands back a claimed delivery that was not
	// attempted, without counting the attempt.
	ReleaseWebhookDelivery(accountID, webhookID, eventID int64, attempt int) error
}

// WebhookDispatch is a claimed delivery with what sending it takes: the
// receiver's URL, the signing secrets (the current one first, then one
// still in its rotation overlap) and the event.
type WebhookDispatch struct {
	Delivery keyplane.WebhookDelivery
	URL      string
	Secrets  []string
	Event    keyplane.AuditEvent
}

// WebhookAttempt is the outcome of one attempt as it is stored.
type WebhookAttempt struct {
	AccountID, WebhookID, EventID int64
	// Attempt is the attempt's number in its run: the fence against a
	// later claim of the same delivery.
	Attempt int
	At      time.Time
	// Outcome is where the delivery now stands; Next is its next attempt
	// while it is pending.
	Outcome keyplane.DeliveryStatus
	Next    *time.Time
	// Answered tells whether the receiver answered; Status is its HTTP
	// status then. Error says what went wrong, "" after a 2xx.
	Answered bool
	Status   int
	Error    string
	Latency  time.Duration
}

// WebhookConfig is how this server treats webhook destinations.
type WebhookConfig struct {
	// AllowPrivate lets webhooks be registered for (and sent to)
	// loopback, private and link-local destinations, and over plain
	// http: for tests and internal receivers (serve
	// --webhooks-allow-private).
	AllowPrivate bool
	// Resolve finds the addresses of a host name; nil means the system
	// resolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// OnDisabled is told when the delivery worker disables a webhook (a
	// 410, or a day of failures), after the change is committed and
	// audited, and after the account's Owners are e-mailed (where a
	// Mailer is set): for whatever else should hear of it. nil: the
	// e-mail, the audit event, the log and the portal's banner are all.
	OnDisabled func(ctx context.Context, w keyplane.Webhook)
}

// ConfigureWebhooks sets how this server treats webhook destinations.
// Call it before serving.
func (s *Service) ConfigureWebhooks(c WebhookConfig) { s.webhookConfig = c }

// WebhooksAllowPrivate tells whether private destinations are allowed.
func (s *Service) WebhooksAllowPrivate() bool { return s.webhookConfig.AllowPrivate }

// resolveTimeout bounds the name lookup of a webhook URL's host.
const resolveTimeout = 5 * time.Second

// checkWebhookURL validates a receiver's URL and, unless private targets
// are allowed, resolves its host and refuses it when any address it
// resolves to is one webhooks may not reach. The delivery worker checks
// again on each connection it makes: a name may resolve elsewhere later.
func (s *Service) checkWebhookURL(ctx context.Context, field, raw string) error {
	u, msg := keyplane.ParseWebhookURL(field, raw, s.webhookConfig.AllowPrivate)
	if msg != "" {
		return keyplane.Invalid(msg)
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil || s.webhookConfig.AllowPrivate {
		return nil // an address was checked by ParseWebhookURL
	}
	resolve := s.webhookConfig.Resolve
	if resolve == nil {
		resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := resolve(ctx, host)
	if err != nil || len(addrs) == 0 {
		return keyplane.Errorf(keyplane.CodeInvalid, "%s: the host %s does not resolve to an address", field, clip(host))
	}
	for _, a := range addrs {
		if why := keyplane.ForbiddenAddress(a); why != "" {
			return keyplane.Errorf(keyplane.CodeInvalid, "%s: %s resolves to %s, %s; webhooks are not sent into private networks", field, clip(host), a.Unmap(), why)
		}
	}
	return nil
}

// webhookView is what the audit log records of a webhook: never its
// secret.
func webhookView(w keyplane.Webhook) any {
	v := map[string]any{"id": w.ID, "url": w.URL, "description": w.Description, "events": w.Events, "enabled": w.Enabled()}
	if w.DisabledReason != "" {
		v["disabledReason"] = w.DisabledReason
	}
	return v
}

// NewWebhook is what registering a webhook takes.
type NewWebhook struct {
	URL         string
	Description string
	Events      []string
}

// CreateWebhook registers a webhook of p's account. Its signing secret is
// in the answer, the only time it is shown.
func (s *Service) CreateWebhook(ctx context.Context, p keyplane.Principal, n NewWebhook) (w keyplane.Webhook, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpCreateWebhook.Needs...); err != nil {
		return w, err
	}
	events, emsg := keyplane.ValidateWebhookEvents("events", n.Events)
	if err := keyplane.Invalid(nonEmpty(emsg, keyplane.ValidateWebhookDescription("description", n.Description))...); err != nil {
		return w, err
	}
	if err := s.checkWebhookURL(ctx, "url", n.URL); err != nil {
		return w, err
	}
	secret, err := keyplane.NewWebhookSecret(s.rand)
	if err != nil {
		return w, err
	}
	now := s.clock()
	w = keyplane.Webhook{AccountID: p.AccountID, URL: n.URL, Description: n.Description, Events: events, Secret: secret, CreatedAt: now, UpdatedAt: now}
	err = s.store.Write(ctx, func(tx Tx) error {
		have, err := tx.Webhooks(p.AccountID)
		if err != nil {
			return err
		}
		if len(have) >= keyplane.MaxWebhooks {
			return keyplane.Errorf(keyplane.CodeConflict, "the account has %d webhooks, the most it may hold; delete one first", len(have))
		}
		if err := tx.InsertWebhook(&w); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventWebhookCreated, keyplane.WebhookTarget, w.ID, nil, webhookView(w))
	})
	return w, err
}

// ListWebhooks lists p's account's webhooks, oldest first.
func (s *Service) ListWebhooks(ctx context.Context, p keyplane.Principal) (ws []keyplane.Webhook, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpListWebhooks.Needs...); err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		ws, err = tx.Webhooks(p.AccountID)
		return err
	})
	return ws, err
}

// GetWebhook reads one webhook of p's account.
func (s *Service) GetWebhook(ctx context.Context, p keyplane.Principal, id int64) (w keyplane.Webhook, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpGetWebhook.Needs...); err != nil {
		return w, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		w, err = tx.Webhook(p.AccountID, id)
		return err
	})
	return w, err
}

// WebhookPatch is a change of a webhook: the fields set change.
type WebhookPatch struct {
	URL         *string
	Description *string
	Events      []string // nil: unchanged
	Enabled     *bool
}

// UpdateWebhook changes a webhook of p's account. Enabling a disabled one
// gives its pending deliveries their whole schedule afresh, due at once.
func (s *Service) UpdateWebhook(ctx context.Context, p keyplane.Principal, id int64, c WebhookPatch) (w keyplane.Webhook, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpUpdateWebhook.Needs...); err != nil {
		return w, err
	}
	var msgs []string
	var events []string
	if c.Events != nil {
		var m string
		events, m = keyplane.ValidateWebhookEvents("events", c.Events)
		msgs = append(msgs, m)
	}
	if c.Description != nil {
		msgs = append(msgs, keyplane.ValidateWebhookDescription("description", *c.Description))
	}
	if err := keyplane.Invalid(nonEmpty(msgs...)...); err != nil {
		return w, err
	}
	if c.URL != nil {
		if err := s.checkWebhookURL(ctx, "url", *c.URL); err != nil {
			return w, err
		}
	}
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		old, err := tx.Webhook(p.AccountID, id)
		if err != nil {
			return err
		}
		w = old
		if c.URL != nil {
			w.URL = *c.URL
		}
		if c.Description != nil {
			w.Description = *c.Description
		}
		if events != nil {
			w.Events = events
		}
		enabling := false
		if c.Enabled != nil && *c.Enabled != old.Enabled() {
			if *c.Enabled {
				w.DisabledAt, w.DisabledReason, enabling = nil, "", true
			} else {
				w.DisabledAt, w.DisabledReason = &now, keyplane.DisabledByRequest
			}
		}
		before, after := webhookView(old), webhookView(w)
		if fmt.Sprint(before) == fmt.Sprint(after) {
			return nil // nothing changes: nothing to record
		}
		w.UpdatedAt = now
		if err := tx.UpdateWebhook(w); err != nil {
			return err
		}
		if enabling {
			if err := tx.RestartPendingDeliveries(w.ID, now); err != nil {
				return err
			}
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventWebhookUpdated, keyplane.WebhookTarget, w.ID, before, after)
	})
	return w, err
}

// DeleteWebhook deletes a webhook of p's account with its deliveries.
func (s *Service) DeleteWebhook(ctx context.Context, p keyplane.Principal, id int64) error {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpDeleteWebhook.Needs...); err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error {
		w, err := tx.Webhook(p.AccountID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteWebhook(p.AccountID, id); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventWebhookDeleted, keyplane.WebhookTarget, id, webhookView(w), nil)
	})
}

// MaxWebhookSecretOverlap bounds how long a rotated-out signing secret may
// keep signing beside the new one.
const MaxWebhookSecretOverlap = 7 * 24 * time.Hour

// RotateWebhookSecret gives a webhook of p's account a new signing secret,
// answered once. With previousUntil, the old secret keeps signing too
// (each delivery then carries two signatures, as the Standard Webhooks
// specification allows) until then, at most MaxWebhookSecretOverlap
// ahead, so receivers can switch without refusing a delivery; without it
// the old secret stops at once.
func (s *Service) RotateWebhookSecret(ctx context.Context, p keyplane.Principal, id int64, previousUntil *time.Time) (w keyplane.Webhook, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpRotateWebhookSecret.Needs...); err != nil {
		return w, err
	}
	now := s.clock()
	if previousUntil != nil {
		switch {
		case !previousUntil.After(now):
			return w, keyplane.Errorf(keyplane.CodeInvalid, "previousExpiresAt: must be in the future")
		case previousUntil.Sub(now) > MaxWebhookSecretOverlap:
			return w, keyplane.Errorf(keyplane.CodeInvalid, "previousExpiresAt: at most 7 days ahead")
		}
		t := previousUntil.UTC().Truncate(time.Millisecond)
		previousUntil = &t
	}
	secret, err := keyplane.NewWebhookSecret(s.rand)
	if err != nil {
		return w, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if w, err = tx.Webhook(p.AccountID, id); err != nil {
			return err
		}
		if err := tx.SetWebhookSecret(p.AccountID, id, secret, previousUntil, now); err != nil {
			return err
		}
		w.Secret, w.UpdatedAt = secret, now
		after := map[string]any{"previousSecretExpiresAt": nil}
		if previousUntil != nil {
			after["previousSecretExpiresAt"] = keyplane.FormatTime(*previousUntil)
		}
		return s.record(tx, p.Actor(), p.AccountID, keyplane.EventWebhookSecretRotated, keyplane.WebhookTarget, id, nil, after)
	})
	return w, err
}

// TestWebhook sends a test event to one enabled webhook of p's account: a
// WebhookTested event, recorded like any other and delivered to that
// webhook alone, whatever its events. It answers the delivery queued.
func (s *Service) TestWebhook(ctx context.Context, p keyplane.Principal, id int64) (d keyplane.WebhookDelivery, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpTestWebhook.Needs...); err != nil {
		return d, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		w, err := tx.Webhook(p.AccountID, id)
		if err != nil {
			return err
		}
		if !w.Enabled() {
			return keyplane.Errorf(keyplane.CodeConflict, "webhook %d is disabled (%s); enable it first (PATCH enabled: true)", id, w.DisabledReason)
		}
		e := keyplane.AuditEvent{AccountID: p.AccountID, At: s.clock(), Type: keyplane.EventWebhookTested, Actor: p.Actor(),
			TargetType: keyplane.WebhookTarget, TargetID: id,
			After: fmt.Appendf(nil, `{"test":true,"url":%q}`, w.URL)}
		if err := tx.AppendAudit(&e); err != nil {
			return err
		}
		d, err = tx.WebhookDelivery(p.AccountID, id, e.ID)
		return err
	})
	return d, err
}

// ListWebhookDeliveries lists the newest deliveries of a webhook of p's
// account, newest first: limit of them (DefaultDeliveriesLimit when 0),
// of one status when status is set.
func (s *Service) ListWebhookDeliveries(ctx context.Context, p keyplane.Principal, id int64, status keyplane.DeliveryStatus, limit int) (ds []keyplane.WebhookDelivery, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpListWebhookDeliveries.Needs...); err != nil {
		return nil, err
	}
	if limit < 1 || limit > keyplane.MaxDeliveriesLimit {
		limit = keyplane.DefaultDeliveriesLimit
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		if _, err := tx.Webhook(p.AccountID, id); err != nil {
			return err
		}
		ds, err = tx.WebhookDeliveries(p.AccountID, id, status, limit)
		return err
	})
	return ds, err
}

// RetryWebhookDelivery sends a delivery of a webhook of p's account again,
// at once, whatever its state: a new run of attempts with the same
// webhook-id, so a receiver that has it already can tell.
func (s *Service) RetryWebhookDelivery(ctx context.Context, p keyplane.Principal, id, eventID int64) (d keyplane.WebhookDelivery, err error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpRetryWebhookDelivery.Needs...); err != nil {
		return d, err
	}
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) error {
		w, err := tx.Webhook(p.AccountID, id)
		if err != nil {
			return err
		}
		if _, err := tx.WebhookDelivery(p.AccountID, id, eventID); err != nil {
			return err
		}
		if !w.Enabled() {
			return keyplane.Errorf(keyplane.CodeConflict, "webhook %d is disabled (%s); enable it first (PATCH enabled: true)", id, w.DisabledReason)
		}
		if err := tx.RestartWebhookDelivery(p.AccountID, id, eventID, now); err != nil {
			return err
		}
		if err := s.record(tx, p.Actor(), p.AccountID, keyplane.EventWebhookRedelivered, keyplane.WebhookTarget, id,
			nil, map[string]any{"eventId": eventID}); err != nil {
			return err
		}
		d, err = tx.WebhookDelivery(p.AccountID, id, eventID)
		return err
	})
	return d, err
}

// DeliveryNotifier is what a Store offers, if it can, to wake the
// delivery worker: its channel has a value after a commit of this process
// made webhook deliveries due.
type DeliveryNotifier interface {
	DeliveriesQueued() <-chan struct{}
}

// WebhookDeliveriesQueued is the store's DeliveryNotifier channel, or nil
// (which never has a value) when the store offers none: the worker then
// finds work by polling alone, as it does for other replicas' events.
func (s *Service) WebhookDeliveriesQueued() <-chan struct{} {
	if n, ok := s.raw.(DeliveryNotifier); ok {
		return n.DeliveriesQueued()
	}
	return nil
}

// The delivery worker's operations. They act for the install
// (keyplane.InstallOperator), since deliveries of every account share one
// outbox.

// workerOnly refuses the worker's operations to anyone but the install's
// operator.
func workerOnly(p keyplane.Principal) error {
	if !p.Operator || p.AccountID != 0 {
		return keyplane.Errorf(keyplane.CodeForbidden, "only the server's delivery worker (the install's operator) sends webhooks")
	}
	return nil
}

// ClaimWebhookDeliveries leases up to max deliveries due now for lease,
// counting an attempt on each. When none is due it claims nothing and
// answers when the next falls due (nil: none is pending); it only reads
// then, so an idle worker never takes the write lock.
func (s *Service) ClaimWebhookDeliveries(ctx context.Context, p keyplane.Principal, lease time.Duration, max int) (ds []WebhookDispatch, next *time.Time, err error) {
	if err := workerOnly(p); err != nil {
		return nil, nil, err
	}
	now := s.clock()
	var due bool
	err = s.store.Read(ctx, func(tx Tx) error {
		due, next, err = tx.WebhookDeliveryDue(now)
		return err
	})
	if err != nil || !due {
		return nil, next, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		ds, err = tx.ClaimWebhookDeliveries(now, now.Add(lease), max)
		return err
	})
	return ds, nil, err
}

// AttemptResult is what one attempt to send a delivery found.
type AttemptResult struct {
	// Answered: the receiver answered, with HTTP status Status.
	Answered bool
	Status   int
	// Error says what went wrong (a refused connection, a timeout, a
	// destination refused), empty when the receiver answered.
	Error   string
	Latency time.Duration
}

// WebhookOutcome is how one claimed delivery ended in the worker: an
// attempt with its Result, or, when Released, not attempted at all (its
// server is stopping).
type WebhookOutcome struct {
	Dispatch WebhookDispatch
	Result   AttemptResult
	Released bool
}

// FinishWebhookDelivery records the result of an attempt of d: a 2xx
// delivers it; a 410 gives it up and disables its webhook; any other
// result schedules the next attempt (keyplane.WebhookRetrySchedule) or,
// when the schedule has run out, gives it up and disables its webhook.
// Disabling is audited as WebhookDisabled by keyplane.WebhookActor,
// e-mailed to the account's Owners (with a Mailer), and told to
// WebhookConfig.OnDisabled. A result that comes after the
// delivery was claimed again changes nothing.
func (s *Service) FinishWebhookDelivery(ctx context.Context, p keyplane.Principal, d WebhookDispatch, r AttemptResult) error {
	return s.FinishWebhookDeliveries(ctx, p, []WebhookOutcome{{Dispatch: d, Result: r}})
}

// ReleaseWebhookDelivery hands back a claimed delivery that was not
// attempted (its server is stopping), due at once and its attempt not
// counted, so another worker need not wait for the lease to run out.
func (s *Service) ReleaseWebhookDelivery(ctx context.Context, p keyplane.Principal, d WebhookDispatch) error {
	return s.FinishWebhookDeliveries(ctx, p, []WebhookOutcome{{Dispatch: d, Released: true}})
}

// FinishWebhookDeliveries records many outcomes in one transaction, each
// as FinishWebhookDelivery or ReleaseWebhookDelivery would: the worker
// gathers the attempts that end while it waits for a commit, so the
// deliveries cost a commit for many rather than one each. Should that
// transaction fail, each outcome is tried in a transaction of its own, so
// one that cannot be recorded does not hold back the others; the error
// is then the first of those.
func (s *Service) FinishWebhookDeliveries(ctx context.Context, p keyplane.Principal, outs []WebhookOutcome) error {
	if err := workerOnly(p); err != nil {
		return err
	}
	if len(outs) == 0 {
		return nil
	}
	now := s.clock()
	var disabled []keyplane.Webhook
	err := s.store.Write(ctx, func(tx Tx) error {
		disabled = disabled[:0]
		for _, o := range outs {
			w, err := s.recordOutcome(tx, o, now)
			if err != nil {
				return err
			}
			if w != nil {
				disabled = append(disabled, *w)
			}
		}
		return nil
	})
	if err != nil && len(outs) > 1 {
		err = nil
		disabled = disabled[:0]
		for _, o := range outs {
			var w *keyplane.Webhook
			e := s.store.Write(ctx, func(tx Tx) error {
				var err error
				w, err = s.recordOutcome(tx, o, now)
				return err
			})
			switch {
			case e != nil && err == nil:
				err = e
			case e == nil && w != nil:
				disabled = append(disabled, *w)
			}
		}
	}
	for _, w := range disabled {
		s.log.Warn("webhook disabled", "accountId", w.AccountID, "webhookId", w.ID, "reason", w.DisabledReason)
		s.mailWebhookDisabled(ctx, w)
		if s.webhookConfig.OnDisabled != nil {
			s.webhookConfig.OnDisabled(ctx, w)
		}
	}
	return err
}

// recordOutcome writes one outcome in tx and answers the webhook it
// disabled, if it did.
func (s *Service) recordOutcome(tx Tx, o WebhookOutcome, now time.Time) (*keyplane.Webhook, error) {
	del, r := o.Dispatch.Delivery, o.Result
	if o.Released {
		return nil, tx.ReleaseWebhookDelivery(del.AccountID, del.WebhookID, del.EventID, del.Attempts)
	}
	a := WebhookAttempt{AccountID: del.AccountID, WebhookID: del.WebhookID, EventID: del.EventID, Attempt: del.Attempts, At: now,
		Answered: r.Answered, Status: r.Status, Error: r.Error, Latency: r.Latency, Outcome: keyplane.DeliveryPending}
	disable := ""
	switch {
	case r.Answered && r.Status >= 200 && r.Status < 300:
		a.Outcome = keyplane.DeliveryDelivered
	case r.Answered && r.Status == 410:
		a.Outcome, disable = keyplane.DeliveryFailed, keyplane.DisabledGone
	default:
		first := now
		if del.FirstAttemptAt != nil {
			first = *del.FirstAttemptAt
		}
		next, giveUp := keyplane.NextWebhookAttempt(first, del.Attempts, now)
		if giveUp {
			a.Outcome, disable = keyplane.DeliveryFailed, keyplane.DisabledFailing
		} else {
			a.Next = &next
		}
	}
	if r.Answered && a.Outcome != keyplane.DeliveryDelivered && a.Error == "" {
		a.Error = fmt.Sprintf("the receiver answered %d", r.Status)
	}
	applied, err := tx.RecordWebhookAttempt(a)
	if err != nil || !applied || disable == "" {
		return nil, err
	}
	w, err := tx.Webhook(del.AccountID, del.WebhookID)
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
		return nil, nil // deleted meanwhile
	}
	if err != nil || !w.Enabled() {
		return nil, err
	}
	before := webhookView(w)
	w.DisabledAt, w.DisabledReason, w.UpdatedAt = &now, disable, now
	if err := tx.UpdateWebhook(w); err != nil {
		return nil, err
	}
	return &w, s.record(tx, keyplane.WebhookActor, w.AccountID, keyplane.EventWebhookDisabled, keyplane.WebhookTarget, w.ID, before, webhookView(w))
}
