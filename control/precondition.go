package control

import (
	"slices"

	"github.com/keyplane/keyplane"
)

// Precondition is what an update asks of the keyset's current version: an
// If-Match header, checked inside the write transaction, so two updates
// made from one version cannot both apply (compare-and-set).
type Precondition struct {
	set      bool
	versions []int64
}

// Unconditional is no precondition: the update applies to any version.
var Unconditional = Precondition{}

// IfMatch is the precondition that the keyset's version is one of
// versions; with none given, no version meets it.
func IfMatch(versions ...int64) Precondition {
	return Precondition{set: true, versions: versions}
}

func (c Precondition) check(k keyplane.Keyset) error {
	if !c.set || slices.Contains(c.versions, k.Version) {
		return nil
	}
	return keyplane.Errorf(keyplane.CodePreconditionFailed,
		"If-Match: keyset %d has changed since that version was read; nothing was changed: GET it again and retry", k.ID)
}
