package control_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// scopedWorld is an account with four apps of one keyset each, and a second
// account with an app and a keyset of its own.
type scopedWorld struct {
	svc                *control.Service
	apps               []keyplane.App
	keysets            []keyplane.Keyset
	otherApp           keyplane.App
	otherKeyset        keyplane.Keyset
	missingApp, missKs int64
}

func newScopedWorld(t *testing.T) scopedWorld {
	t.Helper()
	svc, p, _ := setup(t)
	ctx := context.Background()
	w := scopedWorld{svc: svc}
	for _, name := range []string{"one", "two", "three", "four"} {
		a, err := svc.CreateApp(ctx, p, name)
		if err != nil {
			t.Fatal(err)
		}
		k, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		w.apps, w.keysets = append(w.apps, a), append(w.keysets, k)
	}
	acc, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Other")
	if err != nil {
		t.Fatal(err)
	}
	op := keyplane.Operator(acc.ID)
	if w.otherApp, err = svc.CreateApp(ctx, op, "theirs"); err != nil {
		t.Fatal(err)
	}
	if w.otherKeyset, _, _, err = svc.CreateKeyset(ctx, op, control.NewKeyset{AppID: w.otherApp.ID}); err != nil {
		t.Fatal(err)
	}
	w.missingApp, w.missKs = w.otherApp.ID+100, w.otherKeyset.ID+100
	return w
}

// signedIn adds a person with role r on scope to account 1 and returns the
// principal their session acts as.
func (w scopedWorld) signedIn(t *testing.T, email string, r keyplane.Role, apps, keysets []int64) keyplane.Principal {
	t.Helper()
	ctx := context.Background()
	if _, _, err := w.svc.CreateUser(ctx, keyplane.Operator(1), control.NewUser{Email: email, Password: "correct horse battery", Role: r, Apps: apps, Keysets: keysets}); err != nil {
		t.Fatal(err)
	}
	token, _, err := w.svc.SignIn(ctx, email, "correct horse battery", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := w.svc.Session(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// keyWith is the principal of a new integration's key holding rows.
func (w scopedWorld) keyWith(t *testing.T, rows []keyplane.Grant) keyplane.Principal {
	t.Helper()
	ctx := context.Background()
	_, key, err := w.svc.CreateIntegration(ctx, keyplane.Operator(1), "same rows", rows, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.svc.Authenticate(ctx, key.Key, keyplane.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func appIDs(as []keyplane.App) (out []int64) {
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func keysetIDs(ks []keyplane.Keyset) (out []int64) {
	for _, k := range ks {
		out = append(out, k.ID)
	}
	return out
}

// answer is an error as a caller sees it: its code and messages.
func answer(err error) string {
	if err == nil {
		return "ok"
	}
	return string(keyplane.ErrorCode(err)) + ": " + strings.Join(keyplane.ErrorMessages(err), "; ")
}

// An App Viewer of app 3 is a principal with app 3's rows: lists show app
// 3 and its keysets only, and every other app or keyset, of this account,
// of another, or none at all, answers exactly as it answers an
// integration's key holding the same rows. The audit log and the account's
// usage are refused.
func TestAppViewerSeesOnlyTheirApp(t *testing.T) {
	w := newScopedWorld(t)
	ctx := context.Background()
	mine, myKeyset := w.apps[2], w.keysets[2]
	p := w.signedIn(t, "viewer3@example.com", keyplane.RoleAppViewer, []int64{mine.ID}, nil)
	if want := keyplane.RoleGrants(keyplane.RoleAppViewer, mine.ID); !slices.Equal(p.Grants, want) {
		t.Fatalf("session grants %v, want %v", p.Grants, want)
	}
	key := w.keyWith(t, p.Grants)

	apps, total, err := w.svc.ListApps(ctx, p, keyplane.Page{Page: 1, Limit: 100})
	if err != nil || total != 1 || !slices.Equal(appIDs(apps), []int64{mine.ID}) {
		t.Errorf("ListApps = %v (%d), %v; want only app %d", appIDs(apps), total, err, mine.ID)
	}
	ks, total, err := w.svc.ListKeysets(ctx, p, keyplane.Page{Page: 1, Limit: 100})
	if err != nil || total != 1 || !slices.Equal(keysetIDs(ks), []int64{myKeyset.ID}) {
		t.Errorf("ListKeysets = %v (%d), %v; want only keyset %d", keysetIDs(ks), total, err, myKeyset.ID)
	}
	ks, _, err = w.svc.ListKeysetsOfApp(ctx, p, w.apps[0].ID, keyplane.Page{Page: 1, Limit: 100})
	if err != nil || len(ks) != 0 {
		t.Errorf("keysets of another app = %v, %v; want none", keysetIDs(ks), err)
	}
	if _, err := w.svc.GetApp(ctx, p, mine.ID); err != nil {
		t.Errorf("GetApp(own) = %v", err)
	}
	if _, err := w.svc.GetKeyset(ctx, p, myKeyset.ID); err != nil {
		t.Errorf("GetKeyset(own) = %v", err)
	}
	if _, err := w.svc.UsageMetrics(ctx, p, control.UsageParams{EntityType: "app", EntityID: itoa(mine.ID), Metrics: "publish", From: "2026-11-20", To: "2026-11-23"}); err != nil {
		t.Errorf("usage of own app = %v", err)
	}
	_, err = w.svc.RenameApp(ctx, p, mine.ID, "renamed")
	wantCode(t, err, keyplane.CodeForbidden)

	type call struct {
		name string
		do   func(keyplane.Principal) error
	}
	var calls []call
	for _, id := range []int64{w.apps[0].ID, w.otherApp.ID, w.missingApp} {
		calls = append(calls,
			call{"GetApp " + itoa(id), func(q keyplane.Principal) error { _, err := w.svc.GetApp(ctx, q, id); return err }},
			call{"usage of app " + itoa(id), func(q keyplane.Principal) error {
				_, err := w.svc.UsageMetrics(ctx, q, control.UsageParams{EntityType: "app", EntityID: itoa(id), Metrics: "publish", From: "2026-11-20", To: "2026-11-23"})
				return err
			}})
	}
	for _, id := range []int64{w.keysets[0].ID, w.otherKeyset.ID, w.missKs} {
		calls = append(calls,
			call{"GetKeyset " + itoa(id), func(q keyplane.Principal) error { _, err := w.svc.GetKeyset(ctx, q, id); return err }},
			call{"usage of keyset " + itoa(id), func(q keyplane.Principal) error {
				_, err := w.svc.UsageMetrics(ctx, q, control.UsageParams{EntityType: "keyset", EntityID: itoa(id), Metrics: "publish", From: "2026-11-20", To: "2026-11-23"})
				return err
			}})
	}
	calls = append(calls,
		call{"usage of the account", func(q keyplane.Principal) error {
			_, err := w.svc.UsageMetrics(ctx, q, control.UsageParams{EntityType: "account", EntityID: "1", Metrics: "publish", From: "2026-11-20", To: "2026-11-23"})
			return err
		}},
		call{"audit log", func(q keyplane.Principal) error {
			_, err := w.svc.ListAuditEvents(ctx, q, keyplane.AuditQuery{Limit: 10}, "")
			return err
		}},
		call{"create app", func(q keyplane.Principal) error { _, err := w.svc.CreateApp(ctx, q, "new"); return err }},
	)
	for _, c := range calls {
		got, want := answer(c.do(p)), answer(c.do(key))
		if got != want {
			t.Errorf("%s: the App Viewer gets %q, a key with the same rows %q", c.name, got, want)
		}
		if !strings.HasPrefix(got, string(keyplane.CodeForbidden)) {
			t.Errorf("%s: the App Viewer gets %q, want Forbidden", c.name, got)
		}
	}
	// People and integrations are account-wide: not theirs to see.
	_, err = w.svc.ListUsers(ctx, p)
	wantCode(t, err, keyplane.CodeForbidden)
	_, err = w.svc.ListIntegrations(ctx, p)
	wantCode(t, err, keyplane.CodeForbidden)
}

// A Key Admin of one keyset changes that keyset and nothing else, and
// lists it alone; a role change takes effect on the next request.
func TestKeyAdminAndRoleChanges(t *testing.T) {
	w := newScopedWorld(t)
	ctx := context.Background()
	k := w.keysets[1]
	p := w.signedIn(t, "keys@example.com", keyplane.RoleKeyAdmin, nil, []int64{k.ID})
	name := "renamed"
	if _, err := w.svc.UpdateKeyset(ctx, p, k.ID, &name, nil); err != nil {
		t.Fatalf("UpdateKeyset(own) = %v", err)
	}
	_, err := w.svc.UpdateKeyset(ctx, p, w.keysets[0].ID, &name, nil)
	wantCode(t, err, keyplane.CodeForbidden)
	ks, _, err := w.svc.ListKeysets(ctx, p, keyplane.Page{Page: 1, Limit: 100})
	if err != nil || !slices.Equal(keysetIDs(ks), []int64{k.ID}) {
		t.Errorf("ListKeysets = %v, %v", keysetIDs(ks), err)
	}
	// No App row: the app list is refused, as for a key with these rows.
	_, _, err = w.svc.ListApps(ctx, p, keyplane.Page{Page: 1, Limit: 100})
	wantCode(t, err, keyplane.CodeForbidden)

	users, err := w.svc.ListUsers(ctx, keyplane.Operator(1))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(users, func(u keyplane.User) bool { return u.Email == "keys@example.com" })
	if i < 0 || !slices.Equal(users[i].Keysets, []int64{k.ID}) || users[i].Apps != nil {
		t.Fatalf("ListUsers shows %+v", users)
	}
	// Now App Viewer of apps 4 and 1 (given twice, and out of order).
	u, err := w.svc.ChangeUserRole(ctx, keyplane.Operator(1), users[i].ID, control.Scope{Role: keyplane.RoleAppViewer, Apps: []int64{w.apps[3].ID, w.apps[0].ID, w.apps[3].ID}})
	if err != nil || !slices.Equal(u.Apps, []int64{w.apps[0].ID, w.apps[3].ID}) || u.Keysets != nil {
		t.Fatalf("ChangeUserRole = %+v, %v", u, err)
	}
	token, _, err := w.svc.SignIn(ctx, "keys@example.com", "correct horse battery", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err = w.svc.Session(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	apps, _, err := w.svc.ListApps(ctx, p, keyplane.Page{Page: 1, Limit: 100})
	if err != nil || !slices.Equal(appIDs(apps), []int64{w.apps[0].ID, w.apps[3].ID}) {
		t.Errorf("after the change ListApps = %v, %v", appIDs(apps), err)
	}
	_, err = w.svc.UpdateKeyset(ctx, p, k.ID, &name, nil)
	wantCode(t, err, keyplane.CodeForbidden)
}

// A scoped role needs apps or keysets of the account; an id of another
// account is refused exactly as a missing one; an account-wide role takes
// none. The checks run for creating and for changing a role alike.
func TestScopeValidation(t *testing.T) {
	w := newScopedWorld(t)
	ctx := context.Background()
	op := keyplane.Operator(1)
	create := func(r keyplane.Role, apps, keysets []int64) error {
		_, _, err := w.svc.CreateUser(ctx, op, control.NewUser{Email: "someone@example.com", Password: "correct horse battery", Role: r, Apps: apps, Keysets: keysets})
		return err
	}
	for _, tc := range []struct {
		role          keyplane.Role
		apps, keysets []int64
		want          string
	}{
		{keyplane.RoleAppViewer, nil, nil, "apps: App Viewer applies to chosen apps; choose at least one"},
		{keyplane.RoleKeyAdmin, []int64{w.apps[0].ID}, []int64{w.keysets[0].ID}, "apps: Key Admin takes no apps"},
		{keyplane.RoleViewer, []int64{w.apps[0].ID}, nil, "apps: Account Viewer takes no apps"},
		{keyplane.RoleAppAdmin, []int64{w.otherApp.ID}, nil, "apps: app " + itoa(w.otherApp.ID) + ": not found"},
		{keyplane.RoleAppAdmin, []int64{w.missingApp}, nil, "apps: app " + itoa(w.missingApp) + ": not found"},
		{keyplane.RoleKeyViewer, nil, []int64{w.otherKeyset.ID}, "keysets: keyset " + itoa(w.otherKeyset.ID) + ": not found"},
		{keyplane.RoleKeyViewer, nil, []int64{w.missKs}, "keysets: keyset " + itoa(w.missKs) + ": not found"},
	} {
		err := create(tc.role, tc.apps, tc.keysets)
		if got := answer(err); got != string(keyplane.CodeInvalid)+": "+tc.want {
			t.Errorf("create %s %v %v: %s, want %s", tc.role, tc.apps, tc.keysets, got, tc.want)
		}
	}
	// Nothing was made by the refusals.
	if us, _ := w.svc.ListUsers(ctx, op); len(us) != 0 {
		t.Fatalf("refused creations left %+v", us)
	}
	u, _, err := w.svc.CreateUser(ctx, op, control.NewUser{Email: "someone@example.com", Password: "correct horse battery", Role: keyplane.RoleAppAdmin, Apps: []int64{w.apps[0].ID}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.ChangeUserRole(ctx, op, u.ID, control.Scope{Role: keyplane.RoleAppAdmin, Apps: []int64{w.otherApp.ID}})
	if got := answer(err); got != string(keyplane.CodeInvalid)+": apps: app "+itoa(w.otherApp.ID)+": not found" {
		t.Errorf("change to another account's app: %s", got)
	}
	_, err = w.svc.ChangeUserRole(ctx, op, u.ID, control.Scope{Role: keyplane.RoleKeyViewer})
	wantCode(t, err, keyplane.CodeInvalid)
	if us, _ := w.svc.ListUsers(ctx, op); len(us) != 1 || us[0].Role != keyplane.RoleAppAdmin || !slices.Equal(us[0].Apps, []int64{w.apps[0].ID}) {
		t.Errorf("after refused changes: %+v", us)
	}
	// An account-wide role given to a scoped person drops the scope.
	u, err = w.svc.ChangeUserRole(ctx, op, u.ID, control.Scope{Role: keyplane.RoleViewer})
	if err != nil || u.Apps != nil {
		t.Fatalf("to viewer: %+v, %v", u, err)
	}
	if us, _ := w.svc.ListUsers(ctx, op); len(us) != 1 || us[0].Apps != nil || us[0].Role != keyplane.RoleViewer {
		t.Errorf("after the change to viewer: %+v", us)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
