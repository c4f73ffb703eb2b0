package keyplane

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a person may do in one of their accounts. Roles are not a
// second rule set: each maps onto the permission rows a Service
// Integration would hold (RoleGrants), checked by the same Authorize. The
// account-wide roles stand for Account-level rows; the scoped roles (App
// Admin / Viewer, Key Admin / Viewer, as PubNub's portal has them) for
// App- or Keyset-level rows on the apps or keysets chosen for them.
type Role string

// The portal roles of PubNub's Admin Portal that Keyplane offers.
const (
	// RoleOwner created the account: an Account Admin who cannot be removed.
	RoleOwner Role = "owner"
	// RoleAdmin manages everything in the account, Service Integrations and users included.
	RoleAdmin Role = "admin"
	// RoleViewer sees everything in the account and changes nothing.
	RoleViewer Role = "viewer"
	// RoleAppAdmin manages chosen apps, their keysets and secret keys.
	RoleAppAdmin Role = "app-admin"
	// RoleAppViewer sees chosen apps, their keysets and secret keys.
	RoleAppViewer Role = "app-viewer"
	// RoleKeyAdmin manages chosen keysets and their secret keys.
	RoleKeyAdmin Role = "key-admin"
	// RoleKeyViewer sees chosen keysets and their secret keys.
	RoleKeyViewer Role = "key-viewer"
)

// Roles lists the roles, account-wide ones first, each group most powerful first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleViewer, RoleAppAdmin, RoleAppViewer, RoleKeyAdmin, RoleKeyViewer}

// Label is the role's name as the portal shows it.
func (r Role) Label() string {
	switch r {
	case RoleOwner:
		return "Owner"
	case RoleAdmin:
		return "Account Admin"
	case RoleViewer:
		return "Account Viewer"
	case RoleAppAdmin:
		return "App Admin"
	case RoleAppViewer:
		return "App Viewer"
	case RoleKeyAdmin:
		return "Key Admin"
	case RoleKeyViewer:
		return "Key Viewer"
	}
	return string(r)
}

// Level is the level of the rows r stands for: Account for the
// account-wide roles, App or Keyset for the scoped ones, whose scope names
// apps or keysets.
func (r Role) Level() Level {
	switch r {
	case RoleAppAdmin, RoleAppViewer:
		return LevelApp
	case RoleKeyAdmin, RoleKeyViewer:
		return LevelKeyset
	}
	return LevelAccount
}

// Scoped reports whether r applies to chosen apps or keysets rather than
// the whole account.
func (r Role) Scoped() bool { return r.Level() != LevelAccount }

// writes reports whether r holds the widest access offered rather than Read.
func (r Role) writes() bool {
	return r == RoleOwner || r == RoleAdmin || r == RoleAppAdmin || r == RoleKeyAdmin
}

// ParseRole reads one of the role names of Roles.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", Errorf(CodeInvalid, "role: must be owner, admin, viewer, app-admin, app-viewer, key-admin or key-viewer")
}

// ValidateScope checks the apps and keysets given with role r: a role on
// apps needs at least one app and takes no keysets, a role on keysets the
// reverse, and an account-wide role takes neither. It returns one message
// per problem, naming the field (apps, keysets). Whether the ids exist in
// the account is for the operation to check, in its transaction.
func ValidateScope(r Role, apps, keysets []int64) []string {
	var msgs []string
	need := func(field, what string, ids []int64, wanted bool) {
		switch {
		case wanted && len(ids) == 0:
			msgs = append(msgs, fmt.Sprintf("%s: %s applies to chosen %s; choose at least one", field, r.Label(), what))
		case !wanted && len(ids) > 0:
			msgs = append(msgs, fmt.Sprintf("%s: %s takes no %s", field, r.Label(), what))
		}
		for _, id := range ids {
			if id < 1 {
				msgs = append(msgs, fmt.Sprintf("%s: %d is not an id", field, id))
				break
			}
		}
	}
	need("apps", "apps", apps, r.Level() == LevelApp)
	need("keysets", "keysets", keysets, r.Level() == LevelKeyset)
	return msgs
}

// RoleGrants are the permission rows role r stands for. An account-wide
// role: every Account-level row offered to roles (PubNub's, Keyplane's
// Audit log, and managing integrations and people), with the widest access
// offered for an Owner or Account Admin, and Read for an Account Viewer. A
// scoped role: on each app (App Admin / Viewer) or keyset (Key Admin /
// Viewer) of scope, every row offered at that level to roles (App, Keyset,
// Secret key and Usage on an app; Keyset, Secret key and Usage on a
// keyset), widest or Read likewise; never the Account-level ones (Audit
// log, OEM customers, integrations, people), which would reach beyond the
// chosen apps. A person's request is then authorized exactly as an
// integration holding these rows would be. Scope is ignored for an
// account-wide role.
func RoleGrants(r Role, scope ...int64) []Grant {
	l := r.Level()
	if l == LevelAccount {
		scope = []int64{0}
	}
	var out []Grant
	for _, id := range scope {
		for _, d := range resourceTable {
			accesses, ok := d.offered[l]
			if !d.forRoles || !ok {
				continue
			}
			a := AccessRead
			if r.writes() {
				a = accesses[len(accesses)-1]
			}
			out = append(out, Grant{Level: l, TargetID: id, Resource: d.resource, Access: a})
		}
	}
	return out
}

// User is a person who signs in to the Admin Portal, as a member of one
// account: the role they hold there and, for a scoped role, its apps or
// keysets.
type User struct {
	ID        int64
	AccountID int64
	Email     string // lower case
	// PasswordHash is the argon2id hash in PHC string form; never the password.
	PasswordHash string
	Role         Role
	// Apps and Keysets are the scope of an App or Key role, in
	// increasing order; empty for an account-wide role.
	Apps, Keysets []int64
	CreatedAt     time.Time
}

// Scope is the ids the user's role applies to: their apps for an App
// role, their keysets for a Key role, none for an account-wide role.
func (u User) Scope() []int64 {
	switch u.Role.Level() {
	case LevelApp:
		return u.Apps
	case LevelKeyset:
		return u.Keysets
	}
	return nil
}

// Principal is the user as a caller of operations.
func (u User) Principal() Principal {
	return Principal{AccountID: u.AccountID, UserID: u.ID, UserEmail: u.Email, Role: u.Role, Grants: RoleGrants(u.Role, u.Scope()...)}
}

// NormalizeEmail is the form e-mail addresses are stored and compared in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail checks a (normalized) e-mail address.
func ValidateEmail(field, email string) string {
	if email == "" {
		return field + ": required"
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") || len(email) > 254 {
		return field + ": not an e-mail address (like name@example.com)"
	}
	return ""
}

// Password length bounds: long enough to resist guessing, short enough
// that hashing one is cheap to refuse.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// ValidatePassword checks a new password.
func ValidatePassword(field, pw string) string {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLen:
		return field + ": at least 12 characters"
	case n > MaxPasswordLen:
		return field + ": at most 256 characters"
	}
	return ""
}

// Session is a signed-in browser. Only a hash of its token is stored.
type Session struct {
	TokenHash []byte
	UserID    int64
	AccountID int64 // the account the person acts in, one of their memberships
	CreatedAt time.Time
	ExpiresAt time.Time
	// Enrol marks the session of a person who must enrol a second factor
	// before anything else (an account of theirs requires two factors).
	Enrol bool
	// LastSeenAt, Address and UserAgent are when and where the session
	// was last used (to the minute), for its person's list of sessions
	// and the account's idle timeout.
	LastSeenAt time.Time
	Address    string
	UserAgent  string
	// SSOAccount is the account whose provider opened the session (0: a
	// password or a link did): it acts in that account only.
	SSOAccount int64
}

// Handle names a session in its person's list of sessions without its
// token: the start of the token's hash, which opens nothing.
func (s Session) Handle() string { return hex.EncodeToString(s.TokenHash[:min(8, len(s.TokenHash))]) }

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 12 * time.Hour

// Sign-in throttling: after this many failures within LoginWindow, further
// attempts for the same e-mail address, or from the same client address,
// are refused until the window has passed.
const (
	LoginWindow          = 15 * time.Minute
	MaxLoginFailuresUser = 5
	MaxLoginFailuresIP   = 20
)

// SetupTokenTTL is how long the one-time link that creates the Owner works.
const SetupTokenTTL = 24 * time.Hour

// NewToken returns n random base62 characters from r: session tokens,
// setup links and generated passwords.
func NewToken(r io.Reader, n int) (string, error) { return randomBase62(r, n) }

// PasswordResetTTL is how long the link of a password reset works.
const PasswordResetTTL = time.Hour

// SignupTTL is how long the link confirming a sign-up's address works.
const SignupTTL = 24 * time.Hour

// Limits on asking for e-mail to be sent (a password reset, a sign-up),
// per LoginWindow: per address, so no one floods a mailbox, and per client.
const (
	MaxMailRequestsAddress = 3
	MaxMailRequestsClient  = 10
)

// MaxPasskeyStartsClient bounds the password-less passkey sign-ins a client
// may begin per LoginWindow: each stores a challenge before anyone is
// signed in. A person needs one per sign-in; an office behind one address
// has room for many.
const MaxPasskeyStartsClient = 60
