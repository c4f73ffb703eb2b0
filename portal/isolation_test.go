package portal_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/portal"
)

// tenant is what one account holds in the isolation test, each name
// unique to it so a page that shows any of them is caught.
type tenant struct {
	id          int64
	app         keyplane.App
	keyset      keyplane.Keyset
	integration keyplane.Integration
	apiKey      int64
	person      keyplane.User
	invitation  keyplane.Invitation
	webhook     keyplane.Webhook
	names       []string
}

// newTenant fills account id with an app, a keyset, an integration with a
// key, a Viewer and a webhook of every event, all named after tag. The
// webhook's receiver is a closed port on the loopback address, which the
// server (without --webhooks-allow-private) never dials: its deliveries
// stay in the outbox, each an id to try.
func newTenant(t *testing.T, e *env, id int64, tag string) tenant {
	t.Helper()
	ctx, op := context.Background(), keyplane.Operator(id)
	tn := tenant{id: id}
	var err error
	if tn.app, err = e.svc.CreateApp(ctx, op, tag+" app"); err != nil {
		t.Fatal(err)
	}
	name := tag + " keys"
	if tn.keyset, _, _, err = e.svc.CreateKeyset(ctx, op, control.NewKeyset{AppID: tn.app.ID, Name: &name}); err != nil {
		t.Fatal(err)
	}
	g, err := keyplane.ParseGrant("account:app:read")
	if err != nil {
		t.Fatal(err)
	}
	in, key, err := e.svc.CreateIntegration(ctx, op, tag+" robot", []keyplane.Grant{g}, e.clock.Now().Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tn.integration, tn.apiKey = in, key.APIKey.ID
	if tn.person, _, err = e.svc.CreateUser(ctx, op, control.NewUser{Email: strings.ToLower(tag) + "-viewer@example.com", Password: password, Role: keyplane.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if tn.invitation, _, err = e.svc.Invite(ctx, op, control.NewInvitation{Email: strings.ToLower(tag) + "-invited@example.com", Role: keyplane.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if tn.webhook, err = e.svc.CreateWebhook(ctx, op, control.NewWebhook{URL: "http://127.0.0.1:9/" + tag + "-hook", Description: tag + " SIEM", Events: []string{keyplane.AllEvents}}); err != nil {
		t.Fatal(err)
	}
	tn.names = []string{tag + " app", tag + "-hook", tag + " SIEM", tag + " keys", tag + " robot", strings.ToLower(tag) + "-viewer@example.com", tn.keyset.PublishKey,
		strings.ToLower(tag) + "-invited@example.com"}
	return tn
}

// state is everything of an account as its operator reads it: what must
// not change when another account's people try its ids.
func (tn tenant) state(t *testing.T, e *env) string {
	t.Helper()
	ctx, op := context.Background(), keyplane.Operator(tn.id)
	var parts []any
	apps, _, err := e.svc.ListApps(ctx, op, keyplane.Page{Page: 1, Limit: 100})
	parts = append(parts, apps, err)
	keysets, _, err := e.svc.ListKeysets(ctx, op, keyplane.Page{Page: 1, Limit: 100})
	parts = append(parts, keysets, err)
	ins, err := e.svc.ListIntegrations(ctx, op)
	parts = append(parts, ins, err)
	users, err := e.svc.ListUsers(ctx, op)
	parts = append(parts, users, err)
	invitations, err := e.svc.ListInvitations(ctx, op)
	parts = append(parts, invitations, err)
	// Of its audit log, the changes: its people signing in are not.
	events, err := e.svc.ListAuditEvents(ctx, op, keyplane.AuditQuery{Limit: 1000}, "")
	changes, signIns := 0, map[int64]bool{}
	for _, ev := range events.Events {
		if ev.Type == keyplane.EventSignInSucceeded {
			signIns[ev.ID] = true
		} else {
			changes++
		}
	}
	parts = append(parts, changes, err)
	webhooks, err := e.svc.ListWebhooks(ctx, op)
	parts = append(parts, webhooks, err)
	// Of deliveries, which there are: the server's worker attempts
	// them meanwhile (and a redelivery would be audited).
	for _, w := range webhooks {
		ds, err := e.svc.ListWebhookDeliveries(ctx, op, w.ID, "", keyplane.MaxDeliveriesLimit)
		for _, d := range ds {
			if !signIns[d.EventID] {
				parts = append(parts, d.EventID)
			}
		}
		parts = append(parts, err)
	}
	b, _ := json.Marshal(parts)
	return string(b)
}

// Tenants never see each other in the portal, for every route of its
// table (so a new page is covered or this fails) and every role: a person
// acting in account B — each of PubNub's seven roles, and an Owner of both
// accounts who switched to B — asking for a page or sending a form with
// an id of account A's, gets exactly the answer an id that does not exist
// gets; B's lists, searches, usage and audit pages never name anything of
// A's; and nothing of A's changes.
func TestTenantsAreIsolatedOnEveryPortalRoute(t *testing.T) {
	e := newEnv(t)
	// The test's own Service registers the tenants' webhooks on the
	// loopback address (see newTenant).
	e.svc.ConfigureWebhooks(control.WebhookConfig{AllowPrivate: true})
	ctx := context.Background()
	a := newTenant(t, e, 1, "Zephyr")
	acct, err := e.svc.CreateAccount(ctx, keyplane.InstallOperator, "Beta Corp")
	if err != nil {
		t.Fatal(err)
	}
	b := newTenant(t, e, acct.ID, "Beta")

	type person struct {
		email string
		role  keyplane.Role
		scope control.NewUser
	}
	people := []person{
		{"owner@b.example", keyplane.RoleOwner, control.NewUser{}},
		{"admin@b.example", keyplane.RoleAdmin, control.NewUser{}},
		{"viewer@b.example", keyplane.RoleViewer, control.NewUser{}},
		{"app-admin@b.example", keyplane.RoleAppAdmin, control.NewUser{Apps: []int64{b.app.ID}}},
		{"app-viewer@b.example", keyplane.RoleAppViewer, control.NewUser{Apps: []int64{b.app.ID}}},
		{"key-admin@b.example", keyplane.RoleKeyAdmin, control.NewUser{Keysets: []int64{b.keyset.ID}}},
		{"key-viewer@b.example", keyplane.RoleKeyViewer, control.NewUser{Keysets: []int64{b.keyset.ID}}},
		{"both@example.com", keyplane.RoleOwner, control.NewUser{}},
	}
	for _, p := range people {
		n := p.scope
		n.Email, n.Password, n.Role = p.email, password, p.role
		if _, _, err := e.svc.CreateUser(ctx, keyplane.Operator(b.id), n); err != nil {
			t.Fatal(err)
		}
	}
	// both@ is an Owner of A too; signed in, it acts in B only after
	// switching there.
	if _, _, err := e.svc.CreateUser(ctx, keyplane.Operator(a.id), control.NewUser{Email: "both@example.com", Role: keyplane.RoleOwner}); err != nil {
		t.Fatal(err)
	}

	// Audit event ids are each account's own sequence: A's newest one must
	// be beyond B's, to be an id B does not have, even after each of B's
	// people has signed in (audited) below.
	newest := func(account int64) int64 {
		page, err := e.svc.ListAuditEvents(ctx, keyplane.Operator(account), keyplane.AuditQuery{Limit: 1000}, "")
		if err != nil || len(page.Events) == 0 {
			t.Fatalf("audit of account %d: %v", account, err)
		}
		return page.Events[len(page.Events)-1].ID
	}
	for i := 0; newest(a.id) <= newest(b.id)+2*int64(len(people))+1; i++ {
		if _, err := e.svc.RenameApp(ctx, keyplane.Operator(a.id), a.app.ID, fmt.Sprintf("Zephyr app %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.RenameApp(ctx, keyplane.Operator(a.id), a.app.ID, "Zephyr app"); err != nil {
		t.Fatal(err)
	}
	aEvent := newest(a.id)
	// A delivery of A's webhook: its id is the event's.
	aDeliveries, err := e.svc.ListWebhookDeliveries(ctx, keyplane.Operator(a.id), a.webhook.ID, "", 1)
	if err != nil || len(aDeliveries) != 1 {
		t.Fatalf("account A's deliveries: %v %v", aDeliveries, err)
	}
	before := a.state(t, e)

	// Each route's ids: A's, and ones that exist nowhere.
	// A session of A's person, whose handle another account's people try.
	aToken, _, err := e.svc.SignIn(ctx, a.person.Email, password, "192.0.2.9")
	if err != nil {
		t.Fatal(err)
	}
	aSession := keyplane.Session{TokenHash: sha256Of(aToken)}.Handle()
	theirs := func(path string) map[string]string {
		switch {
		case strings.Contains(path, "/api-management/"):
			return map[string]string{"{id}": itoa(a.integration.ID), "{key}": itoa(a.apiKey)}
		case strings.Contains(path, "/users/invitations/"):
			return map[string]string{"{id}": itoa(a.invitation.ID)}
		case strings.HasPrefix(path, "/account/webhooks/"):
			return map[string]string{"{id}": itoa(a.webhook.ID), "{delivery}": itoa(aDeliveries[0].EventID)}
		case strings.HasPrefix(path, "/account/audit/"):
			return map[string]string{"{id}": itoa(aEvent)}
		case strings.HasPrefix(path, "/account/sessions/"):
			return map[string]string{"{handle}": aSession}
		case strings.Contains(path, "/users/"):
			return map[string]string{"{id}": itoa(a.person.ID)}
		case strings.HasPrefix(path, "/apps/"):
			return map[string]string{"{id}": itoa(a.app.ID)}
		case strings.HasPrefix(path, "/keysets/"):
			return map[string]string{"{id}": itoa(a.keyset.ID)}
		}
		t.Fatalf("route %s: the test does not know what its ids are", path)
		return nil
	}
	missing := map[string]string{"{id}": "999999", "{key}": "999998", "{delivery}": "999997", "{handle}": "0123456789abcdef"}
	// One form for every route: each reads the fields it knows.
	form := url.Values{"name": {"taken"}, "role": {"viewer"}, "email": {"x@b.example"}, "confirm": {"yes"},
		"expires": {"30"}, "presence.announceMax": {"7"}}

	// tokens are the parts of a page that differ between any two requests.
	tokens := regexp.MustCompile(`form=[A-Za-z0-9]+|name="form" value="[^"]*"`)
	// An id shows in a path or a message, after a slash, a space or a #.
	answerOf := func(r answer, ids map[string]string) string {
		s := fmt.Sprintf("%d %s %s", r.status, r.header.Get("Location"), r.body)
		for _, id := range ids {
			s = regexp.MustCompile(`([/ #])`+regexp.QuoteMeta(id)+`\b`).ReplaceAllString(s, "${1}ID")
		}
		return tokens.ReplaceAllString(s, "TOKEN")
	}

	var withIDs []string
	for _, p := range portal.RoutePatterns() {
		if strings.Contains(p, "{") && !strings.HasSuffix(p, "{$}") {
			withIDs = append(withIDs, p)
		}
	}
	if len(withIDs) < 20 {
		t.Fatalf("only %d portal routes take an id: %v", len(withIDs), withIDs)
	}

	for _, p := range people {
		t.Run(p.email, func(t *testing.T) {
			c := e.client()
			e.signIn(c, p.email)
			if p.email == "both@example.com" {
				if r := e.post(c, "/account/switch", url.Values{"account": {itoa(b.id)}}); r.status != http.StatusSeeOther {
					t.Fatalf("switch to B: %d %s", r.status, r.body)
				}
			}
			for _, pattern := range withIDs {
				method, path, _ := strings.Cut(pattern, " ")
				fill := func(ids map[string]string) string {
					out := path
					for k, v := range ids {
						out = strings.ReplaceAll(out, k, v)
					}
					return out
				}
				send := func(ids map[string]string) answer {
					if method == "GET" {
						return e.get(c, fill(ids))
					}
					return e.post(c, fill(ids), form)
				}
				ids := theirs(path)
				r := send(ids)
				if r.status == http.StatusSeeOther && strings.HasPrefix(r.header.Get("Location"), "/login") {
					t.Fatalf("%s: sent to sign in; the session is not %s's", pattern, p.email)
				}
				foreign, absent := answerOf(r, ids), answerOf(send(missing), missing)
				if foreign != absent {
					t.Errorf("%s with account A's ids:\n  %.600s\nwith missing ids:\n  %.600s", pattern, foreign, absent)
				}
			}
			// Ids in query strings, and every list and search.
			for _, path := range []string{"/apps", "/apps?q=Zephyr", "/apps?q=" + itoa(a.app.ID),
				"/usage", "/usage?app=" + itoa(a.app.ID), "/usage?keyset=" + itoa(a.keyset.ID),
				"/account", "/account/api-management", "/account/users", "/account/audit", "/account/webhooks",
				"/account/audit?target=" + itoa(a.app.ID)} {
				r := e.get(c, path)
				for _, name := range append(a.names, "Default account") {
					if name == "Default account" && p.email == "both@example.com" {
						continue // their switcher names the other account they belong to
					}
					if strings.Contains(r.body, name) {
						t.Errorf("%s (%d) shows account A's %q", path, r.status, name)
					}
				}
			}
		})
	}
	if _, _, err := e.svc.Session(ctx, aToken); err != nil {
		t.Errorf("A's person's session after B's people tried its handle: %v", err)
	}
	if after := a.state(t, e); after != before {
		t.Errorf("account A changed:\nbefore %s\nafter  %s", before, after)
	}
}

// sha256Of is a session token's hash, as the store keeps it.
func sha256Of(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
