package main

import (
	"strings"
	"testing"
	"time"
)

// Lines captured from wrk 4.1.0 (Debian) running wrkScript against the
// baseline server, after wrk's own summary.
const (
	wrkCapturedOK = `Running 3s test @ http://127.0.0.1:18555/v2/keysets/1
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.43ms    4.36ms  91.33ms   88.95%
    Req/Sec    32.19k     6.41k   46.52k    68.33%
  193165 requests in 3.00s, 47.53MB read
Requests/sec:  64351.04
Transfer/sec:     15.83MB
{"wrk":1,"requests":193165,"durationUs":3001696,"non2xx":0,"firstNon2xx":0,"connect":0,"read":0,"write":0,"timeout":0,"p50Us":835,"p90Us":7239,"p99Us":20908,"maxUs":91328}
`
	wrkCapturedRefused = `Running 1s test @ http://127.0.0.1:18555/v2/keysets/1
  2 threads and 8 connections
  57999 requests in 1.10s, 14.39MB read
  Non-2xx or 3xx responses: 57999
Requests/sec:  52767.17
Transfer/sec:     13.09MB
{"wrk":1,"requests":57999,"durationUs":1099159,"non2xx":57999,"firstNon2xx":401,"connect":0,"read":0,"write":0,"timeout":0,"p50Us":65,"p90Us":5486,"p99Us":14405,"maxUs":25280}
`
)

func TestParseWrk(t *testing.T) {
	o, err := parseWrk([]byte(wrkCapturedOK))
	if err != nil {
		t.Fatal(err)
	}
	if o.ok != 193165 || o.errs != 0 || o.firstErr != "" {
		t.Errorf("ok %d, errs %d, firstErr %q; want 193165, 0, none", o.ok, o.errs, o.firstErr)
	}
	if o.elapsed != 3001696*time.Microsecond {
		t.Errorf("elapsed %v", o.elapsed)
	}
	if got := o.throughput(); got < 64350 || got > 64352 {
		t.Errorf("throughput %.1f, want 64351", got)
	}
	for p, want := range map[float64]time.Duration{50: 835 * time.Microsecond, 99: 20908 * time.Microsecond, 100: 91328 * time.Microsecond} {
		if got := o.percentile(p); got != want {
			t.Errorf("p%g = %v, want %v", p, got, want)
		}
	}
}

// Answers outside 2xx are errors that name the first status, and none
// of them counts as served.
func TestParseWrkRefused(t *testing.T) {
	o, err := parseWrk([]byte(wrkCapturedRefused))
	if err != nil {
		t.Fatal(err)
	}
	if o.ok != 0 || o.errs != 57999 || !strings.Contains(o.firstErr, "the first 401") {
		t.Errorf("ok %d, errs %d, firstErr %q; want 0, 57999, naming 401", o.ok, o.errs, o.firstErr)
	}
}

func TestParseWrkSocketErrors(t *testing.T) {
	o, err := parseWrk([]byte(`{"wrk":1,"requests":10,"durationUs":1000000,"non2xx":0,"firstNon2xx":0,"connect":2,"read":1,"write":0,"timeout":3,"p50Us":1,"p90Us":1,"p99Us":1,"maxUs":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.ok != 10 || o.errs != 6 || o.firstErr != "2 connect errors, 1 read errors, 3 timeout errors" {
		t.Errorf("ok %d, errs %d, firstErr %q", o.ok, o.errs, o.firstErr)
	}
}

func TestParseWrkNoResult(t *testing.T) {
	for _, out := range []string{
		"Running 1s test @ http://127.0.0.1:1/\n",
		`{"wrk":1,"requests":10,"durationUs":0}`,
		`{"wrk":1,"requests":"ten"}`,
		`{"wrk":1,"requests":1,"durationUs":5,"surprise":1}`,
	} {
		if _, err := parseWrk([]byte(out)); err == nil {
			t.Errorf("parseWrk(%q): no error", out)
		}
	}
}
