package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// ifMatch sends If-Match: v.
func ifMatch(v string) option { return header("If-Match", v) }

// A keyset and its configuration carry one strong ETag that every change
// moves; a PATCH with a stale one is a 412 that changes nothing; "*" and
// no header apply to any version.
func TestETagIfMatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.createApp("tagged")
	ks := e.createKeyset(app.ID, "prod").Keyset
	other := e.createKeyset(app.ID, "other").Keyset
	path := "/v2/keysets/" + ks.ID

	tag := e.do("GET", path, nil).want(200).Header.Get("ETag")
	if !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || len(tag) < 3 {
		t.Fatalf("ETag %q, want a strong entity tag", tag)
	}
	if c := e.do("GET", path+"/config", nil).want(200).Header.Get("ETag"); c != tag {
		t.Errorf("config ETag %q, want the keyset's %q", c, tag)
	}
	otherTag := e.do("GET", "/v2/keysets/"+other.ID, nil).want(200).Header.Get("ETag")

	// A matching If-Match applies, and answers the new ETag.
	r := e.do("PATCH", path+"/config", map[string]any{"presence": map[string]any{"announceMax": 30}}, ifMatch(tag)).want(200)
	tag2 := r.Header.Get("ETag")
	if tag2 == "" || tag2 == tag {
		t.Fatalf("ETag after a change %q, want a new one (was %q)", tag2, tag)
	}
	if got := e.do("GET", path, nil).want(200).Header.Get("ETag"); got != tag2 {
		t.Errorf("GET after the change: ETag %q, want %q", got, tag2)
	}

	// Stale, weak, foreign and malformed ETags never match: 412, nothing changes.
	before := e.config(ks.ID)
	for _, stale := range []string{tag, "W/" + tag2, otherTag, `"nonsense"`, "garbage", `"ks` + ks.ID + `v0"`} {
		e.do("PATCH", path+"/config", map[string]any{"presence": map[string]any{"announceMax": 40}}, ifMatch(stale)).
			wantErrorContaining(412, "If-Match: keyset "+ks.ID+" has changed")
		e.do("PATCH", path, map[string]any{"name": "renamed"}, ifMatch(stale)).wantErrorContaining(412, "If-Match")
	}
	if diff := e.config(ks.ID); diff["presence"].(map[string]any)["announceMax"] != before["presence"].(map[string]any)["announceMax"] {
		t.Errorf("a refused PATCH changed the configuration: %v", diff["presence"])
	}
	var k keysetJSON
	e.do("GET", path, nil).want(200).decode(&k)
	if k.Name != "prod" {
		t.Errorf("a refused PATCH renamed the keyset to %q", k.Name)
	}

	// A list naming the current tag matches; so do "*" and no header.
	r = e.do("PATCH", path, map[string]any{"name": "renamed"}, ifMatch(tag+", "+tag2)).want(200)
	tag3 := r.Header.Get("ETag")
	if tag3 == tag2 {
		t.Errorf("a rename kept the ETag %q", tag3)
	}
	e.do("PATCH", path, map[string]any{"type": "production"}, ifMatch("*")).want(200)
	e.do("PATCH", path+"/config", map[string]any{"presence": map[string]any{"announceMax": 50}}).want(200)
	// A PATCH that changes nothing keeps the ETag.
	t4 := e.do("GET", path, nil).want(200).Header.Get("ETag")
	if got := e.do("PATCH", path+"/config", map[string]any{"presence": map[string]any{"announceMax": 50}}, ifMatch(t4)).want(200).Header.Get("ETag"); got != t4 {
		t.Errorf("a PATCH that changed nothing moved the ETag from %q to %q", t4, got)
	}

	// Authorization comes first: a key without the row gets 403, not 412,
	// and a missing keyset is a 404.
	reader, _, _ := e.integration("reader", "account:keyset:read")
	e.do("PATCH", path, map[string]any{"name": "x"}, ifMatch(`"stale"`), as(reader)).want(403)
	e.do("PATCH", "/v2/keysets/999/config", map[string]any{}, ifMatch(`"stale"`)).want(404)
}

// Two PATCHes sent with one ETag race: the check is made in the write
// transaction, so exactly one applies and the other is a 412.
func TestETagRaceOneWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ks := e.createKeyset(e.createApp("race").ID, "prod").Keyset
	path := "/v2/keysets/" + ks.ID + "/config"
	for round := range 5 {
		tag := e.do("GET", path, nil).want(200).Header.Get("ETag")
		statuses := make([]int, 2)
		// Both change something (a PATCH that changes nothing keeps the version).
		bodies := []string{fmt.Sprintf(`{"presence":{"announceMax":%d}}`, 30+round), fmt.Sprintf(`{"presence":{"interval":%d}}`, 20+round)}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Go(func() {
				<-start
				req, _ := http.NewRequest("PATCH", e.base+path, strings.NewReader(bodies[i]))
				req.Header.Set("PubNub-Version", latest)
				req.Header.Set("Authorization", e.key)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("If-Match", tag)
				res, err := e.client.Do(req)
				if err != nil {
					t.Errorf("PATCH: %v", err)
					return
				}
				data, _ := io.ReadAll(res.Body)
				res.Body.Close()
				e.check(&resp{t: t, method: "PATCH", path: path, Status: res.StatusCode, Header: res.Header, Body: data}, latest)
				statuses[i] = res.StatusCode
			})
		}
		close(start)
		wg.Wait()
		ok, failed := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				ok++
			case 412:
				failed++
			}
		}
		if ok != 1 || failed != 1 {
			t.Errorf("round %d: statuses %v, want one 200 and one 412", round, statuses)
		}
	}
}
