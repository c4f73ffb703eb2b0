package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A1–A5: create, get, list, rename, delete.
func TestAppsHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := iso(e.clock.Now())

	var a appJSON
	e.do("POST", "/v2/apps", map[string]any{"name": "Telemedicine"}).want(201).decode(&a)
	want := appJSON{ID: a.ID, Name: "Telemedicine", CreatedAt: created, UpdatedAt: created}
	if a.ID == "" || a != want {
		t.Errorf("created app = %+v, want %+v", a, want)
	}

	var got appJSON
	e.do("GET", "/v2/apps/"+a.ID, nil).want(200).decode(&got)
	if got != want {
		t.Errorf("GET app = %+v, want %+v", got, want)
	}

	var l appList
	e.do("GET", "/v2/apps", nil).want(200).decode(&l)
	if diff := cmp.Diff(appList{Apps: []appJSON{want}, Total: 1, Page: 1, Limit: 10}, l); diff != "" {
		t.Errorf("GET /v2/apps (-want +got):\n%s", diff)
	}

	e.clock.Advance(5 * time.Second)
	renamed := iso(e.clock.Now())
	var r appJSON
	e.do("PATCH", "/v2/apps/"+a.ID, map[string]any{"name": "Telehealth"}).want(200).decode(&r)
	want = appJSON{ID: a.ID, Name: "Telehealth", CreatedAt: created, UpdatedAt: renamed}
	if r != want {
		t.Errorf("PATCH app answer = %+v, want %+v", r, want)
	}
	e.do("GET", "/v2/apps/"+a.ID, nil).want(200).decode(&got)
	if got != want {
		t.Errorf("GET after rename = %+v, want %+v", got, want)
	}

	del := e.do("DELETE", "/v2/apps/"+a.ID, nil).want(200).object()
	if diff := cmp.Diff(map[string]any{"success": true}, del); diff != "" {
		t.Errorf("DELETE answer (-want +got):\n%s", diff)
	}
	e.do("GET", "/v2/apps/"+a.ID, nil).wantError(404, "app "+a.ID+": not found")
	e.do("DELETE", "/v2/apps/"+a.ID, nil).wantError(404, "app "+a.ID+": not found")
	e.do("PATCH", "/v2/apps/"+a.ID, map[string]any{"name": "x"}).wantError(404, "app "+a.ID+": not found")
	if n := e.appTotal(); n != 0 {
		t.Errorf("total after delete = %d, want 0", n)
	}
}

// Lists page through every item, ordered by id, and total is the true count.
func TestAppsPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var all []appJSON
	for i := range 23 {
		all = append(all, e.createApp(fmt.Sprintf("app %02d", i)))
	}
	for _, tc := range []struct {
		query    string
		page     int
		limit    int
		from, to int
	}{
		{"", 1, 10, 0, 10},
		{"?page=1&limit=10", 1, 10, 0, 10},
		{"?page=2&limit=10", 2, 10, 10, 20},
		{"?page=3&limit=10", 3, 10, 20, 23},
		{"?page=4&limit=10", 4, 10, 23, 23},
		{"?limit=100", 1, 100, 0, 23},
		{"?page=2", 2, 10, 10, 20},
		{"?page=5&limit=5", 5, 5, 20, 23},
		{"?limit=1&page=23", 23, 1, 22, 23},
	} {
		var l appList
		e.do("GET", "/v2/apps"+tc.query, nil).want(200).decode(&l)
		want := appList{Apps: all[tc.from:tc.to], Total: 23, Page: tc.page, Limit: tc.limit}
		if len(want.Apps) == 0 {
			want.Apps = []appJSON{}
		}
		if diff := cmp.Diff(want, l); diff != "" {
			t.Errorf("GET /v2/apps%s (-want +got):\n%s", tc.query, diff)
		}
	}
}

// An app with keysets cannot be deleted (409) and nothing is deleted; once
// its keysets are gone it can.
func TestDeleteAppWithKeysets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("Telemedicine")
	k1 := e.createKeyset(a.ID, "prod")
	k2 := e.createKeyset(a.ID, "dev")

	e.do("DELETE", "/v2/apps/"+a.ID, nil).wantError(409, "app "+a.ID+" still has keysets; delete them first")
	e.do("GET", "/v2/apps/"+a.ID, nil).want(200)
	e.do("GET", "/v2/keysets/"+k1.Keyset.ID, nil).want(200)
	e.do("GET", "/v2/keysets/"+k2.Keyset.ID+"/config", nil).want(200)
	if n := e.keysetTotal(); n != 2 {
		t.Errorf("keysets after refused delete = %d, want 2", n)
	}

	e.do("DELETE", "/v2/keysets/"+k1.Keyset.ID, nil).want(200)
	e.do("DELETE", "/v2/apps/"+a.ID, nil).wantError(409, "app "+a.ID+" still has keysets; delete them first")
	e.do("DELETE", "/v2/keysets/"+k2.Keyset.ID, nil).want(200)
	e.do("DELETE", "/v2/apps/"+a.ID, nil).want(200)
	if n := e.appTotal(); n != 0 {
		t.Errorf("apps after delete = %d, want 0", n)
	}
}

// Renaming to the same name is accepted and answers the app.
func TestRenameAppToSameName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.createApp("Same")
	e.clock.Advance(time.Minute)
	var r appJSON
	e.do("PATCH", "/v2/apps/"+a.ID, map[string]any{"name": "Same"}).want(200).decode(&r)
	if r != a {
		t.Errorf("rename to the same name = %+v, want unchanged %+v", r, a)
	}
}

// Ids of deleted apps and keysets must never be handed out again: a
// permission row names an id, and rows are immutable, so a reused id would
// silently grant an old integration access to a new, unrelated object.
func TestDeletedIDsAreNotReused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createApp("first")
	doomed := e.createApp("doomed")
	doomedKS := e.createKeyset(doomed.ID, "doomed keyset")
	reader, _, _ := e.integration("reader of the doomed app",
		"app/"+doomed.ID+":app:read", "keyset/"+doomedKS.Keyset.ID+":keyset:read")
	e.do("GET", "/v2/apps/"+doomed.ID, nil, as(reader)).want(200)

	e.do("DELETE", "/v2/keysets/"+doomedKS.Keyset.ID, nil).want(200)
	e.do("DELETE", "/v2/apps/"+doomed.ID, nil).want(200)
	fresh := e.createApp("someone else's new app")
	freshKS := e.createKeyset(fresh.ID, "someone else's new keyset")

	if fresh.ID == doomed.ID {
		t.Errorf("new app got id %s, the id of a deleted app", fresh.ID)
	}
	if freshKS.Keyset.ID == doomedKS.Keyset.ID {
		t.Errorf("new keyset got id %s, the id of a deleted keyset", freshKS.Keyset.ID)
	}
	// The reader's rows named the deleted objects only.
	if r := e.do("GET", "/v2/apps/"+fresh.ID, nil, as(reader)); r.Status != 403 {
		t.Errorf("an integration whose row named deleted app %s reads new app %s: status %d, want 403", doomed.ID, fresh.ID, r.Status)
	}
	if r := e.do("GET", "/v2/keysets/"+freshKS.Keyset.ID, nil, as(reader)); r.Status != 403 {
		t.Errorf("an integration whose row named deleted keyset %s reads new keyset %s: status %d, want 403", doomedKS.Keyset.ID, freshKS.Keyset.ID, r.Status)
	}
}
