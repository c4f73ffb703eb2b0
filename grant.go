package keyplane

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Level is the scope a permission row applies at. Rows inherit downward:
// an Account row covers every app and keyset of the account, an App row
// covers that app and all its keysets, a Keyset row covers one keyset.
type Level string

// The levels of PubNub's permission model.
const (
	LevelAccount Level = "account"
	LevelApp     Level = "app"
	LevelKeyset  Level = "keyset"
)

// Resource is what a permission row lets its holder operate on.
type Resource string

// The PubNub resources of the permission model.
const (
	ResourceApp         Resource = "app"
	ResourceKeyset      Resource = "keyset"
	ResourceSecretKey   Resource = "secret-key"
	ResourceUsage       Resource = "usage"
	ResourceOEMCustomer Resource = "oem-customer"
	// ResourceUsageReport is Keyplane's own: the right to report usage
	// counters from the data plane (POST /v2/usage-metrics), offered only as
	// an Account-level Write row, so a reporter's key can read nothing.
	ResourceUsageReport Resource = "usage-report"
	// ResourceAuditLog is Keyplane's own resource (PubNub shows its audit
	// log in the portal only): reading the account's audit events.
	ResourceAuditLog Resource = "audit-log"
	// ResourceIntegration and ResourceUser are managing Service
	// Integrations (and their API keys) and the account's people: Keyplane's
	// own, held by people's roles and never by a key (PubNub has no API for
	// either, and a key that could make keys would outlive any limit on it).
	ResourceIntegration Resource = "integration"
	ResourceUser        Resource = "user"
)

// Access is what a row allows on its resource.
type Access string

// Access options. Only Keyplane's usage-report resource offers write
// without read; for every PubNub resource the word is parsed so that a grant
// spelled that way gets a precise refusal.
const (
	AccessRead      Access = "read"
	AccessWrite     Access = "write"
	AccessReadWrite Access = "read-write"
)

// allows reports whether a row with access a satisfies a need for n.
func (a Access) allows(n Access) bool {
	return a == n || a == AccessReadWrite
}

var accessLabels = map[Access]string{
	AccessRead:      "Read",
	AccessWrite:     "Write",
	AccessReadWrite: "Read & write",
}

// Grant is one permission row of a Service Integration: a level (with the
// app or keyset it names below Account), a resource and an access.
type Grant struct {
	Level    Level
	TargetID int64 // the app (LevelApp) or keyset (LevelKeyset) the row names; 0 at LevelAccount
	Resource Resource
	Access   Access
}

// String renders g in the grant syntax ParseGrant reads, e.g. "app/12:keyset:read-write".
func (g Grant) String() string {
	scope := string(g.Level)
	if g.Level != LevelAccount {
		scope += "/" + strconv.FormatInt(g.TargetID, 10)
	}
	return scope + ":" + string(g.Resource) + ":" + string(g.Access)
}

// Label renders g as people read it, e.g. "App 12 · Keyset · Read & write".
func (g Grant) Label() string {
	return scopeLabel(g.Level, g.TargetID) + " · " + resourceLabels[g.Resource] + " · " + accessLabels[g.Access]
}

func scopeLabel(l Level, id int64) string {
	switch l {
	case LevelApp:
		return "App " + strconv.FormatInt(id, 10)
	case LevelKeyset:
		return "Keyset " + strconv.FormatInt(id, 10)
	}
	return "Account"
}

// MarshalText implements encoding.TextMarshaler with the grant syntax.
func (g Grant) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseGrant.
func (g *Grant) UnmarshalText(b []byte) error {
	v, err := ParseGrant(string(b))
	if err != nil {
		return err
	}
	*g = v
	return nil
}

var accessSpellings = map[string]Access{
	"read": AccessRead, "r": AccessRead,
	"write": AccessWrite, "w": AccessWrite,
	"read-write": AccessReadWrite, "rw": AccessReadWrite,
}

// ParseGrant reads LEVEL:RESOURCE:ACCESS, where LEVEL is account, app/ID or
// keyset/ID, RESOURCE one of app, keyset, secret-key, usage, oem-customer,
// audit-log and ACCESS read (r), write (w) or read-write (rw). Only rows
// PubNub offers (and Keyplane's account-level audit-log read) are
// accepted; a refusal says what is allowed.
func ParseGrant(s string) (Grant, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return Grant{}, Errorf(CodeInvalid, "grant %q: want LEVEL:RESOURCE:ACCESS, e.g. account:keyset:read-write or app/12:keyset:read", clip(s))
	}
	var g Grant
	scope, id, hasID := strings.Cut(parts[0], "/")
	switch Level(scope) {
	case LevelAccount:
		if hasID {
			return Grant{}, Errorf(CodeInvalid, "grant %q: the account level names no id (use account, not account/ID)", clip(s))
		}
		g.Level = LevelAccount
	case LevelApp, LevelKeyset:
		n, err := strconv.ParseInt(id, 10, 64)
		if !hasID || err != nil || n < 1 {
			return Grant{}, Errorf(CodeInvalid, "grant %q: level must be account, app/ID or keyset/ID with a positive numeric ID", clip(s))
		}
		g.Level, g.TargetID = Level(scope), n
	default:
		return Grant{}, Errorf(CodeInvalid, "grant %q: level must be account, app/ID or keyset/ID", clip(s))
	}
	g.Resource = Resource(parts[1])
	if _, ok := resourceLabels[g.Resource]; !ok {
		return Grant{}, Errorf(CodeInvalid, "grant %q: resource must be one of %s", clip(s), resourceNames)
	}
	a, ok := accessSpellings[parts[2]]
	if !ok {
		return Grant{}, Errorf(CodeInvalid, "grant %q: access must be read (r), write (w) or read-write (rw)", clip(s))
	}
	g.Access = a
	return g, g.Validate()
}

// Validate checks g against PubNub's table of available permissions.
func (g Grant) Validate() error {
	accesses, ok := offered[g.Level][g.Resource]
	if !ok {
		levels := []string{}
		for _, l := range []Level{LevelAccount, LevelApp, LevelKeyset} {
			if _, ok := offered[l][g.Resource]; ok {
				levels = append(levels, string(l))
			}
		}
		return Errorf(CodeInvalid, "grant %q: %s is not offered at %s level (only at: %s)",
			g.String(), resourceLabels[g.Resource], g.Level, strings.Join(levels, ", "))
	}
	if !slices.Contains(accesses, g.Access) {
		allowed := []string{}
		for _, a := range accesses {
			allowed = append(allowed, string(a))
		}
		return Errorf(CodeInvalid, "grant %q: %s at %s level offers only %s access",
			g.String(), resourceLabels[g.Resource], g.Level, strings.Join(allowed, " or "))
	}
	if g.Level != LevelAccount && g.TargetID < 1 {
		return Errorf(CodeInvalid, "grant %q: an %s-level row must name its %s", g.String(), g.Level, g.Level)
	}
	return nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// Permission is what one operation needs: an access on a resource. Where it
// is needed comes from the Target the operation acts on.
type Permission struct {
	Resource Resource
	Access   Access
}

// The rows managing Service Integrations and people take: resources held
// by people's roles and never by a key.
var (
	ReadIntegrations   = Permission{Resource: ResourceIntegration, Access: AccessRead}
	ManageIntegrations = Permission{Resource: ResourceIntegration, Access: AccessReadWrite}
	ReadUsers          = Permission{Resource: ResourceUser, Access: AccessRead}
	ManageUsers        = Permission{Resource: ResourceUser, Access: AccessReadWrite}
)

// Target locates the object an operation acts on in the account's
// hierarchy. The zero Target is the account itself; an app has AppID; a
// keyset has KeysetID and, when the keyset exists, the AppID that holds it.
type Target struct {
	AppID    int64
	KeysetID int64
}

// Covers reports whether g grants p on t.
func (g Grant) Covers(p Permission, t Target) bool {
	if g.Resource != p.Resource || !g.Access.allows(p.Access) {
		return false
	}
	switch g.Level {
	case LevelAccount:
		return true
	case LevelApp:
		return t.AppID != 0 && t.AppID == g.TargetID
	case LevelKeyset:
		return t.KeysetID != 0 && t.KeysetID == g.TargetID
	}
	return false
}

// Authorize returns nil when grants give every one of needs on t, and
// otherwise a Forbidden error naming each missing row at the narrowest level
// of t. The answer depends only on the grants and the ids the caller named,
// so it never tells whether t exists.
func Authorize(grants []Grant, t Target, needs ...Permission) error {
	var missing []string
	for _, p := range needs {
		if !slices.ContainsFunc(grants, func(g Grant) bool { return g.Covers(p, t) }) {
			missing = append(missing, "missing permission: "+MissingRow(p, t).Label())
		}
	}
	if missing != nil {
		return &Error{Code: CodeForbidden, Messages: missing}
	}
	return nil
}

// MissingRow is the narrowest row that would grant p on t: the one a
// refusal names, and the one to add to a new integration.
func MissingRow(p Permission, t Target) Grant {
	g := Grant{Level: LevelAccount, Resource: p.Resource, Access: p.Access}
	if p.Access == AccessWrite && !slices.Contains(offered[LevelAccount][p.Resource], AccessWrite) {
		g.Access = AccessReadWrite // the only row PubNub offers that writes
	}
	if _, ok := offered[LevelKeyset][p.Resource]; ok && t.KeysetID != 0 {
		g.Level, g.TargetID = LevelKeyset, t.KeysetID
	} else if _, ok := offered[LevelApp][p.Resource]; ok && t.AppID != 0 {
		g.Level, g.TargetID = LevelApp, t.AppID
	}
	return g
}

// Visibility is the part of an account a list may show: everything, or the
// union of some apps (and their keysets) and some keysets.
type Visibility struct {
	All       bool
	AppIDs    []int64
	KeysetIDs []int64
	// InApp, when not 0, narrows a keyset list to that app's keysets: a
	// filter the caller asked for, applied on top of what the grants show,
	// so it can never show more than they do.
	InApp int64
}

// Visible returns what grants let their holder list with access p. ok is
// false when no row gives p at any level, which is a refusal rather than an
// empty list.
func Visible(grants []Grant, p Permission) (v Visibility, ok bool) {
	for _, g := range grants {
		if g.Resource != p.Resource || !g.Access.allows(p.Access) {
			continue
		}
		ok = true
		switch g.Level {
		case LevelAccount:
			v.All = true
		case LevelApp:
			v.AppIDs = append(v.AppIDs, g.TargetID)
		case LevelKeyset:
			v.KeysetIDs = append(v.KeysetIDs, g.TargetID)
		}
	}
	if v.All {
		v.AppIDs, v.KeysetIDs = nil, nil
	}
	return v, ok
}

// Operation is one route of the API with the permissions it needs and the
// level of the object it acts on. Operations is the single table both the
// authorization code and the OpenAPI contract are checked against.
type Operation struct {
	ID     string // the OpenAPI operationId
	Method string
	Path   string
	On     Level // Account: the account itself (create, list); App or Keyset: one object
	Needs  []Permission
	// Query names the query parameters the operation reads; any other is
	// refused with a 400 naming it, so that a typo (pgae=2) or a filter the
	// route does not have never passes for an answer to the question asked.
	// The contract's parameters are checked against it.
	Query []string
}

func read(r Resource) Permission  { return Permission{r, AccessRead} }
func write(r Resource) Permission { return Permission{r, AccessWrite} }

// The operations of the Admin API, by the names of PubNub's route catalogue.
var (
	OpListApps     = Operation{"listApps", "GET", "/v2/apps", LevelAccount, []Permission{read(ResourceApp)}, []string{"page", "limit"}}
	OpCreateApp    = Operation{"createApp", "POST", "/v2/apps", LevelAccount, []Permission{write(ResourceApp)}, nil}
	OpGetApp       = Operation{"getApp", "GET", "/v2/apps/{appId}", LevelApp, []Permission{read(ResourceApp)}, nil}
	OpUpdateApp    = Operation{"updateApp", "PATCH", "/v2/apps/{appId}", LevelApp, []Permission{write(ResourceApp)}, nil}
	OpDeleteApp    = Operation{"deleteApp", "DELETE", "/v2/apps/{appId}", LevelApp, []Permission{write(ResourceApp)}, nil}
	OpListKeysets  = Operation{"listKeysets", "GET", "/v2/keysets", LevelAccount, []Permission{read(ResourceKeyset)}, []string{"page", "limit", "appId"}}
	OpCreateKeyset = Operation{"createKeyset", "POST", "/v2/keysets", LevelApp, []Permission{write(ResourceKeyset), read(ResourceSecretKey)}, nil}
	OpGetKeyset    = Operation{"getKeyset", "GET", "/v2/keysets/{keysetId}", LevelKeyset, []Permission{read(ResourceKeyset)}, nil}
	OpUpdateKeyset = Operation{"updateKeyset", "PATCH", "/v2/keysets/{keysetId}", LevelKeyset, []Permission{write(ResourceKeyset)}, nil}
	OpDeleteKeyset = Operation{"deleteKeyset", "DELETE", "/v2/keysets/{keysetId}", LevelKeyset, []Permission{write(ResourceKeyset)}, nil}
	OpGetConfig    = Operation{"getKeysetConfig", "GET", "/v2/keysets/{keysetId}/config", LevelKeyset, []Permission{read(ResourceKeyset)}, nil}
	OpUpdateConfig = Operation{"updateKeysetConfig", "PATCH", "/v2/keysets/{keysetId}/config", LevelKeyset, []Permission{write(ResourceKeyset)}, nil}
	// The push credential uploads change the keyset's configuration, and
	// need what changing it needs.
	OpUploadAPNs      = Operation{"uploadApnsCredentials", "POST", "/v2/keysets/{keysetId}/config/apns", LevelKeyset, []Permission{write(ResourceKeyset)}, nil}
	OpUploadFCM       = Operation{"uploadFcmCredentials", "POST", "/v2/keysets/{keysetId}/config/fcm", LevelKeyset, []Permission{write(ResourceKeyset)}, nil}
	OpListSecretKeys  = Operation{"listSecretKeys", "GET", "/v2/keysets/{keysetId}/secret-keys", LevelKeyset, []Permission{read(ResourceSecretKey)}, []string{"activeOnly"}}
	OpRotateSecretKey = Operation{"rotateSecretKey", "POST", "/v2/keysets/{keysetId}/secret-keys", LevelKeyset, []Permission{write(ResourceSecretKey)}, nil}
	OpUpdateSecretKey = Operation{"updateSecretKeyExpiration", "PATCH", "/v2/keysets/{keysetId}/secret-keys/{secretKeyPrefix}", LevelKeyset, []Permission{write(ResourceSecretKey)}, nil}
	OpDeleteSecretKey = Operation{"deleteSecretKey", "DELETE", "/v2/keysets/{keysetId}/secret-keys/{secretKeyPrefix}", LevelKeyset, []Permission{write(ResourceSecretKey)}, nil}
	// OpGetUsage acts on the entity its query names: the account total
	// needs an Account row; an app's or keyset's usage, a row at that level
	// or above.
	OpGetUsage    = Operation{"getUsageMetrics", "GET", "/v2/usage-metrics", LevelAccount, []Permission{read(ResourceUsage)}, []string{"entityType", "entityId", "from", "to", "metrics"}}
	OpReportUsage = Operation{"reportUsageMetrics", "POST", "/v2/usage-metrics", LevelAccount, []Permission{write(ResourceUsageReport)}, nil}
)

// Operations lists every operation of the API.
var Operations = []Operation{
	OpListApps, OpCreateApp, OpGetApp, OpUpdateApp, OpDeleteApp,
	OpListKeysets, OpCreateKeyset, OpGetKeyset, OpUpdateKeyset, OpDeleteKeyset,
	OpGetConfig, OpUpdateConfig, OpUploadAPNs, OpUploadFCM,
	OpListSecretKeys, OpRotateSecretKey, OpUpdateSecretKey, OpDeleteSecretKey,
	OpGetUsage, OpReportUsage,
	OpListAuditEvents, OpGetMe, OpCheckAuthz,
	OpCreateCustomer, OpListCustomers, OpGetCustomer, OpUpdateCustomer, OpAssignCustomerKeysets,
	OpListCustomerApps, OpListCustomerKeysets, OpGetKeysetCustomer,
}

// String names the operation for messages, e.g. "GET /v2/apps".
func (o Operation) String() string { return fmt.Sprintf("%s %s", o.Method, o.Path) }

// Label names the resource as PubNub's portal does, e.g. "Usage & Monitoring".
func (r Resource) Label() string { return resourceLabels[r] }

// Label names the access as PubNub's portal does, e.g. "Read & write".
func (a Access) Label() string { return accessLabels[a] }

// Label names the level, e.g. "Account".
func (l Level) Label() string {
	switch l {
	case LevelApp:
		return "App"
	case LevelKeyset:
		return "Keyset"
	}
	return "Account"
}

// Offered lists every row a Service Integration may hold: PubNub's
// "Available permissions" table and Keyplane's own rows, level by level
// (Account, App, Keyset), without the app or keyset a row below Account
// names: what a form may offer, and nothing else.
func Offered() []Grant {
	var out []Grant
	for _, l := range []Level{LevelAccount, LevelApp, LevelKeyset} {
		for _, d := range resourceTable {
			if d.forIntegrations {
				for _, a := range d.offered[l] {
					out = append(out, Grant{Level: l, Resource: d.resource, Access: a})
				}
			}
		}
	}
	return out
}
