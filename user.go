package keyplane

import (
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a portal user may do in their account. Roles are not a
// second rule set: each maps onto the permission rows a Service
// Integration would hold (RoleGrants), checked by the same Authorize.
type Role string

// The portal roles of PubNub's Admin Portal that Keyplane offers.
const (
	// RoleOwner created the account: an Account Admin who cannot be removed.
	RoleOwner Role = "owner"
	// RoleAdmin manages everything in the account, Service Integrations and users included.
	RoleAdmin Role = "admin"
	// RoleViewer sees everything in the account and changes nothing.
	RoleViewer Role = "viewer"
)

// Roles lists the roles, most powerful first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleViewer}

// Label is the role's name as the portal shows it.
func (r Role) Label() string {
	switch r {
	case RoleOwner:
		return "Owner"
	case RoleAdmin:
		return "Account Admin"
	case RoleViewer:
		return "Account Viewer"
	}
	return string(r)
}

// ParseRole reads owner, admin or viewer.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleOwner, RoleAdmin, RoleViewer:
		return r, nil
	}
	return "", Errorf(CodeInvalid, "role: must be owner, admin or viewer")
}

// RoleGrants are the permission rows a role stands for: every Account-level
// row PubNub offers, and Keyplane's Audit log, with the widest access
// offered for an Owner or Account Admin, and Read for an Account Viewer. A user's request is then
// authorized exactly as an integration holding these rows would be.
func RoleGrants(r Role) []Grant {
	var out []Grant
	for _, d := range resourceTable {
		if !d.forRoles {
			continue
		}
		accesses := d.offered[LevelAccount]
		a := AccessRead
		if r == RoleOwner || r == RoleAdmin {
			a = accesses[len(accesses)-1]
		}
		out = append(out, Grant{Level: LevelAccount, Resource: d.resource, Access: a})
	}
	return out
}

// User is a person who signs in to the Admin Portal.
type User struct {
	ID        int64
	AccountID int64
	Email     string // lower case
	// PasswordHash is the argon2id hash in PHC string form; never the password.
	PasswordHash string
	Role         Role
	CreatedAt    time.Time
}

// Principal is the user as a caller of operations.
func (u User) Principal() Principal {
	return Principal{AccountID: u.AccountID, UserID: u.ID, UserEmail: u.Email, Role: u.Role, Grants: RoleGrants(u.Role)}
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
}

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
