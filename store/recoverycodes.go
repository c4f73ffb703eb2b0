package store

import "time"

// ReplaceRecoveryCodes implements control.Tx: the person's codes, used or
// not, give way to these.
func (t *txn) ReplaceRecoveryCodes(userID int64, hashes [][]byte) error {
	if _, err := t.exec(`DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := t.exec(`INSERT INTO recovery_codes (user_id, hash, used_at) VALUES ($1, $2, NULL)`, userID, h); err != nil {
			return err
		}
	}
	return nil
}

// UseRecoveryCode implements control.Tx: one statement marks the code
// used only if it was not, so a code can never be used twice, even by two
// sign-ins at once.
func (t *txn) UseRecoveryCode(userID int64, hash []byte, at time.Time) (bool, error) {
	res, err := t.exec(`UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL`, ms(at), userID, hash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CountRecoveryCodes implements control.Tx: the unused ones.
func (t *txn) CountRecoveryCodes(userID int64) (int, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}
