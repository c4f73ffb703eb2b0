package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

// Keyset is a keyset as every answer but its creation shows it: without
// secret keys.
type Keyset struct {
	ID           string `json:"id"`
	AppID        string `json:"appId"`
	Name         string `json:"name"`
	Type         string `json:"type"` // "testing" or "production"
	PublishKey   string `json:"publishKey"`
	SubscribeKey string `json:"subscribeKey"`
	CreatedAt    Time   `json:"createdAt"`
	UpdatedAt    Time   `json:"updatedAt"`
}

// Config is a keyset's whole feature configuration, as GetConfig answers
// it: the domain's own type, whose JSON is the wire shape.
type Config = keyplane.Config

// SecretKey is a secret key of a keyset: the main key, whose ExpiresAt is
// nil, or a rotated key that works until ExpiresAt.
type SecretKey struct {
	SecretKey string `json:"secretKey"` // the whole key; its first 11 characters are its prefix
	ExpiresAt *Time  `json:"expiresAt"`
}

// Prefix returns the first 11 characters of the key, which name it in
// UpdateSecretKeyExpiry and DeleteSecretKey.
func (k SecretKey) Prefix() string { return secretKeyPrefix(k.SecretKey) }

// KeysetPage is one page of the keysets the key may read, ordered by id.
type KeysetPage struct {
	Keysets []Keyset `json:"keysets"`
	Total   int      `json:"total"` // how many keysets the key may read in all
	Page    int      `json:"page"`
	Limit   int      `json:"limit"`
}

// NewKeyset is what CreateKeyset makes.
type NewKeyset struct {
	AppID string // required
	Name  string // "" leaves the server's default, "Default Keyset"
	Type  string // "testing" or "production"; "" leaves the server's default, testing

	// Config, unless nil, is encoded as JSON and applied over the default
	// configuration: any part of a configuration (see UpdateConfig), such
	// as a map[string]any or a json.RawMessage.
	Config any
}

// CreatedKeyset is the answer to CreateKeyset, the only one that carries
// the keyset's secret key.
type CreatedKeyset struct {
	Keyset     Keyset
	SecretKeys []SecretKey // the main key
	Config     Config
}

// KeysetUpdate is what UpdateKeyset changes; nil fields stay as they are,
// and at least one must be set.
type KeysetUpdate struct {
	Name *string `json:"name,omitempty"`
	Type *string `json:"type,omitempty"`
}

// ListKeysets answers one page of the keysets the key may read, across all
// apps, or in the app opts.AppID names (GET /v2/keysets).
func (c *Client) ListKeysets(ctx context.Context, opts ListOptions) (*KeysetPage, error) {
	var p KeysetPage
	if err := c.do(ctx, http.MethodGet, "/v2/keysets", opts.query(), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Keysets yields every keyset the key may read, in id order, asking for
// pages of DefaultPageSize items (see WithPageSize). An error ends the
// sequence, yielded with a zero Keyset. Keysets deleted while the walk is
// under way may make it skip others.
func (c *Client) Keysets(ctx context.Context) iter.Seq2[Keyset, error] {
	return c.KeysetsOfApp(ctx, "")
}

// KeysetsOfApp is Keysets of one app (every app when appID is ""): the
// server filters, so only that app's keysets cross the network.
func (c *Client) KeysetsOfApp(ctx context.Context, appID string) iter.Seq2[Keyset, error] {
	return walk(ctx, c.pageSize, func(ctx context.Context, o ListOptions) ([]Keyset, int, error) {
		o.AppID = appID
		p, err := c.ListKeysets(ctx, o)
		if err != nil {
			return nil, 0, err
		}
		return p.Keysets, p.Total, nil
	})
}

// CreateKeyset makes a keyset in an app, with fresh publish, subscribe and
// main secret keys (POST /v2/keysets). The key needs keyset read-write and
// secret-key read access on the app.
func (c *Client) CreateKeyset(ctx context.Context, k NewKeyset) (CreatedKeyset, error) {
	type keysetIn struct {
		Name  string `json:"name,omitempty"`
		Type  string `json:"type,omitempty"`
		AppID string `json:"appId"`
	}
	in := struct {
		Keyset keysetIn `json:"keyset"`
		Config any      `json:"config,omitempty"`
	}{keysetIn{k.Name, k.Type, k.AppID}, k.Config}
	var out struct {
		Keyset struct {
			Keyset
			SecretKeys []SecretKey `json:"secretKeys"`
		} `json:"keyset"`
		Config Config `json:"config"`
	}
	if err := c.do(ctx, http.MethodPost, "/v2/keysets", nil, in, &out); err != nil {
		return CreatedKeyset{}, err
	}
	return CreatedKeyset{Keyset: out.Keyset.Keyset, SecretKeys: out.Keyset.SecretKeys, Config: out.Config}, nil
}

// GetKeyset answers one keyset, without its secret keys
// (GET /v2/keysets/{id}).
func (c *Client) GetKeyset(ctx context.Context, id string) (Keyset, error) {
	var k Keyset
	err := c.do(ctx, http.MethodGet, keysetPath(id), nil, nil, &k)
	return k, err
}

// UpdateKeyset changes a keyset's name, type or both and answers the keyset
// (PATCH /v2/keysets/{id}).
func (c *Client) UpdateKeyset(ctx context.Context, id string, u KeysetUpdate) (Keyset, error) {
	var k Keyset
	err := c.do(ctx, http.MethodPatch, keysetPath(id), nil, u, &k)
	return k, err
}

// DeleteKeyset deletes a keyset with its configuration and secret keys
// (DELETE /v2/keysets/{id}).
func (c *Client) DeleteKeyset(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, keysetPath(id), nil, nil, nil)
}

// GetConfig answers a keyset's whole configuration
// (GET /v2/keysets/{id}/config).
func (c *Client) GetConfig(ctx context.Context, id string) (Config, error) {
	var cfg Config
	err := c.do(ctx, http.MethodGet, keysetPath(id)+"/config", nil, nil, &cfg)
	return cfg, err
}

// UpdateConfig merges patch into a keyset's configuration and answers the
// whole result (PATCH /v2/keysets/{id}/config). patch is encoded as JSON and
// holds any part of a configuration, for example
//
//	map[string]any{"messagePersistence": map[string]any{"enabled": true, "retention": 30}}
//
// or the same as a json.RawMessage. A field given as nil (JSON null) clears
// a nullable setting; fields left out stay as they are.
func (c *Client) UpdateConfig(ctx context.Context, id string, patch any) (Config, error) {
	var cfg Config
	err := c.do(ctx, http.MethodPatch, keysetPath(id)+"/config", nil, patch, &cfg)
	return cfg, err
}

// ListSecretKeys answers a keyset's secret keys, whole: the main key and the
// rotated ones, the expired ones too unless activeOnly
// (GET /v2/keysets/{id}/secret-keys).
func (c *Client) ListSecretKeys(ctx context.Context, id string, activeOnly bool) ([]SecretKey, error) {
	var q url.Values
	if activeOnly {
		q = url.Values{"activeOnly": {"true"}}
	}
	var out struct {
		SecretKeys []SecretKey `json:"secretKeys"`
	}
	err := c.do(ctx, http.MethodGet, keysetPath(id)+"/secret-keys", q, nil, &out)
	return out.SecretKeys, err
}

type expiryBody struct {
	ExpiresAt string `json:"expiresAt,omitempty"`
}

// RotateSecretKey makes a new main secret key and answers it
// (POST /v2/keysets/{id}/secret-keys). With expiresAt (60 seconds to 366
// days ahead) the old main key keeps working until then; with nil it stops
// at once. Times are sent to the millisecond.
func (c *Client) RotateSecretKey(ctx context.Context, id string, expiresAt *time.Time) (string, error) {
	var in expiryBody
	if expiresAt != nil {
		in.ExpiresAt = wireTime(*expiresAt)
	}
	var out struct {
		SecretKey string `json:"secretKey"`
	}
	err := c.do(ctx, http.MethodPost, keysetPath(id)+"/secret-keys", nil, in, &out)
	return out.SecretKey, err
}

// UpdateSecretKeyExpiry sets when a rotated key stops working, 60 seconds
// to 366 days ahead, and answers the key
// (PATCH /v2/keysets/{id}/secret-keys/{prefix}). prefix may be the whole
// key: only its first 11 characters are sent, so the key itself never
// appears in a URL.
func (c *Client) UpdateSecretKeyExpiry(ctx context.Context, id, prefix string, at time.Time) (SecretKey, error) {
	var out struct {
		SecretKey SecretKey `json:"secretKey"`
	}
	err := c.do(ctx, http.MethodPatch, secretKeyPath(id, prefix), nil, expiryBody{wireTime(at)}, &out)
	return out.SecretKey, err
}

// DeleteSecretKey stops a rotated key at once
// (DELETE /v2/keysets/{id}/secret-keys/{prefix}). prefix may be the whole
// key, as in UpdateSecretKeyExpiry.
func (c *Client) DeleteSecretKey(ctx context.Context, id, prefix string) error {
	return c.do(ctx, http.MethodDelete, secretKeyPath(id, prefix), nil, nil, nil)
}

func keysetPath(id string) string { return "/v2/keysets/" + escape(id) }

func secretKeyPath(id, prefix string) string {
	return keysetPath(id) + "/secret-keys/" + escape(secretKeyPrefix(prefix))
}

// secretKeyPrefixLen is the length of a secret key's prefix, "sec-c-XXXXX".
const secretKeyPrefixLen = 11

// secretKeyPrefix cuts a whole secret key down to its prefix.
func secretKeyPrefix(s string) string {
	if strings.HasPrefix(s, "sec-c-") && len(s) > secretKeyPrefixLen {
		return s[:secretKeyPrefixLen]
	}
	return s
}
