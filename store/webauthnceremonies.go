package store

import (
	"database/sql"
	"errors"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// InsertCeremony implements control.Tx, forgetting expired ceremonies on
// the way so that challenges never answered do not pile up.
func (t *txn) InsertCeremony(c control.Ceremony) error {
	if _, err := t.exec(`DELETE FROM webauthn_ceremonies WHERE expires_at <= $1`, ms(c.CreatedAt)); err != nil {
		return err
	}
	var user sql.NullInt64
	if c.UserID != 0 {
		user = sql.NullInt64{Int64: c.UserID, Valid: true}
	}
	_, err := t.exec(`INSERT INTO webauthn_ceremonies (challenge, kind, user_id, session, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.Challenge, c.Kind, user, string(c.Session), ms(c.CreatedAt), ms(c.ExpiresAt))
	return err
}

// TakeCeremony implements control.Tx: the row is deleted by the statement
// that reads it, so two answers to one challenge cannot both have it.
func (t *txn) TakeCeremony(challenge string) (control.Ceremony, error) {
	c := control.Ceremony{Challenge: challenge}
	var user sql.NullInt64
	var session string
	var created, expires int64
	err := t.queryRow(`DELETE FROM webauthn_ceremonies WHERE challenge = $1 RETURNING kind, user_id, session, created_at, expires_at`, challenge).
		Scan(&c.Kind, &user, &session, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, keyplane.Errorf(keyplane.CodeNotFound, "ceremony: not found")
	}
	if err != nil {
		return c, err
	}
	c.UserID, c.Session, c.CreatedAt, c.ExpiresAt = user.Int64, []byte(session), fromMS(created), fromMS(expires)
	return c, nil
}
