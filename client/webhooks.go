package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook is an endpoint the account's events are sent to (/v2/webhooks),
// signed as the Standard Webhooks specification says.
type Webhook struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"` // event types, or "*" alone for every event
	Enabled     bool     `json:"enabled"`
	// DisabledAt and DisabledReason say when and why the webhook was
	// turned off (on request, a 410, a day of failures); nil while enabled.
	DisabledAt     *Time   `json:"disabledAt"`
	DisabledReason *string `json:"disabledReason"`
	CreatedAt      Time    `json:"createdAt"`
	UpdatedAt      Time    `json:"updatedAt"`
	// Secret is the signing secret (whsec_…): only in the answers of
	// CreateWebhook and RotateWebhookSecret, the only times it is shown.
	Secret string `json:"secret,omitempty"`
}

// WebhookDelivery is one event on its way to a webhook. Its ID is the
// event's id.
type WebhookDelivery struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	// MessageID is the webhook-id header, the same on every attempt.
	MessageID      string  `json:"messageId"`
	Status         string  `json:"status"` // pending, delivered or failed
	Attempts       int     `json:"attempts"`
	CreatedAt      Time    `json:"createdAt"`
	LastAttemptAt  *Time   `json:"lastAttemptAt"`
	NextAttemptAt  *Time   `json:"nextAttemptAt"`
	ResponseStatus *int    `json:"responseStatus"`
	Error          *string `json:"error"`
	LatencyMs      *int64  `json:"latencyMs"`
	DeliveredAt    *Time   `json:"deliveredAt"`
}

// NewWebhook is what CreateWebhook registers.
type NewWebhook struct {
	URL         string   `json:"url"` // https, outside private networks
	Description string   `json:"description,omitempty"`
	Events      []string `json:"events"` // event types, or []string{"*"}
}

// WebhookChange changes the fields that are set (UpdateWebhook).
type WebhookChange struct {
	URL         *string  `json:"url,omitempty"`
	Description *string  `json:"description,omitempty"`
	Events      []string `json:"events,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

func webhookPath(id string) string { return "/v2/webhooks/" + escape(id) }

// ListWebhooks answers the account's webhooks, oldest first, without their
// secrets (GET /v2/webhooks).
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	err := c.do(ctx, http.MethodGet, "/v2/webhooks", nil, nil, &out)
	return out.Webhooks, err
}

// CreateWebhook registers a webhook and answers it with its signing
// secret, shown this once (POST /v2/webhooks).
func (c *Client) CreateWebhook(ctx context.Context, n NewWebhook) (Webhook, error) {
	var w Webhook
	err := c.do(ctx, http.MethodPost, "/v2/webhooks", nil, n, &w)
	return w, err
}

// GetWebhook answers one webhook (GET /v2/webhooks/{id}).
func (c *Client) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	var w Webhook
	err := c.do(ctx, http.MethodGet, webhookPath(id), nil, nil, &w)
	return w, err
}

// UpdateWebhook changes a webhook (PATCH /v2/webhooks/{id}). Enabling a
// disabled one gives its pending deliveries their schedule afresh.
func (c *Client) UpdateWebhook(ctx context.Context, id string, ch WebhookChange) (Webhook, error) {
	var w Webhook
	err := c.do(ctx, http.MethodPatch, webhookPath(id), nil, ch, &w)
	return w, err
}

// DeleteWebhook deletes a webhook with its deliveries
// (DELETE /v2/webhooks/{id}).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, webhookPath(id), nil, nil, nil)
}

// RotateWebhookSecret gives a webhook a new signing secret, answered once
// (POST /v2/webhooks/{id}/rotate-secret). With previousExpiresAt, the old
// secret keeps signing beside it until then (at most 7 days ahead).
func (c *Client) RotateWebhookSecret(ctx context.Context, id string, previousExpiresAt *time.Time) (Webhook, error) {
	var in struct {
		PreviousExpiresAt *string `json:"previousExpiresAt,omitempty"`
	}
	if previousExpiresAt != nil {
		s := previousExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z")
		in.PreviousExpiresAt = &s
	}
	var w Webhook
	err := c.do(ctx, http.MethodPost, webhookPath(id)+"/rotate-secret", nil, in, &w)
	return w, err
}

// TestWebhook sends a test event to one webhook and answers its delivery
// (POST /v2/webhooks/{id}/test).
func (c *Client) TestWebhook(ctx context.Context, id string) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := c.do(ctx, http.MethodPost, webhookPath(id)+"/test", nil, nil, &d)
	return d, err
}

// WebhookDeliveries answers a webhook's newest deliveries, newest first
// (GET /v2/webhooks/{id}/deliveries): of status when it is not empty,
// limit of them (1 to 100; 0 means the server's 20).
func (c *Client) WebhookDeliveries(ctx context.Context, id, status string, limit int) ([]WebhookDelivery, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Deliveries []WebhookDelivery `json:"deliveries"`
	}
	err := c.do(ctx, http.MethodGet, webhookPath(id)+"/deliveries", q, nil, &out)
	return out.Deliveries, err
}

// RetryWebhookDelivery sends a delivery again, at once, with the same
// webhook-id (POST /v2/webhooks/{id}/deliveries/{deliveryId}/retry).
func (c *Client) RetryWebhookDelivery(ctx context.Context, id, deliveryID string) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := c.do(ctx, http.MethodPost, webhookPath(id)+"/deliveries/"+escape(deliveryID)+"/retry", nil, nil, &d)
	return d, err
}
