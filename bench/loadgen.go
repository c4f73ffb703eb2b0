package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyplane/keyplane/httpapi"
)

// apiVersion is the PubNub-Version header every request of the bench sends.
var apiVersion = httpapi.Releases[len(httpapi.Releases)-1]

// A load is one run of the load generator: a fixed number of connections,
// each sending requests back to back (or at a fixed rate in all) until
// the time is up.
type load struct {
	method string
	// urls are the request's URLs; worker w uses urls[w % len(urls)], so a
	// load can spread over replicas.
	urls []string
	key  string // Authorization header
	// body, when set, gives the body of the i-th request of a worker.
	body func(worker, i int) []byte
	// want is the status every answer must have; any other counts as an error.
	want  int
	conns int
	dur   time.Duration
	// next, when set, makes each request instead (a mix); r is the
	// worker's own random source.
	next func(r *rand.Rand) request
	// answered, when set, is told each answer that had its wanted status.
	answered func(req request, body []byte)
	// rate, when not 0, paces the requests at so many a second in all.
	rate float64
}

// request is one request of a mix.
type request struct {
	method, url string
	body        []byte
	want        int
}

// A runner is a load generator's run: load (Go) or wrkLoad.
type runner interface {
	run(ctx context.Context) (outcome, error)
}

// outcome is what a load measured.
type outcome struct {
	ok, errs int
	elapsed  time.Duration
	lat      []time.Duration // of the successful requests, sorted
	// pct, when set, holds percentiles measured elsewhere (wrk) instead
	// of lat.
	pct      map[float64]time.Duration
	firstErr string
}

func (o outcome) throughput() float64 { return float64(o.ok) / o.elapsed.Seconds() }

// percentile is the p-th percentile (0 < p ≤ 100) of the latencies.
func (o outcome) percentile(p float64) time.Duration {
	if o.pct != nil {
		return o.pct[p]
	}
	if len(o.lat) == 0 {
		return 0
	}
	i := int(float64(len(o.lat))*p/100+0.5) - 1
	return o.lat[min(max(i, 0), len(o.lat)-1)]
}

// loopbackOnly refuses any URL whose host is not a loopback address: the
// load generator never sends traffic anywhere else.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("bench: refusing to send load to %s: loopback addresses only", host)
	}
	return nil
}

// run sends the load and returns what it measured. It stops by itself
// after l.dur, whatever the server does.
func (l load) run(ctx context.Context) (outcome, error) {
	for _, u := range l.urls {
		if err := loopbackOnly(u); err != nil {
			return outcome{}, err
		}
	}
	tr := &http.Transport{
		MaxIdleConns:        l.conns,
		MaxIdleConnsPerHost: l.conns,
		MaxConnsPerHost:     l.conns,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, l.dur)
	defer cancel()

	var (
		mu       sync.Mutex
		all      []time.Duration
		ok, errs atomic.Int64
		firstErr atomic.Value
	)
	tokens := l.pace(ctx)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range l.conns {
		url := l.urls[w%len(l.urls)]
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			lat := make([]time.Duration, 0, 4096)
			buf := make([]byte, 32<<10)
			for i := 0; ; i++ {
				if tokens != nil {
					select {
					case <-tokens:
					case <-ctx.Done():
					}
				}
				if ctx.Err() != nil {
					break
				}
				q := request{method: l.method, url: url, want: l.want}
				if l.next != nil {
					q = l.next(r)
				} else if l.body != nil {
					q.body = l.body(w, i)
				}
				var body io.Reader
				if q.body != nil {
					body = bytes.NewReader(q.body)
				}
				req, _ := http.NewRequestWithContext(ctx, q.method, q.url, body)
				req.Header.Set("Authorization", l.key)
				req.Header.Set("PubNub-Version", apiVersion)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					}
					continue
				}
				n, _ := io.ReadFull(resp.Body, buf)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if ctx.Err() != nil {
					break // the load ended during this request: it counts for nothing
				}
				if resp.StatusCode != q.want {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s %s: %d %.300s", q.method, q.url, resp.StatusCode, buf[:n]))
					continue
				}
				if l.answered != nil {
					l.answered(q, buf[:n])
				}
				ok.Add(1)
				lat = append(lat, d)
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	o := outcome{ok: int(ok.Load()), errs: int(errs.Load()), elapsed: time.Since(start), lat: all}
	if s, _ := firstErr.Load().(string); s != "" {
		o.firstErr = s
	}
	slices.Sort(o.lat)
	return o, nil
}

// pace hands out l.rate tokens a second until ctx ends, in bursts of what
// accrued since the last tick; nil when the load is not paced. Tokens the
// workers cannot take in time are dropped: the rate is then not met, and
// the throughput says so.
func (l load) pace(ctx context.Context) <-chan struct{} {
	if l.rate <= 0 {
		return nil
	}
	tokens := make(chan struct{}, l.conns)
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		last, owed := time.Now(), 0.0
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				owed += now.Sub(last).Seconds() * l.rate
				last = now
				for ; owed >= 1; owed-- {
					select {
					case tokens <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return tokens
}

// get sends one request and decodes nothing: it returns the status and body.
func get(ctx context.Context, method, url, key string, body []byte) (int, []byte, error) {
	if err := loopbackOnly(url); err != nil {
		return 0, nil, err
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", key)
		req.Header.Set("PubNub-Version", apiVersion)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
