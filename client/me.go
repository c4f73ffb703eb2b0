package client

import (
	"context"
	"net/http"
)

// Me is what the server tells a key about itself (GET /v2/me).
type Me struct {
	AccountID   string          `json:"accountId"`
	Partner     bool            `json:"partner"` // whether the account is an OEM partner, which the OEM routes need
	Integration IDName          `json:"integration"`
	Key         MeKey           `json:"key"`
	Permissions []Permission    `json:"permissions"`
	Access      EffectiveAccess `json:"access"`
}

// IDName names a Service Integration.
type IDName struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MeKey is the calling API key, by the prefix lists show it; the key itself
// is never answered.
type MeKey struct {
	ID         string `json:"id"`
	Prefix     string `json:"prefix"`
	CreatedAt  Time   `json:"createdAt"`
	ExpiresAt  Time   `json:"expiresAt"`
	LastUsedAt *Time  `json:"lastUsedAt"` // to the minute; nil if never
}

// Permission is one permission row of an integration.
type Permission struct {
	Grant    string  `json:"grant"`    // the row as `keyplane admin create-integration --grant` takes it, "app/12:keyset:read-write"
	Label    string  `json:"label"`    // as messages name it, "App 12 · Keyset · Read & write"
	Level    string  `json:"level"`    // "account", "app" or "keyset"
	TargetID *string `json:"targetId"` // the app or keyset the row names; nil at account level
	Resource string  `json:"resource"`
	Access   string  `json:"access"` // "read", "read-write" or "write"
}

// Access is the widest access a key has on each resource, "read" or
// "read-write", by resource ("app", "keyset", "secret-key", "usage",
// "oem-customer", "audit-log"); resources without any are left out.
type Access map[string]string

// EffectiveAccess is what a key's rows give over what exists now: account
// wide, on each app and on each keyset that some row reaches.
type EffectiveAccess struct {
	Account Access         `json:"account"`
	Apps    []AppAccess    `json:"apps"`
	Keysets []KeysetAccess `json:"keysets"`
}

// AppAccess is a key's access on one app. Name is nil unless the key may
// read the app.
type AppAccess struct {
	ID     string  `json:"id"`
	Name   *string `json:"name"`
	Access Access  `json:"access"`
}

// KeysetAccess is a key's access on one keyset. Name is nil unless the key
// may read the keyset.
type KeysetAccess struct {
	ID     string  `json:"id"`
	AppID  string  `json:"appId"`
	Name   *string `json:"name"`
	Access Access  `json:"access"`
}

// Me describes the calling key: its account, integration, rows and
// effective access (GET /v2/me). Any valid key may ask; no row is needed.
func (c *Client) Me(ctx context.Context) (Me, error) {
	var m Me
	err := c.do(ctx, http.MethodGet, "/v2/me", nil, nil, &m)
	return m, err
}

// AuthzTarget is what an operation would act on: an app, a keyset, or
// neither (account-level operations).
type AuthzTarget struct {
	AppID    string `json:"appId,omitempty"`
	KeysetID string `json:"keysetId,omitempty"`
}

// AuthzAnswer is the server's decision on whether the calling key may run
// an operation.
type AuthzAnswer struct {
	Allowed bool   `json:"allowed"`
	Action  string `json:"action"` // the operationId, such as "updateKeysetConfig"
	Method  string `json:"method"`
	Path    string `json:"path"` // the path template, such as "/v2/keysets/{keysetId}/config"
	// Target is where the operation authorizes: a keyset with its own app
	// when the keyset exists.
	Target AuthzTarget `json:"target"`
	// Checks holds one entry per permission the operation needs.
	Checks []PermissionCheck `json:"checks"`
	// Reasons are the messages a 403 of the operation would carry; empty
	// when allowed.
	Reasons []string `json:"reasons"`
}

// PermissionCheck is one permission an operation needs, with the key's row
// that grants it or the narrowest row that would.
type PermissionCheck struct {
	Resource  string      `json:"resource"`
	Access    string      `json:"access"` // "read" or "write"
	Allowed   bool        `json:"allowed"`
	GrantedBy *Permission `json:"grantedBy"`
	Missing   *Permission `json:"missing"`
}

// CheckAuthz asks whether the calling key may run the operation named
// action (an operationId of the API, such as "updateKeysetConfig") on
// target (POST /v2/authz/check). The server decides by the operation's own
// rules and runs nothing. Any valid key may ask.
func (c *Client) CheckAuthz(ctx context.Context, action string, target AuthzTarget) (AuthzAnswer, error) {
	in := struct {
		Action string       `json:"action"`
		Target *AuthzTarget `json:"target,omitempty"`
	}{Action: action}
	if target != (AuthzTarget{}) {
		in.Target = &target
	}
	var a AuthzAnswer
	err := c.ask(ctx, "/v2/authz/check", in, &a)
	return a, err
}

// CheckAuthzRequest asks whether the calling key may send method to path,
// a concrete path such as "/v2/keysets/12/config" whose ids fill the target
// (POST /v2/authz/check).
func (c *Client) CheckAuthzRequest(ctx context.Context, method, path string) (AuthzAnswer, error) {
	in := struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	}{method, path}
	var a AuthzAnswer
	err := c.ask(ctx, "/v2/authz/check", in, &a)
	return a, err
}
