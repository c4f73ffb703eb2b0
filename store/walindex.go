//go:build unix

package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walIndex is a read-only mapping of the header of SQLite's WAL index, the
// "-shm" file beside a database in WAL mode. Every commit, by any
// connection of any process, rewrites the header (its change counter, last
// frame and checksums) before the commit is acknowledged, so a header
// equal to one seen earlier means nothing was committed since — and
// reading it costs a few loads from shared memory, not the locks and
// system calls of a read transaction.
//
// The header's layout is part of SQLite's documented file format
// (https://sqlite.org/walformat.html): two copies of a 48-byte header at
// offset 0 and 48, the first written last. Only the first is read.
type walIndex struct {
	f *os.File
	m []byte
}

const (
	walIndexHeaderSize = 48
	// walIndexMapSize is what is mapped: one page, well inside the
	// 32 KiB SQLite gives the file as soon as it is in use.
	walIndexMapSize = 4096
	// walIndexVersion is the header's iVersion field in every SQLite
	// since 3.7.0.
	walIndexVersion = 3007000
)

// openWALIndex maps the WAL index of the database at dbPath. The caller
// must keep a connection open on the database for as long as it reads the
// mapping: while one is, no process can delete or reset the file.
func openWALIndex(dbPath string) (*walIndex, error) {
	// SQLite names the file after the database's real path.
	if real, err := filepath.EvalSymlinks(dbPath); err == nil {
		dbPath = real
	}
	f, err := os.Open(dbPath + "-shm")
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size() < walIndexMapSize {
		f.Close()
		return nil, fmt.Errorf("%s: %d bytes, not a WAL index in use", f.Name(), fi.Size())
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, walIndexMapSize, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &walIndex{f: f, m: m}
	// iVersion and isInit: a file SQLite keeps elsewhere (in heap memory,
	// under exclusive locking) or has not initialised would never change.
	if v := binary.NativeEndian.Uint32(m[0:]); v != walIndexVersion || m[12] != 1 {
		w.close()
		return nil, errors.New("WAL index header not initialised")
	}
	return w, nil
}

// header returns the first copy of the header, or ok false if it cannot
// be read (the mapping was closed, or the file shrank under it: reading
// then faults, and the fault becomes a panic recovered here).
func (w *walIndex) header() (h walHeader, ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	// Mappings are page-aligned, so the words are aligned; atomic loads
	// keep the compiler from caching what another process changes.
	p := (*[walIndexHeaderSize / 8]uint64)(unsafe.Pointer(unsafe.SliceData(w.m)))
	for i := range h {
		h[i] = atomic.LoadUint64(&p[i])
	}
	return h, true
}

func (w *walIndex) close() {
	syscall.Munmap(w.m)
	w.f.Close()
}

// walHeader is the WAL index header as words, for comparing.
type walHeader [walIndexHeaderSize / 8]uint64
