package main

import (
	"context"
	"fmt"
)

// p8Keysets is the shape of P8's databases: 1,000 keysets, so that the
// PATCHes of 64 connections rarely meet on one keyset.
var p8Keysets = oneAccount(100, 10)

// p8 measures durable configuration changes: PATCH /v2/keysets/{id}/config
// from 64 connections, each request on a keyset drawn at random from
// 1,000 and setting a value never sent before (wrkScript), so that every
// one changes the keyset and writes it, with its audit event. On SQLite,
// then on two PostgreSQL replicas (wrk's threads one on each).
func p8(ctx context.Context, b *bench) ([]figure, error) {
	const what = "PATCH keyset config, durable, 1,000 keysets"
	if b.wrkBin == "" {
		return []figure{{ID: "P8", What: what, Note: noWrk}}, nil
	}
	patches := func(servers []*proc, s seeded, name string) (figure, error) {
		var runs []outcome
		for i := range b.pairs {
			o, err := b.measure(ctx, servers[0], fmt.Sprintf("P8-%s-%d", name, i+1), b.wrk("patch-config", servers, "/", s.key, s.keysetIDs))
			if err != nil {
				return figure{}, err
			}
			runs = append(runs, o)
		}
		f := medianFigure(runs)
		for _, p := range servers {
			f.RSSMB = max(f.RSSMB, mb(p.peakRSS()))
		}
		return f, nil
	}

	s, err := seed(ctx, b.path("p8.db"), b.path("p8.kek"), p8Keysets, nil)
	if err != nil {
		return nil, err
	}
	kp, err := b.serve(ctx, "keyplane (P8)", s)
	if err != nil {
		return nil, err
	}
	defer kp.stop()
	f, err := patches([]*proc{kp}, s, "sqlite")
	if err != nil {
		return nil, err
	}
	f.ID, f.What, f.Target = "P8", what+", SQLite (wrk)", "≥ 3,000/s"
	f.Met = b.verdict(f.Throughput >= 3000)
	figs := []figure{f}

	const pgWhat = what + ", PostgreSQL, 2 replicas, synchronous_commit=on (wrk)"
	if b.postgres == "" {
		return append(figs, noPostgres("P8", pgWhat)), nil
	}
	ps, replicas, done, err := b.pgReplicas(ctx, "P8", p8Keysets)
	if err != nil {
		return figs, err
	}
	defer done()
	f, err = patches(replicas, ps, "postgres")
	if err != nil {
		return figs, err
	}
	f.ID, f.What, f.Target = "P8", pgWhat, "≥ 2,000/s across the two"
	f.Met = b.verdict(f.Throughput >= 2000)
	return append(figs, f), nil
}
