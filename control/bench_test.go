package control_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/store"
)

// BenchmarkAuthHotPath is what every API request pays before its own work:
// authenticate the key (format, checksum, hash, lookup, revocation and
// expiry) and authorize the operation against the integration's grants.
// scripts/bench reports it as P4; the sub-benchmarks differ only in the
// number of grants, so allocations that grow with them show.
func BenchmarkAuthHotPath(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("grants=%d", n), func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, filepath.Join(b.TempDir(), "k.db"), time.Now())
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			svc := control.New(db, control.Options{})
			// n-1 app-level rows that do not cover the target, then the
			// account-level one that does: the search walks them all.
			maker, _ := keyplane.ParseGrant("account:app:rw")
			operator := keyplane.Principal{AccountID: 1, Grants: []keyplane.Grant{maker}}
			var grants []keyplane.Grant
			for range n - 1 {
				a, err := svc.CreateApp(ctx, operator, "other")
				if err != nil {
					b.Fatal(err)
				}
				g, _ := keyplane.ParseGrant(fmt.Sprintf("app/%d:app:read", a.ID))
				grants = append(grants, g)
			}
			g, _ := keyplane.ParseGrant("account:keyset:read")
			grants = append(grants, g)
			_, key, err := svc.CreateIntegration(ctx, keyplane.Operator(1), "bench", grants, time.Now().Add(24*time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			target := keyplane.Target{AppID: 7, KeysetID: 12}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				p, err := svc.Authenticate(ctx, key.Key, keyplane.Origin{})
				if err != nil {
					b.Fatal(err)
				}
				if err := keyplane.Authorize(p.Grants, target, keyplane.OpGetKeyset.Needs...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
