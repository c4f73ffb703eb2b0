package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/server"
)

// replicaOf starts another server on e's database, with e's clock and KEK:
// a second replica, as another process would be.
func replicaOf(t *testing.T, e *env, cfg server.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	cfg.Listening = func(a string) { addrc <- a }
	go func() { done <- server.Run(ctx, cfg) }()
	select {
	case a := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("the second replica: %v", err)
			}
		})
		return "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("the second replica did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the second replica did not listen within 30 s")
	}
	return ""
}

// A key rolled with an overlap keeps working on both replicas until the
// overlap ends, then stops on both by itself: the clock is moved, nothing
// is written.
func TestRolledKeyStopsAfterItsOverlapOnEveryReplica(t *testing.T) {
	t.Parallel()
	var cfg server.Config
	e := newEnvWith(t, func(c *server.Config) { cfg = *c })
	second := replicaOf(t, e, cfg)
	bases := []string{e.base, second}
	get := func(base, key string) *resp {
		t.Helper()
		saved := e.base
		e.base = base
		defer func() { e.base = saved }()
		return e.do("GET", "/v2/apps", nil, as(key))
	}
	old, _, _ := e.integration("rolling", "account:app:read")
	for _, b := range bases {
		get(b, old).want(http.StatusOK)
	}
	_, nk, err := e.svc.RollAPIKey(context.Background(), keyplane.Operator(e.account), old, 6*time.Hour, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.remember(nk.Key)
	e.clock.Advance(6*time.Hour - time.Second)
	for _, b := range bases {
		get(b, old).want(http.StatusOK)
		get(b, nk.Key).want(http.StatusOK)
	}
	e.clock.Advance(time.Second)
	for _, b := range bases {
		get(b, old).wantErrorContaining(http.StatusUnauthorized, "rolled to a new key")
		get(b, nk.Key).want(http.StatusOK)
	}
}

// The server's own job records a key's expiry notices as its clock passes
// each threshold, once each, and the audit log shows them (actor system).
func TestServerGivesKeyNotices(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *server.Config) { c.KeyNoticeEvery = 20 * time.Millisecond })
	reader, _, _ := e.integration("auditor", "account:audit-log:read")
	_, _, k := e.integrationUntil("short-lived", e.clock.Now().Add(10*24*time.Hour), "account:app:read")
	notices := func() []string {
		t.Helper()
		var page struct {
			Events []struct {
				Type   string
				Actor  struct{ Type string }
				Target struct{ ID string }
				After  struct{ ThresholdDays int }
			}
		}
		e.do("GET", "/v2/audit-events?type=ApiKeyExpiryNotice,ApiKeyUnusedNotice", nil, as(reader)).want(http.StatusOK).decode(&page)
		var out []string
		for _, ev := range page.Events {
			if ev.Actor.Type != "system" || ev.Target.ID != jsonID(k.ID) {
				t.Errorf("a notice by %q about key %s", ev.Actor.Type, ev.Target.ID)
			}
			out = append(out, ev.Type+"/"+jsonID(int64(ev.After.ThresholdDays)))
		}
		return out
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := strings.Join(notices(), " ")
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("notices %q, want %q", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("ApiKeyExpiryNotice/14") // 10 days left: within 14
	e.clock.Advance(7*24*time.Hour + time.Hour)
	waitFor("ApiKeyExpiryNotice/14 ApiKeyExpiryNotice/3")
	// Many more turns of the job give nothing more.
	time.Sleep(100 * time.Millisecond)
	waitFor("ApiKeyExpiryNotice/14 ApiKeyExpiryNotice/3")
}

func jsonID(id int64) string {
	b, _ := json.Marshal(id)
	return string(b)
}
