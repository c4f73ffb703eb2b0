package keyplane

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
)

// ChainHash is the hash that seals e onto the event before it: SHA-256 over
// the previous hash and every recorded field, each length-prefixed so no
// two different events can encode alike. Changing any stored field, or
// removing an event, breaks every later link.
func (e AuditEvent) ChainHash() []byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	num := func(v int64) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	actor, _ := json.Marshal(e.Actor) // a struct of strings and numbers cannot fail
	field(e.PrevHash)
	num(e.ID)
	num(e.AccountID)
	num(e.At.UnixMilli())
	field([]byte(e.Type))
	field(actor)
	field([]byte(e.TargetType))
	num(e.TargetID)
	field(e.Before)
	field(e.After)
	return h.Sum(nil)
}
