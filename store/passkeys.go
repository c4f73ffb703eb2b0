package store

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// passkeyCols are the columns passkeyRow scans, in its order.
const passkeyCols = `id, user_id, name, credential_id, public_key, user_handle, sign_count, aaguid,
	backup_eligible, backup_state, transports, attestation_format, created_at, last_used_at`

// scanPasskey reads one row of passkeyCols.
func scanPasskey(sc interface{ Scan(...any) error }) (control.StoredPasskey, error) {
	var k control.StoredPasskey
	var count, be, bs, created int64
	var transports string
	var used sql.NullInt64
	err := sc.Scan(&k.ID, &k.UserID, &k.Name, &k.CredentialID, &k.PublicKey, &k.UserHandle, &count, &k.AAGUID,
		&be, &bs, &transports, &k.AttestationFormat, &created, &used)
	if err != nil {
		return k, err
	}
	k.SignCount, k.BackupEligible, k.BackupState = uint32(count), be == 1, bs == 1
	if transports != "" {
		k.Transports = strings.Split(transports, ",")
	}
	k.CreatedAt, k.LastUsedAt = fromMS(created), fromOptMS(used)
	return k, nil
}

// Passkeys implements control.Tx.
func (t *txn) Passkeys(userID int64) ([]control.StoredPasskey, error) {
	rows, err := t.query(`SELECT `+passkeyCols+` FROM passkeys WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []control.StoredPasskey
	for rows.Next() {
		k, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// PasskeyByCredential implements control.Tx.
func (t *txn) PasskeyByCredential(credentialID []byte) (control.StoredPasskey, error) {
	k, err := scanPasskey(t.queryRow(`SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = $1`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return k, keyplane.Errorf(keyplane.CodeNotFound, "passkey: not found")
	}
	return k, err
}

// InsertPasskey implements control.Tx.
func (t *txn) InsertPasskey(k *control.StoredPasskey) error {
	var n int
	if err := t.queryRow(`SELECT count(*) FROM passkeys WHERE credential_id = $1`, k.CredentialID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return keyplane.Errorf(keyplane.CodeConflict, "passkey: this one is registered already")
	}
	return t.queryRow(`INSERT INTO passkeys (user_id, name, credential_id, public_key, user_handle, sign_count, aaguid,
		backup_eligible, backup_state, transports, attestation_format, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		k.UserID, k.Name, k.CredentialID, k.PublicKey, k.UserHandle, int64(k.SignCount), k.AAGUID,
		boolInt(k.BackupEligible), boolInt(k.BackupState), strings.Join(k.Transports, ","), k.AttestationFormat, ms(k.CreatedAt)).Scan(&k.ID)
}

// UsePasskey implements control.Tx: the counter moves only from the value
// the use was checked against, so of two uses checked at once, one wins.
func (t *txn) UsePasskey(id int64, old, now uint32, backupState bool, at time.Time) (bool, error) {
	res, err := t.exec(`UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3 WHERE id = $4 AND sign_count = $5`,
		int64(now), boolInt(backupState), ms(at), id, int64(old))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeletePasskey implements control.Tx.
func (t *txn) DeletePasskey(userID, id int64) (bool, error) {
	res, err := t.exec(`DELETE FROM passkeys WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
