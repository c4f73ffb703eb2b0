package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server process the bench started: keyplane serve or the
// baseline.
type proc struct {
	name    string
	cmd     *exec.Cmd
	addr    string        // host:port it listens on
	started time.Time     // when it was exec'd
	ready   time.Duration // from exec to ready (keyplane: /readyz answering 200)
	mu      sync.Mutex
	tail    []string // last lines of its output, for error messages
	pprof   string   // host:port of its profiler, if it serves one
	exited  chan struct{}
}

// startProc runs name with args and waits until it says where it listens:
// a JSON log line {"msg":"listening","addr":…} (keyplane) or a line
// "listening ADDR" (the baseline).
// Its output is also written to logFile, if given.
func startProc(ctx context.Context, label string, args []string, env []string, logFile string) (*proc, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // one stream, read in order
	p := &proc{name: label, cmd: cmd, started: time.Now(), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	var r io.Reader = out
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			cmd.Process.Kill()
			return nil, err
		}
		r = io.TeeReader(out, f)
		defer func() { go func() { <-p.exited; f.Close() }() }()
	}
	addrc := make(chan string, 1)
	go p.read(r, addrc)
	go func() { cmd.Wait(); close(p.exited) }()
	select {
	case p.addr = <-addrc:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before listening:\n%s", label, p.lastLines())
	case <-time.After(2 * time.Minute):
		p.stop()
		return nil, fmt.Errorf("%s did not listen within 2 minutes:\n%s", label, p.lastLines())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

func (p *proc) read(r io.Reader, addrc chan<- string) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for s.Scan() {
		line := s.Text()
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > 20 {
			p.tail = p.tail[1:]
		}
		p.mu.Unlock()
		if a, ok := strings.CutPrefix(line, "listening "); ok && !sent {
			addrc <- strings.TrimSpace(a)
			sent = true
			continue
		}
		var l struct{ Msg, Addr, PprofAddr string }
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		switch {
		case l.PprofAddr != "":
			p.mu.Lock()
			p.pprof = l.PprofAddr
			p.mu.Unlock()
		case l.Msg == "listening" && l.Addr != "" && !sent:
			addrc <- l.Addr
			sent = true
		}
	}
}

func (p *proc) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// url is the base URL of the process.
func (p *proc) url() string { return "http://" + p.addr }

// peakRSS is the most resident memory the process has held, in bytes.
func (p *proc) peakRSS() int64 { return p.memory("VmHWM") }

// memory is a memory figure of /proc/PID/status (VmRSS, VmHWM…) in
// bytes, or 0 where /proc does not tell.
func (p *proc) memory(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// stop asks the process to stop (SIGTERM), then kills it if it has not
// within 15 s.
func (p *proc) stop() error {
	if p == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return errors.New(p.name + " did not stop within 15 s of SIGTERM")
	}
	return nil
}

// waitReady polls GET /readyz until it answers 200.
func waitReady(ctx context.Context, base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		status, _, err := get(ctx, "GET", base+"/readyz", "", nil)
		if err == nil && status == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/readyz not 200 within %s (status %d, %v)", base, within, status, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
