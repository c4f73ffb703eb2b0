package store

import (
	"database/sql"
	"errors"
	"time"

	"github.com/keyplane/keyplane"
)

// DeleteIntegration implements control.Tx: the integration and its keys.
func (t *txn) DeleteIntegration(accountID, id int64) error {
	if _, err := t.exec(`DELETE FROM key_notices WHERE key_id IN (SELECT k.id FROM api_keys k JOIN integrations i ON i.id = k.integration_id WHERE i.account_id = $1 AND i.id = $2)`, accountID, id); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM api_keys WHERE integration_id IN (SELECT id FROM integrations WHERE account_id = $1 AND id = $2)`, accountID, id); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM integrations WHERE account_id = $1 AND id = $2`, accountID, id)
	return err
}

// CountUsers implements control.Tx: people, whatever their accounts.
func (t *txn) CountUsers() (int, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// userCols are a person as a member of an account: users u joined with
// memberships m.
const userCols = `u.id, m.account_id, u.email, u.password_hash, m.role, m.created_at`

// memberOf joins a person to their memberships.
const memberOf = ` FROM users u JOIN memberships m ON m.user_id = u.id `

type userRow struct {
	u       keyplane.User
	created int64
}

func (r *userRow) dest() []any {
	return []any{&r.u.ID, &r.u.AccountID, &r.u.Email, &r.u.PasswordHash, &r.u.Role, &r.created}
}

func (r *userRow) value() keyplane.User {
	r.u.CreatedAt = fromMS(r.created)
	return r.u
}

// InsertUser implements control.Tx: a new person, member of u.AccountID.
func (t *txn) InsertUser(u *keyplane.User) error {
	// users.role is a legacy column (see 0013) that nothing reads, whose
	// CHECK admits only the three account-wide roles: it gets the role when
	// account-wide, else viewer, the least an account-wide role can do, so
	// a reader of the old column would never take a scoped person for more.
	legacy := u.Role
	if legacy.Scoped() {
		legacy = keyplane.RoleViewer
	}
	err := t.queryRow(`INSERT INTO users (account_id, email, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		u.AccountID, u.Email, u.PasswordHash, legacy, ms(u.CreatedAt)).Scan(&u.ID)
	if err != nil {
		return err
	}
	return t.InsertMembership(*u)
}

// InsertMembership implements control.Tx: the membership and its scope.
func (t *txn) InsertMembership(u keyplane.User) error {
	_, err := t.exec(`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
		u.AccountID, u.ID, u.Role, ms(u.CreatedAt))
	if err != nil {
		return err
	}
	return t.insertScope(u)
}

// insertScope writes the apps and keysets of u's membership.
func (t *txn) insertScope(u keyplane.User) error {
	for l, ids := range map[keyplane.Level][]int64{keyplane.LevelApp: u.Apps, keyplane.LevelKeyset: u.Keysets} {
		for _, id := range ids {
			if _, err := t.exec(`INSERT INTO membership_scopes (account_id, user_id, level, target_id) VALUES ($1, $2, $3, $4)`,
				u.AccountID, u.ID, l, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// withScopes fills in the scopes of us, all found by cond on
// membership_scopes (one query for a whole list).
func (t *txn) withScopes(us []keyplane.User, cond string, args ...any) ([]keyplane.User, error) {
	if len(us) == 0 {
		return us, nil
	}
	type member struct{ account, user int64 }
	at := map[member]int{}
	for i, u := range us {
		at[member{u.AccountID, u.ID}] = i
	}
	rows, err := t.query(`SELECT account_id, user_id, level, target_id FROM membership_scopes WHERE `+cond+` ORDER BY account_id, user_id, target_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m member
		var l keyplane.Level
		var id int64
		if err := rows.Scan(&m.account, &m.user, &l, &id); err != nil {
			return nil, err
		}
		i, ok := at[m]
		if !ok {
			continue
		}
		if l == keyplane.LevelApp {
			us[i].Apps = append(us[i].Apps, id)
		} else {
			us[i].Keysets = append(us[i].Keysets, id)
		}
	}
	return us, rows.Err()
}

// withScope fills in the scope of one membership.
func (t *txn) withScope(u keyplane.User, err error) (keyplane.User, error) {
	if err != nil {
		return u, err
	}
	us, err := t.withScopes([]keyplane.User{u}, `account_id = $1 AND user_id = $2`, u.AccountID, u.ID)
	if err != nil {
		return u, err
	}
	return us[0], nil
}

func (t *txn) userWhere(what string, key any, cond string, args ...any) (keyplane.User, error) {
	var r userRow
	err := t.queryRow(`SELECT `+userCols+memberOf+`WHERE `+cond, args...).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.User{}, notFound(what, key)
	}
	return t.withScope(r.value(), err)
}

// User implements control.Tx.
func (t *txn) User(accountID, id int64) (keyplane.User, error) {
	return t.userWhere("user", id, `m.account_id = $1 AND u.id = $2`, accountID, id)
}

// UserByEmail implements control.Tx: the person, as a member of their
// first account.
func (t *txn) UserByEmail(email string) (keyplane.User, error) {
	return t.userWhere("user", email, `u.email = $1 ORDER BY m.account_id LIMIT 1`, email)
}

// Memberships implements control.Tx.
func (t *txn) Memberships(userID int64) ([]keyplane.User, error) {
	us, err := t.users(`SELECT `+userCols+memberOf+`WHERE u.id = $1 ORDER BY m.account_id`, userID)
	if err != nil {
		return nil, err
	}
	return t.withScopes(us, `user_id = $1`, userID)
}

// Users implements control.Tx.
func (t *txn) Users(accountID int64) ([]keyplane.User, error) {
	us, err := t.users(`SELECT `+userCols+memberOf+`WHERE m.account_id = $1 ORDER BY u.id`, accountID)
	if err != nil {
		return nil, err
	}
	return t.withScopes(us, `account_id = $1`, accountID)
}

func (t *txn) users(q string, args ...any) ([]keyplane.User, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.User
	for rows.Next() {
		var r userRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		out = append(out, r.value())
	}
	return out, rows.Err()
}

// UpdateUserRole implements control.Tx: the membership's role, and its
// scope replaced by u's.
func (t *txn) UpdateUserRole(u keyplane.User) error {
	if _, err := t.exec(`UPDATE memberships SET role = $1 WHERE account_id = $2 AND user_id = $3`, u.Role, u.AccountID, u.ID); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM membership_scopes WHERE account_id = $1 AND user_id = $2`, u.AccountID, u.ID); err != nil {
		return err
	}
	return t.insertScope(u)
}

// DeleteUser implements control.Tx: the membership and its sessions, and
// the person with the last of their memberships.
func (t *txn) DeleteUser(accountID, id int64) error {
	if _, err := t.exec(`DELETE FROM sessions WHERE account_id = $1 AND user_id = $2`, accountID, id); err != nil {
		return err
	}
	// Deleted here rather than left to the foreign key's cascade, so that
	// nothing depends on the engine enforcing it.
	if _, err := t.exec(`DELETE FROM membership_scopes WHERE account_id = $1 AND user_id = $2`, accountID, id); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM memberships WHERE account_id = $1 AND user_id = $2`, accountID, id); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM password_resets WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)`, id); err != nil {
		return err
	}
	if err := t.deleteSecondFactors(id); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)`, id)
	return err
}

// InsertSession implements control.Tx.
func (t *txn) InsertSession(s keyplane.Session) error {
	_, err := t.exec(`INSERT INTO sessions (token_hash, user_id, account_id, created_at, expires_at, enrol, last_seen_at, address, user_agent, sso_account)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.TokenHash, s.UserID, s.AccountID, ms(s.CreatedAt), ms(s.ExpiresAt), boolInt(s.Enrol), ms(s.CreatedAt), s.Address, s.UserAgent, s.SSOAccount)
	return err
}

// sessionCols are a session's columns, in scanSession's order.
const sessionCols = `s.token_hash, s.user_id, s.account_id, s.created_at, s.expires_at, s.enrol, s.last_seen_at, s.address, s.user_agent, s.sso_account`

// sessionRow scans sessionCols.
type sessionRow struct {
	s                 keyplane.Session
	c, e, enrol, seen int64
}

func (r *sessionRow) dest() []any {
	return []any{&r.s.TokenHash, &r.s.UserID, &r.s.AccountID, &r.c, &r.e, &r.enrol, &r.seen, &r.s.Address, &r.s.UserAgent, &r.s.SSOAccount}
}

func (r *sessionRow) session() keyplane.Session {
	s := r.s
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt, s.Enrol = fromMS(r.c), fromMS(r.e), fromMS(r.seen), r.enrol == 1
	return s
}

// TouchSession implements control.Tx.
func (t *txn) TouchSession(hash []byte, at time.Time, address, userAgent string) error {
	_, err := t.exec(`UPDATE sessions SET last_seen_at = $1, address = $2, user_agent = $3 WHERE token_hash = $4`, ms(at), address, userAgent, hash)
	return err
}

// UserSessions implements control.Tx: the person's sessions, newest use
// first, expired ones included.
func (t *txn) UserSessions(userID int64) ([]keyplane.Session, error) {
	rows, err := t.query(`SELECT `+sessionCols+` FROM sessions s WHERE s.user_id = $1 ORDER BY s.last_seen_at DESC, s.token_hash`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.Session
	for rows.Next() {
		var r sessionRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		out = append(out, r.session())
	}
	return out, rows.Err()
}

// DeleteMemberSessions implements control.Tx.
func (t *txn) DeleteMemberSessions(accountID, userID int64) (int64, error) {
	res, err := t.exec(`DELETE FROM sessions WHERE account_id = $1 AND user_id = $2`, accountID, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SetSessionAccount implements control.Tx.
func (t *txn) SetSessionAccount(hash []byte, accountID int64) error {
	_, err := t.exec(`UPDATE sessions SET account_id = $1 WHERE token_hash = $2`, accountID, hash)
	return err
}

// SessionByHash implements control.Tx.
func (t *txn) SessionByHash(hash []byte) (keyplane.Session, keyplane.User, error) {
	var sr sessionRow
	var r userRow
	// A session whose membership is gone is no session.
	err := t.queryRow(`SELECT `+sessionCols+`, `+userCols+`
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN memberships m ON m.user_id = s.user_id AND m.account_id = s.account_id
		WHERE s.token_hash = $1`, hash).
		Scan(append(sr.dest(), r.dest()...)...)
	s := sr.session()
	if errors.Is(err, sql.ErrNoRows) {
		return s, keyplane.User{}, keyplane.Errorf(keyplane.CodeNotFound, "session: not found")
	}
	u, err := t.withScope(r.value(), err)
	return s, u, err
}

// DeleteSession implements control.Tx.
func (t *txn) DeleteSession(hash []byte) error {
	_, err := t.exec(`DELETE FROM sessions WHERE token_hash = $1`, hash)
	return err
}

// DeleteExpiredSessions implements control.Tx.
func (t *txn) DeleteExpiredSessions(now time.Time) error {
	_, err := t.exec(`DELETE FROM sessions WHERE expires_at <= $1`, ms(now))
	return err
}

// RecordLoginFailure implements control.Tx.
func (t *txn) RecordLoginFailure(subject string, at time.Time, attempt int64) error {
	_, err := t.exec(`INSERT INTO login_failures (subject, at, attempt) VALUES ($1, $2, $3)`, subject, ms(at), attempt)
	return err
}

// ForgetLoginAttempt implements control.Tx.
func (t *txn) ForgetLoginAttempt(subject string, attempt int64) error {
	_, err := t.exec(`DELETE FROM login_failures WHERE subject = $1 AND attempt = $2`, subject, attempt)
	return err
}

// CountLoginFailures implements control.Tx.
func (t *txn) CountLoginFailures(subject string, since time.Time) (int, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM login_failures WHERE subject = $1 AND at > $2`, subject, ms(since)).Scan(&n)
	return n, err
}

// ClearLoginFailures implements control.Tx.
func (t *txn) ClearLoginFailures(subject string, before time.Time) error {
	_, err := t.exec(`DELETE FROM login_failures WHERE subject = $1 OR at < $2`, subject, ms(before))
	return err
}

// InsertSetupToken implements control.Tx.
func (t *txn) InsertSetupToken(hash []byte, created, expires time.Time) error {
	_, err := t.exec(`INSERT INTO setup_tokens (hash, created_at, expires_at) VALUES ($1, $2, $3)`, hash, ms(created), ms(expires))
	return err
}

// SetupTokenExpiry implements control.Tx.
func (t *txn) SetupTokenExpiry(hash []byte) (time.Time, error) {
	var e int64
	err := t.queryRow(`SELECT expires_at FROM setup_tokens WHERE hash = $1`, hash).Scan(&e)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, keyplane.Errorf(keyplane.CodeNotFound, "setup link: unknown")
	}
	return fromMS(e), err
}

// DeleteSetupTokens implements control.Tx.
func (t *txn) DeleteSetupTokens() error {
	_, err := t.exec(`DELETE FROM setup_tokens`)
	return err
}

// UpdateUserPassword implements control.Tx.
func (t *txn) UpdateUserPassword(accountID, id int64, hash string) error {
	_, err := t.exec(`UPDATE users SET password_hash = $1 WHERE id = $2 AND EXISTS (SELECT 1 FROM memberships WHERE account_id = $3 AND user_id = $2)`, hash, id, accountID)
	return err
}

// DeleteUserSessions implements control.Tx.
func (t *txn) DeleteUserSessions(userID int64, keep []byte) error {
	if keep == nil {
		keep = []byte{}
	}
	_, err := t.exec(`DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2`, userID, keep)
	return err
}
