package client

import (
	"context"
	"net/http"
)

type idempotencyKey struct{}

// WithIdempotencyKey returns ctx under which a POST is sent with this
// Idempotency-Key instead of a new random one per call. Give the same key
// to a call repeated after the process itself restarted (a key kept with
// the job that makes the call): the server answers it with the first
// answer instead of running it again, for 24 hours.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// Tagged is a keyset or configuration with its ETag: the version it was
// read at, to send back with an update (UpdateKeysetIf, UpdateConfigIf) so
// that the update applies only if nobody changed the keyset meanwhile.
type Tagged[T any] struct {
	Value T
	ETag  string
}

// GetKeysetTagged is GetKeyset with the keyset's ETag.
func (c *Client) GetKeysetTagged(ctx context.Context, id string) (Tagged[Keyset], error) {
	var k Keyset
	h, err := c.send(ctx, http.MethodGet, keysetPath(id), nil, nil, &k, true, nil)
	return Tagged[Keyset]{k, h.Get("ETag")}, err
}

// GetConfigTagged is GetConfig with the keyset's ETag.
func (c *Client) GetConfigTagged(ctx context.Context, id string) (Tagged[Config], error) {
	var cfg Config
	h, err := c.send(ctx, http.MethodGet, keysetPath(id)+"/config", nil, nil, &cfg, true, nil)
	return Tagged[Config]{cfg, h.Get("ETag")}, err
}

// UpdateKeysetIf is UpdateKeyset sent with If-Match: etag. If the keyset
// changed since etag was read the server changes nothing and answers 412
// (StatusCode(err) == http.StatusPreconditionFailed): read it again and
// decide anew. It answers the keyset with its new ETag.
func (c *Client) UpdateKeysetIf(ctx context.Context, id, etag string, u KeysetUpdate) (Tagged[Keyset], error) {
	var k Keyset
	h, err := c.send(ctx, http.MethodPatch, keysetPath(id), nil, u, &k, false, http.Header{"If-Match": {etag}})
	return Tagged[Keyset]{k, h.Get("ETag")}, err
}

// UpdateConfigIf is UpdateConfig sent with If-Match: etag, as
// UpdateKeysetIf. It answers the whole configuration with the new ETag.
func (c *Client) UpdateConfigIf(ctx context.Context, id, etag string, patch any) (Tagged[Config], error) {
	var cfg Config
	h, err := c.send(ctx, http.MethodPatch, keysetPath(id)+"/config", nil, patch, &cfg, false, http.Header{"If-Match": {etag}})
	return Tagged[Config]{cfg, h.Get("ETag")}, err
}
