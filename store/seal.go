package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyplane/keyplane"
)

// Keyset secret keys are stored sealed with AES-256-GCM under a
// key-encryption key (KEK) kept in a file outside the database, so a copy
// of the database alone reveals no secret. The database records the KEK's
// fingerprint, so a server started with another KEK refuses to start
// rather than fail on every secret later.

// sealedPrefix starts every sealed secret; a secret without it is plain
// text, from before sealing was turned on, and is sealed at the next start.
const sealedPrefix = "enc:v1:"

// kekSize is the size of a KEK: an AES-256 key.
const kekSize = 32

// sealer seals and opens secret keys.
type sealer struct {
	aead cipher.AEAD
}

// aad binds a sealed secret to its row: moved to another keyset or
// prefix, it no longer opens.
func aad(keysetID int64, prefix string) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(keysetID))
	return append(b, prefix...)
}

func (s *sealer) seal(keysetID int64, prefix, secret string) (string, error) {
	return s.sealWith(aad(keysetID, prefix), secret)
}

// sealWith seals secret bound to ad, the row and column it is stored in.
func (s *sealer) sealWith(ad []byte, secret string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, []byte(secret), ad)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// open returns the secret of a stored value, sealed or (before sealing was
// turned on) plain.
func (s *sealer) open(keysetID int64, prefix, stored string) (string, error) {
	return s.openWith(aad(keysetID, prefix), fmt.Sprintf("secret key %s of keyset %d", prefix, keysetID), stored)
}

// openWith opens a value sealed by sealWith with the same ad; what names
// the secret in errors.
func (s *sealer) openWith(ad []byte, what, stored string) (string, error) {
	enc, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	if s == nil {
		return "", errors.New("secrets are sealed, and this process has no key-encryption key")
	}
	raw, err := base64.RawStdEncoding.DecodeString(enc)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < n {
		return "", fmt.Errorf("%s: malformed sealed value", what)
	}
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], ad)
	if err != nil {
		return "", fmt.Errorf("%s: does not open with this key-encryption key (altered, or moved from another row)", what)
	}
	return string(plain), nil
}

// fingerprint names a KEK without revealing it.
func fingerprint(kek []byte) string {
	h := sha256.Sum256(append([]byte("keyplane kek fingerprint\x00"), kek...))
	return hex.EncodeToString(h[:8])
}

// ReadKEK reads a KEK file: 64 hex digits, then an optional newline.
func ReadKEK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kek, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(kek) != kekSize {
		return nil, fmt.Errorf("key-encryption key file %s: want %d hex digits", path, 2*kekSize)
	}
	return kek, nil
}

// SealSecrets turns on sealing with the KEK in the file at path. A file
// that does not exist is created (0600) with a new random KEK, but only
// for a database that records no KEK yet: another replica's database needs
// that replica's file. The KEK's fingerprint is recorded on first use and
// checked on every later one; when it is recorded, the secrets written
// before (plainTables) are sealed, in the same transaction. It returns
// whether it created the file.
func (db *DB) SealSecrets(ctx context.Context, path string) (created bool, err error) {
	recorded, err := db.kekFingerprint(ctx)
	if err != nil {
		return false, err
	}
	kek, err := ReadKEK(path)
	if errors.Is(err, fs.ErrNotExist) {
		if recorded != "" {
			return false, fmt.Errorf("key-encryption key file %s does not exist, and the secret keys of %s are sealed with key %s: give the file it was made with (--kek-file)", path, db.name, recorded)
		}
		kek, err = newKEKFile(path)
		if errors.Is(err, fs.ErrExist) {
			kek, err = ReadKEK(path) // another replica made it meanwhile
		} else {
			created = err == nil
		}
		if err != nil {
			return false, err
		}
	} else if err != nil {
		return false, err
	}
	fp := fingerprint(kek)
	if recorded != "" && recorded != fp {
		return false, fmt.Errorf("key-encryption key file %s holds key %s, but the secret keys of %s are sealed with key %s: give the right file (--kek-file)", path, fp, db.name, recorded)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return false, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return false, err
	}
	s := &sealer{aead: aead}
	if recorded == "" {
		if err := db.recordKEK(ctx, s, fp, path); err != nil {
			if created {
				os.Remove(path)
			}
			return false, unavailable(err)
		}
	}
	db.seal.Store(s)
	return created, nil
}

// recordKEK records the KEK's fingerprint and seals the secrets written
// before there was one, in one transaction. Once a fingerprint is recorded
// every server seals what it writes, so later starts have nothing to seal
// and skip this.
func (db *DB) recordKEK(ctx context.Context, s *sealer, fp, path string) error {
	return db.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kek (id, fingerprint) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, fp); err != nil {
			return err
		}
		// Another replica may have recorded its own key meanwhile.
		var now string
		if err := tx.QueryRowContext(ctx, `SELECT fingerprint FROM kek WHERE id = 1`).Scan(&now); err != nil {
			return err
		}
		if now != fp {
			return fmt.Errorf("the secret keys of %s were just sealed with key %s by another server; give its file (--kek-file), not %s", db.name, now, path)
		}
		return sealPlain(ctx, tx, s)
	})
}

// kekFingerprint is the fingerprint the database records, or "".
func (db *DB) kekFingerprint(ctx context.Context) (string, error) {
	var fp string
	err := db.read.QueryRowContext(ctx, `SELECT fingerprint FROM kek WHERE id = 1`).Scan(&fp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return fp, unavailable(err)
}

// newKEKFile writes a new random KEK to path, unless the file exists by
// then: replicas started together may all find it missing, and exactly
// one of them must make it. The key is written whole to a temporary file
// first and linked into place, so a replica that lost the race never reads
// a half-written file; it gets fs.ErrExist and reads the winner's.
func newKEKFile(path string) ([]byte, error) {
	kek := make([]byte, kekSize)
	if _, err := rand.Read(kek); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".kek-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("creating key-encryption key file: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(hex.EncodeToString(kek) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("writing key-encryption key file %s: %w", path, err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("creating key-encryption key file: %w", err)
	}
	return kek, nil
}

// plainSecrets is a table of secrets that a process without a KEK may have
// written in plain text: its rows are keyed by an integer column id, and
// by a text column sub too where the key has two parts (a keyset's secret
// keys by prefix, its push credentials by kind); each of columns holds a
// secret sealed bound to what ad makes of the row's key and the column.
type plainSecrets struct {
	table, id, sub string
	columns        []string
	ad             func(id int64, sub, column string) []byte
}

// boundTo is the ad of a secret bound to its row's id and a fixed prefix,
// as TOTP and SSO client secrets are.
func boundTo(prefix string) func(int64, string, string) []byte {
	return func(id int64, _, _ string) []byte { return aad(id, prefix) }
}

// plainTables are every secret the store seals. A table that seals a new
// kind of secret belongs here, or what a process without a KEK wrote
// there stays in plain text.
var plainTables = []plainSecrets{
	{"secret_keys", "keyset_id", "prefix", []string{"secret"}, func(id int64, prefix, _ string) []byte { return aad(id, prefix) }},
	{"push_credentials", "keyset_id", "kind", []string{"content"}, func(id int64, kind, _ string) []byte {
		return aad(id, pushPrefix(keyplane.PushKind(kind)))
	}},
	{"webhooks", "id", "", []string{"secret", "previous_secret"}, func(id int64, _, column string) []byte { return webhookAAD(id, column) }},
	{"totp_secrets", "user_id", "", []string{"secret"}, boundTo(totpPrefix)},
	{"oidc_configs", "account_id", "", []string{"client_secret"}, boundTo(oidcSecretPrefix)}, // '' is no secret: a public client
}

// sealPlain seals every secret still stored in plain text.
func sealPlain(ctx context.Context, tx *sql.Tx, s *sealer) error {
	for _, c := range plainTables {
		if err := sealPlainColumns(ctx, tx, s, c); err != nil {
			return fmt.Errorf("sealing %s: %w", c.table, err)
		}
	}
	return nil
}

// sealPlainColumns seals every value of c's columns still stored in plain
// text; an empty or NULL value (no secret) is left as it is.
func sealPlainColumns(ctx context.Context, tx *sql.Tx, s *sealer, c plainSecrets) error {
	key := []string{c.id}
	if c.sub != "" {
		key = append(key, c.sub)
	}
	var plain, set []string
	for i, col := range c.columns {
		plain = append(plain, "("+col+` <> '' AND `+col+` NOT LIKE 'enc:%')`)
		set = append(set, fmt.Sprintf("%s = $%d", col, i+1))
	}
	where := fmt.Sprintf("%s = $%d", c.id, len(c.columns)+1)
	if c.sub != "" {
		where += fmt.Sprintf(" AND %s = $%d", c.sub, len(c.columns)+2)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+strings.Join(append(key, c.columns...), ", ")+` FROM `+c.table+
		` WHERE `+strings.Join(plain, " OR "))
	if err != nil {
		return err
	}
	type row struct {
		id     int64
		sub    string
		values []sql.NullString
	}
	var found []row
	for rows.Next() {
		r := row{values: make([]sql.NullString, len(c.columns))}
		dest := []any{&r.id}
		if c.sub != "" {
			dest = append(dest, &r.sub)
		}
		for i := range r.values {
			dest = append(dest, &r.values[i])
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		found = append(found, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range found {
		args := make([]any, 0, len(c.columns)+2)
		for i, v := range r.values {
			if v.Valid && v.String != "" && !strings.HasPrefix(v.String, sealedPrefix) {
				if v.String, err = s.sealWith(c.ad(r.id, r.sub, c.columns[i]), v.String); err != nil {
					return err
				}
			}
			args = append(args, v)
		}
		args = append(args, r.id)
		if c.sub != "" {
			args = append(args, r.sub)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET `+strings.Join(set, ", ")+` WHERE `+where, args...); err != nil {
			return err
		}
	}
	return nil
}
