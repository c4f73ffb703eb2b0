package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/store"
)

// p9 measures how stale a revocation may be across replicas: two
// PostgreSQL replicas serve P6's read load (64 connections, half on each)
// with a key of its own, and halfway through the key is revoked by a third
// process on the same database (the bench, through control, as
// `keyplane admin revoke-key` does). Every request sent after the
// revocation was acknowledged must be refused: the staleness is the
// latest send time, after the acknowledgement, of a request still served
// (0 when there is none). The Go generator drives it, as it must time
// each request; cmd/keyplane/replicas_test.go checks the same with few
// connections at every test run.
func p9(ctx context.Context, b *bench) ([]figure, error) {
	const what = "revoked key, next request on either PostgreSQL replica"
	if b.postgres == "" {
		return []figure{noPostgres("P9", what)}, nil
	}
	s, replicas, done, err := b.pgReplicas(ctx, "P9", oneAccount(10, 10))
	if err != nil {
		return nil, err
	}
	defer done()
	db, err := store.Open(ctx, s.dsn, time.Now())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	svc := control.New(db, control.Options{})
	g, err := keyplane.ParseGrant("account:keyset:read")
	if err != nil {
		return nil, err
	}
	_, key, err := svc.CreateIntegration(ctx, keyplane.Operator(s.account), "bench P9", []keyplane.Grant{g}, time.Now().Add(24*time.Hour))
	if err != nil {
		return nil, err
	}

	type sample struct {
		sent   time.Time
		status int
	}
	tr := &http.Transport{MaxIdleConnsPerHost: b.conns, MaxConnsPerHost: b.conns, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	loadCtx, stop := context.WithCancel(ctx)
	defer stop()
	samples := make([][]sample, b.conns)
	var failed error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range b.conns {
		url := fmt.Sprintf("%s/v2/keysets/%d", replicas[w%len(replicas)].url(), s.keyset())
		wg.Go(func() {
			for loadCtx.Err() == nil {
				req, _ := http.NewRequestWithContext(loadCtx, "GET", url, nil)
				req.Header.Set("Authorization", key.Key)
				req.Header.Set("PubNub-Version", apiVersion)
				sent := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if loadCtx.Err() == nil {
						mu.Lock()
						failed = cmpErr(failed, err)
						mu.Unlock()
					}
					return
				}
				resp.Body.Close()
				samples[w] = append(samples[w], sample{sent, resp.StatusCode})
			}
		})
	}
	half := max(b.dur/2, 500*time.Millisecond)
	sleep(ctx, half)
	if _, _, err := svc.RevokeAPIKey(ctx, keyplane.InstallOperator, key.Key); err != nil {
		stop()
		wg.Wait()
		return nil, err
	}
	acked := time.Now()
	sleep(ctx, half)
	stop()
	wg.Wait()
	if failed != nil {
		return nil, failed
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	var staleness time.Duration
	var notes []string
	for r := range replicas {
		var before, after, served int
		for w := r; w < len(samples); w += len(replicas) {
			for _, x := range samples[w] {
				switch {
				case x.status != http.StatusOK && x.status != http.StatusUnauthorized:
					return nil, fmt.Errorf("replica %d answered %d", r+1, x.status)
				case x.sent.Before(acked):
					before++
					if x.status == http.StatusOK {
						served++
					}
				default:
					after++
					if x.status == http.StatusOK {
						staleness = max(staleness, x.sent.Sub(acked))
					}
				}
			}
		}
		if served == 0 || after == 0 {
			return nil, fmt.Errorf("replica %d: %d requests served before the revocation, %d sent after it: the measure needs both", r+1, served, after)
		}
		notes = append(notes, fmt.Sprintf("replica %d: %d requests before, %d after", r+1, before, after))
	}
	return []figure{{ID: "P9", What: what + fmt.Sprintf(" under read load (%d conns)", b.conns),
		Value: ms(staleness), Unit: "ms staleness", Target: "0 ms: every request sent after the revocation refused",
		Met: b.verdict(staleness == 0), Note: strings.Join(notes, "; ")}}, nil
}

// cmpErr keeps the first error.
func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return errors.New("P9 load: " + err.Error())
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
