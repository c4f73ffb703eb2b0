// Package store keeps Keyplane's data in SQL: an embedded SQLite file by
// default. It implements control.Store; it knows nothing of HTTP.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

//go:embed migrations
var migrations embed.FS

// engine is what differs between the database engines Keyplane runs on.
type engine struct {
	name string // "sqlite" or "postgres": also the migrations folder
	// lockWrites is run first in every write transaction. SQLite needs
	// nothing (its single writer connection and BEGIN IMMEDIATE serialize
	// writers); PostgreSQL takes a transaction-scoped advisory lock, so
	// writers on every replica queue the same way.
	lockWrites string
	readOpts   *sql.TxOptions
}

// DB is an open database: a pool that writes and a pool that reads (the
// same pool on PostgreSQL).
type DB struct {
	engine
	write *sql.DB
	read  *sql.DB
	name  string // what error messages call the database: a path or host/dbname, never a password
	// seal seals secret keys once SealSecrets has run; before, they are
	// written in plain text (tests, and commands that write none).
	seal atomic.Pointer[sealer]

	// Group commit (group.go): writes queue here for the goroutine that
	// runs them in batches.
	writes chan writeReq
	// Prepared statements of each pool, on SQLite (nil on PostgreSQL, whose
	// driver keeps its own cache).
	readStmts, writeStmts *stmtCache
	// readSlots and writeSlots bound the transactions open at once on each
	// SQLite pool to one fewer than its connections (nil: no bound).
	readSlots, writeSlots chan struct{}
	// version numbers what the database has committed.
	version         *versionCheck
	closed, stopped chan struct{}
	closeOnce       sync.Once
}

var _ control.Store = (*DB)(nil)

// Open opens the database named by dsn: a PostgreSQL URL
// (postgres://… or postgresql://…) or else the path of a SQLite file,
// created if needed. It brings the schema up to date and makes sure the
// database holds at least one account.
func Open(ctx context.Context, dsn string, now time.Time) (*DB, error) {
	var db *DB
	var err error
	if IsPostgres(dsn) {
		db, err = openPostgres(ctx, dsn)
	} else {
		db, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	db.startWrites()
	if err := db.migrate(ctx, now); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", db.name, err)
	}
	return db, nil
}

// Name is how logs and messages may name the database: its path, or its
// host, port and name; never a password.
func (db *DB) Name() string { return db.name }

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.engine.name }

// Close closes the database.
func (db *DB) Close() error {
	db.stopWrites()
	db.readStmts.close()
	db.writeStmts.close()
	db.version.close()
	if db.read == db.write {
		return db.write.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

// SchemaVersion is the number of the newest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrationVersion is the number a migration file's name starts with.
func migrationVersion(name string) (int, error) {
	v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
	if err != nil {
		return 0, fmt.Errorf("migration %s: name must start with a number", name)
	}
	return v, nil
}

// NewestSchema is the number of the newest migration this release holds:
// the SchemaVersion of a database it has just opened. Both engines have the
// same numbers.
func NewestSchema() int {
	files, _ := fs.Glob(migrations, "migrations/sqlite/*.sql")
	newest := 0
	for _, f := range files {
		if v, err := migrationVersion(path.Base(f)); err == nil {
			newest = max(newest, v)
		}
	}
	return newest
}

// migrationSteps are the parts of migrations that SQL cannot do on both
// engines, run in Go right after the file of the same number, in the same
// transaction: a migration is applied whole, with its record in
// schema_migrations, or not at all, so a step runs exactly once.
var migrationSteps = map[int]func(context.Context, *sql.Tx) error{
	11: relinkAuditChains,
}

// migrate applies the embedded migrations not yet applied and creates the
// first account if there is none, all in one write transaction: replicas
// starting together take turns, and the second finds nothing left to do.
func (db *DB) migrate(ctx context.Context, now time.Time) error {
	files, err := fs.Glob(migrations, "migrations/"+db.engine.name+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	return db.inTx(ctx, db.write, nil, func(tx *sql.Tx) error {
		if db.lockWrites != "" {
			if _, err := tx.ExecContext(ctx, db.lockWrites); err != nil {
				return fmt.Errorf("migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		for _, f := range files {
			name := path.Base(f)
			version, err := migrationVersion(name)
			if err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if n > 0 {
				continue
			}
			body, err := migrations.ReadFile(f)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			if step := migrationSteps[version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("migration %s: %w", name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, now.UnixMilli()); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil || n > 0 {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (name, created_at) VALUES ($1, $2)`, keyplane.DefaultAccountName, now.UnixMilli())
		return err
	})
}

// Read implements control.Store.
func (db *DB) Read(ctx context.Context, fn func(control.Tx) error) error {
	return unavailable(db.inTx(ctx, db.read, db.readOpts, func(tx *sql.Tx) error {
		return fn(&txn{ctx: ctx, tx: tx, seal: db.seal.Load(), stmts: db.readStmts, engine: db.engine.name})
	}))
}

// ReadOne implements control.SingleReader: fn's one statement runs
// without a transaction (one statement reads one snapshot by itself),
// which saves the BEGIN and COMMIT — two round trips on PostgreSQL. A
// second statement panics.
func (db *DB) ReadOne(ctx context.Context, fn func(control.Tx) error) error {
	if err := acquire(ctx, db.readSlots); err != nil {
		return err
	}
	defer release(db.readSlots)
	return unavailable(fn(&txn{ctx: ctx, pool: db.read, seal: db.seal.Load(), stmts: db.readStmts, engine: db.engine.name}))
}

// Write implements control.Store. Concurrent writes share commits (see
// group.go); each is still all or nothing, and none returns before its
// commit.
func (db *DB) Write(ctx context.Context, fn func(control.Tx) error) error {
	return unavailable(db.groupWrite(ctx, func(tx *sql.Tx, tail *auditTail) error {
		return fn(&txn{ctx: context.WithoutCancel(ctx), tx: tx, seal: db.seal.Load(), stmts: db.writeStmts, engine: db.engine.name, tail: tail})
	}))
}

// writeTx runs fn alone in a write transaction that first takes the
// engine's write lock, as every writer does (the admin commands included),
// and commits if fn succeeds. Bulk work that should not share a commit
// with the API's writes (copy, sealing) uses it.
func (db *DB) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return db.inTx(ctx, db.write, nil, func(tx *sql.Tx) error {
		if db.lockWrites != "" {
			if _, err := tx.ExecContext(ctx, db.lockWrites); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// slots are the transaction slots of pool, or nil.
func (db *DB) slots(pool *sql.DB) chan struct{} {
	if pool == db.write {
		return db.writeSlots
	}
	return db.readSlots
}

// acquire takes one of slots, unless slots is nil; release gives it back.
func acquire(ctx context.Context, slots chan struct{}) error {
	if slots == nil {
		return nil
	}
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func release(slots chan struct{}) {
	if slots != nil {
		<-slots
	}
}

func (db *DB) inTx(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) (err error) {
	slots := db.slots(pool)
	if err := acquire(ctx, slots); err != nil {
		return err
	}
	defer release(slots)
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// txn implements control.Tx on one SQL transaction.
type txn struct {
	ctx context.Context
	// tx is the transaction, or nil for ReadOne, whose one statement
	// runs on pool.
	tx    *sql.Tx
	pool  *sql.DB
	ran   bool       // ReadOne: its statement ran
	seal  *sealer    // nil: secret keys are written in plain text
	stmts *stmtCache // of the pool tx belongs to
	// engine is the engine's name, for the few statements written
	// differently on each (bulk usage writes bind "?" on SQLite).
	engine string
	// tail is the audit chain's end as the write batch left it, or nil
	// outside a batch.
	tail *auditTail
}

// runner is what runs t's statements: its transaction, or for ReadOne
// the pool. A second statement in a ReadOne is a programming error: it
// would not read the same snapshot as the first.
func (t *txn) runner() interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
} {
	if t.tx != nil {
		return t.tx
	}
	if t.ran {
		panic("store: ReadOne ran more than one statement")
	}
	t.ran = true
	return t.pool
}

// stmt is q prepared on t's connection (on its pool, for ReadOne), or nil
// if it cannot be (the caller then runs q as text, which reports the error).
func (t *txn) stmt(q string) *sql.Stmt {
	s := t.stmts.get(t.ctx, q)
	if s == nil || t.tx == nil {
		return s
	}
	return t.tx.StmtContext(t.ctx, s)
}

func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	r := t.runner()
	if s := t.stmt(q); s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return r.ExecContext(t.ctx, q, args...)
}

func (t *txn) query(q string, args ...any) (*sql.Rows, error) {
	r := t.runner()
	if s := t.stmt(q); s != nil {
		return s.QueryContext(t.ctx, args...)
	}
	return r.QueryContext(t.ctx, q, args...)
}

func (t *txn) queryRow(q string, args ...any) *sql.Row {
	r := t.runner()
	if s := t.stmt(q); s != nil {
		return s.QueryRowContext(t.ctx, args...)
	}
	return r.QueryRowContext(t.ctx, q, args...)
}

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

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func optMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromOptMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func notFound(what string, id any) error {
	return keyplane.Errorf(keyplane.CodeNotFound, "%s %v: not found", what, id)
}

// Accounts implements control.Tx.
func (t *txn) Accounts() ([]keyplane.Account, error) {
	rows, err := t.query(`SELECT ` + accountCols + ` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// visibilityFilter renders v as a SQL condition on a table with app_id
// (when hasApp) and id columns, appending its arguments to args.
func visibilityFilter(v keyplane.Visibility, appCol, idCol string, args []any) (string, []any) {
	where := ""
	if v.InApp != 0 {
		args = append(args, v.InApp)
		where = " AND " + appCol + " = $" + strconv.Itoa(len(args))
	}
	if v.All {
		return where, args
	}
	var terms []string
	in := func(col string, ids []int64) {
		if len(ids) == 0 || col == "" {
			return
		}
		marks := make([]string, len(ids))
		for i, id := range ids {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		terms = append(terms, col+" IN ("+strings.Join(marks, ", ")+")")
	}
	in(appCol, v.AppIDs)
	in(idCol, v.KeysetIDs)
	if len(terms) == 0 {
		return where + " AND 0 = 1", args
	}
	return where + " AND (" + strings.Join(terms, " OR ") + ")", args
}

const appCols = `id, account_id, name, created_at, updated_at`

func scanApp(s interface{ Scan(...any) error }) (keyplane.App, error) {
	var a keyplane.App
	var c, u int64
	err := s.Scan(&a.ID, &a.AccountID, &a.Name, &c, &u)
	a.CreatedAt, a.UpdatedAt = fromMS(c), fromMS(u)
	return a, err
}

// App implements control.Tx.
func (t *txn) App(accountID, id int64) (keyplane.App, error) {
	a, err := scanApp(t.queryRow(`SELECT `+appCols+` FROM apps WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("app", id)
	}
	return a, err
}

// ListApps implements control.Tx.
func (t *txn) ListApps(accountID int64, v keyplane.Visibility, p keyplane.Page) ([]keyplane.App, int, error) {
	where, args := visibilityFilter(v, "id", "", []any{accountID})
	var total int
	if err := t.queryRow(`SELECT count(*) FROM apps WHERE account_id = $1`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	n := len(args)
	rows, err := t.query(fmt.Sprintf(`SELECT %s FROM apps WHERE account_id = $1%s ORDER BY id LIMIT $%d OFFSET $%d`, appCols, where, n+1, n+2),
		append(args, p.Limit, p.Offset())...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []keyplane.App{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, rows.Err()
}

// InsertApp implements control.Tx.
func (t *txn) InsertApp(a *keyplane.App) error {
	return t.queryRow(`INSERT INTO apps (account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		a.AccountID, a.Name, ms(a.CreatedAt), ms(a.UpdatedAt)).Scan(&a.ID)
}

// UpdateApp implements control.Tx.
func (t *txn) UpdateApp(a keyplane.App) error {
	_, err := t.exec(`UPDATE apps SET name = $1, updated_at = $2 WHERE id = $3`, a.Name, ms(a.UpdatedAt), a.ID)
	return err
}

// DeleteApp implements control.Tx.
func (t *txn) DeleteApp(accountID, id int64) error {
	_, err := t.exec(`DELETE FROM apps WHERE account_id = $1 AND id = $2`, accountID, id)
	return err
}

// CountKeysets implements control.Tx.
func (t *txn) CountKeysets(appID int64) (int, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM keysets WHERE app_id = $1`, appID).Scan(&n)
	return n, err
}

const keysetCols = `id, account_id, app_id, name, type, publish_key, subscribe_key, created_at, updated_at, version`

// keysetScanner reads rows of keysetCols. One serves a whole list: Scan
// takes pointers, which would otherwise move every row's destinations to
// the heap, three allocations a keyset that a page of 100 would pay 100
// times over.
type keysetScanner struct {
	k    keyplane.Keyset
	typ  string // a plain string: Scan fills *string without reflection
	c, u int64
	dest []any
}

func (s *keysetScanner) scan(r interface{ Scan(...any) error }) (keyplane.Keyset, error) {
	if s.dest == nil {
		s.dest = []any{&s.k.ID, &s.k.AccountID, &s.k.AppID, &s.k.Name, &s.typ, &s.k.PublishKey, &s.k.SubscribeKey, &s.c, &s.u, &s.k.Version}
	}
	err := r.Scan(s.dest...)
	k := s.k
	k.Type, k.CreatedAt, k.UpdatedAt = keyplane.KeysetType(s.typ), fromMS(s.c), fromMS(s.u)
	return k, err
}

func scanKeyset(r interface{ Scan(...any) error }) (keyplane.Keyset, error) {
	var s keysetScanner
	return s.scan(r)
}

// Keyset implements control.Tx.
func (t *txn) Keyset(accountID, id int64) (keyplane.Keyset, error) {
	k, err := scanKeyset(t.queryRow(`SELECT `+keysetCols+` FROM keysets WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("keyset", id)
	}
	return k, err
}

// keysetBucketWidth is how many ids one row of keyset_buckets covers
// (migration 0009 writes id / 4096; the two must agree). A deep page costs
// one bucket row added up per 4096 ids below it, then fewer than 4096
// index entries skipped in the bucket found. On the embedded SQLite, with
// a million keysets, a bucket row in the window sum costs ~1 µs and an
// index entry skipped ~0.05 µs: 4096 gives ≤ 0.3 ms + ≤ 0.2 ms, where
// 1024 gave ~0.9 ms + 0.05 ms, and OFFSET alone 70 ms. Ids are global, so
// an account among others has fewer keysets per bucket, not more buckets
// than its id range divided by 4096.
const keysetBucketWidth = 4096

// deepPageFrom is the first offset whose page is found through the
// buckets: before it, OFFSET skips no more than a bucket's search would.
// A variable so that a test can send every page through the buckets.
var deepPageFrom = keysetBucketWidth

// ListKeysets implements control.Tx.
func (t *txn) ListKeysets(accountID int64, v keyplane.Visibility, p keyplane.Page) ([]keyplane.Keyset, int, error) {
	where, args := visibilityFilter(v, "app_id", "id", []any{accountID})
	var total int
	// The whole account's total is kept by triggers (keyset_counts); a
	// narrower view (or one app's keysets) counts the keysets it names.
	whole := v.All && v.InApp == 0
	count := `SELECT count(*) FROM keysets WHERE account_id = $1` + where
	if whole {
		count = `SELECT COALESCE((SELECT n FROM keyset_counts WHERE account_id = $1), 0)`
	}
	if err := t.queryRow(count, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	// The page's ids come from the (account_id, id) index alone; only the
	// rows of the page are read.
	from, offset := int64(0), p.Offset()
	if whole && offset >= deepPageFrom {
		// A deep page of the whole account starts in the one bucket whose
		// running count passes the offset while the count before it does
		// not (an empty bucket has no row): the page then skips only that
		// bucket's keysets before it. Saying so, rather than ORDER BY,
		// spares a sort, and LIMIT 1 stops the running sum there. This
		// runs in the same transaction (one snapshot) as the count and the
		// page. A narrower view (some apps or keysets) keeps the plain
		// OFFSET: buckets count whole accounts, and its keysets are those
		// its grants name.
		var before int
		err := t.queryRow(`SELECT bucket, running - n FROM (
				SELECT bucket, n, sum(n) OVER (ORDER BY bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
				FROM keyset_buckets WHERE account_id = $1
			) AS b WHERE running - n <= $2 AND running > $2 LIMIT 1`, accountID, offset).Scan(&from, &before)
		if errors.Is(err, sql.ErrNoRows) {
			return []keyplane.Keyset{}, total, nil // past the last keyset
		}
		if err != nil {
			return nil, 0, err
		}
		from, offset = from*keysetBucketWidth, offset-before
	}
	n := len(args)
	rows, err := t.query(fmt.Sprintf(`SELECT %s FROM keysets WHERE id IN (
			SELECT id FROM keysets WHERE account_id = $1%s AND id >= $%d ORDER BY id LIMIT $%d OFFSET $%d
		) ORDER BY id`, keysetCols, where, n+1, n+2, n+3),
		append(args, from, p.Limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := make([]keyplane.Keyset, 0, max(0, min(p.Limit, total-p.Offset())))
	var s keysetScanner
	for rows.Next() {
		k, err := s.scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, k)
	}
	return out, total, rows.Err()
}

// InsertKeyset implements control.Tx.
func (t *txn) InsertKeyset(k *keyplane.Keyset, c keyplane.Config) error {
	cfg, err := json.Marshal(c)
	if err != nil {
		return err
	}
	k.Version = 1
	// The app is checked in the same statement: one round trip less for
	// the most frequent create.
	err = t.queryRow(`INSERT INTO keysets (account_id, app_id, name, type, publish_key, subscribe_key, config, created_at, updated_at, version)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM apps WHERE account_id = $1 AND id = $2 RETURNING id`,
		k.AccountID, k.AppID, k.Name, k.Type, k.PublishKey, k.SubscribeKey, string(cfg), ms(k.CreatedAt), ms(k.UpdatedAt), k.Version).Scan(&k.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("app", k.AppID)
	}
	return err
}

// UpdateKeyset implements control.Tx.
func (t *txn) UpdateKeyset(k keyplane.Keyset) error {
	_, err := t.exec(`UPDATE keysets SET name = $1, type = $2, updated_at = $3, version = $4 WHERE id = $5`, k.Name, k.Type, ms(k.UpdatedAt), k.Version, k.ID)
	return err
}

// DeleteKeyset implements control.Tx.
func (t *txn) DeleteKeyset(id int64) error {
	_, err := t.exec(`DELETE FROM keysets WHERE id = $1`, id)
	return err
}

// Config implements control.Tx.
func (t *txn) Config(keysetID int64) (keyplane.Config, error) {
	var raw string
	if err := t.queryRow(`SELECT config FROM keysets WHERE id = $1`, keysetID).Scan(&raw); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return keyplane.Config{}, notFound("keyset", keysetID)
		}
		return keyplane.Config{}, err
	}
	return keyplane.ParseStoredConfig([]byte(raw))
}

// UpdateConfig implements control.Tx.
func (t *txn) UpdateConfig(keysetID int64, c keyplane.Config, at time.Time) error {
	cfg, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE keysets SET config = $1, updated_at = $2, version = version + 1 WHERE id = $3`, string(cfg), ms(at), keysetID)
	return err
}

// SecretKeys implements control.Tx: the main key first, then rotated keys
// by expiry.
func (t *txn) SecretKeys(keysetID int64) ([]keyplane.SecretKey, error) {
	rows, err := t.query(`SELECT prefix, secret, expires_at, created_at FROM secret_keys WHERE keyset_id = $1
		ORDER BY expires_at IS NOT NULL, expires_at, prefix`, keysetID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []keyplane.SecretKey{}
	for rows.Next() {
		s := keyplane.SecretKey{KeysetID: keysetID}
		var exp sql.NullInt64
		var c int64
		var prefix string
		if err := rows.Scan(&prefix, &s.Secret, &exp, &c); err != nil {
			return nil, err
		}
		if s.Secret, err = t.seal.open(keysetID, prefix, s.Secret); err != nil {
			return nil, err
		}
		s.ExpiresAt, s.CreatedAt = fromOptMS(exp), fromMS(c)
		out = append(out, s)
	}
	return out, rows.Err()
}

// InsertSecretKey implements control.Tx.
func (t *txn) InsertSecretKey(s keyplane.SecretKey) error {
	stored := s.Secret
	if t.seal != nil {
		var err error
		if stored, err = t.seal.seal(s.KeysetID, s.Prefix(), s.Secret); err != nil {
			return err
		}
	}
	_, err := t.exec(`INSERT INTO secret_keys (keyset_id, prefix, secret, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		s.KeysetID, s.Prefix(), stored, optMS(s.ExpiresAt), ms(s.CreatedAt))
	return err
}

// SetSecretKeyExpiry implements control.Tx.
func (t *txn) SetSecretKeyExpiry(keysetID int64, prefix string, at *time.Time) error {
	_, err := t.exec(`UPDATE secret_keys SET expires_at = $1 WHERE keyset_id = $2 AND prefix = $3`, optMS(at), keysetID, prefix)
	return err
}

// DeleteSecretKey implements control.Tx.
func (t *txn) DeleteSecretKey(keysetID int64, prefix string) error {
	_, err := t.exec(`DELETE FROM secret_keys WHERE keyset_id = $1 AND prefix = $2`, keysetID, prefix)
	return err
}

// InsertIntegration implements control.Tx.
func (t *txn) InsertIntegration(i *keyplane.Integration) error {
	g, err := json.Marshal(i.Grants)
	if err != nil {
		return err
	}
	return t.queryRow(`INSERT INTO integrations (account_id, name, grants, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		i.AccountID, i.Name, string(g), ms(i.CreatedAt)).Scan(&i.ID)
}

const integrationCols = `i.id, i.account_id, i.name, i.grants, i.created_at, i.last_used_at`

// integrationRow holds the scanned columns of integrationCols.
type integrationRow struct {
	i        keyplane.Integration
	grants   string
	created  int64
	lastUsed sql.NullInt64
}

func (r *integrationRow) dest() []any {
	return []any{&r.i.ID, &r.i.AccountID, &r.i.Name, &r.grants, &r.created, &r.lastUsed}
}

func (r *integrationRow) value() (keyplane.Integration, error) {
	r.i.CreatedAt, r.i.LastUsedAt = fromMS(r.created), fromOptMS(r.lastUsed)
	var err error
	r.i.Grants, err = parsedGrants.get(r.grants)
	return r.i, err
}

// parsedGrants keeps the grants of the integrations seen, by their stored
// JSON text. Every request reads its integration's grants, which never
// change: decoding and parsing them each time cost allocations that grew
// with their number.
var parsedGrants = grantCache{m: map[string][]keyplane.Grant{}}

// maxGrantSets bounds parsedGrants; past it, grants are parsed each time.
const maxGrantSets = 4096

type grantCache struct {
	mu sync.RWMutex
	m  map[string][]keyplane.Grant
}

// get returns the grants stored as text. The slice is shared: callers
// only read it (its capacity is its length, so an append copies).
func (c *grantCache) get(text string) ([]keyplane.Grant, error) {
	c.mu.RLock()
	g, ok := c.m[text]
	c.mu.RUnlock()
	if ok {
		return g, nil
	}
	if err := json.Unmarshal([]byte(text), &g); err != nil {
		return nil, err
	}
	g = slices.Clip(g)
	c.mu.Lock()
	if len(c.m) < maxGrantSets {
		c.m[text] = g
	}
	c.mu.Unlock()
	return g, nil
}

// Integration implements control.Tx.
func (t *txn) Integration(accountID, id int64) (keyplane.Integration, error) {
	var r integrationRow
	err := t.queryRow(`SELECT `+integrationCols+` FROM integrations i WHERE i.account_id = $1 AND i.id = $2`, accountID, id).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.Integration{}, notFound("integration", id)
	}
	if err != nil {
		return keyplane.Integration{}, err
	}
	return r.value()
}

// Integrations implements control.Tx.
func (t *txn) Integrations(accountID int64) ([]keyplane.Integration, error) {
	rows, err := t.query(`SELECT `+integrationCols+` FROM integrations i WHERE i.account_id = $1 ORDER BY i.id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.Integration
	for rows.Next() {
		var r integrationRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		i, err := r.value()
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

const apiKeyCols = `k.id, k.integration_id, k.prefix, k.hash, k.created_at, k.expires_at, k.revoked_at, k.last_used_at`

// apiKeyRow holds the scanned columns of apiKeyCols.
type apiKeyRow struct {
	k                keyplane.APIKey
	created, expires int64
	revoked, used    sql.NullInt64
}

func (r *apiKeyRow) dest() []any {
	return []any{&r.k.ID, &r.k.IntegrationID, &r.k.Prefix, &r.k.Hash, &r.created, &r.expires, &r.revoked, &r.used}
}

func (r *apiKeyRow) value() keyplane.APIKey {
	r.k.CreatedAt, r.k.ExpiresAt = fromMS(r.created), fromMS(r.expires)
	r.k.RevokedAt, r.k.LastUsedAt = fromOptMS(r.revoked), fromOptMS(r.used)
	return r.k
}

// InsertAPIKey implements control.Tx.
func (t *txn) InsertAPIKey(k *keyplane.APIKey) error {
	return t.queryRow(`INSERT INTO api_keys (integration_id, prefix, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		k.IntegrationID, k.Prefix, k.Hash, ms(k.CreatedAt), ms(k.ExpiresAt)).Scan(&k.ID)
}

// APIKeys implements control.Tx.
func (t *txn) APIKeys(integrationID int64) ([]keyplane.APIKey, error) {
	rows, err := t.query(`SELECT `+apiKeyCols+` FROM api_keys k WHERE k.integration_id = $1 ORDER BY k.id`, integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.APIKey
	for rows.Next() {
		var r apiKeyRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		out = append(out, r.value())
	}
	return out, rows.Err()
}

// APIKey implements control.Tx.
func (t *txn) APIKey(id int64) (keyplane.APIKey, keyplane.Integration, error) {
	return t.apiKeyWhere(`k.id = $1`, id)
}

// APIKeyByHash implements control.Tx.
func (t *txn) APIKeyByHash(hash []byte) (keyplane.APIKey, keyplane.Integration, error) {
	return t.apiKeyWhere(`k.hash = $1`, hash)
}

// Credential implements control.Tx: one statement, since authentication
// runs it on every request whose key is not cached.
func (t *txn) Credential(hash []byte) (keyplane.APIKey, keyplane.Integration, keyplane.Account, error) {
	var kr apiKeyRow
	var ir integrationRow
	var ar accountRow
	dest := append(append(kr.dest(), ir.dest()...), ar.dest()...)
	err := t.queryRow(`SELECT `+apiKeyCols+`, `+integrationCols+`, a.id, a.name, a.created_at, a.partner, a.disabled_at
		FROM api_keys k JOIN integrations i ON i.id = k.integration_id JOIN accounts a ON a.id = i.account_id WHERE k.hash = $1`, hash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.APIKey{}, keyplane.Integration{}, keyplane.Account{}, keyplane.Errorf(keyplane.CodeNotFound, "API key: not found")
	}
	if err != nil {
		return keyplane.APIKey{}, keyplane.Integration{}, keyplane.Account{}, err
	}
	i, err := ir.value()
	return kr.value(), i, ar.value(), err
}

func (t *txn) apiKeyWhere(cond string, arg any) (keyplane.APIKey, keyplane.Integration, error) {
	var kr apiKeyRow
	var ir integrationRow
	err := t.queryRow(`SELECT `+apiKeyCols+`, `+integrationCols+`
		FROM api_keys k JOIN integrations i ON i.id = k.integration_id WHERE `+cond, arg).Scan(append(kr.dest(), ir.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.APIKey{}, keyplane.Integration{}, keyplane.Errorf(keyplane.CodeNotFound, "API key: not found")
	}
	if err != nil {
		return keyplane.APIKey{}, keyplane.Integration{}, err
	}
	i, err := ir.value()
	return kr.value(), i, err
}

// RevokeAPIKey implements control.Tx.
func (t *txn) RevokeAPIKey(id int64, at time.Time) error {
	_, err := t.exec(`UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ms(at), id)
	return err
}

// TouchAPIKey implements control.Tx.
func (t *txn) TouchAPIKey(keyID, integrationID int64, at time.Time) error {
	if _, err := t.exec(`UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, ms(at), keyID); err != nil {
		return err
	}
	_, err := t.exec(`UPDATE integrations SET last_used_at = $1 WHERE id = $2`, ms(at), integrationID)
	return err
}

// AppendAudit implements control.Tx. The event joins its account's chain:
// it takes the next id of the account and seals the hash of the account's
// newest event. The row also gets the next install-wide id, its key, which
// is never shown. The single writer keeps both race-free, and within a
// write batch they are known without reading (auditTail).
func (t *txn) AppendAudit(e *keyplane.AuditEvent) error {
	row, end, known := t.tail.chainEnd(e.AccountID)
	if !known {
		// One round trip for both: the install's newest row and the
		// account's newest event (none: NULLs).
		var seq sql.NullInt64
		var hash []byte
		err := t.queryRow(`SELECT (SELECT COALESCE(MAX(id), 0) FROM audit_events),
			(SELECT seq FROM audit_events WHERE account_id = $1 ORDER BY seq DESC LIMIT 1),
			(SELECT hash FROM audit_events WHERE account_id = $1 ORDER BY seq DESC LIMIT 1)`, e.AccountID).Scan(&row, &seq, &hash)
		if err != nil {
			return err
		}
		end = chainEnd{seq: seq.Int64, hash: hash}
	}
	if end.hash == nil {
		end.hash = []byte{}
	}
	actor, err := json.Marshal(e.Actor)
	if err != nil {
		return err
	}
	e.ID, e.PrevHash = end.seq+1, end.hash
	e.Hash = e.ChainHash()
	_, err = t.exec(`INSERT INTO audit_events (id, seq, account_id, at, type, actor, target_type, target_id, before, after, prev_hash, hash, actor_type, actor_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		row+1, e.ID, e.AccountID, ms(e.At), e.Type, string(actor), e.TargetType, e.TargetID, nullJSON(e.Before), nullJSON(e.After), e.PrevHash, e.Hash,
		e.Actor.Type, e.Actor.ID)
	if err == nil {
		t.tail.appended(row+1, e.AccountID, chainEnd{seq: e.ID, hash: e.Hash})
	}
	return err
}

func nullJSON(b []byte) sql.NullString {
	return sql.NullString{String: string(b), Valid: b != nil}
}

// unavailable turns a failure to reach the database into a domain error
// the API answers with 503: the request changed nothing (its transaction
// never committed) and may be retried once the database is back; database/sql
// replaces broken connections by itself.
func unavailable(err error) error {
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var liteErr *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &liteErr):
		// SQLITE_BUSY, SQLITE_LOCKED: another process held the write lock
		// past busy_timeout (a long admin command, a backup).
		if c := liteErr.Code() & 0xff; c != 5 && c != 6 {
			return err
		}
	case errors.As(err, &connErr):
		// Whatever refused the connection (the database is being dropped,
		// takes no connections, the role may not log in now), nothing ran.
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01–57P03: the server is shutting down or starting.
		if !strings.HasPrefix(pgErr.Code, "08") && !strings.HasPrefix(pgErr.Code, "57P0") {
			return err
		}
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), pgconn.SafeToRetry(err):
	default:
		return err
	}
	return &unavailableError{cause: err}
}

// unavailableError is a keyplane ServiceUnavailable error that keeps its
// cause for the log.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string { return "database unavailable: " + e.cause.Error() }
func (e *unavailableError) Unwrap() []error {
	return []error{keyplane.Errorf(keyplane.CodeUnavailable, "database: unavailable; the request changed nothing, try again"), e.cause}
}
