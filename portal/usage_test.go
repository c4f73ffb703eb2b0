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
		if r.status != http.StatusOK || !strings.Contains(r.body, `<h2>Messages published <code class="metric-id">publish</code></h2>`) || !strings.Contains(r.body, "Total 1,234,567") ||
			!strings.Contains(r.body, "<td>"+yesterday+"</td><td>1,234,567</td>") || len(bars.FindAllString(r.body, -1)) < 30 {
			t.Errorf("GET %s: %d, %d bars", path, r.status, len(bars.FindAllString(r.body, -1)))
		}
	}
	if r := e.get(c, "/usage?entity=app&id="+itoa(app.ID)+"&metrics=mtd_uuid&metrics=publish"); !strings.Contains(r.body, `<code class="metric-id">mtd_uuid</code>`) || !strings.Contains(r.body, `value="mtd_uuid" checked`) {
		t.Errorf("metric picker: %d", r.status)
	}
	// The chart explains itself: a value axis of round ticks, dates under
	// the bars, each bar named by its day and value; the metric by its
	// name and id; the page titled by what it shows, picked by name.
	r := e.get(c, "/usage?of=keyset/"+itoa(ks.ID)+"&metrics=publish")
	day, _ := time.Parse(time.DateOnly, yesterday)
	for _, want := range []string{
		`<div class="yaxis" aria-hidden="true"><span>1.5M</span><span>1M</span><span>500K</span><span>0</span></div>`,
		`<title>` + day.Format("Jan 2, 2006") + `: 1,234,567</title>`,
		`<h1>Usage · Keyset: ` + ks.Name + ` (Telemedicine)</h1>`,
		`<option value="keyset/` + itoa(ks.ID) + `" selected>Keyset: ` + ks.Name + ` (Telemedicine)</option>`,
		`<option value="app/` + itoa(app.ID) + `" >App: Telemedicine</option>`,
		`Messages delivered <code class="muted">subscribe_msgs</code>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the keyset's usage lacks %s", want)
		}
	}
	if n := strings.Count(r.body, `<text x=`); n < 4 || n > 6 {
		t.Errorf("%d date ticks over 30 days, want a weekly one", n)
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
