package portal_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// The Usage page charts daily usage of the account, an app or a keyset,
// with the numbers beside the chart, from the same operation as the API;
// a bad range is shown, not a failure.
func TestUsagePage(t *testing.T) {
	e := newEnv(t)
	e.user("viewer@example.com", keyplane.RoleViewer)
	owner := e.user("owner@example.com", keyplane.RoleOwner)
	_ = owner
	p := mustSession(t, e, "owner@example.com")
	ctx := context.Background()
	app, err := e.svc.CreateApp(ctx, p, "Telemedicine")
	if err != nil {
		t.Fatal(err)
	}
	ks, _, _, err := e.svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	today := e.clock.Now().UTC().Truncate(24 * time.Hour)
	yesterday := today.AddDate(0, 0, -1).Format(time.DateOnly)
	id := keyplane.FlexibleID(ks.ID)
	metric, value := "publish", 1234567.0
	if _, err := e.svc.ImportUsage(ctx, []keyplane.UsageReport{{KeysetID: &id, Date: &yesterday, Metric: &metric, Value: &value}}, func(int) string { return "" }); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "viewer@example.com")
	bars := regexp.MustCompile(`<rect [^>]*><title>`)
	for _, path := range []string{"/usage", "/usage?entity=app&id=" + itoa(app.ID), "/usage?entity=keyset&id=" + itoa(ks.ID) + "&metrics=publish"} {
		r := e.get(c, path)
		if r.status != http.StatusOK || !strings.Contains(r.body, "<h2>publish</h2>") || !strings.Contains(r.body, "Total 1,234,567") ||
			!strings.Contains(r.body, "<td>"+yesterday+"</td><td>1,234,567</td>") || len(bars.FindAllString(r.body, -1)) < 30 {
			t.Errorf("GET %s: %d, %d bars", path, r.status, len(bars.FindAllString(r.body, -1)))
		}
	}
	if r := e.get(c, "/usage?entity=app&id="+itoa(app.ID)+"&metrics=mtd_uuid&metrics=publish"); !strings.Contains(r.body, "<h2>mtd_uuid</h2>") || !strings.Contains(r.body, `value="mtd_uuid" checked`) {
		t.Errorf("metric picker: %d", r.status)
	}
	if r := e.get(c, "/usage?from=2026-13-01"); r.status != http.StatusBadRequest || !strings.Contains(r.body, `from: must be a date YYYY-MM-DD`) {
		t.Errorf("a bad date: %d", r.status)
	}
	if r := e.get(c, "/usage?entity=keyset&id=999"); r.status != http.StatusNotFound {
		t.Errorf("a missing keyset: %d", r.status)
	}
	if r := e.get(c, "/apps/"+itoa(app.ID)); !strings.Contains(r.body, `href="/usage?entity=app&amp;id=`+itoa(app.ID)+`"`) {
		t.Error("the app page has no Usage link")
	}
}
