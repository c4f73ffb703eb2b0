package portal_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// selectOptions reads the values a <select> of body offers.
func selectOptions(t *testing.T, body, id string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<select id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</select>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no select #%s", id)
	}
	var out []string
	for _, o := range regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, html.UnescapeString(o[1]))
	}
	return out
}

// The configuration form offers for a region or a retention exactly what
// the API accepts, says a region is write-once before it is set and shows
// it read-only after, gives numbers their unit, and reports every error of
// a save at once without saving anything.
func TestConfigFormGuides(t *testing.T) {
	e := newEnv(t)
	e.user("owner@example.com", keyplane.RoleOwner)
	owner := mustSession(t, e, "owner@example.com")
	app, _ := e.svc.CreateApp(context.Background(), owner, "Telemedicine")
	k, _, _, err := e.svc.CreateKeyset(context.Background(), owner, control.NewKeyset{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.signIn(c, "owner@example.com")
	path := "/keysets/" + itoa(k.ID)
	r := e.get(c, path)
	if r.status != http.StatusOK {
		t.Fatalf("keyset page: %d", r.status)
	}
	values := func(rule keyplane.ConfigRule) []string {
		out := []string{""} // "Not set"
		for _, ch := range rule.Choices {
			out = append(out, ch.Value)
		}
		return out
	}
	for _, p := range []string{"files.retention", "messagePersistence.retention", "dataSync.region"} {
		id := "cfg-" + strings.ReplaceAll(p, ".", "-")
		if got, want := selectOptions(t, r.body, id), values(keyplane.ConfigRuleOf(p)); !slices.Equal(got, want) {
			t.Errorf("%s offers %q, want %q", p, got, want)
		}
	}
	// PubNub's defaults set the Files and App Context regions: read-only.
	for _, id := range []string{"cfg-files-region", "cfg-appContext-region"} {
		if !regexp.MustCompile(`<input type="text" id="` + id + `" name="[^"]+" value="[^"]+" readonly`).MatchString(r.body) {
			t.Errorf("#%s is not shown read-only", id)
		}
	}
	for _, want := range []string{
		`id="cfg-dataSync-region-hint">Write-once`, // not set yet: said before it is
		`id="cfg-files-region-hint">Set once and for all`,
		`Interval (seconds)`, `Debounce (seconds)`, `10 to 300 seconds.`, `>7 days</option>`, `>Unlimited</option>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("keyset page lacks %q", want)
		}
	}

	// Three mistakes, one of them unreadable: all three are reported.
	r = e.post(c, path+"/config", url.Values{
		"files.retention":              {"abc"},
		"presence.interval":            {"5"},
		"messagePersistence.retention": {""},
		"presence.deltas":              {"false", "true"},
	})
	if r.status != http.StatusBadRequest {
		t.Fatalf("bad config: %d", r.status)
	}
	for _, want := range []string{"files.retention: must be a whole number", "presence.interval: must be between 10 and 300",
		"messagePersistence.retention: required when messagePersistence is enabled"} {
		if !strings.Contains(html.UnescapeString(r.body), want) {
			t.Errorf("the refusal lacks %q", want)
		}
	}
	cfg, _ := e.svc.GetConfig(context.Background(), owner, k.ID)
	if cfg.Presence.Deltas || cfg.Presence.Interval != 10 || *cfg.Files.Retention != 7 {
		t.Errorf("a refused form changed the config: %+v", cfg)
	}

	// A region, once set, is sent back as it is, and the save goes through.
	r = e.post(c, path+"/config", url.Values{"files.region": {"us-east-1"}, "dataSync.region": {"aws-fra-1"}, "presence.interval": {"20"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("good config: %d %s", r.status, r.body)
	}
	cfg, _ = e.svc.GetConfig(context.Background(), owner, k.ID)
	if cfg.Presence.Interval != 20 || cfg.DataSync.Region == nil || *cfg.DataSync.Region != "aws-fra-1" {
		t.Errorf("saved config: %+v", cfg)
	}
	if r = e.get(c, path); !strings.Contains(r.body, `id="cfg-dataSync-region" name="dataSync.region" value="aws-fra-1" readonly`) {
		t.Error("the DataSync region is not read-only once set")
	}

	// A Viewer's unreadable form is refused as theirs, not checked.
	e.user("viewer@example.com", keyplane.RoleViewer)
	v := e.client()
	e.signIn(v, "viewer@example.com")
	if r := e.post(v, path+"/config", url.Values{"files.retention": {"abc"}}); r.status != http.StatusForbidden {
		t.Errorf("a Viewer's bad form: %d, want 403", r.status)
	}
}
