package store

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

const invitationCols = `id, account_id, email, role, scope, inviter, created_at, sent_at, expires_at`

type invitationRow struct {
	i                      keyplane.Invitation
	scope                  string
	created, sent, expires int64
}

func (r *invitationRow) dest() []any {
	return []any{&r.i.ID, &r.i.AccountID, &r.i.Email, &r.i.Role, &r.scope, &r.i.Inviter, &r.created, &r.sent, &r.expires}
}

func (r *invitationRow) value() (keyplane.Invitation, error) {
	r.i.CreatedAt, r.i.SentAt, r.i.ExpiresAt = fromMS(r.created), fromMS(r.sent), fromMS(r.expires)
	ids, err := parseIDs(r.scope)
	if err != nil {
		return r.i, err
	}
	switch r.i.Role.Level() {
	case keyplane.LevelApp:
		r.i.Apps = ids
	case keyplane.LevelKeyset:
		r.i.Keysets = ids
	}
	return r.i, nil
}

// formatIDs and parseIDs write and read a scope column: ids, comma-separated.
func formatIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func parseIDs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	var out []int64
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// InsertInvitation implements control.Tx.
func (t *txn) InsertInvitation(i *keyplane.Invitation, hash []byte) error {
	return t.queryRow(`INSERT INTO invitations (account_id, email, role, scope, inviter, token_hash, created_at, sent_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		i.AccountID, i.Email, i.Role, formatIDs(i.Scope()), i.Inviter, hash, ms(i.CreatedAt), ms(i.SentAt), ms(i.ExpiresAt)).Scan(&i.ID)
}

func (t *txn) invitations(q string, args ...any) ([]keyplane.Invitation, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyplane.Invitation
	for rows.Next() {
		var r invitationRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		i, err := r.value()
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// Invitations implements control.Tx.
func (t *txn) Invitations(accountID int64) ([]keyplane.Invitation, error) {
	return t.invitations(`SELECT `+invitationCols+` FROM invitations WHERE account_id = $1 ORDER BY id`, accountID)
}

func (t *txn) invitationWhere(key any, cond string, args ...any) (keyplane.Invitation, error) {
	var r invitationRow
	err := t.queryRow(`SELECT `+invitationCols+` FROM invitations WHERE `+cond, args...).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return keyplane.Invitation{}, notFound("invitation", key)
	}
	if err != nil {
		return keyplane.Invitation{}, err
	}
	return r.value()
}

// Invitation implements control.Tx.
func (t *txn) Invitation(accountID, id int64) (keyplane.Invitation, error) {
	return t.invitationWhere(id, `account_id = $1 AND id = $2`, accountID, id)
}

// InvitationByEmail implements control.Tx.
func (t *txn) InvitationByEmail(accountID int64, email string) (keyplane.Invitation, error) {
	return t.invitationWhere(email, `account_id = $1 AND email = $2`, accountID, email)
}

// InvitationByHash implements control.Tx.
func (t *txn) InvitationByHash(hash []byte) (keyplane.Invitation, error) {
	return t.invitationWhere("link", `token_hash = $1`, hash)
}

// RenewInvitation implements control.Tx: a new link, sent at, and expiry.
func (t *txn) RenewInvitation(accountID, id int64, hash []byte, sent, expires time.Time) error {
	_, err := t.exec(`UPDATE invitations SET token_hash = $1, sent_at = $2, expires_at = $3 WHERE account_id = $4 AND id = $5`,
		hash, ms(sent), ms(expires), accountID, id)
	return err
}

// DeleteInvitation implements control.Tx.
func (t *txn) DeleteInvitation(accountID, id int64) error {
	_, err := t.exec(`DELETE FROM invitations WHERE account_id = $1 AND id = $2`, accountID, id)
	return err
}
