package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// CopyOptions adjusts Copy.
type CopyOptions struct {
	// Force lets Copy replace the contents of a target that already holds
	// data: it deletes them first, in the same transaction as the copy.
	Force bool
	// BatchSize is the number of rows per INSERT statement; 0 means 500.
	BatchSize int
}

// CopyReport is what Copy did, and what it found when it checked.
type CopyReport struct {
	SchemaVersion int
	// Tables holds one entry per table, in the order they were copied.
	Tables []TableCount
	// SourceAuditHead and TargetAuditHead are the hashes of the newest
	// audit event on each side (empty without events): the end of its
	// account's chain, which seals every event of that account before it.
	// (Every row of every table is compared besides.)
	SourceAuditHead, TargetAuditHead []byte
}

// TableCount is the number of rows of one table in the source's snapshot
// and, after the commit, in the target.
type TableCount struct {
	Table          string
	Source, Target int64
}

// ErrTargetNotEmpty is the error Copy (wrapping it) refuses a target that
// already holds data with, unless CopyOptions.Force.
var ErrTargetNotEmpty = errors.New("target database is not empty")

// defaultCopyBatch is the number of rows per INSERT unless CopyOptions says
// otherwise; maxCopyParams bounds the parameters of one statement (SQLite's
// default limit; PostgreSQL allows 65535).
const (
	defaultCopyBatch = 500
	maxCopyParams    = 32766
)

// colKind is how Copy reads and writes a column: the scan destination and
// the value it binds, chosen so every value crosses engines unchanged.
type colKind int

const (
	colInt      colKind = iota // BIGINT / INTEGER NOT NULL
	colIntNull                 // BIGINT / INTEGER, NULL allowed
	colText                    // TEXT NOT NULL
	colTextNull                // TEXT, NULL allowed
	colBlob                    // BYTEA / BLOB NOT NULL (an empty value stays empty, never NULL)
	colFloat                   // DOUBLE PRECISION / REAL NOT NULL
)

type copyCol struct {
	name string
	kind colKind
}

// copyTable is one table as Copy moves it.
type copyTable struct {
	name    string
	cols    []copyCol
	orderBy string // the primary key: a total order, so both sides read alike
	// identity: the id column takes its default from a sequence on
	// PostgreSQL. autoincrement: its high-water mark is kept in SQLite's
	// sqlite_sequence (an id is never reused, even after a delete).
	identity, autoincrement bool
}

// derivedTables are kept by triggers from the tables copied: copy leaves
// them to the destination's triggers.
var derivedTables = []string{"keyset_counts", "keyset_buckets"}

// copyTables are every table of the schema but schema_migrations, in
// foreign-key order. checkCopySchema refuses a database whose tables or
// columns differ, so a migration that adds a column cannot be copied
// silently without it.
var copyTables = []copyTable{
	{name: "accounts", orderBy: "id", identity: true, cols: []copyCol{
		{"id", colInt}, {"name", colText}, {"created_at", colInt}, {"partner", colInt},
		{"disabled_at", colIntNull}}},
	{name: "account_policies", orderBy: "account_id", cols: []copyCol{
		{"account_id", colInt}, {"max_key_lifetime", colIntNull}, {"notice_days", colText}}},
	{name: "apps", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"account_id", colInt}, {"name", colText}, {"created_at", colInt}, {"updated_at", colInt}}},
	{name: "keysets", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"account_id", colInt}, {"app_id", colInt}, {"name", colText}, {"type", colText},
		{"publish_key", colText}, {"subscribe_key", colText}, {"config", colText}, {"created_at", colInt}, {"updated_at", colInt},
		{"version", colInt}}},
	{name: "secret_keys", orderBy: "keyset_id, prefix", cols: []copyCol{
		{"keyset_id", colInt}, {"prefix", colText}, {"secret", colText}, {"expires_at", colIntNull}, {"created_at", colInt}}},
	{name: "push_credentials", orderBy: "keyset_id, kind", cols: []copyCol{
		{"keyset_id", colInt}, {"kind", colText}, {"content", colText}, {"uploaded_at", colInt}}},
	{name: "integrations", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"account_id", colInt}, {"name", colText}, {"grants", colText}, {"created_at", colInt}, {"last_used_at", colIntNull},
		{"suspended_at", colIntNull}, {"networks", colTextNull}}},
	{name: "api_keys", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"integration_id", colInt}, {"prefix", colText}, {"hash", colBlob}, {"created_at", colInt},
		{"expires_at", colInt}, {"revoked_at", colIntNull}, {"last_used_at", colIntNull},
		{"replaced_by", colIntNull}, {"last_used_from", colTextNull}, {"last_used_agent", colTextNull}}},
	// The notices given move too, so none is given a second time.
	{name: "key_notices", orderBy: "key_id, kind, threshold, basis", cols: []copyCol{
		{"key_id", colInt}, {"kind", colText}, {"threshold", colInt}, {"basis", colInt}, {"at", colInt}}},
	// Operator keys move too: automation keeps working after a move.
	{name: "operator_keys", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"name", colText}, {"prefix", colText}, {"hash", colBlob}, {"created_at", colInt},
		{"expires_at", colInt}, {"revoked_at", colIntNull}, {"last_used_at", colIntNull}}},
	{name: "users", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"account_id", colInt}, {"email", colText}, {"password_hash", colText}, {"role", colText}, {"created_at", colInt}}},
	// Sessions, sign-in failures and setup tokens are copied too: people
	// stay signed in across a move, and throttling keeps its memory.
	{name: "memberships", orderBy: "account_id, user_id", cols: []copyCol{
		{"account_id", colInt}, {"user_id", colInt}, {"role", colText}, {"created_at", colInt}}},
	{name: "membership_scopes", orderBy: "account_id, user_id, level, target_id", cols: []copyCol{
		{"account_id", colInt}, {"user_id", colInt}, {"level", colText}, {"target_id", colInt}}},
	{name: "sessions", orderBy: "token_hash", cols: []copyCol{
		{"token_hash", colBlob}, {"user_id", colInt}, {"account_id", colInt}, {"created_at", colInt}, {"expires_at", colInt},
		{"enrol", colInt}, {"last_seen_at", colInt}, {"address", colText}, {"user_agent", colText}, {"sso_account", colInt}}},
	{name: "login_failures", orderBy: "subject, at, attempt", cols: []copyCol{
		{"subject", colText}, {"at", colInt}, {"attempt", colInt}}},
	// Second factors move with their people; a TOTP secret's seal opens
	// under the same KEK.
	{name: "totp_secrets", orderBy: "user_id", cols: []copyCol{
		{"user_id", colInt}, {"secret", colText}, {"created_at", colInt}, {"confirmed_at", colIntNull}, {"last_step", colInt}}},
	{name: "recovery_codes", orderBy: "user_id, hash", cols: []copyCol{
		{"user_id", colInt}, {"hash", colBlob}, {"used_at", colIntNull}}},
	{name: "pending_signins", orderBy: "token_hash", cols: []copyCol{
		{"token_hash", colBlob}, {"user_id", colInt}, {"created_at", colInt}, {"expires_at", colInt}}},
	{name: "passkeys", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"user_id", colInt}, {"name", colText}, {"credential_id", colBlob}, {"public_key", colBlob},
		{"user_handle", colBlob}, {"sign_count", colInt}, {"aaguid", colBlob}, {"backup_eligible", colInt},
		{"backup_state", colInt}, {"transports", colText}, {"attestation_format", colText}, {"created_at", colInt},
		{"last_used_at", colIntNull}}},
	// Ceremonies under way move too: a passkey being added or used
	// across a move still completes.
	{name: "webauthn_ceremonies", orderBy: "challenge", cols: []copyCol{
		{"challenge", colText}, {"kind", colText}, {"user_id", colIntNull}, {"session", colText},
		{"created_at", colInt}, {"expires_at", colInt}}},
	{name: "signin_policies", orderBy: "account_id", cols: []copyCol{
		{"account_id", colInt}, {"require_two_factors", colInt}, {"idle_minutes", colInt}, {"lifetime_minutes", colInt}}},
	// Single sign-on moves with its account; the client secret's seal
	// opens under the same KEK, and sign-ins under way can complete.
	{name: "oidc_configs", orderBy: "account_id", cols: []copyCol{
		{"account_id", colInt}, {"issuer", colText}, {"client_id", colText}, {"client_secret", colText}, {"jit_role", colText},
		{"groups_claim", colText}, {"require_sso", colInt}, {"updated_at", colInt}}},
	{name: "oidc_domains", orderBy: "domain", cols: []copyCol{
		{"domain", colText}, {"account_id", colInt}}},
	{name: "oidc_group_roles", orderBy: "account_id, position", cols: []copyCol{
		{"account_id", colInt}, {"position", colInt}, {"grp", colText}, {"role", colText}}},
	{name: "sso_signins", orderBy: "token_hash", cols: []copyCol{
		{"token_hash", colBlob}, {"account_id", colInt}, {"state", colText}, {"nonce", colText}, {"verifier", colText},
		{"created_at", colInt}, {"expires_at", colInt}}},
	{name: "setup_tokens", orderBy: "hash", cols: []copyCol{
		{"hash", colBlob}, {"created_at", colInt}, {"expires_at", colInt}}},
	// Links sent by e-mail keep working across a move.
	{name: "invitations", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"account_id", colInt}, {"email", colText}, {"role", colText}, {"scope", colText}, {"inviter", colText},
		{"token_hash", colBlob}, {"created_at", colInt}, {"sent_at", colInt}, {"expires_at", colInt}}},
	{name: "password_resets", orderBy: "token_hash", cols: []copyCol{
		{"token_hash", colBlob}, {"user_id", colInt}, {"created_at", colInt}, {"expires_at", colInt}}},
	{name: "signups", orderBy: "token_hash", cols: []copyCol{
		{"token_hash", colBlob}, {"email", colText}, {"created_at", colInt}, {"expires_at", colInt}}},
	// The install-wide id and each account's own id (seq) both move: the
	// first keeps an export of every account in the order of recording,
	// the second is what each account's chain seals.
	{name: "audit_events", orderBy: "id", cols: []copyCol{
		{"id", colInt}, {"seq", colInt}, {"account_id", colInt}, {"at", colInt}, {"type", colText}, {"actor", colText},
		{"target_type", colText}, {"target_id", colInt}, {"before", colTextNull}, {"after", colTextNull},
		{"prev_hash", colBlob}, {"hash", colBlob}, {"actor_type", colText}, {"actor_id", colInt}}},
	{name: "kek", orderBy: "id", cols: []copyCol{{"id", colInt}, {"fingerprint", colText}}},
	{name: "usage_keyset_daily", orderBy: "keyset_id, day, metric", cols: []copyCol{
		{"keyset_id", colInt}, {"metric", colInt}, {"day", colInt}, {"value", colFloat}}},
	{name: "usage_app_daily", orderBy: "app_id, metric, day", cols: []copyCol{
		{"app_id", colInt}, {"metric", colInt}, {"day", colInt}, {"value", colFloat}}},
	{name: "usage_account_daily", orderBy: "account_id, metric, day", cols: []copyCol{
		{"account_id", colInt}, {"metric", colInt}, {"day", colInt}, {"value", colFloat}}},
	{name: "oem_customers", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"account_id", colInt}, {"external_id", colText}, {"name", colText},
		{"created_at", colInt}, {"updated_at", colInt}}},
	{name: "oem_customer_keysets", orderBy: "keyset_id", cols: []copyCol{
		{"keyset_id", colInt}, {"customer_id", colInt}, {"assigned_at", colInt}}},
	// Idempotency keys move too, so a client retrying across the move is
	// answered as before (their sealed answers open under the same KEK).
	{name: "idempotency_keys", orderBy: "scope, idem_key", cols: []copyCol{
		{"scope", colText}, {"idem_key", colText}, {"fingerprint", colBlob}, {"created_at", colInt},
		{"expires_at", colInt}, {"response", colBlob}}},
	// Webhooks move with their sealed secrets (they open under the same
	// KEK) and their outbox, so nothing queued is lost in a move.
	{name: "webhooks", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"account_id", colInt}, {"url", colText}, {"description", colText}, {"events", colText},
		{"secret", colText}, {"previous_secret", colTextNull}, {"previous_until", colIntNull},
		{"created_at", colInt}, {"updated_at", colInt}, {"disabled_at", colIntNull}, {"disabled_reason", colTextNull}}},
	{name: "webhook_deliveries", orderBy: "id", identity: true, autoincrement: true, cols: []copyCol{
		{"id", colInt}, {"webhook_id", colInt}, {"account_id", colInt}, {"event_row", colInt}, {"event_id", colInt},
		{"event_type", colText}, {"status", colText}, {"attempts", colInt}, {"created_at", colInt},
		{"first_attempt_at", colIntNull}, {"next_attempt_at", colIntNull}, {"lease_until", colIntNull},
		{"last_attempt_at", colIntNull}, {"last_status", colIntNull}, {"last_error", colTextNull},
		{"last_latency_ms", colIntNull}, {"delivered_at", colIntNull}}},
}

// CopiedTables names the tables admin copy copies and reports, in its
// order: every table of the schema but schema_migrations and the derived
// ones.
func CopiedTables() []string {
	out := make([]string, len(copyTables))
	for i, t := range copyTables {
		out[i] = t.name
	}
	return out
}

func (t copyTable) colList() string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// insertSQL is a multi-row INSERT of n rows. SQLite gets anonymous "?"
// parameters: it looks each "$N" up by name in a list, which made a
// statement of thousands of them cost quadratic time.
func (t copyTable) insertSQL(engine string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.name + " (" + t.colList() + ") VALUES ")
	p := 0
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range t.cols {
			if c > 0 {
				b.WriteString(", ")
			}
			p++
			if engine == "sqlite" {
				b.WriteByte('?')
			} else {
				b.WriteString("$" + strconv.Itoa(p))
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// rowReader scans rows of a table into values that bind unchanged on
// either engine, and hashes them so two reads can be compared.
type rowReader struct {
	t    copyTable
	dest []any
	sum  hash.Hash
	n    int64
	// maxID is the largest id read (tables with an id column).
	maxID int64
}

func newRowReader(t copyTable) *rowReader {
	r := &rowReader{t: t, dest: make([]any, len(t.cols)), sum: sha256.New()}
	for i, c := range t.cols {
		switch c.kind {
		case colInt:
			r.dest[i] = new(int64)
		case colIntNull:
			r.dest[i] = new(sql.NullInt64)
		case colText:
			r.dest[i] = new(string)
		case colTextNull:
			r.dest[i] = new(sql.NullString)
		case colBlob:
			r.dest[i] = new([]byte)
		case colFloat:
			r.dest[i] = new(float64)
		}
	}
	return r
}

// scan reads the current row and appends its values to vals.
func (r *rowReader) scan(rows *sql.Rows, vals []any) ([]any, error) {
	if err := rows.Scan(r.dest...); err != nil {
		return vals, err
	}
	var n [8]byte
	field := func(tag byte, b []byte) {
		r.sum.Write([]byte{tag})
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		r.sum.Write(n[:])
		r.sum.Write(b)
	}
	for i, c := range r.t.cols {
		var v any
		switch d := r.dest[i].(type) {
		case *int64:
			v = *d
		case *sql.NullInt64:
			if d.Valid {
				v = d.Int64
			}
		case *string:
			v = *d
		case *sql.NullString:
			if d.Valid {
				v = d.String
			}
		case *float64:
			v = *d
		case *[]byte:
			b := *d
			if b == nil {
				// A zero-length BLOB may scan as nil, and nil binds as NULL.
				b = []byte{}
			}
			v = b
		}
		switch x := v.(type) {
		case nil:
			field(0, nil)
		case int64:
			binary.BigEndian.PutUint64(n[:], uint64(x))
			field(1, n[:])
			if c.name == "id" && x > r.maxID {
				r.maxID = x
			}
		case string:
			field(2, []byte(x))
		case []byte:
			field(3, x)
		case float64:
			binary.BigEndian.PutUint64(n[:], math.Float64bits(x))
			field(4, n[:])
		}
		vals = append(vals, v)
	}
	r.n++
	return vals, nil
}

// Copy copies every row of every table of from into to, which must hold no
// data (only the default account Open creates) unless opts.Force: ids and
// every column as stored, the audit chain included. It reads one snapshot
// of from and writes to in one transaction under to's write lock, so the
// copy is all or nothing; after the commit it counts and hashes both sides
// and compares the ends of the audit chains. Sequences are advanced so new
// rows in to never take an id that from has used, even one since deleted.
// Both databases must be at the same schema version.
//
// A report comes back whenever the copy committed, also with an error from
// the verification.
func Copy(ctx context.Context, from, to *DB, opts CopyOptions) (CopyReport, error) {
	var rep CopyReport
	if same, err := sameDatabase(from, to); err != nil {
		return rep, fmt.Errorf("copy: %w", err)
	} else if same {
		return rep, fmt.Errorf("copy: source and target are the same database (%s)", from.name)
	}
	batch := opts.BatchSize
	if batch <= 0 {
		batch = defaultCopyBatch
	}

	// One read transaction on the source: one snapshot for every table.
	src, err := from.read.BeginTx(ctx, from.readOpts)
	if err != nil {
		return rep, fmt.Errorf("copy: source %s: %w", from.name, err)
	}
	defer src.Rollback()
	srcVersion, err := schemaVersion(ctx, src)
	if err != nil {
		return rep, fmt.Errorf("copy: source %s: %w", from.name, err)
	}
	if err := checkCopySchema(ctx, src, from.engine.name); err != nil {
		return rep, fmt.Errorf("copy: source %s: %w", from.name, err)
	}
	srcHigh := map[string]int64{}
	for _, t := range copyTables {
		if srcHigh[t.name], err = highWater(ctx, src, from.engine.name, t); err != nil {
			return rep, fmt.Errorf("copy: source %s: table %s: %w", from.name, t.name, err)
		}
	}

	sums := map[string][]byte{}
	err = to.writeTx(ctx, func(dst *sql.Tx) error {
		dstVersion, err := schemaVersion(ctx, dst)
		if err != nil {
			return err
		}
		if dstVersion != srcVersion {
			return fmt.Errorf("schema versions differ: source %s is at version %d, target %s at %d; run both with the same keyplane release (keyplane admin migrate)",
				from.name, srcVersion, to.name, dstVersion)
		}
		if err := checkCopySchema(ctx, dst, to.engine.name); err != nil {
			return err
		}
		counts, err := countRows(ctx, dst)
		if err != nil {
			return err
		}
		if held := dataHeld(counts); held != "" && !opts.Force {
			return fmt.Errorf("%w: %s holds %s", ErrTargetNotEmpty, to.name, held)
		}
		dstHigh := map[string]int64{}
		for _, t := range copyTables {
			if dstHigh[t.name], err = highWater(ctx, dst, to.engine.name, t); err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
		}
		// Empty the target, children first: its data when forced, and
		// otherwise the default account Open made, which the source's
		// accounts replace.
		for _, t := range slices.Backward(copyTables) {
			if _, err := dst.ExecContext(ctx, "DELETE FROM "+t.name); err != nil {
				return fmt.Errorf("table %s: emptying: %w", t.name, err)
			}
		}
		for _, t := range copyTables {
			r, err := copyRows(ctx, src, dst, to.engine.name, t, batch)
			if err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
			sums[t.name] = r.sum.Sum(nil)
			// Never reuse an id: not one the source used, not one the target did.
			high := max(srcHigh[t.name], dstHigh[t.name], r.maxID)
			if err := setHighWater(ctx, dst, to.engine.name, t, high); err != nil {
				return fmt.Errorf("table %s: advancing its id sequence: %w", t.name, err)
			}
			var n int64
			if err := dst.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
			if n != r.n {
				return fmt.Errorf("table %s: read %d rows, target holds %d", t.name, r.n, n)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrTargetNotEmpty) {
			return rep, fmt.Errorf("copy: %w", err)
		}
		return rep, fmt.Errorf("copy to %s: %w (nothing was changed)", to.name, err)
	}

	// Verify what was committed: the source's snapshot against a fresh read
	// of the target.
	rep.SchemaVersion = srcVersion
	srcCounts, err := countRows(ctx, src)
	if err != nil {
		return rep, fmt.Errorf("copy: committed, but verifying failed: source %s: %w", from.name, err)
	}
	if rep.SourceAuditHead, err = auditHead(ctx, src); err != nil {
		return rep, fmt.Errorf("copy: committed, but verifying failed: source %s: %w", from.name, err)
	}
	src.Rollback()
	var problems []string
	err = to.inTx(ctx, to.read, to.readOpts, func(tx *sql.Tx) error {
		dstCounts, err := countRows(ctx, tx)
		if err != nil {
			return err
		}
		for i, t := range copyTables {
			rep.Tables = append(rep.Tables, TableCount{Table: t.name, Source: srcCounts[i], Target: dstCounts[i]})
			if srcCounts[i] != dstCounts[i] {
				problems = append(problems, fmt.Sprintf("%s: %d rows in the source, %d in the target", t.name, srcCounts[i], dstCounts[i]))
				continue
			}
			r, err := readRows(ctx, tx, t)
			if err != nil {
				return fmt.Errorf("table %s: %w", t.name, err)
			}
			if !bytes.Equal(r.sum.Sum(nil), sums[t.name]) {
				problems = append(problems, fmt.Sprintf("%s: the rows differ from the source's", t.name))
			}
		}
		rep.TargetAuditHead, err = auditHead(ctx, tx)
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("copy: committed, but verifying failed: target %s: %w", to.name, err)
	}
	if !bytes.Equal(rep.SourceAuditHead, rep.TargetAuditHead) {
		problems = append(problems, fmt.Sprintf("audit_events: the chain ends in %x in the source, %x in the target", rep.SourceAuditHead, rep.TargetAuditHead))
	}
	if len(problems) > 0 {
		return rep, fmt.Errorf("copy: committed, but the target %s does not match the source: %s", to.name, strings.Join(problems, "; "))
	}
	return rep, nil
}

// copyRows streams the rows of t from src into dst, a database of engine,
// in multi-row INSERTs.
func copyRows(ctx context.Context, src, dst *sql.Tx, engine string, t copyTable, batch int) (*rowReader, error) {
	perStmt := min(batch, maxCopyParams/len(t.cols))
	full := t.insertSQL(engine, perStmt)
	r := newRowReader(t)
	rows, err := src.QueryContext(ctx, "SELECT "+t.colList()+" FROM "+t.name+" ORDER BY "+t.orderBy)
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	defer rows.Close()
	vals := make([]any, 0, perStmt*len(t.cols))
	flush := func() error {
		n := len(vals) / len(t.cols)
		if n == 0 {
			return nil
		}
		q := full
		if n != perStmt {
			q = t.insertSQL(engine, n)
		}
		res, err := dst.ExecContext(ctx, q, vals...)
		if err != nil {
			return fmt.Errorf("writing: %w", err)
		}
		if got, err := res.RowsAffected(); err == nil && got != int64(n) {
			return fmt.Errorf("writing: %d of %d rows inserted", got, n)
		}
		vals = vals[:0]
		return nil
	}
	for rows.Next() {
		if vals, err = r.scan(rows, vals); err != nil {
			return nil, fmt.Errorf("reading: %w", err)
		}
		if len(vals) == perStmt*len(t.cols) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return r, flush()
}

// readRows reads every row of t in order, only to count and hash them.
func readRows(ctx context.Context, tx *sql.Tx, t copyTable) (*rowReader, error) {
	r := newRowReader(t)
	rows, err := tx.QueryContext(ctx, "SELECT "+t.colList()+" FROM "+t.name+" ORDER BY "+t.orderBy)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vals []any
	for rows.Next() {
		if vals, err = r.scan(rows, vals[:0]); err != nil {
			return nil, err
		}
	}
	return r, rows.Err()
}

func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var v int
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// countRows counts the rows of each of copyTables, in order.
func countRows(ctx context.Context, tx *sql.Tx) ([]int64, error) {
	out := make([]int64, len(copyTables))
	for i, t := range copyTables {
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&out[i]); err != nil {
			return nil, fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	return out, nil
}

// dataHeld describes the data in a database with these counts, or is ""
// when it holds none: no rows but one account, the one Open creates.
func dataHeld(counts []int64) string {
	var held []string
	for i, t := range copyTables {
		if n := counts[i]; n > 1 || (n == 1 && t.name != "accounts") {
			held = append(held, fmt.Sprintf("%s %d", t.name, n))
		}
	}
	return strings.Join(held, ", ")
}

// auditHead is the hash of the newest audit event (of whichever account),
// or empty.
func auditHead(ctx context.Context, tx *sql.Tx) ([]byte, error) {
	var h []byte
	err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return []byte{}, nil
	}
	return h, err
}

// highWater is the largest id t has ever handed out, as far as its
// sequence remembers: an id deleted since is still above every id in use.
// It is 0 for a table without a sequence (its largest id then counts).
func highWater(ctx context.Context, tx *sql.Tx, engine string, t copyTable) (int64, error) {
	switch {
	case engine == "postgres" && t.identity:
		seq, err := pgSequence(ctx, tx, t)
		if err != nil {
			return 0, err
		}
		var last int64
		var called bool
		if err := tx.QueryRowContext(ctx, "SELECT last_value, is_called FROM "+seq).Scan(&last, &called); err != nil {
			return 0, err
		}
		if !called {
			last-- // nextval will return last_value itself
		}
		return last, nil
	case engine == "sqlite" && t.autoincrement:
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = $1`, t.name).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return seq, err
	}
	return 0, nil
}

// setHighWater makes the next id t hands out high+1 or more.
func setHighWater(ctx context.Context, tx *sql.Tx, engine string, t copyTable, high int64) error {
	switch {
	case engine == "postgres" && t.identity:
		seq, err := pgSequence(ctx, tx, t)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `SELECT setval($1::regclass, $2, false)`, seq, high+1)
		return err
	case engine == "sqlite" && t.autoincrement:
		// Inserting an explicit id already raised seq to the largest id;
		// a higher mark (ids deleted in the source) is set here.
		res, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = $1 WHERE name = $2 AND seq < $1`, high, t.name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 || high == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = $1)`, t.name, high)
		return err
	}
	return nil
}

// pgSequence names the sequence behind t's identity column.
func pgSequence(ctx context.Context, tx *sql.Tx, t copyTable) (string, error) {
	var seq sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT pg_get_serial_sequence($1, 'id')`, t.name).Scan(&seq); err != nil {
		return "", err
	}
	if !seq.Valid {
		return "", fmt.Errorf("id column has no sequence")
	}
	return seq.String, nil
}

// checkCopySchema refuses a database whose tables or columns are not
// exactly those copyTables knows (and schema_migrations).
func checkCopySchema(ctx context.Context, tx *sql.Tx, engine string) error {
	var tablesQ, colsQ string
	if engine == "postgres" {
		tablesQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
		colsQ = `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
	} else {
		tablesQ = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`
		colsQ = `SELECT name FROM pragma_table_info($1) ORDER BY cid`
	}
	names := func(q string, args ...any) ([]string, error) {
		return textColumn(tx.QueryContext(ctx, q, args...))
	}
	tables, err := names(tablesQ)
	if err != nil {
		return err
	}
	known := map[string]copyTable{}
	for _, t := range copyTables {
		known[t.name] = t
	}
	for _, name := range tables {
		if _, ok := known[name]; !ok && name != "schema_migrations" && !slices.Contains(derivedTables, name) {
			return fmt.Errorf("table %s is not one this keyplane release knows how to copy", name)
		}
	}
	for _, t := range copyTables {
		if !slices.Contains(tables, t.name) {
			return fmt.Errorf("table %s: missing", t.name)
		}
		cols, err := names(colsQ, t.name)
		if err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
		want := strings.Split(t.colList(), ", ")
		slices.Sort(cols)
		slices.Sort(want)
		if !slices.Equal(cols, want) {
			return fmt.Errorf("table %s has columns %s, this keyplane release copies %s", t.name, strings.Join(cols, ", "), strings.Join(want, ", "))
		}
	}
	return nil
}

// sameDatabase reports whether a and b are one database: the same SQLite
// file, or the same PostgreSQL host, port and database name.
func sameDatabase(a, b *DB) (bool, error) {
	if a.engine.name != b.engine.name {
		return false, nil
	}
	if a.engine.name == "postgres" {
		return a.name == b.name, nil
	}
	fa, err := os.Stat(a.name)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b.name)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}
