package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssKiB reads a field of /proc/PID/status in KiB: VmRSS (now) or VmHWM
// (the peak).
func rssKiB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("%s: %q", field, line)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// Password hashing cannot take the server's memory, whoever asks: 200
// unauthenticated requests at once, half setting up an Owner with a bogus
// link and half signing in as 100 different addresses from 100 different
// clients (so that no per-address or per-client throttle saves the
// server), keep its peak RSS within hashBound of where it started; it still
// answers, and its memory goes back down after the burst. Before the bound
// each request hashed at once, 19 MiB apiece (issue 16: 40 requests took a
// server from 25 to 789 MiB).
func TestPasswordHashingIsBounded(t *testing.T) {
	t.Parallel()
	// What the hashes at once may add (DefaultPasswordHashes × 19 MiB,
	// and what the collector lets accumulate between them), with room for
	// 200 connections' buffers. Measured on a binary without the race
	// detector, whose shadow memory would dwarf it.
	const hashBound = 150 << 10 // KiB
	p := startBuilt(t, keyplanePlainBinary(t), "serve", "--addr", "127.0.0.1:0", "--database", newDB(t), "--trust-proxy")
	pid := p.cmd.Process.Pid
	get := func() int {
		res, err := http.Get(p.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	get()
	base := rssKiB(t, pid, "VmRSS")

	const n = 100
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	client := &http.Client{Timeout: time.Minute}
	for i := range 2 * n {
		wg.Go(func() {
			form := url.Values{"email": {fmt.Sprintf("p%d@example.com", i)}, "password": {"correct horse battery"}}
			path := "/login"
			if i%2 == 0 {
				path = "/setup"
				form.Set("token", "bogus-setup-token")
				form.Set("confirm", form.Get("password"))
			}
			req, _ := http.NewRequest("POST", p.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i%250))
			<-start
			res, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	peak := rssKiB(t, pid, "VmHWM")
	t.Logf("RSS %d MiB before, peak %d MiB; answers %v", base>>10, peak>>10, statuses)
	if peak-base > hashBound {
		t.Errorf("peak RSS %d MiB is %d MiB above the %d MiB before the burst, want at most %d MiB more",
			peak>>10, (peak-base)>>10, base>>10, hashBound>>10)
	}
	for code, count := range statuses {
		switch code {
		case http.StatusNotFound, http.StatusUnauthorized, http.StatusServiceUnavailable:
		default:
			t.Errorf("%d answers of %d", count, code)
		}
	}
	if statuses[http.StatusNotFound] != n {
		t.Errorf("%d bogus setup links refused, want %d", statuses[http.StatusNotFound], n)
	}
	if code := get(); code != http.StatusOK {
		t.Errorf("/healthz after the burst: %d", code)
	}
	if now := rssKiB(t, pid, "VmRSS"); now-base > hashBound/3 {
		t.Errorf("RSS %d MiB after the burst, %d MiB before: the memory of the hashes was not given back", now>>10, base>>10)
	}
}
