package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the statement cache: statements whose text varies (IN
// lists of any length) would otherwise fill it.
const maxStmts = 256

// stmtCache keeps the statements of a pool prepared, by SQL text.
// Preparing is most of the cost of a small query in the embedded SQLite,
// which would otherwise parse the text at every use; database/sql prepares
// a cached statement once on each connection that runs it. Making a
// statement takes a connection of the pool while the caller's transaction
// holds another: the pool keeps one spare for it (see slots).
type stmtCache struct {
	pool *sql.DB
	mu   sync.Mutex
	m    map[string]*sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}}
}

func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[q]; ok {
		return s
	}
	if len(c.m) >= maxStmts {
		return nil
	}
	s, err := c.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.m[q] = s
	return s
}

// close closes the cached statements.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}
