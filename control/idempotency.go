package control

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/keyplane/keyplane"
)

// Safe retries: a client sends an Idempotency-Key with a request, and a
// retry with the same key and the same request is answered with the first
// answer instead of running again. The record of the key is written by the
// operation's own write transaction (see idempotentStore), so a crash can
// never leave an operation done without its record: a retry either finds
// the record or finds the operation undone.

// DefaultIdempotencyTTL is how long an idempotency key is remembered.
const DefaultIdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKeyLen bounds an idempotency key.
const MaxIdempotencyKeyLen = 255

// idempotencyInFlight is how long a record without a stored answer counts
// as a request still running. Past it (longer than any request may take:
// the server's write timeout is 30 s), the answer was lost: the server
// stopped between committing the operation and storing its answer.
const idempotencyInFlight = time.Minute

// IdempotencyRecord is a stored idempotency key.
type IdempotencyRecord struct {
	Scope       string // who sent it: "integration/ID" or "user/ID"
	Key         string
	Fingerprint []byte // what was asked: method, path, query and canonical body
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// Response is nil until the answer is stored.
	Response *StoredResponse
}

// StoredResponse is an answer kept for replay, byte for byte.
type StoredResponse struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body"`
}

// Idempotency is one request's claim on an idempotency key, carried in its
// context (WithIdempotency) from the HTTP layer to the operation's write
// transaction, which records it.
type Idempotency struct {
	scope, key  string
	fingerprint []byte
	// recorded is set once a write transaction recorded the key: the
	// operation is done, and later writes of the same request pass.
	recorded bool
}

type idempotencyKey struct{}

// WithIdempotency returns ctx carrying claim: the first write transaction
// run with it records the key together with its own writes.
func WithIdempotency(ctx context.Context, claim *Idempotency) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, claim)
}

// idempotencyScope is who a key belongs to: two callers never share keys.
func idempotencyScope(p keyplane.Principal) string {
	if p.Operator {
		// Through the operator API, always by an operator key; the admin
		// commands send none.
		return "operator-key/" + strconv.FormatInt(p.Via.KeyID, 10)
	}
	if p.UserID != 0 {
		return "user/" + strconv.FormatInt(p.UserID, 10)
	}
	return "integration/" + strconv.FormatInt(p.IntegrationID, 10)
}

// ValidateIdempotencyKey checks a key as sent: 1 to 255 printable ASCII
// characters.
func ValidateIdempotencyKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return keyplane.Errorf(keyplane.CodeInvalid, "Idempotency-Key: must be 1 to %d characters, not %d", MaxIdempotencyKeyLen, len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return keyplane.Errorf(keyplane.CodeInvalid, "Idempotency-Key: must be printable ASCII; character %d is not", i+1)
		}
	}
	return nil
}

// BeginIdempotent looks up key for p. A key seen before with the same
// fingerprint answers the stored response, to be replayed; with another
// fingerprint it is a 422. Otherwise the claim to carry in the request's
// context (WithIdempotency) is returned.
func (s *Service) BeginIdempotent(ctx context.Context, p keyplane.Principal, key string, fingerprint []byte) (*Idempotency, *StoredResponse, error) {
	if err := ValidateIdempotencyKey(key); err != nil {
		return nil, nil, err
	}
	c := &Idempotency{scope: idempotencyScope(p), key: key, fingerprint: fingerprint}
	var rec IdempotencyRecord
	err := s.raw.Read(ctx, func(tx Tx) (err error) {
		rec, err = tx.IdempotencyRecord(c.scope, c.key, s.clock())
		return err
	})
	switch {
	case keyplane.ErrorCode(err) == keyplane.CodeNotFound:
		return c, nil, nil
	case err != nil:
		return nil, nil, err
	}
	if err := s.sameRequest(rec, c); err != nil {
		return nil, nil, err
	}
	return nil, rec.Response, nil
}

// sameRequest decides what a found record means for claim c: nil when it
// holds an answer to replay for the same request, else the error to answer.
func (s *Service) sameRequest(rec IdempotencyRecord, c *Idempotency) error {
	if !bytes.Equal(rec.Fingerprint, c.fingerprint) {
		return keyplane.Errorf(keyplane.CodeUnprocessable,
			"Idempotency-Key: already used for another request (method, path, query or body differ); use a new key for a new request")
	}
	if rec.Response != nil {
		return nil
	}
	if s.clock().Sub(rec.CreatedAt) < idempotencyInFlight {
		return keyplane.Errorf(keyplane.CodeConflict,
			"Idempotency-Key: a request with this key is in progress; retry after it ends to get its answer")
	}
	return keyplane.Errorf(keyplane.CodeConflict,
		"Idempotency-Key: the request with this key was carried out, but its answer was not kept (the server stopped first); read the result with a GET instead of retrying")
}

// FinishIdempotent stores the answer to a request that carried claim:
// the answer of the operation that recorded the key, whatever its status,
// or, for a request that wrote nothing (a check, a refusal), the answer
// when it is a success. A refused request that wrote nothing leaves the key
// unused, so a corrected retry with the same key runs. It runs even when
// the client has gone away: the operation is done, a retry must see it.
func (s *Service) FinishIdempotent(ctx context.Context, c *Idempotency, resp StoredResponse) error {
	ctx = context.WithoutCancel(ctx)
	if c.recorded {
		return s.raw.Write(ctx, func(tx Tx) error { return tx.SetIdempotencyResponse(c.scope, c.key, resp) })
	}
	if resp.Status < 200 || resp.Status > 299 {
		return nil
	}
	now := s.clock()
	return s.raw.Write(ctx, func(tx Tx) error {
		_, err := tx.IdempotencyRecord(c.scope, c.key, now)
		switch {
		case err == nil:
			return nil // a concurrent twin stored its answer first; both ran nothing
		case keyplane.ErrorCode(err) != keyplane.CodeNotFound:
			return err
		}
		return tx.InsertIdempotencyRecord(IdempotencyRecord{
			Scope: c.scope, Key: c.key, Fingerprint: c.fingerprint,
			CreatedAt: now, ExpiresAt: now.Add(s.idemTTL), Response: &resp,
		})
	})
}

// idempotentStore is the Store the operations write through: a write run
// with an unrecorded claim in its context first checks that no other
// request took the key meanwhile, then runs the operation, then records
// the key, all in the one transaction. Being every operation's way to
// write, it is also where a request's reads learn that it wrote (wrote).
type idempotentStore struct {
	Store
	s *Service
}

// Write implements Store.
func (st idempotentStore) Write(ctx context.Context, fn func(Tx) error) error {
	defer wrote(ctx)
	c, _ := ctx.Value(idempotencyKey{}).(*Idempotency)
	if c == nil || c.recorded {
		return st.Store.Write(ctx, fn)
	}
	s := st.s
	err := st.Store.Write(ctx, func(tx Tx) error {
		now := s.clock()
		rec, err := tx.IdempotencyRecord(c.scope, c.key, now)
		switch {
		case err == nil:
			// A twin request committed first, after this one began.
			if err := s.sameRequest(rec, c); err != nil {
				return err
			}
			return keyplane.Errorf(keyplane.CodeConflict, "Idempotency-Key: a request with this key has just been carried out; retry to get its answer")
		case keyplane.ErrorCode(err) != keyplane.CodeNotFound:
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		if err := tx.InsertIdempotencyRecord(IdempotencyRecord{
			Scope: c.scope, Key: c.key, Fingerprint: c.fingerprint, CreatedAt: now, ExpiresAt: now.Add(s.idemTTL),
		}); err != nil {
			return fmt.Errorf("recording the idempotency key: %w", err)
		}
		return nil
	})
	if err == nil {
		c.recorded = true
	}
	return err
}

// TakeIdempotentBody returns the stored answer of p's idempotency key and,
// in the same write transaction, keeps that answer without its body. The
// portal keeps a secret it shows once (a new API key, a keyset's secret
// key, a generated password) as the body of its form's answer: this hands
// it to exactly one request, while a replay of the form still finds the
// rest of the answer (where to go) and acts no second time. Writes are
// serialized on both engines, so two concurrent calls cannot both see the
// body. It is a NotFound when the key or its answer is not there.
func (s *Service) TakeIdempotentBody(ctx context.Context, p keyplane.Principal, key string) (StoredResponse, error) {
	var out StoredResponse
	scope := idempotencyScope(p)
	err := s.raw.Write(ctx, func(tx Tx) error {
		rec, err := tx.IdempotencyRecord(scope, key, s.clock())
		if err != nil {
			return err
		}
		if rec.Response == nil {
			return keyplane.Errorf(keyplane.CodeNotFound, "idempotency key: no answer stored")
		}
		out = *rec.Response
		if len(out.Body) == 0 {
			return nil
		}
		kept := out
		kept.Body = nil
		return tx.SetIdempotencyResponse(scope, key, kept)
	})
	return out, err
}
