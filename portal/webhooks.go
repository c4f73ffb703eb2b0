package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// The Webhooks pages (Organization Settings → Webhooks): an account's
// endpoints, each with its recent deliveries. Reading them takes the
// Webhooks row with Read, changing them Read & write; the pages ask
// control (Service.Can) to choose what to offer, and every form goes
// through the operation, which decides again.

// webhookBase is the path of the Webhooks pages.
const webhookBase = "/account/webhooks"

// webhookPath is the page of webhook id.
func webhookPath(id int64) string { return webhookBase + "/" + strconv.FormatInt(id, 10) }

// eventsForm is the event filter as the forms show and send it: every
// event (AllEvents), or the types ticked.
type eventsForm struct {
	All    bool
	Picked []string
	// Types are every event type, to tick.
	Types []string
}

// eventsFormOf is the form's view of a webhook's events.
func eventsFormOf(events []string) eventsForm {
	f := eventsForm{Types: keyplane.EventTypes}
	for _, e := range events {
		if e == keyplane.AllEvents {
			f.All = true
		} else {
			f.Picked = append(f.Picked, e)
		}
	}
	return f
}

// readEvents reads the event filter a form sent: scope=all is every event;
// scope=some is the ticked types (which control checks).
func readEvents(r *http.Request) ([]string, eventsForm) {
	f := eventsForm{Types: keyplane.EventTypes, All: r.PostForm.Get("scope") != "some", Picked: r.PostForm["event"]}
	if f.All {
		return []string{keyplane.AllEvents}, f
	}
	if f.Picked == nil {
		return []string{}, f // none ticked: control says to name one
	}
	return f.Picked, f
}

// webhookForm is a webhook as the create and edit forms hold it.
type webhookForm struct {
	URL, Description string
	Events           eventsForm
	Errors           map[string][]string
}

// webhookRow is one line of the Webhooks table.
type webhookRow struct {
	keyplane.Webhook
	Events string
}

// eventsSummary says which events a webhook gets, in a few words.
func eventsSummary(events []string) string {
	switch {
	case len(events) == 1 && events[0] == keyplane.AllEvents:
		return "Every event"
	case len(events) <= 3:
		return strings.Join(events, ", ")
	}
	return strings.Join(events[:2], ", ") + " and " + strconv.Itoa(len(events)-2) + " more"
}

type webhooksPage struct {
	Rows     []webhookRow
	CanWrite bool
	Max      int
	Full     bool
	New      webhookForm
	// Private tells that the server sends webhooks into private
	// networks, over http too (serve --webhooks-allow-private).
	Private bool
}

func (p *Portal) webhooksPage(r *http.Request, s *session, form *webhookForm) (webhooksPage, error) {
	ws, err := p.svc.ListWebhooks(r.Context(), s.P)
	if err != nil {
		return webhooksPage{}, err
	}
	page := webhooksPage{CanWrite: p.svc.Can(s.P, keyplane.Target{}, keyplane.OpCreateWebhook.Needs...) == nil,
		Max: keyplane.MaxWebhooks, Full: len(ws) >= keyplane.MaxWebhooks, Private: p.svc.WebhooksAllowPrivate(),
		New: webhookForm{Events: eventsFormOf([]string{keyplane.AllEvents})}}
	for _, w := range ws {
		page.Rows = append(page.Rows, webhookRow{w, eventsSummary(w.Events)})
	}
	if form != nil {
		page.New = *form
	}
	return page, nil
}

func (p *Portal) webhooks(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := p.webhooksPage(r, s, nil)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "webhooks", s, "Webhooks", page)
	return nil
}

// createWebhook registers an endpoint; its signing secret is shown once,
// on the page the answer leads to.
func (p *Portal) createWebhook(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := r.ParseForm(); err != nil {
		return keyplane.Errorf(keyplane.CodeInvalid, "form: unreadable")
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.OpCreateWebhook.Needs...); err != nil {
		return err
	}
	events, ef := readEvents(r)
	form := webhookForm{URL: strings.TrimSpace(r.PostForm.Get("url")), Description: firstLine(r.PostForm.Get("description")), Events: ef}
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		wh, err := p.svc.CreateWebhook(ctx, s.P, control.NewWebhook{URL: form.URL, Description: form.Description, Events: events})
		if err != nil {
			return "", nil, err
		}
		return shownURL(r), &shownSecret{WebhookID: wh.ID, Secret: wh.Secret}, nil
	})
	if done {
		return nil
	}
	if c := keyplane.ErrorCode(err); c != keyplane.CodeInvalid && c != keyplane.CodeConflict {
		return err
	}
	form.Errors = fieldErrors(err, "url", "description", "events")
	page, perr := p.webhooksPage(r, s, &form)
	if perr != nil {
		return perr
	}
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "webhooks", s, "Webhooks", page)
	return nil
}

// deliveryFilters are the status filters of a webhook's deliveries.
var deliveryFilters = []keyplane.DeliveryStatus{keyplane.DeliveryPending, keyplane.DeliveryDelivered, keyplane.DeliveryFailed}

type webhookPage struct {
	keyplane.Webhook
	CanWrite   bool
	Edit       webhookForm
	Deliveries []keyplane.WebhookDelivery
	Status     keyplane.DeliveryStatus // the filter shown, "" for all
	Filters    []keyplane.DeliveryStatus
	Limit      int
	// ActionErr is why a button's action (a test event, a redelivery)
	// was refused.
	ActionErr []string
	Private   bool
}

func (p *Portal) webhookPage(r *http.Request, s *session, id int64, status keyplane.DeliveryStatus) (webhookPage, error) {
	wh, err := p.svc.GetWebhook(r.Context(), s.P, id)
	if err != nil {
		return webhookPage{}, err
	}
	ds, err := p.svc.ListWebhookDeliveries(r.Context(), s.P, id, status, keyplane.DefaultDeliveriesLimit)
	if err != nil {
		return webhookPage{}, err
	}
	return webhookPage{Webhook: wh, CanWrite: p.svc.Can(s.P, keyplane.Target{}, keyplane.OpUpdateWebhook.Needs...) == nil,
		Edit:       webhookForm{URL: wh.URL, Description: wh.Description, Events: eventsFormOf(wh.Events)},
		Deliveries: ds, Status: status, Filters: deliveryFilters, Limit: keyplane.DefaultDeliveriesLimit,
		Private: p.svc.WebhooksAllowPrivate()}, nil
}

func (p *Portal) webhook(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var status keyplane.DeliveryStatus
	if q := r.URL.Query().Get("status"); q != "" {
		if status, err = keyplane.ParseDeliveryStatus("status", q); err != nil {
			return err
		}
	}
	page, err := p.webhookPage(r, s, id, status)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "webhook", s, "Webhook "+strconv.FormatInt(id, 10), page)
	return nil
}

// updateWebhook saves the edit form: URL, description and events.
func (p *Portal) updateWebhook(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return keyplane.Errorf(keyplane.CodeInvalid, "form: unreadable")
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.OpUpdateWebhook.Needs...); err != nil {
		return err
	}
	events, ef := readEvents(r)
	form := webhookForm{URL: strings.TrimSpace(r.PostForm.Get("url")), Description: firstLine(r.PostForm.Get("description")), Events: ef}
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		_, err := p.svc.UpdateWebhook(ctx, s.P, id, control.WebhookPatch{URL: &form.URL, Description: &form.Description, Events: events})
		return webhookPath(id) + "?done=saved", nil, err
	})
	if done {
		return nil
	}
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		return err
	}
	page, perr := p.webhookPage(r, s, id, "")
	if perr != nil {
		return perr
	}
	form.Errors = fieldErrors(err, "url", "description", "events")
	page.Edit = form
	p.render(w, r, http.StatusBadRequest, "webhook", s, "Webhook "+strconv.FormatInt(id, 10), page)
	return nil
}

// setWebhookEnabled turns a webhook on (its pending deliveries start their
// schedule afresh) or off.
func (p *Portal) setWebhookEnabled(on bool) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		done := "webhook-enabled"
		if !on {
			done = "webhook-disabled"
		}
		_, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			_, err := p.svc.UpdateWebhook(ctx, s.P, id, control.WebhookPatch{Enabled: &on})
			return webhookPath(id) + "?done=" + done, nil, err
		})
		return err
	}
}

// webhookAction runs a button of a webhook's page (a test event, a
// redelivery). A refusal in the user's terms (the webhook is disabled) is
// shown on the page, above its deliveries.
func (p *Portal) webhookAction(w http.ResponseWriter, r *http.Request, s *session, id int64, done string, act func(ctx context.Context) error) error {
	ok, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		return webhookPath(id) + "?done=" + done, nil, act(ctx)
	})
	if ok {
		return nil
	}
	if c := keyplane.ErrorCode(err); c != keyplane.CodeConflict && c != keyplane.CodeInvalid {
		return err
	}
	page, perr := p.webhookPage(r, s, id, "")
	if perr != nil {
		return perr
	}
	page.ActionErr = keyplane.ErrorMessages(err)
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "webhook", s, "Webhook "+strconv.FormatInt(id, 10), page)
	return nil
}

func (p *Portal) testWebhook(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return p.webhookAction(w, r, s, id, "webhook-tested", func(ctx context.Context) error {
		_, err := p.svc.TestWebhook(ctx, s.P, id)
		return err
	})
}

func (p *Portal) redeliver(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	eventID, err := pathID(r, "delivery")
	if err != nil {
		return err
	}
	return p.webhookAction(w, r, s, id, "redelivered", func(ctx context.Context) error {
		_, err := p.svc.RetryWebhookDelivery(ctx, s.P, id, eventID)
		return err
	})
}

// secretOverlaps are the overlaps a rotation's confirmation offers: how
// long the old signing secret keeps signing beside the new one, at most
// control.MaxWebhookSecretOverlap.
var secretOverlaps = []struct {
	d     time.Duration
	label string
}{
	{0, "No overlap: it stops now"}, {time.Hour, "1 hour"}, {24 * time.Hour, "24 hours"}, {control.MaxWebhookSecretOverlap, "7 days"},
}

func (p *Portal) rotateWebhookForm(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.OpRotateWebhookSecret.Needs...); err != nil {
		return err
	}
	wh, err := p.svc.GetWebhook(r.Context(), s.P, id)
	if err != nil {
		return err
	}
	var choices []overlapChoice
	for _, o := range secretOverlaps {
		choices = append(choices, overlapChoice{strconv.FormatInt(int64(o.d/time.Second), 10), o.label, o.d == 24*time.Hour})
	}
	base := webhookPath(id)
	p.render(w, r, http.StatusOK, "confirm", s, "Rotate signing secret", confirmPage{
		Heading: "Rotate the signing secret of " + wh.URL + "?",
		Body: "A new signing secret is made and shown once. During the overlap you choose, every delivery carries two signatures, " +
			"one for each secret, so your receiver can move to the new secret without refusing a delivery.",
		Action: base + "/rotate", Button: "Rotate signing secret", Cancel: base, Overlaps: choices,
		OverlapLabel: "The old secret keeps signing for", OverlapHint: "At most 7 days. Then only the new secret signs."})
	return nil
}

func (p *Portal) rotateWebhook(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var overlap time.Duration
	ok := false
	if n, err := strconv.ParseInt(r.PostFormValue("overlap"), 10, 64); err == nil {
		for _, o := range secretOverlaps {
			if time.Duration(n)*time.Second == o.d {
				overlap, ok = o.d, true
			}
		}
	}
	if !ok {
		return keyplane.Errorf(keyplane.CodeInvalid, "overlap: choose one of the offered overlaps")
	}
	_, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		var until *time.Time
		if overlap > 0 {
			t := p.now().Add(overlap)
			until = &t
		}
		wh, err := p.svc.RotateWebhookSecret(ctx, s.P, id, until)
		if err != nil {
			return "", nil, err
		}
		sec := &shownSecret{WebhookID: wh.ID, Secret: wh.Secret, Rotated: true}
		if until != nil {
			sec.OldKeyUntil = *until
		}
		return shownURL(r), sec, nil
	})
	return err
}

type webhookSecretPage struct {
	keyplane.Webhook
	Rotated bool
	// OldUntil is when the old secret stops signing, after a rotation
	// with an overlap.
	OldUntil time.Time
}

// webhookSecretShown shows, once, the signing secret a create or rotate
// form made.
func (p *Portal) webhookSecretShown(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := p.takeShown(r, s)
	if err != nil {
		return err
	}
	if sec == nil || sec.WebhookID == 0 {
		p.goneSecret(w, r, s, "signing secret", "If it was not copied, rotate the secret on the webhook's page.")
		return nil
	}
	wh, err := p.svc.GetWebhook(r.Context(), s.P, sec.WebhookID)
	if err != nil {
		return err
	}
	wh.Secret = sec.Secret
	title := "Webhook created"
	if sec.Rotated {
		title = "Signing secret rotated"
	}
	p.render(w, r, http.StatusOK, "webhook-secret", s, title, webhookSecretPage{Webhook: wh, Rotated: sec.Rotated, OldUntil: sec.OldKeyUntil})
	return nil
}

func (p *Portal) deleteWebhookForm(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.OpDeleteWebhook.Needs...); err != nil {
		return err
	}
	wh, err := p.svc.GetWebhook(r.Context(), s.P, id)
	if err != nil {
		return err
	}
	base := webhookPath(id)
	p.render(w, r, http.StatusOK, "confirm", s, "Delete webhook", confirmPage{
		Heading: "Delete the webhook to " + wh.URL + "?",
		Body:    "Nothing more is sent to it, and its deliveries still waiting are dropped with it. This cannot be undone.",
		Action:  base + "/delete", Button: "Delete webhook", Cancel: base, Danger: true})
	return nil
}

func (p *Portal) deleteWebhook(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		return webhookBase + "?done=webhook-deleted", nil, p.svc.DeleteWebhook(ctx, s.P, id)
	})
}

// disabledWebhooks counts the account's disabled webhooks, for the
// banner every page shows to who may read them.
func (p *Portal) disabledWebhooks(ctx context.Context, pr keyplane.Principal) (int, error) {
	ws, err := p.svc.ListWebhooks(ctx, pr)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, w := range ws {
		if !w.Enabled() && w.DisabledReason != keyplane.DisabledByRequest {
			n++
		}
	}
	return n, nil
}
