package control

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/keyplane/keyplane"
)

// argon2id parameters of new hashes: OWASP's recommended minimum (19 MiB,
// two passes, one lane). Each hash carries its parameters, so they can be
// raised later without invalidating stored ones.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

var b64 = base64.RawStdEncoding

// hashPassword hashes pw with argon2id and a random salt, in the PHC
// string form: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func hashPassword(r io.Reader, pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// checkPassword reports whether pw matches hash, in constant time.
func checkPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when no user has the e-mail address given,
// so a sign-in takes as long whether or not the address exists.
var dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// hashBudget is the memory the password hashes computed at once may hold:
// with argon2id's 19 MiB each, three hashes, or fewer on fewer cores (a
// hash keeps one core busy, so more at once would only wait for a core).
const hashBudget = 64 << 20

// hashWait is how long a password request waits for a hashing slot before
// it is refused as busy.
const hashWait = time.Second

// DefaultPasswordHashes is how many password hashes run at once unless
// Options.PasswordHashes says otherwise: as many as hashBudget holds, at
// most one per core, at least one.
func DefaultPasswordHashes() int {
	return max(1, min(hashBudget/(argonMemory*1024), runtime.GOMAXPROCS(0)))
}

// hashGate bounds the password hashes computed at once, whoever asks
// (sign-in, setup, a password change, a new user): each takes 19 MiB, so
// without a bound a burst of unauthenticated requests could take all the
// server's memory. A request that finds no free slot within hashWait is
// refused with ServiceUnavailable and a Retry-After.
type hashGate chan struct{}

func newHashGate(n int) hashGate { return make(hashGate, n) }

// run runs f, which hashes a password, in a slot.
func (g hashGate) run(ctx context.Context, f func()) error {
	timer := time.NewTimer(hashWait)
	defer timer.Stop()
	select {
	case g <- struct{}{}:
	case <-timer.C:
		e := keyplane.Errorf(keyplane.CodeUnavailable, "Too many sign-ins at once; try again in a moment.")
		e.RetryAfter = retryAfterBusy
		return e
	case <-ctx.Done():
		return ctx.Err()
	}
	f()
	// argon2id's memory is garbage the moment it returns. Collected at
	// once, the heap stays near what the slots hold; left to the pacer (serve
	// runs at GOGC=400) it would grow to five times that first. The last
	// hash of a burst also gives the memory back to the system.
	if len(g) == 1 {
		debug.FreeOSMemory()
	} else {
		runtime.GC()
	}
	<-g
	return nil
}

// hash hashes pw in a slot.
func (g hashGate) hash(ctx context.Context, r io.Reader, pw string) (h string, err error) {
	if gerr := g.run(ctx, func() { h, err = hashPassword(r, pw) }); gerr != nil {
		return "", gerr
	}
	return h, err
}

// check checks pw against hash in a slot.
func (g hashGate) check(ctx context.Context, hash, pw string) (ok bool, err error) {
	err = g.run(ctx, func() { ok = checkPassword(hash, pw) })
	return ok, err
}
