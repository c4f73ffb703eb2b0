package logwriter

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowOut records writes, taking a while over each, as a terminal or a
// pipe might.
type slowOut struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (o *slowOut) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes++
	return o.b.Write(p)
}

// Lines written concurrently all arrive, whole and each writer's in its
// order, and the ones that arrive during a write share the next one.
func TestLinesArriveWholeInOrderAndTogether(t *testing.T) {
	out := &slowOut{}
	w := New(out)
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "writer %d line %d %s\n", g, i, strings.Repeat("x", i%50+1))
			}
		})
	}
	wg.Wait()
	w.Flush()
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.b.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines out, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(l, "writer %d line %d %s", &g, &i, &pad); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if i != next[g] || len(pad) != i%50+1 {
			t.Fatalf("line %q: want writer %d's line %d, whole", l, g, next[g])
		}
		next[g]++
	}
	if out.writes >= writers*lines/2 {
		t.Errorf("%d writes for %d lines: lines are not gathered", out.writes, writers*lines)
	}
}

// A caller may reuse its buffer as soon as Write returns, and Flush waits
// for what was written before it.
func TestWriteCopiesAndFlushWaits(t *testing.T) {
	out := &slowOut{}
	w := New(out)
	p := []byte("first\n")
	w.Write(p)
	copy(p, "XXXXX\n")
	w.Write([]byte("second\n"))
	w.Flush()
	if got := out.b.String(); got != "first\nsecond\n" {
		t.Errorf("out %q", got)
	}
	w.Flush() // nothing pending: returns at once
}

// Past maxPending, Write waits for the out to catch up rather than grow.
func TestPendingIsBounded(t *testing.T) {
	block := make(chan struct{})
	out := writerFunc(func(p []byte) (int, error) { <-block; return len(p), nil })
	w := New(out)
	w.Write([]byte("taken by the first write, which blocks\n"))
	for !drainedOnce(w) {
		time.Sleep(time.Millisecond)
	}
	big := make([]byte, maxPending/2)
	w.Write(big)
	w.Write(big)
	done := make(chan struct{})
	go func() { w.Write(big); close(done) }()
	select {
	case <-done:
		t.Fatal("Write returned with more than maxPending held")
	case <-time.After(50 * time.Millisecond):
	}
	close(block)
	<-done
	w.Flush()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// drainedOnce tells whether the first line has been handed to out.
func drainedOnce(w *Writer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writing && len(w.buf) == 0
}
