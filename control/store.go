package control

import (
	"context"
	"encoding/json"
	"net/netip"
	"time"

	"github.com/keyplane/keyplane"
)

// Store runs transactions. Every operation of the Service is one call to
// Read or Write, so it commits whole or not at all.
type Store interface {
	// Read runs fn in a read-only transaction on a consistent snapshot.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a read-write transaction. Write transactions are
	// serialized, so a check made inside fn (such as a count against a
	// limit) still holds when fn's changes commit.
	Write(ctx context.Context, fn func(Tx) error) error
}

// Tx is the data access one transaction offers: every role below. Lookups
// of a missing row return a keyplane NotFound error; account ids scope
// every lookup so one account never reads another's rows.
type Tx interface {
	AccountTx
	AppTx
	KeysetTx
	SecretKeyTx
	IntegrationTx
	KeyLifecycleTx
	OperatorKeys
	UsageTx
	PeopleTx
	SignInTx
	MailTx
	SecondFactorTx
	RecoveryCodeTx
	SignInPolicyTx
	PasskeyTx
	SSOTx
	AuditTx
	OEMTx
	IdempotencyTx
	WebhookTx
}

// AccountTx reads and changes accounts.
type AccountTx interface {
	Accounts() ([]keyplane.Account, error)
	// InsertAccount adds an account, setting its ID.
	InsertAccount(a *keyplane.Account) error
	// RenameAccount and SetAccountDisabled change one account (at nil:
	// enabled); NotFound when there is none.
	RenameAccount(id int64, name string) error
	SetAccountDisabled(id int64, at *time.Time) error
	Account(id int64) (keyplane.Account, error)
	SetPartner(accountID int64, partner bool) error
}

// AppTx reads and changes apps.
type AppTx interface {
	App(accountID, id int64) (keyplane.App, error)
	ListApps(accountID int64, v keyplane.Visibility, p keyplane.Page) ([]keyplane.App, int, error)
	InsertApp(a *keyplane.App) error
	UpdateApp(a keyplane.App) error
	DeleteApp(accountID, id int64) error
	CountKeysets(appID int64) (int, error)
}

// KeysetTx reads and changes keysets and their configuration.
type KeysetTx interface {
	Keyset(accountID, id int64) (keyplane.Keyset, error)
	ListKeysets(accountID int64, v keyplane.Visibility, p keyplane.Page) ([]keyplane.Keyset, int, error)
	// InsertKeyset fails with NotFound if k's app is not in k's account.
	InsertKeyset(k *keyplane.Keyset, c keyplane.Config) error
	UpdateKeyset(k keyplane.Keyset) error
	DeleteKeyset(id int64) error
	Config(keysetID int64) (keyplane.Config, error)
	// UpdateConfig stores a keyset's configuration, given as encoded by
	// json.Marshal (the caller has it already, to compare or to audit).
	UpdateConfig(keysetID int64, config json.RawMessage, at time.Time) error
	// SetPushCredential stores (or replaces) a keyset's credential file of
	// kind, sealed; nothing reads it back through the API.
	SetPushCredential(keysetID int64, kind keyplane.PushKind, content []byte, at time.Time) error
}

// SecretKeyTx reads and changes keysets' secret keys.
type SecretKeyTx interface {
	SecretKeys(keysetID int64) ([]keyplane.SecretKey, error)
	InsertSecretKey(s keyplane.SecretKey) error
	SetSecretKeyExpiry(keysetID int64, prefix string, at *time.Time) error
	DeleteSecretKey(keysetID int64, prefix string) error
}

// IntegrationTx reads and changes Service Integrations and their API keys.
type IntegrationTx interface {
	InsertIntegration(i *keyplane.Integration) error
	Integration(accountID, id int64) (keyplane.Integration, error)
	Integrations(accountID int64) ([]keyplane.Integration, error)
	InsertAPIKey(k *keyplane.APIKey) error
	APIKeys(integrationID int64) ([]keyplane.APIKey, error)
	// APIKey and APIKeyByHash find a key and its integration, revoked and
	// expired keys included: deciding is the caller's job.
	APIKey(id int64) (keyplane.APIKey, keyplane.Integration, error)
	APIKeyByHash(hash []byte) (keyplane.APIKey, keyplane.Integration, error)
	// Credential is APIKeyByHash with the integration's account, in one
	// statement: what authentication decides on.
	Credential(hash []byte) (keyplane.APIKey, keyplane.Integration, keyplane.Account, error)
	RevokeAPIKey(id int64, at time.Time) error
	// TouchAPIKey records a key's use: when, from which client address and
	// with which User-Agent ("" when unknown).
	TouchAPIKey(keyID, integrationID int64, at time.Time, from, agent string) error
	DeleteIntegration(accountID, id int64) error
}

// KeyLifecycleTx reads and changes what keeps keys in shape: rolling,
// suspension, allowed networks, the account's key policy and the notices
// given.
type KeyLifecycleTx interface {
	// RollAPIKey marks key id as rolled to replacedBy, working until until.
	RollAPIKey(id, replacedBy int64, until time.Time) error
	// SetIntegrationSuspended suspends an integration (at nil: resumes it);
	// SetIntegrationNetworks sets its allowed networks (none: anywhere).
	// NotFound when the account has no such integration.
	SetIntegrationSuspended(accountID, id int64, at *time.Time) error
	SetIntegrationNetworks(accountID, id int64, ns []netip.Prefix) error
	// AccountPolicy is an account's key policy, the defaults if none was set.
	AccountPolicy(accountID int64) (keyplane.AccountPolicy, error)
	PutAccountPolicy(p keyplane.AccountPolicy) error
	// ActiveAPIKeys lists every unrevoked key, of every account, that has
	// not expired at now, with its integration.
	ActiveAPIKeys(now time.Time) ([]KeyOf, error)
	// ClaimKeyNotice records that notice n about key keyID is given,
	// unless it was: claimed is false when it already was, by anyone.
	ClaimKeyNotice(keyID int64, n keyplane.KeyNotice, at time.Time) (claimed bool, err error)
}

// KeyOf is an API key with its integration.
type KeyOf struct {
	Key         keyplane.APIKey
	Integration keyplane.Integration
}

// UsageTx stores and reads usage.
type UsageTx interface {
	// KeysetsByRef finds the keysets, of any account, with these ids or
	// subscribe keys; those not found are left out.
	KeysetsByRef(ids []int64, subscribeKeys []string) ([]keyplane.Keyset, error)
	// PutUsage stores points, each replacing the value of its keyset,
	// metric and day, and moves the app and account rollups by the
	// difference. No two points may share keyset, metric and day.
	PutUsage(points []keyplane.UsagePoint) error
	// Usage reads the stored daily values of an entity's metrics over
	// [from, to): metric → day → value, days without a value left out.
	Usage(e keyplane.UsageEntity, id int64, metrics []keyplane.MetricCode, from, to keyplane.Day) (map[keyplane.MetricCode]map[keyplane.Day]float64, error)
	// UsageOfKeysets is Usage summed over some keysets.
	UsageOfKeysets(keysetIDs []int64, metrics []keyplane.MetricCode, from, to keyplane.Day) (map[keyplane.MetricCode]map[keyplane.Day]float64, error)
	// DeleteUsageBefore deletes every daily value before day, rollups
	// included, and says how many rows went.
	DeleteUsageBefore(day keyplane.Day) (int64, error)
}

// PeopleTx reads and changes people, their memberships and sessions.
type PeopleTx interface {
	// CountUsers counts the users of every account: none means the
	// install still needs its Owner.
	CountUsers() (int, error)
	// InsertUser inserts a new person, a member of u.AccountID with u.Role.
	InsertUser(u *keyplane.User) error
	// InsertMembership makes the person u.ID a member of u.AccountID.
	InsertMembership(u keyplane.User) error
	// Memberships lists a person's accounts, as a User in each.
	Memberships(userID int64) ([]keyplane.User, error)
	// SetSessionAccount moves a session to another of its person's accounts.
	SetSessionAccount(hash []byte, accountID int64) error
	User(accountID, id int64) (keyplane.User, error)
	UserByEmail(email string) (keyplane.User, error)
	Users(accountID int64) ([]keyplane.User, error)
	UpdateUserRole(u keyplane.User) error
	UpdateUserPassword(accountID, id int64, hash string) error
	// DeleteUserSessions ends every session of a user but the one whose
	// token hash is keep (nil: every one).
	DeleteUserSessions(userID int64, keep []byte) error
	// DeleteUser ends a person's membership of an account and its
	// sessions; the person goes with their last membership.
	DeleteUser(accountID, id int64) error

	InsertSession(s keyplane.Session) error
	// SessionByHash finds a session and its user, expired ones included.
	SessionByHash(hash []byte) (keyplane.Session, keyplane.User, error)
	DeleteSession(hash []byte) error
	// TouchSession records when and from where a session was last used.
	TouchSession(hash []byte, at time.Time, address, userAgent string) error
	// UserSessions are a person's sessions, in every account.
	UserSessions(userID int64) ([]keyplane.Session, error)
	// DeleteMemberSessions ends a person's sessions in one account,
	// answering how many there were.
	DeleteMemberSessions(accountID, userID int64) (int64, error)
	DeleteExpiredSessions(now time.Time) error
}

// SignInTx keeps sign-in attempts and setup links.
type SignInTx interface {
	// RecordLoginFailure counts an attempt against subject; attempt is its
	// random id, for ForgetLoginAttempt.
	RecordLoginFailure(subject string, at time.Time, attempt int64) error
	// ForgetLoginAttempt takes back an attempt counted against subject.
	ForgetLoginAttempt(subject string, attempt int64) error
	// CountLoginFailures counts the failures of subject after since.
	CountLoginFailures(subject string, since time.Time) (int, error)
	// ClearLoginFailures forgets subject's failures, and everyone's older than before.
	ClearLoginFailures(subject string, before time.Time) error

	InsertSetupToken(hash []byte, created, expires time.Time) error
	// SetupTokenExpiry returns when the setup token with this hash expires.
	SetupTokenExpiry(hash []byte) (time.Time, error)
	DeleteSetupTokens() error
}

// MailTx keeps what the e-mail flows send links for: invitations,
// password resets and sign-ups. Only hashes of the links' tokens are kept.
type MailTx interface {
	// InsertInvitation adds an invitation whose link's token hashes to
	// hash, setting its ID.
	InsertInvitation(i *keyplane.Invitation, hash []byte) error
	Invitations(accountID int64) ([]keyplane.Invitation, error)
	Invitation(accountID, id int64) (keyplane.Invitation, error)
	InvitationByEmail(accountID int64, email string) (keyplane.Invitation, error)
	InvitationByHash(hash []byte) (keyplane.Invitation, error)
	// RenewInvitation gives an invitation a new link, sent at sent.
	RenewInvitation(accountID, id int64, hash []byte, sent, expires time.Time) error
	DeleteInvitation(accountID, id int64) error

	InsertPasswordReset(hash []byte, userID int64, created, expires time.Time) error
	// PasswordReset finds the person and expiry of a reset link.
	PasswordReset(hash []byte) (userID int64, expires time.Time, err error)
	DeletePasswordResets(userID int64) error
	// Person finds a person by id, as a member of their first account.
	Person(id int64) (keyplane.User, error)
	// SetPassword sets a person's password, in every account of theirs.
	SetPassword(userID int64, hash string) error

	InsertSignup(hash []byte, email string, created, expires time.Time) error
	// Signup finds the address and expiry of a sign-up link.
	Signup(hash []byte) (email string, expires time.Time, err error)
	DeleteSignups(email string) error
}

// AuditTx appends to and reads the audit chains.
type AuditTx interface {
	// AppendAudit records e, sealing it onto the chain (it sets ID, PrevHash and Hash).
	AppendAudit(e *keyplane.AuditEvent) error
	// AuditEvents answers up to q.Limit events of q.AccountID after q.After,
	// oldest first.
	AuditEvents(q keyplane.AuditQuery) ([]keyplane.AuditEvent, error)
	// EachAuditEvent calls fn for every event of one account in id order,
	// or of all when accountID is 0 in the order they were recorded, with
	// the actor columns stored beside it.
	EachAuditEvent(accountID int64, fn func(e keyplane.AuditEvent, actorType string, actorID int64) error) error
	// EachAuditChain calls fn for every event account by account, each
	// account's in id order: the order its chain verifies in.
	EachAuditChain(fn func(e keyplane.AuditEvent, actorType string, actorID int64) error) error
}

// OEMTx reads and changes a partner account's OEM customers.
type OEMTx interface {
	InsertCustomer(c *keyplane.Customer) error
	UpdateCustomer(c keyplane.Customer) error
	// Customer finds a customer with its keysets.
	Customer(accountID, id int64) (keyplane.Customer, error)
	CustomerByExternalID(accountID int64, externalID string) (keyplane.Customer, error)
	ListCustomers(accountID, appID int64) ([]keyplane.CustomerSummary, error)
	// KeysetOwners maps each assigned keyset of ids to its customer.
	KeysetOwners(ids []int64) (map[int64]int64, error)
	AssignKeyset(customerID, keysetID int64, at time.Time) error
	CustomerOfKeyset(accountID, keysetID int64) (keyplane.Customer, error)
}

// IdempotencyTx keeps the records of idempotency keys.
type IdempotencyTx interface {
	// IdempotencyRecord finds the unexpired record of an idempotency key
	// (expired ones are as good as gone).
	IdempotencyRecord(scope, key string, now time.Time) (IdempotencyRecord, error)
	// InsertIdempotencyRecord records a key (with its answer, if r has
	// one), deleting every expired record first.
	InsertIdempotencyRecord(r IdempotencyRecord) error
	// SetIdempotencyResponse stores the answer of a recorded key.
	SetIdempotencyResponse(scope, key string, resp StoredResponse) error
}

// OperatorKeys is the data access of operator keys (the operator API's):
// the install's, so no account id scopes them.
type OperatorKeys interface {
	// InsertOperatorKey adds a key, setting its ID.
	InsertOperatorKey(k *keyplane.OperatorKey) error
	// ListOperatorKeys lists every key, revoked and expired ones included, oldest first.
	ListOperatorKeys() ([]keyplane.OperatorKey, error)
	// OperatorKey and OperatorKeyByHash find one key; NotFound when none.
	OperatorKey(id int64) (keyplane.OperatorKey, error)
	OperatorKeyByHash(hash []byte) (keyplane.OperatorKey, error)
	RevokeOperatorKey(id int64, at time.Time) error
	TouchOperatorKey(id int64, at time.Time) error
}
