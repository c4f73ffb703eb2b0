// Package control holds Keyplane's operations: every front end (the REST
// API, the admin commands, later the portal and MCP) calls these, so each
// rule is decided in one place. Every operation authorizes, validates,
// persists and records its audit event inside one transaction.
package control

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/mail"
)

// Service runs the operations on a Store.
type Service struct {
	// store runs the operations' transactions: raw, wrapped so that the
	// first write of a request carrying an idempotency key records the key
	// in the same transaction (idempotentStore). raw is the store itself.
	store Store
	raw   Store
	// What raw also offers, if it does (nil otherwise): see Versioned and
	// SingleReader.
	versions Versioned
	single   SingleReader
	// idemTTL is how long idempotency keys are remembered.
	idemTTL time.Duration
	now     func() time.Time
	rand    io.Reader
	log     *slog.Logger
	// retention is the number of days usage is kept.
	retention int
	// notifier is told of key notices (nil: nobody beyond the audit log).
	notifier Notifier

	mu      sync.Mutex
	touched map[int64]time.Time // API key id → when this process last recorded its use
	hashes  hashGate            // bounds the password hashes computed at once
	// What the hot reads read, kept while the database has not changed.
	keys    readCache[[32]byte, keyRead] // by the key's hash
	keysets readCache[keysetKey, keyplane.Keyset]
	pages   readCache[pageKey, keysetPage] // of whole accounts' keyset lists
	// opKeys holds operator keys by hash, under the same version rule as
	// keys: a revocation is seen by the next request.
	opKeys readCache[[32]byte, keyplane.OperatorKey]

	// webhookConfig is how webhook destinations are treated (see
	// ConfigureWebhooks).
	webhookConfig WebhookConfig

	// The e-mail flows: the sender (nil: none; links are handed back to be
	// shown), the base of links and whether sign-up is on.
	mailer    mail.Sender
	publicURL string
	signup    bool

	// background counts the work done after an answer (see later).
	background sync.WaitGroup
}

// Options adjusts a Service; the zero value uses the real clock, crypto/rand
// and a discarding logger.
type Options struct {
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
	// UsageRetentionDays is how many days of usage are kept and can be
	// asked for; 0 means keyplane.DefaultUsageRetentionDays.
	UsageRetentionDays int
	// IdempotencyTTL is how long an Idempotency-Key is remembered; 0 means
	// DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
	// PasswordHashes is how many password hashes may run at once; 0 means
	// DefaultPasswordHashes().
	PasswordHashes int
	// Notifier is told of each key notice GiveKeyNotices records, beside
	// the e-mail the Service sends (with a Mailer). nil: nobody else.
	Notifier Notifier
	// Mailer sends the messages of invitations, password resets and
	// sign-ups; nil means no mail server: an invitation's link is handed
	// back to be shown, and resets and sign-ups by e-mail are off.
	Mailer mail.Sender
	// PublicURL is the base of the links sent (https://keyplane.example.com);
	// empty means http://localhost:8080.
	PublicURL string
	// Signup turns on self-service sign-up (it needs a Mailer).
	Signup bool
}

// New returns a Service on s.
func New(s Store, o Options) *Service {
	if o.Now == nil {
		o.Now = wallclock.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.UsageRetentionDays == 0 {
		o.UsageRetentionDays = keyplane.DefaultUsageRetentionDays
	}
	if o.IdempotencyTTL <= 0 {
		o.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if o.PasswordHashes <= 0 {
		o.PasswordHashes = DefaultPasswordHashes()
	}
	if o.PublicURL == "" {
		o.PublicURL = "http://localhost:8080"
	}
	svc := &Service{raw: s, idemTTL: o.IdempotencyTTL, now: o.Now, rand: o.Rand, log: o.Logger, retention: o.UsageRetentionDays, notifier: o.Notifier, touched: map[int64]time.Time{}, hashes: newHashGate(o.PasswordHashes),
		mailer: o.Mailer, publicURL: strings.TrimRight(o.PublicURL, "/"), signup: o.Signup}
	svc.store = idempotentStore{Store: s, s: svc}
	svc.pages.max = maxCachedPages
	svc.versions, _ = s.(Versioned)
	svc.single, _ = s.(SingleReader)
	return svc
}

// clock is the current time at the precision the store keeps, so what an
// operation answers is exactly what a later read returns.
func (s *Service) clock() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// lastUsedPrecision bounds how often a key's use is written down: often
// enough to tell which keys are in use, rarely enough that reads stay reads.
const lastUsedPrecision = time.Minute

// Authenticate finds the principal behind an API key used from origin.
// Revocation, expiry, suspension and the integration's allowed networks
// are checked against what the database holds at this request (see
// readThrough), so each takes effect on the very next request, on every
// replica. The use is recorded as the key's last (to the minute).
func (s *Service) Authenticate(ctx context.Context, key string, origin keyplane.Origin) (keyplane.Principal, error) {
	if key == "" {
		return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: required; send the API key of a Service Integration")
	}
	if err := keyplane.CheckAPIKey(key); err != nil {
		if strings.HasPrefix(key, keyplane.OperatorKeyPrefix) {
			return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized,
				"Authorization: an operator key (%s…) works only on /operator; /v2 takes a Service Integration's API key (%s…)", keyplane.OperatorKeyPrefix, keyplane.APIKeyPrefix)
		}
		return keyplane.Principal{}, err
	}
	k, in, acc, err := s.apiKey(ctx, key)
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
		return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: unknown API key")
	}
	if err != nil {
		return keyplane.Principal{}, err
	}
	now := s.clock()
	switch {
	case k.RevokedAt != nil:
		return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: API key revoked")
	case !now.Before(k.ExpiresAt):
		if k.ReplacedBy != 0 {
			return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: API key expired (it was rolled to a new key, and its overlap has ended)")
		}
		return keyplane.Principal{}, keyplane.Errorf(keyplane.CodeUnauthorized, "Authorization: API key expired")
	}
	// The account and the integration are read with the key, in the same
	// statement and under the same cache version, so a disable, a
	// suspension or a change of networks is seen as soon as a revocation
	// would be.
	if err := usable(acc); err != nil {
		return keyplane.Principal{}, err
	}
	if in.Suspended() {
		return keyplane.Principal{}, keyplane.IntegrationSuspendedError(in.ID)
	}
	if !in.AllowedFrom(origin.Addr) {
		return keyplane.Principal{}, keyplane.NotAllowedFromError(origin.Addr)
	}
	s.touch(ctx, k, now, origin)
	return keyplane.Principal{
		AccountID:       in.AccountID,
		IntegrationID:   in.ID,
		IntegrationName: in.Name,
		KeyID:           k.ID,
		Grants:          in.Grants,
		Origin:          origin,
	}, nil
}

// apiKey reads the key with its integration and account, or takes them
// from the key cache when the database has not changed since they were
// read there.
func (s *Service) apiKey(ctx context.Context, key string) (keyplane.APIKey, keyplane.Integration, keyplane.Account, error) {
	h := keyplane.HashAPIKey(key)
	e, err := readThrough(ctx, s, &s.keys, h, func() (keyRead, error) { return s.readAPIKey(ctx, h) })
	return e.key, e.in, e.acc, err
}

// readAPIKey reads the key whose hash is h. A function of its own: what
// its closure captures moves to the heap, which a cache hit need not pay.
func (s *Service) readAPIKey(ctx context.Context, h [32]byte) (e keyRead, err error) {
	err = s.readOne(ctx, func(tx Tx) (err error) {
		e.key, e.in, e.acc, err = tx.Credential(h[:])
		return err
	})
	return e, err
}

// touch records that k was used, from where and by what, at most once per
// lastUsedPrecision per key in this process: authenticated requests are
// the hot path, and each write also changes the database's version, which
// empties every replica's read caches. So the first request of a key in a
// minute writes (in the group commit, with whatever else is being
// written), and the others write nothing. A failure costs only precision,
// so it is logged.
func (s *Service) touch(ctx context.Context, k keyplane.APIKey, now time.Time, origin keyplane.Origin) {
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < lastUsedPrecision {
		return
	}
	s.mu.Lock()
	if last, ok := s.touched[k.ID]; ok && now.Sub(last) < lastUsedPrecision {
		s.mu.Unlock()
		return
	}
	s.touched[k.ID] = now
	s.mu.Unlock()
	s.recordUse(ctx, k.ID, k.IntegrationID, now, origin)
}

// recordUse writes a key's last use. It is apart from touch so that the
// closure it writes with captures only what it needs, and only when it
// runs: captured by a closure in touch itself, the whole key escaped to
// the heap on every request (an allocation P4 shows).
func (s *Service) recordUse(ctx context.Context, keyID, integrationID int64, now time.Time, origin keyplane.Origin) {
	from := ""
	if origin.Addr.IsValid() {
		from = origin.Addr.Unmap().String()
	}
	agent := keyplane.ClipUserAgent(origin.UserAgent)
	err := s.store.Write(ctx, func(tx Tx) error { return tx.TouchAPIKey(keyID, integrationID, now, from, agent) })
	if err != nil {
		s.log.Warn("recording API key use", "keyId", keyID, "err", err)
	}
}

// record appends an audit event for a change made in tx. before and after
// are the changed object as JSON; callers pass views without secrets.
func (s *Service) record(tx Tx, actor keyplane.Actor, accountID int64, typ, targetType string, targetID int64, before, after any) error {
	e := keyplane.AuditEvent{
		AccountID: accountID, At: s.clock(), Type: typ, Actor: actor,
		TargetType: targetType, TargetID: targetID,
	}
	var err error
	if e.Before, err = marshalOpt(before); err != nil {
		return err
	}
	if e.After, err = marshalOpt(after); err != nil {
		return err
	}
	return tx.AppendAudit(&e)
}

func marshalOpt(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		// Encoded by json.Marshal already: encoding it again would only
		// check and compact it a second time.
		return v, nil
	}
	return json.Marshal(v)
}

// Audit views: what an event records of each object. Secret keys appear only
// by prefix; API keys never appear beyond their shown prefix.
func appView(a keyplane.App) any {
	return map[string]any{"id": a.ID, "name": a.Name}
}

func keysetView(k keyplane.Keyset) any {
	return map[string]any{"id": k.ID, "appId": k.AppID, "name": k.Name, "type": k.Type,
		"publishKey": k.PublishKey, "subscribeKey": k.SubscribeKey}
}

func secretKeyView(k keyplane.SecretKey) any {
	v := map[string]any{"prefix": k.Prefix(), "expiresAt": nil}
	if k.ExpiresAt != nil {
		v["expiresAt"] = keyplane.FormatTime(*k.ExpiresAt)
	}
	return v
}
