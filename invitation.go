package keyplane

import "time"

// Invitation asks a person, by e-mail, to join an account with a role:
// its link (a token, of which only a hash is kept) works once, until
// ExpiresAt. Accepting it makes the person a member; a person who already
// signs in to Keyplane keeps their password and gains the membership.
type Invitation struct {
	ID        int64
	AccountID int64
	Email     string // lower case
	Role      Role
	// Apps and Keysets are the scope of an App or Key role, as for User.
	Apps, Keysets []int64
	// Inviter names who invited, for the message: an e-mail address, or
	// "The operator".
	Inviter string
	// CreatedAt is when it was made; SentAt when its current link was made
	// (at first, and at each resend, which replaces the link).
	CreatedAt, SentAt, ExpiresAt time.Time
}

// Expired reports whether the invitation's link no longer works at now.
func (i Invitation) Expired(now time.Time) bool { return !now.Before(i.ExpiresAt) }

// Scope is what the role applies to, as User.Scope.
func (i Invitation) Scope() []int64 {
	return User{Role: i.Role, Apps: i.Apps, Keysets: i.Keysets}.Scope()
}

// InvitationTTL is how long an invitation's link works after it is sent.
const InvitationTTL = 7 * 24 * time.Hour
