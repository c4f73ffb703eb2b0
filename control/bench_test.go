package control_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
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

// benchWrites is a Service on a durable SQLite database (as served:
// synchronous=FULL) holding one app with n keysets, for the write
// benchmarks below, which stand for scripts/bench's P2 and P8 without
// HTTP: 64 goroutines, so that the group commit gathers batches as it
// does under 64 connections.
func benchWrites(b *testing.B, n int) (*control.Service, keyplane.Principal, int64, []int64) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "k.db"), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc := control.New(db, control.Options{})
	p := keyplane.Principal{AccountID: 1, Grants: keyplane.RoleGrants(keyplane.RoleOwner)}
	app, err := svc.CreateApp(ctx, p, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for i := range n {
		name := fmt.Sprintf("k%d", i)
		k, _, _, err := svc.CreateKeyset(ctx, p, control.NewKeyset{AppID: app.ID, Name: &name})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	b.SetParallelism(64 / max(1, runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	return svc, p, app.ID, ids
}

// BenchmarkCreateKeyset is P2's write without HTTP: a keyset with its
// secret key, its audit event and the outbox's query, durable.
func BenchmarkCreateKeyset(b *testing.B) {
	svc, p, app, _ := benchWrites(b, 0)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := fmt.Sprintf("bench %d", n.Add(1))
			if _, _, _, err := svc.CreateKeyset(context.Background(), p, control.NewKeyset{AppID: app, Name: &name}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUpdateConfig is P8's write without HTTP: a configuration
// change of one keyset among 1,000, a value never sent before.
func BenchmarkUpdateConfig(b *testing.B) {
	svc, p, _, ids := benchWrites(b, 1000)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			ch := fmt.Sprintf("bench-%d", i)
			patch, err := keyplane.ParseConfigPatch(fmt.Appendf(nil, `{"presence":{"activeNoticeChannel":%q}}`, ch))
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := svc.UpdateConfig(context.Background(), p, ids[i%int64(len(ids))], patch); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
