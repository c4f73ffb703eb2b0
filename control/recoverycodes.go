package control

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

// recoveryAlphabet writes recovery codes: Crockford's base32 in lower
// case (no i, l, o or u, which people confuse with 1, 0 and v), 32
// symbols, 5 bits each. Typed back, o counts as 0 and i or l as 1.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// recoveryCodeLen is the symbols of a code: 16, 80 bits, written as four
// groups of four.
const recoveryCodeLen = 16

// newRecoveryCodes makes keyplane.RecoveryCodeCount codes for person
// userID, and their hashes to store.
func (s *Service) newRecoveryCodes(userID int64) (codes []string, hashes [][]byte, err error) {
	for range keyplane.RecoveryCodeCount {
		b := make([]byte, recoveryCodeLen)
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return nil, nil, err
		}
		var sb strings.Builder
		for i, c := range b {
			if i > 0 && i%4 == 0 {
				sb.WriteByte('-')
			}
			// 256 is a multiple of 32: every symbol is equally likely.
			sb.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)])
		}
		codes = append(codes, sb.String())
		hashes = append(hashes, recoveryHash(userID, sb.String()))
	}
	return codes, hashes, nil
}

// recoveryHash is what is stored of a code: a hash bound to its person,
// of the code as typed without dashes or spaces, in lower case.
func recoveryHash(userID int64, code string) []byte {
	h := sha256.New()
	h.Write([]byte("keyplane recovery code\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(userID)))
	h.Write([]byte(strings.NewReplacer("o", "0", "i", "1", "l", "1").Replace(strings.ToLower(normalizeCode(code)))))
	return h.Sum(nil)
}

// isRecoveryCode tells a recovery code from an authenticator's: it has
// letters, or more than the authenticator's digits.
func isRecoveryCode(code string) bool {
	c := normalizeCode(code)
	if len(c) != keyplane.TOTPDigits {
		return true
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return true
		}
	}
	return false
}

// RegenerateRecoveryCodes gives p ten new recovery codes in place of all
// their old ones, used or not, and returns them: the only time they are
// shown. The password is asked again, as for removing a factor.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p keyplane.Principal, ip, password string) ([]string, error) {
	if err := ownFactors(p); err != nil {
		return nil, err
	}
	a, err := s.recheckPassword(ctx, p, ip, password)
	if err != nil {
		return nil, err
	}
	codes, hashes, err := s.newRecoveryCodes(p.UserID)
	if err != nil {
		return nil, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := a.release(tx); err != nil {
			return err
		}
		f, err := secondFactors(tx, p.UserID)
		if err != nil {
			return err
		}
		if !f.Any() {
			return keyplane.Errorf(keyplane.CodeConflict, "recovery codes: they come with a second factor; set one up first")
		}
		if err := tx.ReplaceRecoveryCodes(p.UserID, hashes); err != nil {
			return err
		}
		return s.recordPerson(tx, p.UserID, keyplane.EventRecoveryCodesRegenerated, map[string]any{"count": len(codes)}, true, p.Origin)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// RecoveryCodeTx keeps recovery codes, as hashes.
type RecoveryCodeTx interface {
	// ReplaceRecoveryCodes replaces every code of the person (nil: none).
	ReplaceRecoveryCodes(userID int64, hashes [][]byte) error
	// UseRecoveryCode marks an unused code used, reporting whether there
	// was one.
	UseRecoveryCode(userID int64, hash []byte, at time.Time) (bool, error)
	// CountRecoveryCodes counts the person's unused codes.
	CountRecoveryCodes(userID int64) (int, error)
}
