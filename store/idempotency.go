package store

import (
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// Stored answers of idempotency keys start with one byte saying how they
// are kept: plain JSON, or sealed under the KEK (nonce, then AES-GCM
// ciphertext of the JSON). An answer may carry a keyset's secret key (the
// answer to creating a keyset or rotating its key), so it is kept as the
// secret keys are: sealed whenever the server has a KEK.
const (
	answerPlain  = 'p'
	answerSealed = 's'
)

// answerAAD binds a sealed answer to its key and caller: moved to another
// row, it does not open.
func answerAAD(scope, key string) []byte {
	return []byte("keyplane idempotency answer\x00" + scope + "\x00" + key)
}

func (t *txn) sealAnswer(scope, key string, r control.StoredResponse) ([]byte, error) {
	plain, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if t.seal == nil {
		return append([]byte{answerPlain}, plain...), nil
	}
	nonce := make([]byte, t.seal.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{answerSealed}, nonce...)
	return t.seal.aead.Seal(out, nonce, plain, answerAAD(scope, key)), nil
}

func (t *txn) openAnswer(scope, key string, stored []byte) (*control.StoredResponse, error) {
	if len(stored) == 0 {
		return nil, nil // recorded, answer not stored yet
	}
	plain := stored[1:]
	switch stored[0] {
	case answerPlain:
	case answerSealed:
		if t.seal == nil {
			return nil, errors.New("idempotency answers are sealed, and this process has no key-encryption key")
		}
		n := t.seal.aead.NonceSize()
		if len(plain) < n {
			return nil, fmt.Errorf("idempotency key of %s: malformed sealed answer", scope)
		}
		var err error
		if plain, err = t.seal.aead.Open(nil, plain[:n], plain[n:], answerAAD(scope, key)); err != nil {
			return nil, fmt.Errorf("idempotency key of %s: the answer does not open with this key-encryption key", scope)
		}
	default:
		return nil, fmt.Errorf("idempotency key of %s: unknown answer format %q", scope, stored[0])
	}
	var r control.StoredResponse
	if err := json.Unmarshal(plain, &r); err != nil {
		return nil, fmt.Errorf("idempotency key of %s: %w", scope, err)
	}
	return &r, nil
}

// IdempotencyRecord implements control.Tx.
func (t *txn) IdempotencyRecord(scope, key string, now time.Time) (control.IdempotencyRecord, error) {
	r := control.IdempotencyRecord{Scope: scope, Key: key}
	var created, expires int64
	var answer []byte
	err := t.queryRow(`SELECT fingerprint, created_at, expires_at, response FROM idempotency_keys
		WHERE scope = $1 AND idem_key = $2 AND expires_at > $3`, scope, key, ms(now)).Scan(&r.Fingerprint, &created, &expires, &answer)
	if errors.Is(err, sql.ErrNoRows) {
		return r, keyplane.Errorf(keyplane.CodeNotFound, "idempotency key: not found")
	}
	if err != nil {
		return r, err
	}
	r.CreatedAt, r.ExpiresAt = fromMS(created), fromMS(expires)
	r.Response, err = t.openAnswer(scope, key, answer)
	return r, err
}

// InsertIdempotencyRecord implements control.Tx. Expired records are
// deleted here, on write, so the table holds at most a day of keys (the
// index on expires_at keeps it cheap).
func (t *txn) InsertIdempotencyRecord(r control.IdempotencyRecord) error {
	if _, err := t.exec(`DELETE FROM idempotency_keys WHERE expires_at <= $1`, ms(r.CreatedAt)); err != nil {
		return err
	}
	answer := []byte{}
	if r.Response != nil {
		var err error
		if answer, err = t.sealAnswer(r.Scope, r.Key, *r.Response); err != nil {
			return err
		}
	}
	_, err := t.exec(`INSERT INTO idempotency_keys (scope, idem_key, fingerprint, created_at, expires_at, response)
		VALUES ($1, $2, $3, $4, $5, $6)`, r.Scope, r.Key, r.Fingerprint, ms(r.CreatedAt), ms(r.ExpiresAt), answer)
	return err
}

// SetIdempotencyResponse implements control.Tx.
func (t *txn) SetIdempotencyResponse(scope, key string, resp control.StoredResponse) error {
	answer, err := t.sealAnswer(scope, key, resp)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE idempotency_keys SET response = $1 WHERE scope = $2 AND idem_key = $3`, answer, scope, key)
	return err
}
