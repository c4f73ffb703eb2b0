package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrk is the load generator whose figures count where it can express the
// load (P1, P2, P6, P8): Debian's C load generator, an event loop per
// thread, spends far less CPU per request than the Go generator in
// loadgen.go. On a machine whose cores the server shares with its load,
// the generator's own CPU is taken from the server, and a Go generator
// takes back less from a slow server than from a fast one, which
// flatters the ratio; wrk's share is small and nearly the same for both.
//
// wrk's own summary is for people, so the script below prints what the
// bench needs as one JSON line from done(), parsed by parseWrk.

// wrkScript is the Lua script every wrk run loads; the bench writes it to
// its work folder (wrkScriptFile). It is configured through the
// environment (BENCH_WRK_*), which no other user can read, so the API key
// never shows in a process list:
//
//	BENCH_WRK_KEY, BENCH_WRK_VERSION  the Authorization and PubNub-Version headers
//	BENCH_WRK_MODE   get (the URL, built once), create-keyset or patch-config
//	BENCH_WRK_IDS    apps (create-keyset, in turns) or keysets (patch-config, at random)
//	BENCH_WRK_ADDRS  host:port of each server; thread i sends to server i mod n
//	BENCH_WRK_RUN    a number unique to the run, so names and values never repeat
//
// Every answer outside 2xx counts as an error (wrk itself counts only
// those over 399), and the first such status is reported.
const wrkScript = `-- keyplane bench (bench/wrk.go): one wrk run, configured by BENCH_WRK_*.
local env = os.getenv
local mode = env("BENCH_WRK_MODE") or "get"
local run = env("BENCH_WRK_RUN") or "0"

local function words(s)
  local out = {}
  for w in string.gmatch(s or "", "%S+") do out[#out + 1] = w end
  return out
end

wrk.headers["Authorization"] = env("BENCH_WRK_KEY")
wrk.headers["PubNub-Version"] = env("BENCH_WRK_VERSION")

-- The main state: each thread is given its server and its number.
local threads = {}
local addrs = words(env("BENCH_WRK_ADDRS"))
function setup(thread)
  local n = #threads + 1
  threads[n] = thread
  thread:set("index", n)
  if #addrs > 0 then
    local host, port = string.match(addrs[(n - 1) % #addrs + 1], "^(.*):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
end

-- A thread's state.
index = 0
bad, badStatus = 0, 0
local ids = words(env("BENCH_WRK_IDS"))
local sent = 0

function init(args)
  math.randomseed(index)
end

if mode == "create-keyset" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  function request()
    sent = sent + 1
    local app = ids[(sent + index) % #ids + 1]
    local body = string.format('{"keyset":{"appId":"%s","name":"bench %s-%d-%d"}}', app, run, index, sent)
    return wrk.format(nil, "/v2/keysets", nil, body)
  end
elseif mode == "patch-config" then
  -- A value never sent before, so every PATCH changes the keyset (one
  -- that changes nothing writes nothing), whatever order they land in.
  wrk.method = "PATCH"
  wrk.headers["Content-Type"] = "application/json"
  function request()
    sent = sent + 1
    local id = ids[math.random(#ids)]
    local body = string.format('{"presence":{"activeNoticeChannel":"bench-%s-%d-%d"}}', run, index, sent)
    return wrk.format(nil, "/v2/keysets/" .. id .. "/config", nil, body)
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
    if badStatus == 0 then badStatus = status end
  end
end

-- The main state again, once every thread has stopped.
function done(summary, latency, requests)
  local nonOK, first = 0, 0
  for _, t in ipairs(threads) do
    nonOK = nonOK + t:get("bad")
    if first == 0 then first = t:get("badStatus") end
  end
  local e = summary.errors
  io.write(string.format('{"wrk":1,"requests":%d,"durationUs":%d,"non2xx":%d,"firstNon2xx":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, nonOK, first, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`

// wrkScriptFile is the name of the script in the work folder.
const wrkScriptFile = "bench.lua"

// wrkThreads is how many threads wrk runs: one per core of the 2-core
// machines the targets are set on, and one per replica where there are two.
const wrkThreads = 2

// A wrkLoad is one run of wrk: conns connections over wrkThreads threads,
// each sending requests back to back until the time is up.
type wrkLoad struct {
	wrk    string // the wrk binary
	script string // wrkScript's file
	mode   string // get, create-keyset or patch-config
	// url is the first server's: its path is what get mode asks.
	url string
	// addrs are the servers' host:port, given to the threads in turn;
	// empty sends everything to url's.
	addrs []string
	key   string
	ids   []int64 // apps (create-keyset) or keysets (patch-config)
	conns int
	dur   time.Duration
}

// wrkResult is the line the script's done() prints. Times are in µs.
type wrkResult struct {
	Wrk         int   `json:"wrk"`
	Requests    int   `json:"requests"` // answers, whatever their status
	DurationUs  int64 `json:"durationUs"`
	Non2xx      int   `json:"non2xx"`
	FirstNon2xx int   `json:"firstNon2xx"`
	Connect     int   `json:"connect"`
	Read        int   `json:"read"`
	Write       int   `json:"write"`
	Timeout     int   `json:"timeout"`
	P50Us       int64 `json:"p50Us"`
	P90Us       int64 `json:"p90Us"`
	P99Us       int64 `json:"p99Us"`
	MaxUs       int64 `json:"maxUs"`
}

// parseWrk finds the script's line in wrk's output (after wrk's own
// summary) and makes it an outcome. Latencies are of every answer, as wrk
// keeps them; a run with errors fails anyway.
func parseWrk(out []byte) (outcome, error) {
	var r wrkResult
	found := false
	s := bufio.NewScanner(bytes.NewReader(out))
	for s.Scan() {
		line := bytes.TrimSpace(s.Bytes())
		if !bytes.HasPrefix(line, []byte(`{"wrk":`)) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return outcome{}, fmt.Errorf("wrk's result line %q: %w", line, err)
		}
		found = true
	}
	if !found {
		return outcome{}, fmt.Errorf("no result line in wrk's output:\n%s", out)
	}
	if r.DurationUs <= 0 {
		return outcome{}, fmt.Errorf("wrk's result line: duration %d µs", r.DurationUs)
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	o := outcome{
		ok:      r.Requests - r.Non2xx,
		errs:    r.Non2xx + r.Connect + r.Read + r.Write + r.Timeout,
		elapsed: us(r.DurationUs),
		pct:     map[float64]time.Duration{50: us(r.P50Us), 90: us(r.P90Us), 99: us(r.P99Us), 100: us(r.MaxUs)},
	}
	if o.errs > 0 {
		var parts []string
		if r.Non2xx > 0 {
			parts = append(parts, fmt.Sprintf("%d answers not 2xx, the first %d", r.Non2xx, r.FirstNon2xx))
		}
		for _, e := range []struct {
			what string
			n    int
		}{{"connect", r.Connect}, {"read", r.Read}, {"write", r.Write}, {"timeout", r.Timeout}} {
			if e.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s errors", e.n, e.what))
			}
		}
		o.firstErr = strings.Join(parts, ", ")
	}
	return o, nil
}

// run runs wrk and returns what it measured. wrk stops by itself after
// l.dur; the context kills it sooner.
func (l wrkLoad) run(ctx context.Context) (outcome, error) {
	if l.wrk == "" {
		return outcome{}, errors.New("no wrk: scripts/bench installs it (Debian's wrk package)")
	}
	if err := loopbackOnly(l.url); err != nil {
		return outcome{}, err
	}
	for _, a := range l.addrs {
		if err := loopbackOnly("http://" + a); err != nil {
			return outcome{}, err
		}
	}
	threads := wrkThreads
	if len(l.addrs) > threads {
		threads = len(l.addrs)
	}
	secs := max(1, int(l.dur.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, l.wrk, "--threads", strconv.Itoa(threads), "--connections", strconv.Itoa(l.conns),
		"--duration", fmt.Sprintf("%ds", secs), "--timeout", "30s", "--script", l.script, l.url)
	ids := make([]string, len(l.ids))
	for i, id := range l.ids {
		ids[i] = strconv.FormatInt(id, 10)
	}
	cmd.Env = append(os.Environ(),
		"BENCH_WRK_KEY="+l.key, "BENCH_WRK_VERSION="+apiVersion, "BENCH_WRK_MODE="+l.mode,
		"BENCH_WRK_IDS="+strings.Join(ids, " "), "BENCH_WRK_ADDRS="+strings.Join(l.addrs, " "),
		"BENCH_WRK_RUN="+strconv.FormatInt(time.Now().UnixNano(), 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return outcome{}, ctx.Err()
		}
		return outcome{}, fmt.Errorf("wrk: %v: %s%s", err, stderr.Bytes(), out)
	}
	return parseWrk(out)
}

// wrk is a wrk run of mode against servers (thread i sending to server
// i mod n), asking path in get mode.
func (b *bench) wrk(mode string, servers []*proc, path, key string, ids []int64) wrkLoad {
	l := wrkLoad{wrk: b.wrkBin, script: b.path(wrkScriptFile), mode: mode, url: servers[0].url() + path, key: key, ids: ids}
	if len(servers) > 1 {
		for _, p := range servers {
			l.addrs = append(l.addrs, p.addr)
		}
	}
	return l
}

// noWrk is the note of a row wrk would have measured.
const noWrk = "skipped: no wrk (scripts/bench installs Debian's wrk)"
