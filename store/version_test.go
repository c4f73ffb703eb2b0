package store

import (
	"context"
	"sync"
	"testing"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// Requests share reads of data_version, but never one that began before
// they did: while others keep asking, every ask made after a commit (by
// another handle on the file, as another process would) sees a new
// version.
func TestVersionSeesEveryCommitBeforeTheAsk(t *testing.T) {
	path := sqliteDSN(t)
	db, other := openDB(t, path), openDB(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 { // keep reads running all the time
		wg.Go(func() {
			for ctx.Err() == nil {
				db.Version(ctx)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	for i := range 50 {
		before, ok, err := db.Version(context.Background())
		if err != nil || !ok {
			t.Fatalf("Version: %v %v", ok, err)
		}
		if err := other.Write(context.Background(), func(tx control.Tx) error {
			a := keyplane.App{AccountID: 1, Name: "a", CreatedAt: t0, UpdatedAt: t0}
			return tx.InsertApp(&a)
		}); err != nil {
			t.Fatal(err)
		}
		var asks sync.WaitGroup
		for range 8 {
			asks.Go(func() {
				after, _, err := db.Version(context.Background())
				if err != nil || after == before {
					t.Errorf("round %d: version %d after a commit, as before it (%v)", i, after, err)
				}
			})
		}
		asks.Wait()
	}
}
