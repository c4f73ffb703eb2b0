// Package logwriter gathers log lines written at once into one write.
//
// A server logs a line per request; written straight to stderr, that is a
// system call per request, a large part of a cheap request's cost. A
// Writer appends each line to a buffer and a single goroutine writes the
// buffer out: alone, a line goes out at once (the goroutine starts
// immediately); under load, the lines that arrive during one write go
// out together in the next. Nothing waits on a timer, so an idle server
// has nothing pending.
package logwriter

import (
	"io"
	"runtime"
	"sync"
)

// maxPending is how much a Writer holds before Write waits: a log that
// cannot keep up slows its writers rather than growing without bound.
const maxPending = 1 << 20

// Writer is an io.Writer that gathers concurrent writes. Each Write is
// copied whole and written whole, in order, never interleaved with
// another; errors from the underlying writer are dropped, as a logger
// would drop them.
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	changed sync.Cond // buf drained or writing ended
	buf     []byte    // lines not yet handed to out
	spare   []byte    // the buffer last written, reused
	writing bool      // a goroutine is writing to out
}

// New returns a Writer to out.
func New(out io.Writer) *Writer {
	w := &Writer{out: out}
	w.changed.L = &w.mu
	return w
}

// Write queues p and returns; p is copied, so the caller may reuse it.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for len(w.buf) > 0 && len(w.buf)+len(p) > maxPending {
		w.changed.Wait()
	}
	w.buf = append(w.buf, p...)
	if !w.writing {
		w.writing = true
		go w.drain()
	}
	w.mu.Unlock()
	return len(p), nil
}

// drain writes the buffer out until it stays empty.
//
// Before taking the buffer it lets the goroutines ready to run go first
// (runtime.Gosched): under load those are requests about to log, whose
// lines then share this write rather than each calling for the next.
// With nothing else to run it goes on at once.
func (w *Writer) drain() {
	runtime.Gosched()
	w.mu.Lock()
	for len(w.buf) > 0 {
		b := w.buf
		w.buf = w.spare[:0]
		w.mu.Unlock()
		w.out.Write(b)
		w.mu.Lock()
		w.spare = b
		w.changed.Broadcast()
		if len(w.buf) > 0 {
			w.mu.Unlock()
			runtime.Gosched()
			w.mu.Lock()
		}
	}
	w.writing = false
	w.changed.Broadcast()
	w.mu.Unlock()
}

// Flush returns once everything written before it has reached out.
func (w *Writer) Flush() {
	w.mu.Lock()
	for w.writing {
		w.changed.Wait()
	}
	w.mu.Unlock()
}
