package control_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// The server's own notices go by e-mail, through a real SMTP server: a
// key notice to the account's Owner and Admins (not its Viewers, nor
// another account's people), and a webhook the worker disabled to its
// Owner alone. Each message names what happened and links to its page.
func TestNoticesAreMailed(t *testing.T) {
	svc, srv, clk := mailSetup(t, true, false)
	ctx := context.Background()
	owner(t, svc, 1, "owner@acme.example")
	for _, u := range []struct {
		email string
		role  keyplane.Role
	}{{"admin@acme.example", keyplane.RoleAdmin}, {"viewer@acme.example", keyplane.RoleViewer}} {
		if _, _, err := svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: u.email, Password: pw, Role: u.role}); err != nil {
			t.Fatal(err)
		}
	}
	other, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Other Corp")
	if err != nil {
		t.Fatal(err)
	}
	owner(t, svc, other.ID, "owner@other.example")

	in, k := newIntegration(t, svc, clk, 14*24*time.Hour)
	if n, err := svc.GiveKeyNotices(ctx, keyplane.InstallOperator); err != nil || n != 1 {
		t.Fatalf("notices given: %d %v", n, err)
	}
	svc.WaitBackground(ctx)
	var to []string
	for range 2 {
		m := srv.Next(t)
		to = append(to, m.To)
		if subj := m.Header.Get("Subject"); subj != "An API key of Default account expires soon" {
			t.Errorf("subject %q", subj)
		}
		for _, want := range []string{"expires in 14 days", "Service Integration: " + in.Name, k.Prefix + "…",
			"https://keyplane.example/account/api-management/" + itoa(in.ID)} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("the key notice to %s lacks %q:\n%s", m.To, want, m.Text)
			}
		}
		if strings.Contains(m.Text, k.Key) {
			t.Error("a key notice holds the key")
		}
	}
	sort.Strings(to)
	if strings.Join(to, " ") != "admin@acme.example owner@acme.example" {
		t.Errorf("the key notice went to %v, want the Owner and the Admin", to)
	}
	srv.None(t, 200*time.Millisecond)

	// A receiver answering 410: the worker disables its webhook.
	svc.ConfigureWebhooks(control.WebhookConfig{AllowPrivate: true})
	w, err := svc.CreateWebhook(ctx, keyplane.Operator(1), control.NewWebhook{URL: "http://127.0.0.1:9/hook", Events: []string{keyplane.EventAppCreated}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TestWebhook(ctx, keyplane.Operator(1), w.ID); err != nil {
		t.Fatal(err)
	}
	ds, _, err := svc.ClaimWebhookDeliveries(ctx, keyplane.InstallOperator, time.Minute, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claimed %v %v", ds, err)
	}
	if err := svc.FinishWebhookDelivery(ctx, keyplane.InstallOperator, ds[0], control.AttemptResult{Answered: true, Status: 410}); err != nil {
		t.Fatal(err)
	}
	svc.WaitBackground(ctx)
	m := srv.Next(t)
	if m.To != "owner@acme.example" || m.Header.Get("Subject") != "A webhook of Default account was disabled" {
		t.Errorf("the webhook message: to %s, subject %q", m.To, m.Header.Get("Subject"))
	}
	for _, want := range []string{keyplane.DisabledGone, "http://127.0.0.1:9/hook", "https://keyplane.example/account/webhooks/" + itoa(w.ID)} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("the webhook message lacks %q:\n%s", want, m.Text)
		}
	}
	srv.None(t, 200*time.Millisecond)
}

// Without a mail server, notices are given all the same (the audit log,
// the portal's banner), and nothing fails for want of one.
func TestNoticesWithoutMail(t *testing.T) {
	svc, _, clk := mailSetup(t, false, false)
	owner(t, svc, 1, "owner@acme.example")
	newIntegration(t, svc, clk, 3*24*time.Hour)
	if n, err := svc.GiveKeyNotices(context.Background(), keyplane.InstallOperator); err != nil || n != 1 {
		t.Fatalf("notices given: %d %v", n, err)
	}
}
