package control

import (
	"context"
	"sync"

	"github.com/keyplane/keyplane"
)

// Versioned is what a Store may also offer: a number that changes
// whenever the database does, from any process, with ok false where it
// cannot tell cheaply. The Service then keeps what authentication read
// for as long as the number holds, so a key revoked anywhere is refused
// on the very next request, with no staleness at all.
type Versioned interface {
	Version(ctx context.Context) (v uint64, ok bool, err error)
}

// maxCachedKeys bounds the key cache; when it is full it starts afresh.
const maxCachedKeys = 10000

// keyCache holds the API keys (with their integrations) read at a
// database version, by the key's hash.
type keyCache struct {
	mu sync.RWMutex
	m  map[[32]byte]cachedKey
}

type cachedKey struct {
	version uint64
	key     keyplane.APIKey
	in      keyplane.Integration
}

// get returns the key read at version v, if any.
func (c *keyCache) get(h [32]byte, v uint64) (cachedKey, bool) {
	c.mu.RLock()
	e, ok := c.m[h]
	c.mu.RUnlock()
	return e, ok && e.version == v
}

// put keeps what was read at version v: v must have been taken before the
// read began, so that a change committed during the read makes the entry
// one version behind, never current.
func (c *keyCache) put(h [32]byte, v uint64, k keyplane.APIKey, in keyplane.Integration) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = map[[32]byte]cachedKey{}
	}
	c.m[h] = cachedKey{version: v, key: k, in: in}
	c.mu.Unlock()
}
