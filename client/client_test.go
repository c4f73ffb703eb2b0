package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/keyplane/keyplane/client"
)

// Every app method against a real server: create, get, list, rename,
// delete, and the 409 of deleting an app that still has keysets.
func TestApps(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.client(nil)
	ctx := context.Background()

	a, err := c.CreateApp(ctx, "Telemedicine")
	if err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
	if a.ID == "" || a.Name != "Telemedicine" || a.CreatedAt.IsZero() || !a.CreatedAt.Equal(a.UpdatedAt.Time) {
		t.Errorf("CreateApp = %+v", a)
	}
	if !a.CreatedAt.Equal(ms(s.clock.Now())) {
		t.Errorf("CreatedAt %v, want the server's clock %v", a.CreatedAt, ms(s.clock.Now()))
	}
	got, err := c.GetApp(ctx, a.ID)
	if err != nil || got != a {
		t.Errorf("GetApp = %+v, %v; want %+v", got, err, a)
	}
	b, err := c.CreateApp(ctx, "Second")
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.ListApps(ctx, client.ListOptions{Page: 1, Limit: 1})
	if err != nil {
		t.Fatalf("ListApps: %v", err)
	}
	if diff := cmp.Diff(&client.AppPage{Apps: []client.App{a}, Total: 2, Page: 1, Limit: 1}, p); diff != "" {
		t.Errorf("ListApps page 1 (-want +got):\n%s", diff)
	}
	p, err = c.ListApps(ctx, client.ListOptions{})
	if err != nil || p.Page != 1 || p.Limit != 10 || len(p.Apps) != 2 {
		t.Errorf("ListApps with defaults = %+v, %v; want page 1, limit 10, both apps", p, err)
	}

	s.clock.Advance(time.Second)
	r, err := c.RenameApp(ctx, b.ID, "Renamed")
	if err != nil {
		t.Fatalf("RenameApp: %v", err)
	}
	if r.ID != b.ID || r.Name != "Renamed" || !r.CreatedAt.Equal(b.CreatedAt.Time) || !r.UpdatedAt.After(b.UpdatedAt.Time) {
		t.Errorf("RenameApp = %+v, from %+v", r, b)
	}

	// An app with a keyset cannot be deleted; once empty, it can.
	k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	err = c.DeleteApp(ctx, a.ID)
	if client.StatusCode(err) != http.StatusConflict {
		t.Fatalf("DeleteApp of an app with a keyset: %v, want 409", err)
	}
	if err := c.DeleteKeyset(ctx, k.Keyset.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteApp(ctx, a.ID); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}
	if _, err := c.GetApp(ctx, a.ID); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("GetApp after DeleteApp: %v, want 404", err)
	}
}

// Every keyset, configuration and secret-key method against a real server.
func TestKeysets(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.client(nil)
	ctx := context.Background()
	app, err := c.CreateApp(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}

	// Defaults.
	d, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID})
	if err != nil {
		t.Fatalf("CreateKeyset: %v", err)
	}
	if d.Keyset.Name != "Default Keyset" || d.Keyset.Type != "testing" || d.Keyset.AppID != app.ID ||
		!strings.HasPrefix(d.Keyset.PublishKey, "pub-c-") || !strings.HasPrefix(d.Keyset.SubscribeKey, "sub-c-") {
		t.Errorf("CreateKeyset with defaults = %+v", d.Keyset)
	}
	if len(d.SecretKeys) != 1 || !strings.HasPrefix(d.SecretKeys[0].SecretKey, "sec-c-") || d.SecretKeys[0].ExpiresAt != nil {
		t.Errorf("CreateKeyset secret keys = %+v, want one main key", d.SecretKeys)
	}
	if d.Config.Presence.AnnounceMax != 20 || !d.Config.MessagePersistence.Enabled || *d.Config.Files.Region != "us-east-1" {
		t.Errorf("CreateKeyset config = %+v, want the defaults", d.Config)
	}

	// With name, type and a configuration.
	k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID, Name: "prod", Type: "production",
		Config: map[string]any{"messagePersistence": map[string]any{"enabled": true, "retention": 30}}})
	if err != nil {
		t.Fatalf("CreateKeyset: %v", err)
	}
	if k.Keyset.Name != "prod" || k.Keyset.Type != "production" {
		t.Errorf("CreateKeyset = %+v", k.Keyset)
	}
	if mp := k.Config.MessagePersistence; !mp.Enabled || mp.Retention == nil || *mp.Retention != 30 {
		t.Errorf("CreateKeyset config.messagePersistence = %+v, want enabled, 30 days", mp)
	}
	id := k.Keyset.ID

	got, err := c.GetKeyset(ctx, id)
	if err != nil || got != k.Keyset {
		t.Errorf("GetKeyset = %+v, %v; want %+v", got, err, k.Keyset)
	}
	p, err := c.ListKeysets(ctx, client.ListOptions{Page: 2, Limit: 1})
	if err != nil {
		t.Fatalf("ListKeysets: %v", err)
	}
	if diff := cmp.Diff(&client.KeysetPage{Keysets: []client.Keyset{k.Keyset}, Total: 2, Page: 2, Limit: 1}, p); diff != "" {
		t.Errorf("ListKeysets page 2 (-want +got):\n%s", diff)
	}

	u, err := c.UpdateKeyset(ctx, id, client.KeysetUpdate{Name: ptr("staging"), Type: ptr("testing")})
	if err != nil || u.Name != "staging" || u.Type != "testing" || u.PublishKey != k.Keyset.PublishKey {
		t.Errorf("UpdateKeyset = %+v, %v", u, err)
	}
	u, err = c.UpdateKeyset(ctx, id, client.KeysetUpdate{Name: ptr("only the name")})
	if err != nil || u.Name != "only the name" || u.Type != "testing" {
		t.Errorf("UpdateKeyset of the name alone = %+v, %v", u, err)
	}

	// Configuration.
	cfg, err := c.GetConfig(ctx, id)
	if err != nil || !cmp.Equal(cfg, k.Config) {
		t.Errorf("GetConfig = %+v, %v; want %+v", cfg, err, k.Config)
	}
	cfg, err = c.UpdateConfig(ctx, id, json.RawMessage(`{"presence":{"announceMax":50},"files":{"enabled":true,"region":"us-east-1","retention":7}}`))
	if err != nil {
		t.Fatalf("UpdateConfig: %v", err)
	}
	if cfg.Presence.AnnounceMax != 50 || !cfg.Files.Enabled || *cfg.Files.Region != "us-east-1" || !cfg.MessagePersistence.Enabled {
		t.Errorf("UpdateConfig answered %+v: want the merge of the patch into what was there", cfg)
	}
	again, err := c.GetConfig(ctx, id)
	if err != nil || !cmp.Equal(again, cfg) {
		t.Errorf("GetConfig after UpdateConfig = %+v, %v; want %+v", again, err, cfg)
	}

	// Secret keys: rotate with and without expiry, move an expiry, delete.
	main0 := k.SecretKeys[0]
	keys, err := c.ListSecretKeys(ctx, id, false)
	if err != nil || !slices.Equal(keys, []client.SecretKey{main0}) {
		t.Errorf("ListSecretKeys = %+v, %v; want the main key", keys, err)
	}
	exp := ms(s.clock.Now().Add(time.Hour))
	main1, err := c.RotateSecretKey(ctx, id, &exp)
	if err != nil || !strings.HasPrefix(main1, "sec-c-") || main1 == main0.SecretKey {
		t.Fatalf("RotateSecretKey = %q, %v", main1, err)
	}
	keys, err = c.ListSecretKeys(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]client.SecretKey{{SecretKey: main1}, {SecretKey: main0.SecretKey, ExpiresAt: &client.Time{Time: exp}}}, keys); diff != "" {
		t.Errorf("ListSecretKeys after a rotation with expiry (-want +got):\n%s", diff)
	}
	later := ms(s.clock.Now().Add(48 * time.Hour))
	moved, err := c.UpdateSecretKeyExpiry(ctx, id, main0.SecretKey, later) // the whole key: only its prefix is sent
	if err != nil || moved.SecretKey != main0.SecretKey || moved.ExpiresAt == nil || !moved.ExpiresAt.Equal(later) {
		t.Errorf("UpdateSecretKeyExpiry = %+v, %v; want expiry %v", moved, err, later)
	}
	if main0.Prefix() != main0.SecretKey[:11] {
		t.Errorf("Prefix() = %q", main0.Prefix())
	}

	// activeOnly leaves out the rotated key once it has expired.
	s.clock.Advance(49 * time.Hour)
	active, err := c.ListSecretKeys(ctx, id, true)
	if err != nil || len(active) != 1 || active[0].SecretKey != main1 {
		t.Errorf("ListSecretKeys(activeOnly) after the expiry = %+v, %v; want the main key alone", active, err)
	}
	all, err := c.ListSecretKeys(ctx, id, false)
	if err != nil || len(all) != 2 {
		t.Errorf("ListSecretKeys(all) after the expiry = %+v, %v; want both keys", all, err)
	}
	if err := c.DeleteSecretKey(ctx, id, main0.Prefix()); err != nil {
		t.Fatalf("DeleteSecretKey: %v", err)
	}
	main2, err := c.RotateSecretKey(ctx, id, nil)
	if err != nil {
		t.Fatalf("RotateSecretKey(nil): %v", err)
	}
	keys, err = c.ListSecretKeys(ctx, id, false)
	if diff := cmp.Diff([]client.SecretKey{{SecretKey: main2}}, keys); err != nil || diff != "" {
		t.Errorf("ListSecretKeys after delete and an immediate rotation (%v) (-want +got):\n%s", err, diff)
	}

	if err := c.DeleteKeyset(ctx, id); err != nil {
		t.Fatalf("DeleteKeyset: %v", err)
	}
	if _, err := c.GetKeyset(ctx, id); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("GetKeyset after DeleteKeyset: %v, want 404", err)
	}
	if _, err := c.GetConfig(ctx, id); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("GetConfig after DeleteKeyset: %v, want 404", err)
	}
}

// The iterators walk every page in order, stop asking when the caller
// stops, and yield an error as the last pair.
func TestIterators(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	rec := &recorder{}
	c := s.client(nil, client.WithPageSize(3), client.WithHTTPClient(&http.Client{Transport: rec}))
	ctx := context.Background()

	var wantApps []client.App
	var wantKeysets []client.Keyset
	for i := range 7 {
		a, err := c.CreateApp(ctx, fmt.Sprintf("app %d", i))
		if err != nil {
			t.Fatal(err)
		}
		wantApps = append(wantApps, a)
		if i < 6 { // exactly two full pages: the walk must stop on the total, not on a short page
			k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: a.ID, Name: fmt.Sprint("keyset ", i)})
			if err != nil {
				t.Fatal(err)
			}
			wantKeysets = append(wantKeysets, k.Keyset)
		}
	}
	before := len(rec.all())

	var apps []client.App
	for a, err := range c.Apps(ctx) {
		if err != nil {
			t.Fatalf("Apps: %v", err)
		}
		apps = append(apps, a)
	}
	if diff := cmp.Diff(wantApps, apps); diff != "" {
		t.Errorf("Apps (-want +got):\n%s", diff)
	}
	var keysets []client.Keyset
	for k, err := range c.Keysets(ctx) {
		if err != nil {
			t.Fatalf("Keysets: %v", err)
		}
		keysets = append(keysets, k)
	}
	if diff := cmp.Diff(wantKeysets, keysets); diff != "" {
		t.Errorf("Keysets (-want +got):\n%s", diff)
	}
	var queries []string
	for _, call := range rec.all()[before:] {
		queries = append(queries, call.url.Path+"?"+call.url.RawQuery)
	}
	want := []string{
		"/v2/apps?limit=3&page=1", "/v2/apps?limit=3&page=2", "/v2/apps?limit=3&page=3",
		"/v2/keysets?limit=3&page=1", "/v2/keysets?limit=3&page=2",
	}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("pages asked for (-want +got):\n%s", diff)
	}

	// Stopping early asks for no further page.
	before = len(rec.all())
	n := 0
	for range c.Apps(ctx) {
		n++
		if n == 4 {
			break
		}
	}
	if got := len(rec.all()) - before; got != 2 {
		t.Errorf("breaking after 4 apps made %d requests, want 2 (pages 1 and 2)", got)
	}

	// An error is the last pair.
	bad, err := client.New(s.base, "si_not-a-key", client.WithRetry(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for a, err := range bad.Apps(ctx) {
		if err == nil {
			t.Errorf("Apps with a bad key yielded %+v", a)
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || client.StatusCode(errs[0]) != http.StatusUnauthorized {
		t.Errorf("Apps with a bad key yielded errors %v, want one 401", errs)
	}
}

// Errors carry the server's status, name and messages, and 403 is answered
// before the target is looked up.
func TestErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := s.client(nil)
	ctx := context.Background()
	app, err := c.CreateApp(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateKeyset(ctx, client.NewKeyset{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	readOnly := s.client([]string{"account:app:read"})
	unknownKey, err := client.New(s.base, "si_0000000000000000000000000000000000000000000000000")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		errors string
		msg    string // a substring of one message
	}{
		{"400 empty name", func() error { _, err := c.CreateApp(ctx, ""); return err }, 400, "BadRequest", "name"},
		{"400 two problems", func() error {
			_, err := c.UpdateConfig(ctx, k.Keyset.ID, map[string]any{"presence": map[string]any{"announceMax": 1000, "interval": 1}})
			return err
		}, 400, "BadRequest", "presence.announceMax"},
		{"400 unknown field", func() error {
			_, err := c.UpdateConfig(ctx, k.Keyset.ID, map[string]any{"nope": true})
			return err
		}, 400, "BadRequest", "nope"},
		{"401 unknown key", func() error { _, err := unknownKey.ListApps(ctx, client.ListOptions{}); return err }, 401, "Unauthorized", ""},
		{"403 create", func() error { _, err := readOnly.CreateApp(ctx, "x"); return err }, 403, "Forbidden", "missing permission"},
		{"403 unknown app is not 404", func() error { _, err := readOnly.RenameApp(ctx, "999", "x"); return err }, 403, "Forbidden", "missing permission"},
		{"404 app", func() error { _, err := c.GetApp(ctx, "999"); return err }, 404, "NotFound", "999"},
		{"404 secret key", func() error { return c.DeleteSecretKey(ctx, k.Keyset.ID, "sec-c-AAAAA") }, 404, "NotFound", "sec-c-AAAAA"},
		{"409 app with keysets", func() error { return c.DeleteApp(ctx, app.ID) }, 409, "Conflict", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want a *client.Error", err, err)
			}
			if e.StatusCode != tc.status || e.Name != tc.errors || len(e.Messages) == 0 {
				t.Errorf("error %+v, want status %d, name %s and messages", e, tc.status, tc.errors)
			}
			if tc.msg != "" && !slices.ContainsFunc(e.Messages, func(m string) bool { return strings.Contains(m, tc.msg) }) {
				t.Errorf("messages %q: none mentions %q", e.Messages, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("keyplane: %d %s: ", tc.status, tc.errors)) || !strings.Contains(err.Error(), e.Messages[0]) {
				t.Errorf("Error() = %q, want status, name and the messages", err.Error())
			}
		})
	}

	// Two problems are two messages.
	_, err = c.UpdateConfig(ctx, k.Keyset.ID, map[string]any{"presence": map[string]any{"announceMax": 1000, "interval": 1}})
	var e *client.Error
	if !errors.As(err, &e) || len(e.Messages) != 2 {
		t.Errorf("two bad fields: %v, want two messages", err)
	}
}

// PubNub-Version is sent on every request, pinned to client.Version unless
// WithVersion says otherwise, and the server answers as that release.
func TestVersion(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	rec := &recorder{}
	c := s.client(nil, client.WithHTTPClient(&http.Client{Transport: rec}))
	old := s.client(nil, client.WithHTTPClient(&http.Client{Transport: rec}), client.WithVersion("2026-03-10"))
	ctx := context.Background()
	if _, err := c.ListApps(ctx, client.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := old.ListApps(ctx, client.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	calls := rec.all()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	for i, want := range []struct{ sent, resolved string }{{client.Version, client.Version}, {"2026-03-10", "2026-03-01"}} {
		if got := calls[i].header.Get("PubNub-Version"); got != want.sent {
			t.Errorf("call %d sent PubNub-Version %q, want %q", i, got, want.sent)
		}
		if got := calls[i].answer.Get("PubNub-Version"); got != want.resolved {
			t.Errorf("call %d answered PubNub-Version %q, want %q", i, got, want.resolved)
		}
		if calls[i].header.Get("Authorization") == "" {
			t.Errorf("call %d sent no Authorization", i)
		}
	}
	// A date before the first release is well-formed, so the server judges it.
	early := s.client(nil, client.WithVersion("2020-01-01"))
	if _, err := early.ListApps(ctx, client.ListOptions{}); client.StatusCode(err) != http.StatusBadRequest {
		t.Errorf("PubNub-Version 2020-01-01: %v, want 400", err)
	}
}

// New refuses what could never work.
func TestNew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base, key string
		opts      []client.Option
	}{
		{"127.0.0.1:8080", "k", nil},
		{"ftp://127.0.0.1", "k", nil},
		{"http://user:pw@127.0.0.1", "k", nil},
		{"http://127.0.0.1?x=1", "k", nil},
		{"http://127.0.0.1", "", nil},
		{"http://127.0.0.1", "k", []client.Option{client.WithVersion("2026-9-3")}},
		{"http://127.0.0.1", "k", []client.Option{client.WithVersion("2026-02-30")}},
		{"http://127.0.0.1", "k", []client.Option{client.WithRetry(-1, 0)}},
		{"http://127.0.0.1", "k", []client.Option{client.WithPageSize(101)}},
		{"http://127.0.0.1", "k", []client.Option{client.WithPageSize(0)}},
		{"http://127.0.0.1", "k", []client.Option{client.WithHTTPClient(nil)}},
	} {
		if _, err := client.New(tc.base, tc.key, tc.opts...); err == nil {
			t.Errorf("New(%q, %q, %d options) succeeded, want an error", tc.base, tc.key, len(tc.opts))
		}
	}
	if _, err := client.New("http://127.0.0.1:8080/prefix/", "k"); err != nil {
		t.Errorf("New with a path prefix: %v", err)
	}
}
