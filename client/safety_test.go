package client_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/keyplane/keyplane/client"
)

// ETags read with a keyset or its configuration guard an update: a stale
// one is a 412 that changes nothing; the answer carries the new one.
func TestTaggedUpdates(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.client(nil)
	ctx := context.Background()
	app, err := c.CreateApp(ctx, "tags")
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID, Name: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	id := k.Keyset.ID
	cfg, err := c.GetConfigTagged(ctx, id)
	if err != nil || cfg.ETag == "" {
		t.Fatalf("GetConfigTagged: %+v, %v", cfg, err)
	}
	next, err := c.UpdateConfigIf(ctx, id, cfg.ETag, map[string]any{"presence": map[string]any{"announceMax": 40}})
	if err != nil || next.ETag == "" || next.ETag == cfg.ETag {
		t.Fatalf("UpdateConfigIf with the current ETag: %+v, %v", next, err)
	}
	if _, err := c.UpdateConfigIf(ctx, id, cfg.ETag, map[string]any{"presence": map[string]any{"announceMax": 41}}); client.StatusCode(err) != http.StatusPreconditionFailed {
		t.Errorf("UpdateConfigIf with a stale ETag: %v, want 412", err)
	}
	ks, err := c.GetKeysetTagged(ctx, id)
	if err != nil || ks.ETag != next.ETag {
		t.Fatalf("GetKeysetTagged: %+v, %v; want the ETag %q", ks, err, next.ETag)
	}
	if _, err := c.UpdateKeysetIf(ctx, id, cfg.ETag, client.KeysetUpdate{Name: ptr("stale")}); client.StatusCode(err) != http.StatusPreconditionFailed {
		t.Errorf("UpdateKeysetIf with a stale ETag: %v, want 412", err)
	}
	renamed, err := c.UpdateKeysetIf(ctx, id, ks.ETag, client.KeysetUpdate{Name: ptr("renamed")})
	if err != nil || renamed.Value.Name != "renamed" || renamed.ETag == ks.ETag {
		t.Errorf("UpdateKeysetIf with the current ETag: %+v, %v", renamed, err)
	}
}

// A call repeated with the caller's own Idempotency-Key (as after a restart
// of the calling job) is answered with the first answer and runs once.
func TestWithIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.client(nil)
	ctx := client.WithIdempotencyKey(context.Background(), "job-42-create-app")
	a, err := c.CreateApp(ctx, "once")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateApp(ctx, "once")
	if err != nil || b != a {
		t.Errorf("the repeated call: %+v, %v; want the first answer %+v", b, err, a)
	}
	if _, err := c.CreateApp(ctx, "another"); client.StatusCode(err) != http.StatusUnprocessableEntity {
		t.Errorf("the key with another request: %v, want 422", err)
	}
	p, err := c.ListApps(context.Background(), client.ListOptions{})
	if err != nil || p.Total != 1 {
		t.Errorf("%+v, %v; want one app", p, err)
	}
}
