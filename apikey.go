package keyplane

import (
	"crypto/sha256"
	"hash/crc32"
	"io"
	"net/netip"
	"strings"
	"time"
)

// Integration is a Service Integration: a machine identity whose permission
// rows are fixed when it is made.
type Integration struct {
	ID         int64
	AccountID  int64
	Name       string
	Grants     []Grant
	CreatedAt  time.Time
	LastUsedAt *time.Time
	// SuspendedAt is when the integration was suspended, nil while it is
	// not: its keys are refused (403) until it is resumed; nothing is
	// deleted.
	SuspendedAt *time.Time
	// Networks are the client networks its keys are allowed from; none
	// means anywhere.
	Networks []netip.Prefix
}

// Suspended tells whether the integration's keys are refused for now.
func (in Integration) Suspended() bool { return in.SuspendedAt != nil }

// APIKey is one key of an integration. Only its hash is stored; the key
// itself is shown once, when it is made.
type APIKey struct {
	ID            int64
	IntegrationID int64
	Prefix        string // the first characters, to tell keys apart in lists
	Hash          []byte
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RevokedAt     *time.Time
	LastUsedAt    *time.Time
	// LastUsedFrom and LastUsedAgent are the client address and
	// User-Agent of the request LastUsedAt records ("" when unknown).
	LastUsedFrom  string
	LastUsedAgent string
	// ReplacedBy is the key this one was rolled to (0 if it was not): its
	// ExpiresAt is then the end of the overlap.
	ReplacedBy int64
}

// Active reports whether k authenticates at now.
func (k APIKey) Active(now time.Time) bool { return k.RevokedAt == nil && now.Before(k.ExpiresAt) }

// State is "active", "rolled" (active until the end of its overlap),
// "revoked" or "expired" at now, for lists.
func (k APIKey) State(now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case !now.Before(k.ExpiresAt):
		return "expired"
	case k.ReplacedBy != 0:
		return "rolled"
	}
	return "active"
}

// OperatorKey is a key of the operator API (/operator/v1): the install's,
// not an account's. Only its hash is stored; the key is shown once.
type OperatorKey struct {
	ID         int64
	Name       string
	Prefix     string // the first characters, to tell keys apart in lists
	Hash       []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// Active reports whether k authenticates at now.
func (k OperatorKey) Active(now time.Time) bool {
	return k.RevokedAt == nil && now.Before(k.ExpiresAt)
}

// State is "active", "revoked" or "expired" at now, for lists.
func (k OperatorKey) State(now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case !now.Before(k.ExpiresAt):
		return "expired"
	}
	return "active"
}

// API key limits and format.
const (
	MaxActiveAPIKeys = 3
	MinAPIKeyTTL     = time.Minute
	APIKeyPrefix     = "si_"
	// OperatorKeyPrefix starts an operator key: visibly not an si_ key, so
	// neither a person nor a secret scanner mistakes one for the other.
	OperatorKeyPrefix = "kpop_"
	apiKeyBodyLen     = 43 // 43 base62 characters carry 256 bits
	apiKeySumLen      = 6  // base62 of a CRC-32
	apiKeyLen         = len(APIKeyPrefix) + apiKeyBodyLen + apiKeySumLen
	apiKeyShownChars  = 8 // of the body, after the prefix
)

// KeyFormat is one kind of Keyplane key: a prefix, 43 random base62
// characters and a 6-character checksum of what precedes it. The kinds
// differ only in prefix and in the name their errors give, so one code
// makes, checks and shortens them all.
type KeyFormat struct {
	Prefix string
	name   string // what errors call a key of this format
}

// The key formats: Service Integrations' API keys (for /v2) and operator
// keys (for /operator).
var (
	APIKeyFormat      = KeyFormat{Prefix: APIKeyPrefix, name: "API key"}
	OperatorKeyFormat = KeyFormat{Prefix: OperatorKeyPrefix, name: "operator key"}
)

// Len is the length of every key of format f.
func (f KeyFormat) Len() int { return len(f.Prefix) + apiKeyBodyLen + apiKeySumLen }

// New makes a key of format f from r's randomness.
func (f KeyFormat) New(r io.Reader) (string, error) {
	body, err := randomBase62(r, apiKeyBodyLen)
	if err != nil {
		return "", err
	}
	k := f.Prefix + body
	sum := apiKeyChecksum(k)
	return k + string(sum[:]), nil
}

// Check tells whether key has the shape and checksum of format f. It says
// nothing of whether the key exists.
func (f KeyFormat) Check(key string) error {
	if !strings.HasPrefix(key, f.Prefix) || len(key) != f.Len() {
		return Errorf(CodeUnauthorized, "Authorization: not a Keyplane %s (%s…)", f.name, f.Prefix)
	}
	for i := len(f.Prefix); i < len(key); i++ {
		if !isBase62[key[i]] {
			return Errorf(CodeUnauthorized, "Authorization: not a Keyplane %s (%s…)", f.name, f.Prefix)
		}
	}
	if sum := apiKeyChecksum(key[:len(key)-apiKeySumLen]); string(sum[:]) != key[len(key)-apiKeySumLen:] {
		return Errorf(CodeUnauthorized, "Authorization: %s checksum does not match (mistyped or truncated key)", f.name)
	}
	return nil
}

// ShownPrefix is the part of a key of format f that lists may show.
func (f KeyFormat) ShownPrefix(key string) string {
	if n := len(f.Prefix) + apiKeyShownChars; len(key) >= n {
		return key[:n]
	}
	return key
}

// MaxAPIKeyExpiry is the latest expiry a key made at now may have: one year.
func MaxAPIKeyExpiry(now time.Time) time.Time { return now.AddDate(1, 0, 0) }

// ExpiryClockSlack is how much earlier than the check a caller may have
// read its clock when it turned a lifetime into an expiry: the time the
// request takes to arrive. Without it the documented minimum lifetime
// (keyplane admin create-integration --expires-in 1m, which computes
// now + 1m) would be refused every time, being checked a moment later.
const ExpiryClockSlack = 5 * time.Second

// ValidateAPIKeyExpiry checks the expiry of a new key: a lifetime of at
// least MinAPIKeyTTL (less ExpiryClockSlack, see there) and at most a year.
func ValidateAPIKeyExpiry(expires, now time.Time) error {
	if expires.Before(now.Add(MinAPIKeyTTL - ExpiryClockSlack)) {
		return Errorf(CodeInvalid, "expiry: must be at least one minute ahead")
	}
	if expires.After(MaxAPIKeyExpiry(now)) {
		return Errorf(CodeInvalid, "expiry: at most one year ahead (API keys live one year at most)")
	}
	return nil
}

// NewAPIKey makes a key: si_, 43 random base62 characters, and a 6-character
// checksum of what precedes it, so scanners and CheckAPIKey can tell a real
// key from a typo without a database.
func NewAPIKey(r io.Reader) (string, error) { return APIKeyFormat.New(r) }

// apiKeyChecksum is the base62 CRC-32 (IEEE) of s. It reads the string in
// place: the check runs on every request, and crc32's own entry points
// would copy the key to the heap.
func apiKeyChecksum(s string) [apiKeySumLen]byte {
	n := ^uint32(0)
	for i := range len(s) {
		n = crc32IEEE[byte(n)^s[i]] ^ n>>8
	}
	n = ^n
	var b [apiKeySumLen]byte
	for i := apiKeySumLen - 1; i >= 0; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	return b
}

var crc32IEEE = crc32.MakeTable(crc32.IEEE)

// isBase62 tells the characters a key's body may hold.
var isBase62 = func() (t [256]bool) {
	for i := range len(base62) {
		t[base62[i]] = true
	}
	return t
}()

// CheckAPIKey tells whether key has the shape and checksum of a Keyplane
// API key. It says nothing of whether the key exists.
func CheckAPIKey(key string) error { return APIKeyFormat.Check(key) }

// HashAPIKey is what is stored of a key, of either format. Keys carry 256 random bits, so a
// fast hash is enough: no dictionary can reach them.
func HashAPIKey(key string) [sha256.Size]byte {
	return sha256.Sum256([]byte(key))
}

// APIKeyShownPrefix is the part of a key lists may show.
func APIKeyShownPrefix(key string) string { return APIKeyFormat.ShownPrefix(key) }

// ValidateIntegration checks a new integration's name and rows.
func ValidateIntegration(name string, grants []Grant) error {
	var msgs []string
	if m := ValidateName("name", name); m != "" {
		msgs = append(msgs, m)
	}
	if len(grants) == 0 {
		msgs = append(msgs, "grants: at least one permission row is required")
	}
	seen := map[Grant]bool{}
	for _, g := range grants {
		if err := g.Validate(); err != nil {
			msgs = append(msgs, ErrorMessages(err)...)
		} else if !forIntegrations(g.Resource) {
			msgs = append(msgs, "grant "+g.String()+": "+g.Resource.Label()+" are managed by people in the Admin Portal; no Service Integration may hold this row")
		}
		if seen[g] {
			msgs = append(msgs, "grant "+g.String()+": given twice")
		}
		seen[g] = true
	}
	return Invalid(msgs...)
}

// Rolling a key: the new key works at once, the old one for an overlap.
const (
	DefaultRollOverlap = 24 * time.Hour
	MaxRollOverlap     = 30 * 24 * time.Hour
)

// RollOverlapEnd is when an old key rolled at now with overlap stops: now
// + overlap, but never past its own expiry. An overlap of 0 stops it at
// once; one beyond MaxRollOverlap or below 0 is refused.
func RollOverlapEnd(old APIKey, now time.Time, overlap time.Duration) (time.Time, error) {
	if overlap < 0 || overlap > MaxRollOverlap {
		return time.Time{}, Errorf(CodeInvalid, "overlap: from 0 (the old key stops at once) to 30 days, not %s", FormatLifetime(overlap))
	}
	end := now.Add(overlap)
	if old.ExpiresAt.Before(end) {
		end = old.ExpiresAt
	}
	return end, nil
}
