// Package webhook sends the webhook outbox: a worker, run by every
// replica's server, claims due deliveries from the database, POSTs each
// event to its receiver signed as the Standard Webhooks specification
// says, and records the outcome through control, which decides retries
// and disabling. Connections are guarded against server-side request
// forgery on the address actually dialed.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/buildinfo"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// Defaults of Options.
const (
	DefaultPoll  = 500 * time.Millisecond
	DefaultLease = time.Minute
	// DefaultSenders is how many attempts may be in flight at once. A slot
	// is held for the HTTP exchange alone (the outcome is recorded apart),
	// so this bounds how many slow receivers can be waited on together.
	DefaultSenders = 64
	// DefaultTimeout bounds one attempt, from dialing to the answer's
	// headers: well inside the lease, so a claim never runs out while its
	// attempt is still going.
	DefaultTimeout = 15 * time.Second
	// maxRecord bounds the outcomes recorded in one transaction.
	maxRecord = 256
	// recordTimeout bounds the recording of outcomes.
	recordTimeout = 10 * time.Second
)

// Options adjusts a Worker; the zero value serves production.
type Options struct {
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses and use plain http (serve --webhooks-allow-private).
	AllowPrivate bool
	// Client sends the deliveries; nil means NewClient(AllowPrivate,
	// DefaultTimeout), keeping up to Senders idle connections to each
	// receiver. A client given here must guard its own dialing.
	Client *http.Client
	// Now is the clock of the webhook-timestamp header: the clock the
	// Service schedules by (nil: the wall clock).
	Now func() time.Time
	// Poll is how often an idle worker looks for due deliveries. Events
	// committed by this process wake it at once; the poll finds those of
	// other replicas, and retries falling due.
	Poll time.Duration
	// Lease is how long a claimed delivery is kept from other workers: if
	// this one dies, another takes the delivery once the lease runs out.
	Lease time.Duration
	// Senders bounds the deliveries in flight at once (0: DefaultSenders).
	Senders int
	Logger  *slog.Logger
}

// Worker delivers the outbox until its context ends.
type Worker struct {
	svc    *control.Service
	o      Options
	client *http.Client
	// wait is how long after its claim a delivery may still be sent.
	wait  time.Duration
	agent string
}

// New returns a worker delivering svc's outbox.
func New(svc *control.Service, o Options) *Worker {
	if o.Now == nil {
		o.Now = wallclock.Now
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Senders <= 0 {
		o.Senders = DefaultSenders
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := o.Client
	if c == nil {
		c = NewClient(o.AllowPrivate, DefaultTimeout)
		// Every slot may be sending to the same receiver: each keeps its
		// connection rather than dialing anew.
		c.Transport.(*http.Transport).MaxIdleConnsPerHost = o.Senders
	}
	// A delivery is sent only if its attempt and the recording of the
	// outcome fit in what is left of its lease.
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	wait := o.Lease - timeout - recordTimeout
	if wait <= 0 {
		wait = o.Lease / 4
	}
	return &Worker{svc: svc, o: o, client: c, wait: wait, agent: "Keyplane-Webhooks/" + buildinfo.Read().Version}
}

// claimAhead is how many deliveries per sending slot the worker keeps
// claimed: a claim costs a commit, so under a stream of events each claim
// takes what became due while the last one committed, and the senders
// find the next delivery waiting when they finish one.
const claimAhead = 4

// Run delivers until ctx ends, then waits for the deliveries in flight:
// those cut short are handed back to the outbox, not counted as attempts.
//
// Three parts work together. The loop below claims due deliveries, up to
// claimAhead per slot, in one transaction, when this process commits an
// event that queues some (the store's notice), when a claimed delivery is
// done with while there is more to do, and at each poll. Each claimed
// delivery has a goroutine that waits for a sending slot, sends it, frees
// the slot as soon as the receiver has answered and hands the outcome to
// the recorder, which writes the outcomes gathered while it waited for
// the previous commit all in one transaction. A delivery stays leased
// until its outcome is recorded, so no other worker sends it meanwhile;
// one that waited so long for a slot that its lease could run out
// during the attempt is handed back unsent.
func (w *Worker) Run(ctx context.Context) {
	slots := make(chan struct{}, w.o.Senders)
	held := make(chan struct{}, claimAhead*w.o.Senders)
	freed := make(chan struct{}, 1)
	// Outcomes wait here for the recorder. When it falls this far
	// behind, senders wait with their deliveries held, which slows the
	// claims to the pace of the recording.
	outcomes := make(chan control.WebhookOutcome, maxRecord)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		w.record(context.WithoutCancel(ctx), outcomes)
	}()
	var senders sync.WaitGroup
	defer func() {
		// The outcomes of the attempts in flight are still recorded.
		senders.Wait()
		close(outcomes)
		<-recorded
	}()
	queued := w.svc.WebhookDeliveriesQueued()
	timer := time.NewTimer(w.o.Poll)
	defer timer.Stop()
	for {
		free := cap(held) - len(held)
		claimed := 0
		if free > 0 {
			at := time.Now()
			ds, _, err := w.svc.ClaimWebhookDeliveries(ctx, keyplane.InstallOperator, w.o.Lease, free)
			if err != nil && ctx.Err() == nil {
				w.o.Logger.Warn("webhook outbox", "err", err)
			}
			claimed = len(ds)
			for _, d := range ds {
				held <- struct{}{}
				senders.Go(func() {
					var o control.WebhookOutcome
					select {
					case slots <- struct{}{}:
						o = w.send(ctx, d, at)
						<-slots
					case <-ctx.Done():
						o = control.WebhookOutcome{Dispatch: d, Released: true}
					}
					outcomes <- o
					<-held
					select {
					case freed <- struct{}{}:
					default:
					}
				})
			}
		}
		switch {
		case claimed > 0 && claimed == free:
			continue // as many as asked for: more may be due
		case free == 0:
			// As many claimed as may be: look again when one is done.
			select {
			case <-ctx.Done():
				return
			case <-freed:
			}
			continue
		}
		// Nothing more is due: look again when told, or after the poll.
		timer.Reset(w.o.Poll)
		select {
		case <-ctx.Done():
			return
		case <-queued:
		case <-timer.C:
		}
	}
}

// send makes one attempt of d, claimed at claimed, or none if the server
// is stopping or d's lease could run out before the attempt ends.
func (w *Worker) send(ctx context.Context, d control.WebhookDispatch, claimed time.Time) control.WebhookOutcome {
	if ctx.Err() != nil || time.Since(claimed) > w.wait {
		return control.WebhookOutcome{Dispatch: d, Released: true}
	}
	r := w.attempt(ctx, d)
	// An attempt cut short by the stop, unanswered, is handed back: it
	// is not the receiver's failure.
	return control.WebhookOutcome{Dispatch: d, Result: r, Released: ctx.Err() != nil && !r.Answered}
}

// record writes the outcomes until the channel closes: each time, those
// that arrived while the last were being written, up to maxRecord, in
// one transaction. The outcomes are recorded even while the server
// stops: an attempt made must be counted, or its answer would be lost.
func (w *Worker) record(ctx context.Context, outcomes <-chan control.WebhookOutcome) {
	batch := make([]control.WebhookOutcome, 0, maxRecord)
	for o := range outcomes {
		batch = append(batch[:0], o)
	gather:
		for len(batch) < maxRecord {
			select {
			case o, ok := <-outcomes:
				if !ok {
					break gather
				}
				batch = append(batch, o)
			default:
				break gather
			}
		}
		rctx, cancel := context.WithTimeout(ctx, recordTimeout)
		if err := w.svc.FinishWebhookDeliveries(rctx, keyplane.InstallOperator, batch); err != nil {
			w.o.Logger.Warn("recording webhook attempts", "deliveries", len(batch), "err", err)
		}
		cancel()
	}
}

// attempt POSTs d's event to its receiver, signed.
func (w *Worker) attempt(ctx context.Context, d control.WebhookDispatch) control.AttemptResult {
	if _, msg := keyplane.ParseWebhookURL("url", d.URL, w.o.AllowPrivate); msg != "" {
		return control.AttemptResult{Error: "not sent: " + msg}
	}
	body, err := keyplane.EncodeAuditEvent(d.Event)
	if err != nil {
		return control.AttemptResult{Error: "not sent: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, strings.NewReader(string(body)))
	if err != nil {
		return control.AttemptResult{Error: "not sent: " + err.Error()}
	}
	if err := Sign(req.Header, d.Delivery.MessageID(), w.o.Now(), body, d.Secrets); err != nil {
		return control.AttemptResult{Error: "not sent: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.agent)
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		return control.AttemptResult{Error: describe(err), Latency: time.Since(start)}
	}
	// Read a little of the answer so the connection can be kept, and no
	// more: what a receiver says is not stored.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return control.AttemptResult{Answered: true, Status: resp.StatusCode, Latency: time.Since(start)}
}

// Sign sets the Standard Webhooks headers of a delivery on h: webhook-id
// (msgID, the same on every attempt), webhook-timestamp (at, in unix
// seconds) and webhook-signature, one "v1,…" signature per secret, space
// separated (two while a rotated secret is in its overlap).
func Sign(h http.Header, msgID string, at time.Time, body []byte, secrets []string) error {
	ts := at.Unix()
	var sigs []string
	for _, s := range secrets {
		key, err := keyplane.WebhookSigningKey(s)
		if err != nil {
			return err
		}
		sigs = append(sigs, keyplane.SignWebhook(key, msgID, ts, body))
	}
	if len(sigs) == 0 {
		return errors.New("no signing secret")
	}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	return nil
}

// describe says what went wrong with an attempt, in the words a delivery
// shows, without repeating the URL (it may carry a token in its query).
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var fe *forbiddenError
	switch {
	case errors.As(err, &fe):
		return fe.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, http.ErrHandlerTimeout):
		return "timed out"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// forbiddenError is the refusal of a connection to an address webhooks
// may not reach.
type forbiddenError struct {
	addr netip.Addr
	why  string
}

func (e *forbiddenError) Error() string {
	return fmt.Sprintf("not sent: the destination %s is %s; webhooks are not sent into private networks", e.addr, e.why)
}

// NewClient is the HTTP client of deliveries: no proxy (one from the
// environment would dial for us, past the guard), no redirects (a 3xx is
// the receiver's answer, and following it could lead anywhere), each
// attempt bounded by timeout, and, unless allowPrivate, every connection
// refused whose resolved address is one webhooks may not reach. The check
// is made on the address about to be dialed, after resolution, so a name
// that resolves to a public address when registered and to a private one
// later is refused all the same.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.ControlContext = guard
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// guard is a dialer's ControlContext: it runs on the socket about to
// connect to address, an IP and port after resolution.
func guard(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("not sent: %s is not an address", address)
	}
	if why := keyplane.ForbiddenAddress(ap.Addr()); why != "" {
		return &forbiddenError{addr: ap.Addr().Unmap(), why: why}
	}
	return nil
}
