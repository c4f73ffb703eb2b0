package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// UsageQuery asks for daily usage of one entity over [From, To), UTC days.
type UsageQuery struct {
	EntityType string // "account", "app" or "keyset"
	EntityID   string
	From, To   time.Time // only the date counts; To is exclusive
	Metrics    []string
}

// Usage is metric → date (YYYY-MM-DD) → value, every date of the range
// present (0 without data).
type Usage map[string]map[string]float64

// UsageMetrics answers a usage query (GET /v2/usage-metrics). An unknown
// metric is a 400 whose Error.Name is PubNub's "Bad Request".
func (c *Client) UsageMetrics(ctx context.Context, q UsageQuery) (Usage, error) {
	v := url.Values{
		"entityType": {q.EntityType}, "entityId": {q.EntityID},
		"from": {q.From.UTC().Format(time.DateOnly)}, "to": {q.To.UTC().Format(time.DateOnly)},
		"metrics": {strings.Join(q.Metrics, ",")},
	}
	var out struct {
		Metrics Usage `json:"metrics"`
	}
	err := c.do(ctx, http.MethodGet, "/v2/usage-metrics", v, nil, &out)
	return out.Metrics, err
}

// UsagePoint is one reported value: the day's total so far of one metric
// of one keyset, named by KeysetID or SubscribeKey.
type UsagePoint struct {
	KeysetID     string  `json:"keysetId,omitempty"`
	SubscribeKey string  `json:"subscribeKey,omitempty"`
	Date         string  `json:"date"` // YYYY-MM-DD, UTC
	Metric       string  `json:"metric"`
	Value        float64 `json:"value"`
}

// ReportUsage sends points, at most 5,000, with a usage reporter's key
// (POST /v2/usage-metrics) and answers how many were stored. Each point
// replaces the stored value of its keyset, metric and day, so a batch sent
// again counts nothing twice; a batch with any bad point stores nothing.
func (c *Client) ReportUsage(ctx context.Context, points []UsagePoint) (int, error) {
	var out struct {
		Accepted int `json:"accepted"`
	}
	err := c.do(ctx, http.MethodPost, "/v2/usage-metrics", nil, map[string]any{"points": points}, &out)
	return out.Accepted, err
}
