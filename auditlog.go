package keyplane

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpListAuditEvents reads the caller's account's audit trail. It needs the
// Account-level "Audit log" row, Keyplane's own resource: PubNub shows its
// audit log in the portal only.
var OpListAuditEvents = Operation{"listAuditEvents", "GET", "/v2/audit-events", LevelAccount, []Permission{read(ResourceAuditLog)}, []string{"from", "to", "type", "actor", "target", "limit", "cursor"}}

// Audit list bounds.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 100
)

// AuditQuery selects audit events of one account, oldest first. Zero fields
// do not filter.
type AuditQuery struct {
	AccountID int64
	From, To  time.Time // From inclusive, To exclusive
	Types     []string  // any of these event types
	// ActorType and ActorID select who made the change: "integration" (with
	// an id or not), "operator", "user" (the portal's).
	ActorType string
	ActorID   int64
	// TargetType and TargetID select what changed: "app", "keyset",
	// "integration", "api-key", "customer", "account".
	TargetType string
	TargetID   int64
	// After is the id of the last event already seen (from a cursor): an
	// id in the account's own sequence.
	After int64
	Limit int
	// NewestFirst lists the newest events first (the portal's order);
	// After then names the last event seen from the newest end, and the
	// page holds events older than it.
	NewestFirst bool
}

var (
	refRE = regexp.MustCompile(`^([a-z][a-z-]{0,31})(?:/([1-9][0-9]{0,18}))?$`)
)

// EventTypes lists every audit event type, the names the type filter
// accepts: a name outside it can never match, so it is refused rather than
// answered with an empty list.
var EventTypes = []string{
	EventAppCreated, EventAppRenamed, EventAppDeleted,
	EventKeysetCreated, EventKeysetRenamed, EventKeysetTypeChanged, EventKeysetDeleted, EventKeysetConfigChanged,
	EventPushCredentialsUploaded,
	EventSecretKeyRotated, EventSecretKeyExpiryChanged, EventSecretKeyDeleted,
	EventServiceIntegrationCreated, EventServiceIntegrationDeleted, EventApiKeyCreated, EventApiKeyRevoked,
	EventUserAccessGranted, EventUserAccessRevoked, EventUserRoleAdded, EventUserPasswordChanged,
	EventInvitationSent, EventInvitationAccepted, EventInvitationRevoked, EventUserPasswordReset, EventPasswordResetRequested,
	EventOemCustomerCreated, EventOemCustomerUpdated, EventOemCustomerKeysetsAssigned,
	EventAccountPartnerChanged,
	EventAccountCreated, EventAccountRenamed, EventAccountDisabled, EventAccountEnabled,
	EventOperatorKeyCreated, EventOperatorKeyRevoked,
	EventApiKeyRolled, EventServiceIntegrationSuspended, EventServiceIntegrationResumed,
	EventServiceIntegrationNetworksChanged, EventAccountKeyPolicyChanged,
	EventApiKeyExpiryNotice, EventApiKeyUnusedNotice,
	EventWebhookCreated, EventWebhookUpdated, EventWebhookDeleted,
	EventWebhookSecretRotated, EventWebhookDisabled, EventWebhookTested, EventWebhookRedelivered,
	EventSecondFactorEnrolled, EventSecondFactorRemoved, EventRecoveryCodeUsed, EventRecoveryCodesRegenerated,
	EventSignInPolicyChanged, EventUserSessionsEnded, EventPasskeySignIn, EventSignInSucceeded, EventSignInFailed,
	EventSSOConfigChanged, EventSSOConfigRemoved, EventSSOSignIn, EventSSOSignInRefused, EventSSOBreakGlass,
}

// The kinds of actor and target an audit event records, for the actor and
// target filters. The operator (keyplane admin) has no id.
var (
	AuditActorTypes  = []string{"integration", "operator", ActorUser, "system"}
	AuditTargetTypes = []string{"account", "api-key", "app", "customer", "integration", "invitation", "keyset", ActorUser, WebhookTarget}
)

// ParseAuditRef reads an actor or target filter (field is "actor" or
// "target"): TYPE or TYPE/ID, e.g. "integration/12", "operator",
// "keyset/7". A TYPE no event records is refused with the ones that exist,
// since it could only ever answer an empty list.
func ParseAuditRef(field, s string) (typ string, id int64, err error) {
	types := AuditTargetTypes
	want := "TYPE or TYPE/ID with TYPE one of " + strings.Join(AuditTargetTypes, ", ") + " (e.g. keyset/12)"
	if field == "actor" {
		types = AuditActorTypes
		want = "operator, system, user, user/ID, integration or integration/ID"
	}
	bad := Errorf(CodeInvalid, "%s: want %s, not %q", field, want, clip(s))
	m := refRE.FindStringSubmatch(s)
	if m == nil || !slices.Contains(types, m[1]) {
		return "", 0, bad
	}
	if m[2] != "" {
		if m[1] == "operator" {
			return "", 0, Errorf(CodeInvalid, "%s: operator (keyplane admin) has no id; want operator, not %q", field, clip(s))
		}
		if m[1] == "system" {
			return "", 0, Errorf(CodeInvalid, "%s: system (the server's own notices) has no id; want system, not %q", field, clip(s))
		}
		if id, err = strconv.ParseInt(m[2], 10, 64); err != nil {
			return "", 0, Errorf(CodeInvalid, "%s: id out of range", field)
		}
	}
	return m[1], id, nil
}

// ValidateEventTypes checks the event type filter values: each must be one
// of EventTypes. It names the first that is not, with the ones that are.
func ValidateEventTypes(types []string) string {
	for _, t := range types {
		if !slices.Contains(EventTypes, t) {
			return fmt.Sprintf("type: %q is not an event type; want one of %s", clip(t), strings.Join(EventTypes, ", "))
		}
	}
	return ""
}

// fingerprint is what a cursor is bound to: every filter of q but the
// position, so a cursor cannot be carried over to another question, which
// would skip or repeat events silently.
func (q AuditQuery) fingerprint() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d|%d|%d|%s|%s|%d|%s|%d", q.AccountID, q.From.UnixMilli(), q.To.UnixMilli(),
		strings.Join(q.Types, ","), q.ActorType, q.ActorID, q.TargetType, q.TargetID)
	if q.NewestFirst {
		// Only then, so that cursors made before the order existed
		// still read.
		b.WriteString("|newest")
	}
	sum := sha256.Sum256(b.Bytes())
	return sum[:8]
}

// auditCursorFormat is the first byte of a cursor. Format 2: ids count
// each account's events. A format-1 cursor held an install-wide id and
// would now name another position, so it is refused rather than read.
const auditCursorFormat = 2

// AuditCursor is the opaque cursor that continues q after event id. It
// names a position by the account's own event id, and ids only grow, so
// events recorded between two pages neither shift nor repeat what a later
// page holds; it carries nothing the page did not show (no install-wide
// number).
func (q AuditQuery) AuditCursor(after int64) string {
	var buf [17]byte
	buf[0] = auditCursorFormat
	binary.BigEndian.PutUint64(buf[1:9], uint64(after))
	copy(buf[9:], q.fingerprint())
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// ReadAuditCursor sets q.After from a cursor made by AuditCursor for the
// same filters.
func (q *AuditQuery) ReadAuditCursor(c string) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil || len(b) != 17 || b[0] != auditCursorFormat {
		return Errorf(CodeInvalid, "cursor: not a cursor this server made; pass nextCursor as it was answered")
	}
	if !bytes.Equal(b[9:], q.fingerprint()) {
		return Errorf(CodeInvalid, "cursor: made for other filters; send the same from, to, type, actor and target as the first page")
	}
	after := int64(binary.BigEndian.Uint64(b[1:9]))
	if after < 0 {
		return Errorf(CodeInvalid, "cursor: not a cursor this server made; pass nextCursor as it was answered")
	}
	q.After = after
	return nil
}

// ChainBreak is the first link of an account's audit chain that does not
// hold.
type ChainBreak struct {
	AccountID int64
	EventID   int64 // the event's id in its account
	Reason    string
}

// ChainVerifier walks one account's audit chain event by event, in id
// order, and remembers the first break. Each account's events form a chain
// of their own, numbered from 1, so an account verifies, and is exported,
// without anything of another's (ids shared across accounts told one
// account how busy the others were).
type ChainVerifier struct {
	n     int64
	prev  []byte
	last  int64
	Break *ChainBreak
}

// Add checks e against the events before it. stored is e's ActorType and
// ActorID as kept in their own columns (for filtering); they must agree
// with the sealed actor.
func (v *ChainVerifier) Add(e AuditEvent, actorType string, actorID int64) {
	v.n++
	if v.Break != nil {
		return
	}
	brk := func(format string, args ...any) {
		v.Break = &ChainBreak{AccountID: e.AccountID, EventID: e.ID, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case v.prev == nil && e.ID != 1:
		brk("the chain starts at event %d, not 1: earlier events are missing", e.ID)
	case v.prev != nil && e.ID != v.last+1:
		brk("event %d follows event %d: events in between are missing", e.ID, v.last)
	case !bytes.Equal(e.PrevHash, v.prevOrEmpty()):
		brk("its previous-hash %x is not the hash %x of event %d", short(e.PrevHash), short(v.prevOrEmpty()), v.last)
	case !bytes.Equal(e.ChainHash(), e.Hash):
		brk("its stored hash does not match its recorded fields: the event was changed after it was written")
	case actorType != e.Actor.Type || actorID != e.Actor.ID:
		brk("its actor columns (%s %d) disagree with its sealed actor (%s %d)", actorType, actorID, e.Actor.Type, e.Actor.ID)
	}
	v.prev, v.last = e.Hash, e.ID
}

func (v *ChainVerifier) prevOrEmpty() []byte {
	if v.prev == nil {
		return []byte{}
	}
	return v.prev
}

// Count is the number of events walked.
func (v *ChainVerifier) Count() int64 { return v.n }

// Head is the hash of the last event walked: write it down, and a later
// verification that ends on the same hash proves nothing before it changed.
func (v *ChainVerifier) Head() []byte { return v.prev }

// AccountChain is what walking one account's audit chain found.
type AccountChain struct {
	AccountID int64
	Events    int64
	Head      []byte // hash of the account's last event
	Break     *ChainBreak
}

// AuditChains walks the chains of every account at once: events of
// different accounts may come interleaved, each account's in id order.
type AuditChains struct {
	chains map[int64]*ChainVerifier
}

// Add checks e against the events of its account before it (see
// ChainVerifier.Add).
func (c *AuditChains) Add(e AuditEvent, actorType string, actorID int64) {
	if c.chains == nil {
		c.chains = map[int64]*ChainVerifier{}
	}
	v := c.chains[e.AccountID]
	if v == nil {
		v = &ChainVerifier{}
		c.chains[e.AccountID] = v
	}
	v.Add(e, actorType, actorID)
}

// Accounts reports every account walked, by account id.
func (c *AuditChains) Accounts() []AccountChain {
	out := make([]AccountChain, 0, len(c.chains))
	for id, v := range c.chains {
		out = append(out, AccountChain{AccountID: id, Events: v.Count(), Head: v.Head(), Break: v.Break})
	}
	slices.SortFunc(out, func(a, b AccountChain) int { return cmp.Compare(a.AccountID, b.AccountID) })
	return out
}

func short(b []byte) []byte {
	if len(b) > 8 {
		return b[:8]
	}
	return b
}

// AuditEventJSON is an audit event on the wire and in exports. Ids are
// strings, as on every other Keyplane route.
type AuditEventJSON struct {
	ID        string          `json:"id"`
	AccountID string          `json:"accountId"`
	At        string          `json:"at"`
	Type      string          `json:"type"`
	Actor     AuditActorJSON  `json:"actor"`
	Target    AuditTargetJSON `json:"target"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
	PrevHash  string          `json:"prevHash"`
	Hash      string          `json:"hash"`
}

// AuditActorJSON is who made a change.
type AuditActorJSON struct {
	Type  string  `json:"type"`
	ID    *string `json:"id"`
	Name  string  `json:"name"`
	KeyID *string `json:"keyId"`
	// Address and UserAgent: where the request came from, when known.
	Address   string `json:"address,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// AuditTargetJSON is what a change was made to.
type AuditTargetJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func optID(v int64) *string {
	if v == 0 {
		return nil
	}
	s := strconv.FormatInt(v, 10)
	return &s
}

func rawOrNull(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

// JSON renders e for the API and for exports.
func (e AuditEvent) JSON() AuditEventJSON {
	return AuditEventJSON{
		ID: strconv.FormatInt(e.ID, 10), AccountID: strconv.FormatInt(e.AccountID, 10),
		At: FormatTime(e.At), Type: e.Type,
		Actor: AuditActorJSON{Type: e.Actor.Type, ID: optID(e.Actor.ID), Name: e.Actor.Name, KeyID: optID(e.Actor.KeyID),
			Address: e.Actor.Address, UserAgent: e.Actor.UserAgent},
		Target: AuditTargetJSON{Type: e.TargetType, ID: strconv.FormatInt(e.TargetID, 10)},
		Before: rawOrNull(e.Before), After: rawOrNull(e.After),
		PrevHash: fmt.Sprintf("%x", e.PrevHash), Hash: fmt.Sprintf("%x", e.Hash),
	}
}
