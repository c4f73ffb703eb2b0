package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/pgtest"
	"github.com/keyplane/keyplane/internal/wallclock"
)

// The guarantees of one embedded install must hold across replicas: these
// tests start two real `keyplane serve` processes on one PostgreSQL
// database and race requests between them.

// replicas starts n servers on one new PostgreSQL database and returns it
// with them.
func replicas(t *testing.T, n int, args ...string) (string, []*process) {
	t.Helper()
	dsn := pgtest.DSN(t)
	// Replicas started together race for the migrations, as a rolling
	// deploy's would.
	ps := make([]*process, n)
	// Replicas share their key-encryption key, as they must.
	args = append(args, "--kek-file", filepath.Join(t.TempDir(), "kek"))
	var wg sync.WaitGroup
	for i := range ps {
		wg.Go(func() {
			ps[i] = startBinary(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--database", dsn}, args...)...)
		})
	}
	wg.Wait()
	for _, p := range ps {
		if p == nil {
			t.FailNow() // startBinary reported why
		}
	}
	return dsn, ps
}

// Keys created at once by several processes on one database: the limit of
// 3 active keys per integration holds. Keys are made by operators (no
// route of the API makes them), so each racer is its own process, as a
// replica is.
func TestReplicasKeepTheAPIKeyLimit(t *testing.T) {
	t.Parallel()
	dsn, ps := replicas(t, 2)
	_, stderr := mustAdmin(t, dsn, "create-integration", "--name", "CI", "--expires-in", "30d", "--grant", "account:app:read")
	id, err := integrationID(stderr)
	if err != nil {
		t.Fatal(err)
	}

	const racers = 6
	bin := keyplaneBinary(t)
	var wg sync.WaitGroup
	keys := make([]string, racers)
	errs := make([]string, racers)
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			cmd := exec.Command(bin, "admin", "create-key", "--database", dsn, "--integration", id, "--expires-in", "7d")
			cmd.Env = childEnv()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			<-start
			out, err := cmd.Output()
			if err == nil {
				keys[i] = strings.TrimSpace(string(out))
			} else {
				errs[i] = stderr.String()
			}
		})
	}
	close(start)
	wg.Wait()

	var made []string
	for i := range racers {
		switch {
		case keys[i] != "":
			made = append(made, keys[i])
		case !strings.Contains(errs[i], "already has 3 active API keys"):
			t.Errorf("racer %d failed with %q, want the 3-key limit", i, errs[i])
		}
	}
	if len(made) != 2 {
		t.Fatalf("%d of %d racing create-key commands succeeded, want 2 (the integration had 1 of 3 keys)", len(made), racers)
	}
	for _, k := range made {
		for _, p := range ps {
			mustCall(t, p.URL, "GET", "/v2/apps", k, "", http.StatusOK)
		}
	}
	in := listIntegrations(t, dsn)
	if len(in) != 1 || len(in[0].Keys) != 3 {
		t.Fatalf("list-integrations after the race: %+v, want one integration with 3 keys", in)
	}
}

// A key revoked while a replica is busy serving it: every request sent to
// any replica after the revocation was acknowledged is refused. Replicas
// keep a key they read only while no commit has been made since, so the
// staleness is zero; the test measures it from the requests' own
// timestamps.
func TestReplicasRefuseARevokedKeyAtOnce(t *testing.T) {
	t.Parallel()
	// As fast as the replicas answer: no rate limit.
	dsn, ps := replicas(t, 2, "--rate-limit", "0", "--max-concurrent-per-key", "0")
	key := createIntegration(t, dsn, "CI", "30d", "account:app:read")

	type sample struct {
		sent   time.Time
		status int
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	samples := map[int][]sample{}
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() {
			for ctx.Err() == nil {
				sent := time.Now()
				status, _, err := call(p.URL, "GET", "/v2/apps", key, "")
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
					return
				}
				mu.Lock()
				samples[i] = append(samples[i], sample{sent, status})
				mu.Unlock()
			}
		})
	}
	// Both replicas serve the key (and keep it) before it is revoked: on a
	// loaded machine the first answers may take a while.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		served := 0
		for i := range ps {
			n := 0
			for _, s := range samples[i] {
				if s.status == http.StatusOK {
					n++
				}
			}
			if n >= 5 {
				served++
			}
		}
		mu.Unlock()
		if served == len(ps) || time.Now().After(deadline) {
			break
		}
	}
	mustAdmin(t, dsn, "revoke-key", key)
	acked := time.Now()
	// Until every replica has answered requests sent after the ack: on a
	// loaded machine one may take a while to answer the next.
	for deadline := acked.Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		enough := true
		for i := range ps {
			n := 0
			for _, s := range samples[i] {
				if !s.sent.Before(acked) {
					n++
				}
			}
			enough = enough && n >= 20
		}
		mu.Unlock()
		if enough {
			break
		}
	}
	cancel()
	wg.Wait()

	for i := range ps {
		var before, after, lastOK int
		var staleness time.Duration
		for _, s := range samples[i] {
			if s.sent.Before(acked) {
				before++
			} else {
				after++
			}
			switch {
			case s.status == http.StatusOK:
				lastOK++
				if d := s.sent.Sub(acked); d > staleness {
					staleness = d
				}
			case s.status != http.StatusUnauthorized:
				t.Errorf("replica %d answered %d", i, s.status)
			}
		}
		t.Logf("replica %d: %d requests before the revocation was acknowledged, %d after; worst staleness %v", i, before, after, staleness)
		if before == 0 || after == 0 {
			t.Errorf("replica %d: %d requests before and %d after the revocation; the test needs both", i, before, after)
		}
		if staleness > 0 {
			t.Errorf("replica %d accepted the key %v after its revocation was acknowledged", i, staleness)
		}
		if lastOK == 0 {
			t.Errorf("replica %d never accepted the key before its revocation", i)
		}
	}
	for _, p := range ps {
		mustCall(t, p.URL, "GET", "/v2/apps", key, "", http.StatusUnauthorized)
	}
}

// An account disabled by the operator while both replicas hold its key
// (read and kept by each): the very next request to either is refused
// with a 403 naming the reason, and once it is enabled the next request
// to either is served again. Both changes are commits, which every
// replica's key cache sees, as with a revocation.
func TestReplicasRefuseADisabledAccountAtOnce(t *testing.T) {
	t.Parallel()
	dsn, ps := replicas(t, 2, "--rate-limit", "0", "--max-concurrent-per-key", "0")
	mustAdmin(t, dsn, "create-account", "--name", "Acme")
	out, _ := mustAdmin(t, dsn, "create-integration", "--account", "2", "--name", "CI", "--expires-in", "30d", "--grant", "account:app:read")
	key := strings.TrimSpace(out)
	other := createIntegration(t, dsn, "CI", "30d", "account:app:read")
	for range 3 {
		for _, p := range ps {
			mustCall(t, p.URL, "GET", "/v2/apps", key, "", http.StatusOK)
		}
	}
	mustAdmin(t, dsn, "disable-account", "2")
	for i, p := range ps {
		b := mustCall(t, p.URL, "GET", "/v2/apps", key, "", http.StatusForbidden)
		if !strings.Contains(string(b), "account 2 is disabled") {
			t.Errorf("replica %d refused the key with %s, want the reason", i, b)
		}
		mustCall(t, p.URL, "GET", "/v2/apps", other, "", http.StatusOK)
	}
	mustAdmin(t, dsn, "enable-account", "2")
	for _, p := range ps {
		mustCall(t, p.URL, "GET", "/v2/apps", key, "", http.StatusOK)
	}
}

// Suspension, allowed networks and rolling, changed by the operator while
// both replicas hold the key (read and kept by each): the very next
// request to either follows the change. Each is a commit, which every
// replica's key cache sees, as with a revocation.
func TestReplicasFollowKeyLifecycleChangesAtOnce(t *testing.T) {
	t.Parallel()
	dsn, ps := replicas(t, 2, "--rate-limit", "0", "--max-concurrent-per-key", "0")
	key := createIntegration(t, dsn, "CI", "30d", "account:app:read")
	warm := func(k string) {
		t.Helper()
		for range 3 {
			for _, p := range ps {
				mustCall(t, p.URL, "GET", "/v2/apps", k, "", http.StatusOK)
			}
		}
	}
	refused := func(k string, status int, want string) {
		t.Helper()
		for i, p := range ps {
			if b := mustCall(t, p.URL, "GET", "/v2/apps", k, "", status); !strings.Contains(string(b), want) {
				t.Errorf("replica %d refused with %s, want %q", i, b, want)
			}
		}
	}

	warm(key)
	mustAdmin(t, dsn, "suspend-integration", "1")
	refused(key, http.StatusForbidden, "integration suspended")
	mustAdmin(t, dsn, "resume-integration", "1")
	warm(key)

	mustAdmin(t, dsn, "set-integration-networks", "1", "--allow-cidr", "203.0.113.0/24", "--allow-cidr", "2001:db8::/32")
	refused(key, http.StatusForbidden, "this integration's keys are not allowed from 127.0.0.1")
	mustAdmin(t, dsn, "set-integration-networks", "1", "--allow-cidr", "127.0.0.0/8")
	warm(key)

	// Rolled with an overlap, both keys work on both replicas; rolled with
	// none, the old key is refused by both at its next request. (That an
	// overlap ends by itself is shown on an injected clock: e2e.)
	out, _ := mustAdmin(t, dsn, "roll-key", key, "--overlap", "1h")
	second := strings.TrimSpace(out)
	warm(key)
	warm(second)
	out, _ = mustAdmin(t, dsn, "roll-key", second, "--overlap", "0")
	third := strings.TrimSpace(out)
	refused(second, http.StatusUnauthorized, "rolled")
	warm(third)
	warm(key) // its own overlap still runs
}

// Configuration patches racing on two replicas, each to its own field: the
// merged configuration keeps every one of them.
func TestReplicasMergeConcurrentConfigPatches(t *testing.T) {
	t.Parallel()
	dsn, ps := replicas(t, 2)
	key := createIntegration(t, dsn, "CI", "30d", fullAccess...)
	app := createApp(t, &testServer{URL: ps[0].URL}, key, "Telemedicine")

	patches := []struct{ body, section, field string }{
		{`{"accessManager":{"enabled":true}}`, "accessManager", "enabled"},
		{`{"accessManager":{"tokenRevoke":true}}`, "accessManager", "tokenRevoke"},
		{`{"appContext":{"disallowGetAllChannelMetadata":true}}`, "appContext", "disallowGetAllChannelMetadata"},
		{`{"appContext":{"disallowGetAllUserMetadata":true}}`, "appContext", "disallowGetAllUserMetadata"},
		{`{"presence":{"deltas":true}}`, "presence", "deltas"},
		{`{"presence":{"streamFiltering":true}}`, "presence", "streamFiltering"},
		{`{"presence":{"generateLeaveOnDisconnect":true}}`, "presence", "generateLeaveOnDisconnect"},
		{`{"messagePersistence":{"includePresenceEvents":true}}`, "messagePersistence", "includePresenceEvents"},
		{`{"messagePersistence":{"deleteFromHistory":true}}`, "messagePersistence", "deleteFromHistory"},
	}
	for round := range 3 {
		ks, _ := createKeyset(t, &testServer{URL: ps[0].URL}, key, app)
		path := "/v2/keysets/" + ks + "/config"
		var before map[string]map[string]any
		if err := json.Unmarshal(mustCall(t, ps[1].URL, "GET", path, key, "", http.StatusOK), &before); err != nil {
			t.Fatal(err)
		}
		for _, pt := range patches {
			if before[pt.section][pt.field] != false {
				t.Fatalf("a new keyset's %s.%s is %v; the test needs false", pt.section, pt.field, before[pt.section][pt.field])
			}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, pt := range patches {
			wg.Go(func() {
				<-start
				status, b, err := call(ps[i%2].URL, "PATCH", path, key, pt.body)
				if err != nil || status != http.StatusOK {
					t.Errorf("round %d: PATCH %s on replica %d: %d %s (%v)", round, pt.body, i%2, status, b, err)
				}
			})
		}
		close(start)
		wg.Wait()
		for r, p := range ps {
			var got map[string]map[string]any
			if err := json.Unmarshal(mustCall(t, p.URL, "GET", path, key, "", http.StatusOK), &got); err != nil {
				t.Fatal(err)
			}
			for _, pt := range patches {
				if got[pt.section][pt.field] != true {
					t.Errorf("round %d: replica %d reads %s.%s = %v after every patch succeeded: an update was lost", round, r, pt.section, pt.field, got[pt.section][pt.field])
				}
			}
		}
	}
}

// Rotations racing on two replicas: at most 5 rotated secret keys that have
// not expired, however the requests interleave.
func TestReplicasKeepTheRotatedSecretKeyLimit(t *testing.T) {
	t.Parallel()
	dsn, ps := replicas(t, 2)
	key := createIntegration(t, dsn, "CI", "30d", fullAccess...)
	app := createApp(t, &testServer{URL: ps[0].URL}, key, "Telemedicine")
	ks, _ := createKeyset(t, &testServer{URL: ps[1].URL}, key, app)
	path := "/v2/keysets/" + ks + "/secret-keys"
	body := `{"expiresAt":"` + wallclock.Now().Add(48*time.Hour).UTC().Format("2006-01-02T15:04:05.000Z") + `"}`

	const racers = 12
	statuses := make([]int, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			status, b, err := call(ps[i%2].URL, "POST", path, key, body)
			if err != nil {
				t.Errorf("POST on replica %d: %v", i%2, err)
			}
			if status == http.StatusConflict && !strings.Contains(string(b), "already has 5 rotated secret keys") {
				t.Errorf("409 without the limit's message: %s", b)
			}
			statuses[i] = status
		})
	}
	close(start)
	wg.Wait()
	var created, refused int
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			refused++
		default:
			t.Errorf("a rotation answered %d", s)
		}
	}
	if created != 5 || refused != racers-5 {
		t.Errorf("%d rotations succeeded and %d were refused, want 5 and %d", created, refused, racers-5)
	}
	var list struct {
		SecretKeys []struct {
			SecretKey string
			ExpiresAt *string
		}
	}
	if err := json.Unmarshal(mustCall(t, ps[0].URL, "GET", path, key, "", http.StatusOK), &list); err != nil {
		t.Fatal(err)
	}
	keys := list.SecretKeys
	var rotated int
	for _, k := range keys {
		if k.ExpiresAt != nil {
			rotated++
		}
	}
	if len(keys) != 6 || rotated != 5 {
		t.Errorf("the keyset lists %d secret keys, %d of them rotated; want the main key and 5 rotated", len(keys), rotated)
	}
}

// A database URL nobody answers at is a startup error naming the host,
// never a hang: a refused connection at once, a server that accepts and
// then says nothing within the default connect timeout (5 s).
func TestServeUnreachableDatabase(t *testing.T) {
	t.Parallel()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() }) // after the parallel subtests
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered, until the test ends
		}
	}()
	for _, c := range []struct {
		name string
		addr string
	}{
		{"refused", fmt.Sprintf("127.0.0.1:%d", closedPort(t))},
		{"silent", silent.Addr().String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, _, err := runKeyplane(t, nil, "serve", "--addr", "127.0.0.1:0", "--database", "postgres://keyplane@"+c.addr+"/keyplane?sslmode=disable")
			if err == nil {
				t.Fatal("serve started on a database that does not answer")
			}
			t.Logf("after %v: %v", time.Since(start), err)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("serve took %v to give up", took)
			}
			if !strings.Contains(err.Error(), c.addr) {
				t.Errorf("error %q does not name %s", err, c.addr)
			}
		})
	}
}

// The database goes away while a server runs: requests answer 503 with the
// JSON error body and change nothing, /readyz says not ready, and the
// server recovers by itself when the database returns.
func TestServeSurvivesLosingTheDatabase(t *testing.T) {
	t.Parallel()
	dsn, ps := replicas(t, 1)
	p := ps[0]
	key := createIntegration(t, dsn, "CI", "30d", fullAccess...)
	createApp(t, &testServer{URL: p.URL}, key, "before")

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("pgx", os.Getenv(pgtest.EnvVar))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The outage: no new connections, and every open one cut.
	exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false")
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "' AND pid <> pg_backend_pid()")

	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v2/apps", ""},
		{"POST", "/v2/apps", `{"name":"during"}`},
		{"GET", "/readyz", ""},
	} {
		status, b, err := call(p.URL, c.method, c.path, key, c.body)
		if err != nil {
			t.Fatalf("%s %s during the outage: %v", c.method, c.path, err)
		}
		var body struct {
			StatusCode int
			Error      string
			Message    []string
		}
		if status != http.StatusServiceUnavailable || json.Unmarshal(b, &body) != nil || body.StatusCode != 503 || body.Error != "ServiceUnavailable" || len(body.Message) == 0 {
			t.Errorf("%s %s during the outage: %d %s, want 503 with the JSON error body", c.method, c.path, status, b)
		}
	}

	if t.Failed() {
		t.Logf("server log:\n%s", p.stderr.String())
	}
	exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true")
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, _ := call(p.URL, "GET", "/readyz", "", "")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d 10s after the database returned", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var list struct {
		Apps  []struct{ Name string }
		Total int
	}
	if err := json.Unmarshal(mustCall(t, p.URL, "GET", "/v2/apps", key, "", http.StatusOK), &list); err != nil {
		t.Fatal(err)
	}
	if list.Total != 1 || len(list.Apps) != 1 || list.Apps[0].Name != "before" {
		t.Errorf("apps after the outage: %+v, want only the one made before it", list)
	}
	createApp(t, &testServer{URL: p.URL}, key, "after")
}

// closedPort is a 127.0.0.1 port nobody listens on: one just released.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Two replicas share one outbox: a burst of events written through both
// is delivered by both to a real receiver, every event arrives, and no
// webhook-id is ever being delivered by two requests at once (their
// in-flight intervals, as the receiver saw them, never overlap). Every
// answer is a quick 2xx, so no delivery is sent twice at all.
func TestReplicasDeliverWebhooksOnceAtATime(t *testing.T) {
	t.Parallel()
	dsn, ps := replicas(t, 2, "--rate-limit", "0", "--max-concurrent-per-key", "0", "--webhooks-allow-private")
	key := createIntegration(t, dsn, "hooks", "30d", "account:app:rw", "account:webhook:rw")
	rc := newHookReceiver(t)
	// A little work per delivery, so each is in flight long enough for a
	// second one of the same id to be seen overlapping it.
	rc.delay = 5 * time.Millisecond
	for _, p := range ps {
		rc.senders = append(rc.senders, p.cmd.Process.Pid)
	}
	hookID := rc.register(ps[0].URL, key, "AppCreated")

	const events = 300
	var mu sync.Mutex
	made := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 8 {
		p := ps[w%len(ps)]
		wg.Go(func() {
			for i := w; i < events; i += 8 {
				b := mustCallNoFatal(t, p.URL, "POST", "/v2/apps", key, fmt.Sprintf(`{"name":"burst %d"}`, i), http.StatusCreated)
				var app struct{ ID string }
				if b == nil || json.Unmarshal(b, &app) != nil {
					return
				}
				mu.Lock()
				made[app.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if !waitFor(30*time.Second, func() bool { return rc.count.Load() >= events }) {
		t.Fatalf("%d deliveries of %d events within 30 s", rc.count.Load(), events)
	}
	// Time for a duplicate to show, were one coming: a poll and more.
	time.Sleep(time.Second)

	got := rc.receipts()
	if dups := checkReceipts(t, got, hookID, made); dups != 0 {
		t.Errorf("%d deliveries were sent again, with every answer a quick 2xx; want none", dups)
	}
	byID := map[string][]receipt{}
	for _, r := range got {
		byID[r.msgID] = append(byID[r.msgID], r)
	}
	for id, rs := range byID {
		sort.Slice(rs, func(i, j int) bool { return rs[i].began.Before(rs[j].began) })
		// Each must begin after every earlier one has ended.
		last := 0
		for i := 1; i < len(rs); i++ {
			if rs[i].began.Before(rs[last].ended) {
				t.Errorf("%s was being delivered twice at once: by replica %d for %v, and by replica %d from %v after that began",
					id, rs[last].sender, rs[last].ended.Sub(rs[last].began), rs[i].sender, rs[i].began.Sub(rs[last].began))
			}
			if rs[i].ended.After(rs[last].ended) {
				last = i
			}
		}
	}

	// Which replica sent each delivery, by the process its connection
	// came from: both must have taken part, or the test proves nothing.
	per := make([]int, len(ps))
	unknown := 0
	for _, r := range got {
		if r.sender < 0 {
			unknown++
		} else {
			per[r.sender]++
		}
	}
	if _, err := socketPorts(ps[0].cmd.Process.Pid); err != nil {
		t.Skipf("cannot tell the replicas' connections apart: %v", err)
	}
	if unknown > 0 {
		t.Errorf("%d deliveries came from neither replica's connections", unknown)
	}
	t.Logf("%d deliveries of %d events, %v by each replica", len(got), events, per)
	for i, n := range per {
		if n == 0 {
			t.Errorf("replica %d delivered nothing; the test needs both to", i)
		}
	}
}

// mustCallNoFatal is mustCall for goroutines other than the test's: it
// reports a failure with t.Errorf and answers nil.
func mustCallNoFatal(t *testing.T, base, method, path, key, body string, want int) []byte {
	status, b, err := call(base, method, path, key, body)
	if err != nil || status != want {
		t.Errorf("%s %s: status %d (%v), want %d; body %s", method, path, status, err, want, b)
		return nil
	}
	return b
}

// socketPorts is the local ports of the TCP sockets process pid holds
// open, read from Linux's /proc.
func socketPorts(pid int) (map[string]bool, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	ports := map[string]bool{}
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			return nil, err
		}
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if n, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
				ports[strconv.FormatUint(n, 10)] = true
			}
		}
	}
	return ports, nil
}
