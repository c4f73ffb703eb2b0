package control

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword(rand.Reader, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "horse") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := hashPassword(rand.Reader, "correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if !checkPassword(h, "correct horse battery") {
		t.Error("the right password is refused")
	}
	for _, pw := range []string{"correct horse batterY", "", "correct horse battery "} {
		if checkPassword(h, pw) {
			t.Errorf("%q accepted", pw)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA", "$argon2id$v=19$m=0,t=2,p=1$AAAA$AAAA", "plain", h + "$"} {
		if checkPassword(bad, "correct horse battery") {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

// The hash an unknown address is checked against does the full work, so
// the answer takes as long as for a real user.
func TestDummyHashCostsAsMuchAsARealOne(t *testing.T) {
	real, _ := hashPassword(rand.Reader, "correct horse battery")
	timeOf := func(h string) time.Duration {
		start := time.Now()
		for range 3 {
			checkPassword(h, "guess guess guess")
		}
		return time.Since(start)
	}
	d, r := timeOf(dummyHash), timeOf(real)
	// A skipped check costs microseconds against tens of milliseconds, so
	// a wide margin keeps a loaded machine from making this flaky.
	if d < r/20 {
		t.Errorf("dummy check %v, real check %v: the dummy hash is not really checked", d, r)
	}
}
