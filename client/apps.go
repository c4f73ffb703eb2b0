package client

import (
	"context"
	"iter"
	"net/http"
)

// App is a container of keysets.
type App struct {
	ID        string `json:"id"` // an integer, written as a string as on the wire
	Name      string `json:"name"`
	CreatedAt Time   `json:"createdAt"`
	UpdatedAt Time   `json:"updatedAt"`
}

// AppPage is one page of the apps the key may read, ordered by id.
type AppPage struct {
	Apps  []App `json:"apps"`
	Total int   `json:"total"` // how many apps the key may read in all
	Page  int   `json:"page"`
	Limit int   `json:"limit"`
}

// ListApps answers one page of the apps the key may read (GET /v2/apps).
func (c *Client) ListApps(ctx context.Context, opts ListOptions) (*AppPage, error) {
	var p AppPage
	if err := c.do(ctx, http.MethodGet, "/v2/apps", opts.query(), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Apps yields every app the key may read, in id order, asking for pages of
// DefaultPageSize items (see WithPageSize). An error ends the sequence,
// yielded with a zero App. Apps deleted while the walk is under way may make
// it skip others.
func (c *Client) Apps(ctx context.Context) iter.Seq2[App, error] {
	return walk(ctx, c.pageSize, func(ctx context.Context, o ListOptions) ([]App, int, error) {
		p, err := c.ListApps(ctx, o)
		if err != nil {
			return nil, 0, err
		}
		return p.Apps, p.Total, nil
	})
}

type appBody struct {
	Name string `json:"name"`
}

// CreateApp makes an empty app (POST /v2/apps).
func (c *Client) CreateApp(ctx context.Context, name string) (App, error) {
	var a App
	err := c.do(ctx, http.MethodPost, "/v2/apps", nil, appBody{name}, &a)
	return a, err
}

// GetApp answers one app (GET /v2/apps/{id}).
func (c *Client) GetApp(ctx context.Context, id string) (App, error) {
	var a App
	err := c.do(ctx, http.MethodGet, "/v2/apps/"+escape(id), nil, nil, &a)
	return a, err
}

// RenameApp changes an app's name and answers the app
// (PATCH /v2/apps/{id}).
func (c *Client) RenameApp(ctx context.Context, id, name string) (App, error) {
	var a App
	err := c.do(ctx, http.MethodPatch, "/v2/apps/"+escape(id), nil, appBody{name}, &a)
	return a, err
}

// DeleteApp deletes an app that has no keysets left (DELETE /v2/apps/{id}).
// An app that still has keysets is refused with 409 Conflict.
func (c *Client) DeleteApp(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v2/apps/"+escape(id), nil, nil, nil)
}
