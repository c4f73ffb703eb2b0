package main

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/smtptest"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"
)

// admin invite and reset-password print the link, alone on stdout, when
// no mail server is given, and mail it through a real SMTP server when one
// is (its URL from the environment); the links work.
func TestAdminInviteAndResetPassword(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	ctx := context.Background()
	link, errOut := mustAdmin(t, db, "invite", "--email", "New@Example.com", "--role", "admin", "--public-url", "https://keyplane.example")
	link = strings.TrimSpace(link)
	if !strings.HasPrefix(link, "https://keyplane.example/invitation?token=") || strings.Contains(errOut, link) || !strings.Contains(errOut, "no --smtp-url") {
		t.Fatalf("stdout %q, stderr %q", link, errOut)
	}
	s, err := store.Open(ctx, db, wallclock.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := control.New(s, control.Options{})
	u, _ := url.Parse(link)
	if _, _, err := svc.AcceptInvitation(ctx, u.Query().Get("token"), "correct horse battery", "127.0.0.1", ""); err != nil {
		t.Fatalf("accepting the printed link: %v", err)
	}

	reset, _ := mustAdmin(t, db, "reset-password", "--email", "new@example.com")
	u, _ = url.Parse(strings.TrimSpace(reset))
	if u.Host != "127.0.0.1:8080" || u.Path != "/reset" {
		t.Fatalf("reset link %q", reset)
	}
	if err := svc.ResetPassword(ctx, u.Query().Get("token"), "another good password", "192.0.2.1", ""); err != nil {
		t.Fatal(err)
	}

	srv := smtptest.Start(t, smtptest.Options{})
	env := map[string]string{"KEYPLANE_SMTP_URL": srv.URL, "KEYPLANE_SMTP_FROM": "noreply@keyplane.example", "KEYPLANE_PUBLIC_URL": "https://keyplane.example"}
	out, errOut, err := runKeyplane(t, env, "admin", "invite", "--database", db, "--email", "second@example.com", "--role", "viewer")
	if err != nil || out != "" || !strings.Contains(errOut, "mailed") {
		t.Fatalf("with mail: %v, stdout %q, stderr %q", err, out, errOut)
	}
	if m := srv.Next(t); m.To != "second@example.com" || !strings.HasPrefix(m.Link(t), "https://keyplane.example/invitation?token=") {
		t.Errorf("message to %s: %s", m.To, m.Text)
	}
	out, _, err = runKeyplane(t, env, "admin", "reset-password", "--database", db, "--email", "new@example.com")
	if err != nil || out != "" {
		t.Fatalf("reset with mail: %v %q", err, out)
	}
	srv.Next(t)

	// Mistakes: a clear message, nothing made.
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"invite", "--email", "x@example.com", "--role", "app-admin"}, "App Admin applies to chosen apps"},
		{nil, []string{"invite", "--email", "x@example.com", "--role", "viewer", "--smtp-url", "smtp://u:p@mail.example.com"}, "--smtp-url needs --public-url"},
		{nil, []string{"invite", "--email", "x@example.com", "--role", "viewer", "--public-url", "keyplane.example"}, "--public-url"},
		{map[string]string{"KEYPLANE_SMTP_URL": "ftp://u:hunter2@x"}, []string{"invite", "--email", "x@example.com", "--role", "viewer", "--public-url", "https://k.example"}, "scheme must be smtp://"},
		{nil, []string{"reset-password", "--email", "nobody@example.com"}, "user nobody@example.com: not found"},
	} {
		_, errOut, err := runKeyplane(t, tc.env, append([]string{"admin", tc.args[0], "--database", db}, tc.args[1:]...)...)
		if err == nil || !strings.Contains(err.Error()+errOut, tc.want) || strings.Contains(err.Error()+errOut, "hunter2") {
			t.Errorf("%v: %v %q, want %q", tc.args, err, errOut, tc.want)
		}
	}
}

// serve refuses mail settings that cannot work, before it starts.
func TestServeMailFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--signup"}, "--signup needs --smtp-url"},
		{[]string{"--smtp-url", "smtp://u:p@mail.example.com"}, "--smtp-url needs --public-url"},
		{[]string{"--smtp-url", "smtp://u:p@mail.example.com", "--public-url", "https://k.example"}, "--smtp-from"},
		{[]string{"--smtp-from", "a@example.com"}, "need --smtp-url"},
		{[]string{"--public-url", "https://k.example/?x=1"}, "--public-url"},
	} {
		_, _, err := runKeyplane(t, nil, append([]string{"serve", "--database", db, "--addr", "127.0.0.1:0"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	// The URL in the environment, with its password, never shows in help.
	out, _, _ := runKeyplane(t, map[string]string{"KEYPLANE_SMTP_URL": "smtp://u:hunter2@x"}, "serve", "--help")
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "--smtp-url") {
		t.Errorf("help:\n%s", out)
	}
}
