package control

import (
	"cmp"
	"context"
	"sync"

	"github.com/keyplane/keyplane"
)

// Versioned is what a Store may also offer: a number that changes
// whenever the database does, from any process, with ok false where it
// cannot tell cheaply. The Service then keeps what the hot reads read
// (API keys, keysets) for as long as the number holds, so a change made
// anywhere — a key revoked by an admin command beside the server, or
// through another replica — is seen by the very next request, with no
// staleness at all.
type Versioned interface {
	Version(ctx context.Context) (v uint64, ok bool, err error)
}

// SingleReader is what a Store may also offer: a read of exactly one
// statement, run without a transaction, for the hottest lookups.
type SingleReader interface {
	ReadOne(ctx context.Context, fn func(Tx) error) error
}

// readOne runs fn, which runs one statement, as cheaply as the store can.
func (s *Service) readOne(ctx context.Context, fn func(Tx) error) error {
	if s.single != nil {
		return s.single.ReadOne(ctx, fn)
	}
	return s.store.Read(ctx, fn)
}

// version is the store's version, and whether reads may be kept under it.
// Within a request (ForRequest) it is looked at once, until a write.
func (s *Service) version(ctx context.Context) (v uint64, ok bool, err error) {
	vs := s.versions
	if vs == nil {
		return 0, false, nil
	}
	rv, _ := ctx.Value(readVersionKey{}).(*readVersion)
	if rv == nil {
		return vs.Version(ctx)
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if !rv.taken {
		if rv.v, rv.ok, err = vs.Version(ctx); err != nil {
			return 0, false, err
		}
		rv.taken = true
	}
	return rv.v, rv.ok, nil
}

// readVersion is a request's look at the database's version.
type readVersion struct {
	mu    sync.Mutex
	taken bool
	v     uint64
	ok    bool
}

type readVersionKey struct{}

// ForRequest returns ctx in which the reads of one request share one look
// at the database's version, taken at its first read: checking it costs
// a database round of its own, and a request may read several things.
// Everything committed before the request began is still seen. A write
// made with ctx makes the next read look again, so a request sees its
// own writes.
func (s *Service) ForRequest(ctx context.Context) context.Context {
	if s.versions == nil {
		return ctx // nothing to share: the store keeps no version
	}
	return &requestContext{Context: ctx}
}

// requestContext is a request's context carrying its readVersion: one
// allocation per request where context.WithValue and the readVersion it
// would hold are two. Everything else is its parent's, cancellation
// included (the context package finds the parent's through Value).
type requestContext struct {
	context.Context
	rv readVersion
}

// Value implements context.Context.
func (c *requestContext) Value(key any) any {
	if _, ok := key.(readVersionKey); ok {
		return &c.rv
	}
	return c.Context.Value(key)
}

// wrote makes the reads after a write in ctx's request look again.
func wrote(ctx context.Context) {
	if rv, _ := ctx.Value(readVersionKey{}).(*readVersion); rv != nil {
		rv.mu.Lock()
		rv.taken = false
		rv.mu.Unlock()
	}
}

// maxCached bounds each read cache; a full cache starts afresh.
const maxCached = 10000

// readCache holds values read at a database version.
type readCache[K comparable, V any] struct {
	max int // entries kept at most; zero means maxCached
	mu  sync.RWMutex
	m   map[K]versioned[V]
}

type versioned[V any] struct {
	version uint64
	value   V
}

// get returns the value of k read at version v, if any.
func (c *readCache[K, V]) get(k K, v uint64) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	return e.value, ok && e.version == v
}

// put keeps what was read at version v: v must have been taken before the
// read began, so that a change committed during the read leaves the entry
// one version behind, never current.
func (c *readCache[K, V]) put(k K, v uint64, value V) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cmp.Or(c.max, maxCached) {
		c.m = map[K]versioned[V]{}
	}
	c.m[k] = versioned[V]{version: v, value: value}
	c.mu.Unlock()
}

// readThrough returns what c holds for key if it was read at the store's
// version, else what read reads, kept in c for the next caller. With no
// version to check against, it always reads.
func readThrough[K comparable, V any](ctx context.Context, s *Service, c *readCache[K, V], key K, read func() (V, error)) (V, error) {
	v, cache, err := s.version(ctx)
	if err != nil {
		var zero V
		return zero, err
	}
	if e, hit := c.get(key, v); cache && hit {
		return e, nil
	}
	e, err := read()
	if err == nil && cache {
		c.put(key, v, e)
	}
	return e, err
}

// keyRead is an API key with its integration and account, as
// authentication reads it.
type keyRead struct {
	key keyplane.APIKey
	in  keyplane.Integration
	acc keyplane.Account
}

// maxCachedPages bounds the pages of keysets kept: a page is up to
// keyplane.MaxLimit keysets, so far larger than a key or a keyset.
const maxCachedPages = 64

// keysetKey names a keyset as its account's principals ask for it: a
// principal of another account is never answered from the cache.
type keysetKey struct{ accountID, id int64 }

// pageKey names a page of an account's whole keyset list.
type pageKey struct {
	accountID   int64
	page, limit int
}

// keysetPage is a page of keysets with the list's total.
type keysetPage struct {
	keysets []keyplane.Keyset
	total   int
}
