// Package keyplane holds Keyplane's domain: accounts, apps, keysets and
// their configuration and secret keys, Service Integrations with their API
// keys and permission rows, and the pure rules over them. It imports only the
// standard library; storage and transports live in their own packages.
package keyplane

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Account owns apps, keysets and Service Integrations. Every request acts
// inside exactly one account, the one its credential belongs to.
type Account struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	// Partner is set by an operator: only partner accounts may manage OEM
	// customers.
	Partner bool
	// DisabledAt is when an operator disabled the account, nil while it is
	// enabled. A disabled account keeps everything it holds; only its
	// credentials (API keys, portal sign-ins and sessions) are refused.
	DisabledAt *time.Time
}

// Disabled tells whether an operator has disabled the account.
func (a Account) Disabled() bool { return a.DisabledAt != nil }

// State is the account's state as the admin commands show it: enabled or
// disabled.
func (a Account) State() string {
	if a.Disabled() {
		return "disabled"
	}
	return "enabled"
}

// DefaultAccountName names the account a new install starts with.
const DefaultAccountName = "Default account"

// AccountDisabledError is the refusal of every credential of a disabled
// account. It names the account and the reason, so whoever holds a key
// knows it is neither wrong nor short of a permission row.
func AccountDisabledError(id int64) *Error {
	return Errorf(CodeForbidden, "account %d is disabled: its API keys and sign-ins are refused until an operator enables it again", id)
}

// App groups keysets.
type App struct {
	ID        int64
	AccountID int64
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// KeysetType is a keyset's environment.
type KeysetType string

// Keyset types.
const (
	KeysetTesting    KeysetType = "testing"
	KeysetProduction KeysetType = "production"
)

// DefaultKeysetName names a keyset created without a name.
const DefaultKeysetName = "Default Keyset"

// Keyset is a set of publish, subscribe and secret keys with its feature
// configuration, inside an app.
type Keyset struct {
	ID           int64
	AccountID    int64
	AppID        int64
	Name         string
	Type         KeysetType
	PublishKey   string
	SubscribeKey string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version counts the changes of the keyset's name, type and
	// configuration, from 1: the ETag of the keyset and its configuration.
	Version int64
}

// Target is where k sits in its account, for authorization.
func (k Keyset) Target() Target { return Target{AppID: k.AppID, KeysetID: k.ID} }

// ValidateName checks a display name of an app, keyset or integration;
// field is the name the message uses ("name", "keyset.name").
func ValidateName(field, name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return field + ": required, and not only spaces"
	case utf8.RuneCountInString(name) > 255:
		return field + ": at most 255 characters"
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return field + ": must not contain control characters"
	}
	if i := strings.IndexFunc(name, invisible); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Sprintf("%s: must not contain invisible or text-direction characters (U+%04X)", field, r)
	}
	return ""
}

// invisible tells the characters a name may not hold, since they let one
// name pass for another in a list: format characters (Unicode category Cf:
// zero-width spaces and joiners, the bidirectional overrides and
// isolates, the byte-order mark) and the line and paragraph separators
// (Zl, Zp).
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// ValidateKeysetType checks a keyset type.
func ValidateKeysetType(field string, t KeysetType) string {
	if t != KeysetTesting && t != KeysetProduction {
		return field + ": must be testing or production"
	}
	return ""
}

// Page is a window of a list: Page counts from 1, Limit is 1 to MaxLimit.
type Page struct {
	Page  int
	Limit int
}

// Page bounds of the list routes.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// Offset is the number of items before the page.
func (p Page) Offset() int { return (p.Page - 1) * p.Limit }

// Principal is who makes a request: a Service Integration acting through
// one of its API keys, or a portal user (UserID set), whose role maps to
// the same grants (RoleGrants), so one authorization path serves both.
type Principal struct {
	AccountID       int64
	IntegrationID   int64
	IntegrationName string
	KeyID           int64
	// UserID, UserEmail and Role are set for a portal user.
	UserID    int64
	UserEmail string
	Role      Role
	Grants    []Grant
	// SSO is set for a person whose session their account's provider
	// opened (single sign-on): it acts in that account only.
	SSO bool
	// Operator is set for the operator: `keyplane admin` on the database,
	// or an operator key on the operator API.
	Operator bool
	// Via, when set on the operator's principal, is the actor its changes
	// are recorded as: the operator key used on the operator API.
	Via Actor
	// Origin is where the request came from, recorded with every change it
	// makes: the front end that authenticated it sets it.
	Origin Origin
}

// Operator is the operator's principal in an account: it holds every
// Account-level row with the widest access offered, and is audited as
// OperatorActor.
func Operator(accountID int64) Principal {
	return Principal{AccountID: accountID, Operator: true, Grants: operatorGrants}
}

// InstallOperator is the operator acting on the install rather than in one
// account: creating accounts.
var InstallOperator = Operator(0)

var operatorGrants = func() []Grant {
	var out []Grant
	for _, d := range resourceTable {
		as := d.offered[LevelAccount]
		out = append(out, Grant{Level: LevelAccount, Resource: d.resource, Access: as[len(as)-1]})
	}
	return out
}()

// Actor is who a recorded change was made by.
type Actor struct {
	Type string `json:"type"` // "integration", "user" or "operator"
	ID   int64  `json:"id,omitempty"`
	Name string `json:"name"`
	// KeyID is the API key an integration used, or the operator key the
	// operator used on the operator API.
	KeyID int64 `json:"keyId,omitempty"`
	// Role is a user's role when the change was made.
	Role Role `json:"role,omitempty"`
	// Address and UserAgent are where a person's or an integration's
	// request came from (empty for the operator, and in events recorded
	// before they were kept). They are part of the stored actor, and so of
	// the event's hash.
	Address   string `json:"address,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// ActorUser is the Actor type of a portal user.
const ActorUser = "user"

// Actor returns the audit actor of p.
func (p Principal) Actor() Actor {
	if p.Operator {
		if p.Via.Type != "" {
			return p.Via
		}
		return OperatorActor
	}
	if p.UserID != 0 {
		return Actor{Type: ActorUser, ID: p.UserID, Name: p.UserEmail, Role: p.Role}.From(p.Origin)
	}
	return Actor{Type: "integration", ID: p.IntegrationID, Name: p.IntegrationName, KeyID: p.KeyID}.From(p.Origin)
}

// From is actor a acting from o: with the address (IPv4 as such, not mapped) and the
// User-Agent, clipped, of the request it made.
func (a Actor) From(o Origin) Actor {
	a.Address = ""
	if o.Addr.IsValid() {
		a.Address = o.Addr.Unmap().String()
	}
	a.UserAgent = ClipUserAgent(o.UserAgent)
	return a
}

// OperatorActor is the actor of changes made with `keyplane admin` on the
// database directly.
var OperatorActor = Actor{Type: "operator", Name: "keyplane admin"}

// SystemActor is the actor of what the server records by itself: the key
// notices of its periodic job.
var SystemActor = Actor{Type: "system", Name: "keyplane serve"}

// OperatorKeyActor is the actor of changes made through the operator API
// with operator key id, named name: still the operator (every operator
// rule applies), told apart from keyplane admin by the key.
func OperatorKeyActor(id int64, name string) Actor {
	return Actor{Type: OperatorActor.Type, Name: "operator key " + name, KeyID: id}
}

// AuditEvent records one change. Before and After are JSON documents with
// every secret removed; events chain by hash so tampering shows.
type AuditEvent struct {
	ID         int64
	AccountID  int64
	At         time.Time
	Type       string // PubNub's event names: AppCreated, KeysetConfigChanged, ApiKeyRevoked, …
	Actor      Actor
	TargetType string // "app", "keyset", "integration", "api-key"
	TargetID   int64
	Before     []byte // JSON or nil
	After      []byte // JSON or nil
	PrevHash   []byte
	Hash       []byte
}

// Audit event types, PubNub's names where PubNub has one.
const (
	EventAppCreated          = "AppCreated"
	EventAppRenamed          = "AppRenamed"
	EventAppDeleted          = "AppDeleted"
	EventKeysetCreated       = "KeysetCreated"
	EventKeysetRenamed       = "KeysetRenamed"
	EventKeysetTypeChanged   = "KeysetTypeChanged"
	EventKeysetDeleted       = "KeysetDeleted"
	EventKeysetConfigChanged = "KeysetConfigChanged"
	// EventPushCredentialsUploaded records an APNs or FCM credential file
	// uploaded (Keyplane's name): its kind and name, never its content.
	EventPushCredentialsUploaded   = "PushCredentialsUploaded"
	EventSecretKeyRotated          = "SecretKeyRotated"
	EventSecretKeyExpiryChanged    = "SecretKeyExpirationChanged"
	EventSecretKeyDeleted          = "SecretKeyDeleted"
	EventServiceIntegrationCreated = "ServiceIntegrationCreated"
	EventApiKeyCreated             = "ApiKeyCreated"
	EventApiKeyRevoked             = "ApiKeyRevoked"
	EventServiceIntegrationDeleted = "ServiceIntegrationDeleted"
	EventUserAccessGranted         = "UserAccountAccessGranted"
	EventUserAccessRevoked         = "UserAccountAccessRevoked"
	EventUserPasswordChanged       = "UserPasswordChanged"
	EventUserRoleAdded             = "UserRoleAdded"
	// EventUserSessionsEnded records an Owner or Admin signing a member
	// out of every session in the account (Keyplane's name).
	EventUserSessionsEnded = "UserSessionsEnded"
	// EventSignInSucceeded and EventSignInFailed record a password
	// sign-in, with the client's address and User-Agent (Keyplane's names).
	EventSignInSucceeded = "SignInSucceeded"
	EventSignInFailed    = "SignInFailed"
	// Keyplane's names for the e-mail flows: an invitation sent (or sent
	// again), accepted or revoked, and a password reset by its link.
	EventInvitationSent     = "InvitationSent"
	EventInvitationAccepted = "InvitationAccepted"
	EventInvitationRevoked  = "InvitationRevoked"
	EventUserPasswordReset  = "UserPasswordReset"
	// EventPasswordResetRequested records a reset link mailed at a
	// person's request, with the client's address and User-Agent.
	EventPasswordResetRequested = "PasswordResetRequested"
	// The account's own lifecycle (Keyplane's names): created, renamed,
	// disabled and enabled by the operator; renamed also by its Owner.
	EventAccountCreated  = "AccountCreated"
	EventAccountRenamed  = "AccountRenamed"
	EventAccountDisabled = "AccountDisabled"
	EventAccountEnabled  = "AccountEnabled"
	// Operator keys (Keyplane's names), made and revoked by the operator.
	// They belong to no account: their events form the install's own
	// chain, under account id 0, which no account's API reads.
	EventOperatorKeyCreated = "OperatorKeyCreated"
	EventOperatorKeyRevoked = "OperatorKeyRevoked"
	// Key lifecycle (Keyplane's names): a key rolled to a new one (the
	// target is the old key; the new one has its ApiKeyCreated), an
	// integration suspended, resumed or given other allowed networks, and
	// the account's key policy changed.
	EventApiKeyRolled                      = "ApiKeyRolled"
	EventServiceIntegrationSuspended       = "ServiceIntegrationSuspended"
	EventServiceIntegrationResumed         = "ServiceIntegrationResumed"
	EventServiceIntegrationNetworksChanged = "ServiceIntegrationNetworksChanged"
	EventAccountKeyPolicyChanged           = "AccountKeyPolicyChanged"
	// Notices, recorded by the server itself (SystemActor) when a key
	// crosses one of its account's notice thresholds: so many days before
	// it expires, or unused for UnusedNoticeAfter.
	EventApiKeyExpiryNotice = "ApiKeyExpiryNotice"
	EventApiKeyUnusedNotice = "ApiKeyUnusedNotice"
)
