package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// Webhook wire shapes: ids as strings, as on Keyplane's other routes.

type webhookJSON struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	Events         []string `json:"events"`
	Enabled        bool     `json:"enabled"`
	DisabledAt     *string  `json:"disabledAt"`
	DisabledReason *string  `json:"disabledReason"`
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      string   `json:"updatedAt"`
	// Secret is only in the answers that make one: creation and rotation.
	Secret string `json:"secret,omitempty"`
}

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := keyplane.FormatTime(*t)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func webhookOut(w keyplane.Webhook) webhookJSON {
	return webhookJSON{
		ID: idString(w.ID), URL: w.URL, Description: w.Description, Events: w.Events, Enabled: w.Enabled(),
		DisabledAt: optTime(w.DisabledAt), DisabledReason: optString(w.DisabledReason),
		CreatedAt: keyplane.FormatTime(w.CreatedAt), UpdatedAt: keyplane.FormatTime(w.UpdatedAt), Secret: w.Secret,
	}
}

type deliveryJSON struct {
	ID             string  `json:"id"`
	WebhookID      string  `json:"webhookId"`
	EventID        string  `json:"eventId"`
	EventType      string  `json:"eventType"`
	MessageID      string  `json:"messageId"`
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	CreatedAt      string  `json:"createdAt"`
	LastAttemptAt  *string `json:"lastAttemptAt"`
	NextAttemptAt  *string `json:"nextAttemptAt"`
	ResponseStatus *int    `json:"responseStatus"`
	Error          *string `json:"error"`
	LatencyMs      *int64  `json:"latencyMs"`
	DeliveredAt    *string `json:"deliveredAt"`
}

func deliveryOut(d keyplane.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{
		ID: idString(d.EventID), WebhookID: idString(d.WebhookID), EventID: idString(d.EventID), EventType: d.EventType,
		MessageID: d.MessageID(), Status: string(d.Status), Attempts: d.Attempts, CreatedAt: keyplane.FormatTime(d.CreatedAt),
		LastAttemptAt: optTime(d.LastAttemptAt), NextAttemptAt: optTime(d.NextAttemptAt), Error: optString(d.LastError),
		DeliveredAt: optTime(d.DeliveredAt),
	}
	if d.LastStatus != 0 {
		out.ResponseStatus = &d.LastStatus
	}
	if d.LastAttemptAt != nil {
		ms := d.LastLatency.Milliseconds()
		out.LatencyMs = &ms
	}
	return out
}

type createWebhookBody struct {
	URL         *string  `json:"url"`
	Description *string  `json:"description"`
	Events      []string `json:"events"`
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	var b createWebhookBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	var msgs []string
	if b.URL == nil {
		msgs = append(msgs, "url: required")
	}
	if b.Events == nil {
		msgs = append(msgs, `events: required; event types, or ["*"] for every event`)
	}
	if err := keyplane.Invalid(msgs...); err != nil {
		return err
	}
	n := control.NewWebhook{URL: *b.URL, Events: b.Events}
	if b.Description != nil {
		n.Description = *b.Description
	}
	wh, err := a.svc.CreateWebhook(r.Context(), p, n)
	return respond(w, http.StatusCreated, webhookOut(wh), err)
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	ws, err := a.svc.ListWebhooks(r.Context(), p)
	out := make([]webhookJSON, len(ws))
	for i, wh := range ws {
		out[i] = webhookOut(wh)
	}
	return respond(w, http.StatusOK, map[string]any{"webhooks": out}, err)
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return err
	}
	wh, err := a.svc.GetWebhook(r.Context(), p, id)
	return respond(w, http.StatusOK, webhookOut(wh), err)
}

type updateWebhookBody struct {
	URL         *string  `json:"url"`
	Description *string  `json:"description"`
	Events      []string `json:"events"`
	Enabled     *bool    `json:"enabled"`
}

func (a *API) updateWebhook(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return err
	}
	var b updateWebhookBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	wh, err := a.svc.UpdateWebhook(r.Context(), p, id, control.WebhookPatch{URL: b.URL, Description: b.Description, Events: b.Events, Enabled: b.Enabled})
	return respond(w, http.StatusOK, webhookOut(wh), err)
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, success, a.svc.DeleteWebhook(r.Context(), p, id))
}

type rotateWebhookSecretBody struct {
	PreviousExpiresAt *string `json:"previousExpiresAt"`
}

func (a *API) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return err
	}
	var b rotateWebhookSecretBody
	// The body is optional: a bare POST replaces the secret at once.
	if r.ContentLength != 0 {
		if err := decode(w, r, &b); err != nil && !emptyBody(err) {
			return err
		}
	}
	var until *time.Time
	if b.PreviousExpiresAt != nil {
		t, err := keyplane.ParseTime("previousExpiresAt", *b.PreviousExpiresAt)
		if err != nil {
			return err
		}
		until = &t
	}
	wh, err := a.svc.RotateWebhookSecret(r.Context(), p, id, until)
	return respond(w, http.StatusOK, webhookOut(wh), err)
}

func (a *API) testWebhook(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return err
	}
	d, err := a.svc.TestWebhook(r.Context(), p, id)
	return respond(w, http.StatusAccepted, deliveryOut(d), err)
}

func (a *API) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var msgs []string
	var status keyplane.DeliveryStatus
	if q.Has("status") {
		if status, err = keyplane.ParseDeliveryStatus("status", q.Get("status")); err != nil {
			msgs = append(msgs, keyplane.ErrorMessages(err)...)
		}
	}
	limit := keyplane.DefaultDeliveriesLimit
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > keyplane.MaxDeliveriesLimit {
			msgs = append(msgs, "limit: must be a whole number from 1 to "+strconv.Itoa(keyplane.MaxDeliveriesLimit))
		}
		limit = n
	}
	if err := keyplane.Invalid(msgs...); err != nil {
		return err
	}
	ds, err := a.svc.ListWebhookDeliveries(r.Context(), p, id, status, limit)
	out := make([]deliveryJSON, len(ds))
	for i, d := range ds {
		out[i] = deliveryOut(d)
	}
	return respond(w, http.StatusOK, map[string]any{"deliveries": out}, err)
}

func (a *API) retryWebhookDelivery(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "webhookId")
	if err != nil {
		return err
	}
	eventID, err := pathID(r, "deliveryId")
	if err != nil {
		return err
	}
	d, err := a.svc.RetryWebhookDelivery(r.Context(), p, id, eventID)
	return respond(w, http.StatusAccepted, deliveryOut(d), err)
}
