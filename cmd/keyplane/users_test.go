package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"
)

func TestCreateUser(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	ctx := context.Background()

	// Generated: printed once on stdout, and it signs in.
	pw, errOut := mustAdmin(t, db, "create-user", "--email", "Owner@Example.com", "--role", "owner")
	pw = strings.TrimSpace(pw)
	if len(pw) < keyplane.MinPasswordLen || strings.ContainsAny(pw, " \n") {
		t.Fatalf("stdout %q should be the generated password alone", pw)
	}
	if !strings.Contains(errOut, "owner@example.com") || !strings.Contains(errOut, "Owner") || strings.Contains(errOut, pw) {
		t.Fatalf("stderr %q", errOut)
	}

	// From stdin: nothing on stdout.
	var out, errb bytes.Buffer
	err := run(ctx, []string{"admin", "create-user", "--database", db, "--email", "viewer@example.com", "--role", "viewer", "--password-stdin"},
		getenvFrom(nil), strings.NewReader("a password from stdin\nignored"), &out, &errb)
	if err != nil || out.Len() != 0 {
		t.Fatalf("err %v, stdout %q, stderr %q", err, out.String(), errb.String())
	}

	s, err := store.Open(ctx, db, wallclock.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := control.New(s, control.Options{})
	if _, u, err := svc.SignIn(ctx, "owner@example.com", pw, "127.0.0.1"); err != nil || u.Role != keyplane.RoleOwner {
		t.Fatalf("owner sign-in: %v %+v", err, u)
	}
	if _, u, err := svc.SignIn(ctx, "viewer@example.com", "a password from stdin", "127.0.0.1"); err != nil || u.Role != keyplane.RoleViewer {
		t.Fatalf("viewer sign-in: %v %+v", err, u)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "x@example.com", "--role", "superuser"}, "role: must be owner, admin, viewer, app-admin, app-viewer, key-admin or key-viewer"},
		{[]string{"--email", "not-an-address", "--role", "admin"}, "email: not an e-mail address"},
		{[]string{"--email", "viewer@example.com", "--role", "admin"}, "already a member of this account"},
		{[]string{"--email", "x@example.com", "--role", "admin", "--password-stdin"}, "standard input holds no password"},
	} {
		_, _, err := runAdmin(t, db, "create-user", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// serve prints the one-time setup link on stdout (never among the JSON
// logs) while no user exists, and not once one does.
func TestServePrintsSetupLink(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	serve := func() (stdout, logs *syncBuffer, stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		stdout, logs = &syncBuffer{}, &syncBuffer{}
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database", db}, getenvFrom(nil), strings.NewReader(""), stdout, logs)
		}()
		waitForLog(t, logs, exited, func() string { return "serve exited" })
		return stdout, logs, func() { cancel(); <-exited }
	}
	out, logs, stop := serve()
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/setup\?token=[0-9A-Za-z]{32}`).FindString(out.String())
	if link == "" {
		t.Fatalf("no setup link on stdout: %q", out.String())
	}
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET the setup link: %d", res.StatusCode)
	}
	token := link[strings.LastIndex(link, "=")+1:]
	stop()
	if strings.Contains(logs.String(), token) {
		t.Error("the setup token is in the logs")
	}
	mustAdmin(t, db, "create-user", "--email", "owner@example.com", "--role", "owner")
	out, _, stop = serve()
	stop()
	if out.String() != "" {
		t.Errorf("with an Owner, serve printed %q", out.String())
	}
}

// create-user gives a scoped role its apps or keysets: the person then
// signs in holding exactly that role's rows on them. A scoped role without
// its apps or keysets, a scope on an account-wide role, and an app of
// another account (answered as a missing one) are refused with exit 2.
func TestCreateScopedUser(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	ctx := context.Background()
	s, err := store.Open(ctx, db, wallclock.Now())
	if err != nil {
		t.Fatal(err)
	}
	svc := control.New(s, control.Options{})
	op := keyplane.Operator(1)
	var apps []keyplane.App
	var keysets []keyplane.Keyset
	for _, name := range []string{"one", "two"} {
		a, err := svc.CreateApp(ctx, op, name)
		if err != nil {
			t.Fatal(err)
		}
		k, _, _, err := svc.CreateKeyset(ctx, op, control.NewKeyset{AppID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		apps, keysets = append(apps, a), append(keysets, k)
	}
	other, err := svc.CreateAccount(ctx, keyplane.InstallOperator, "Other")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := svc.CreateApp(ctx, keyplane.Operator(other.ID), "theirs")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	_, errOut := mustAdmin(t, db, "create-user", "--account", "1", "--email", "av@example.com", "--role", "app-viewer", "--app", id(apps[1].ID), "--password-stdin=false")
	if !strings.Contains(errOut, "App Viewer of App "+id(apps[1].ID)) {
		t.Errorf("stderr %q should name the role and its app", errOut)
	}
	mustAdmin(t, db, "create-user", "--email", "ka@example.com", "--role", "key-admin", "--keyset", id(keysets[0].ID), "--keyset", id(keysets[1].ID))

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "x@example.com", "--role", "app-admin"}, "apps: App Admin applies to chosen apps; choose at least one"},
		{[]string{"--email", "x@example.com", "--role", "key-viewer", "--app", id(apps[0].ID)}, "apps: Key Viewer takes no apps"},
		{[]string{"--email", "x@example.com", "--role", "admin", "--app", id(apps[0].ID)}, "apps: Account Admin takes no apps"},
		{[]string{"--email", "x@example.com", "--role", "viewer", "--keyset", id(keysets[0].ID)}, "keysets: Account Viewer takes no keysets"},
		{[]string{"--email", "x@example.com", "--role", "app-viewer", "--app", id(foreign.ID)}, "apps: app " + id(foreign.ID) + ": not found"},
		{[]string{"--email", "x@example.com", "--role", "app-viewer", "--app", "999"}, "apps: app 999: not found"},
		{[]string{"--email", "x@example.com", "--role", "app-viewer", "--app", "three"}, "invalid argument"},
	} {
		out, _, err := runAdmin(t, db, "create-user", tc.args...)
		if code := exitCode(err); code != exitUsage || err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%q: exit %d, err %v, stdout %q; want exit 2 and %q", tc.args, code, err, out, tc.want)
		}
	}

	s, err = store.Open(ctx, db, wallclock.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	us, err := control.New(s, control.Options{}).ListUsers(ctx, keyplane.Operator(1))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range us {
		got[u.Email] = fmt.Sprint(u.Role, u.Apps, u.Keysets)
	}
	want := map[string]string{
		"av@example.com": fmt.Sprint(keyplane.RoleAppViewer, []int64{apps[1].ID}, []int64(nil)),
		"ka@example.com": fmt.Sprint(keyplane.RoleKeyAdmin, []int64(nil), []int64{keysets[0].ID, keysets[1].ID}),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("users %v, want %v", got, want)
	}
}
