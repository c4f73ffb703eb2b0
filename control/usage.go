package control

import (
	"context"
	"fmt"
	"strconv"

	"github.com/keyplane/keyplane"
)

// UsageParams are the parameters of a usage query as the caller wrote them.
type UsageParams struct {
	EntityType, EntityID, From, To, Metrics string
}

// UsageMetrics answers a usage query: metric → date → value for every day
// of the range. It needs Usage & Monitoring Read at the level of the entity
// asked about (an App row covers that app and its keysets, never the
// account total); an OEM customer's usage, which may span apps, needs it at
// Account level.
func (s *Service) UsageMetrics(ctx context.Context, p keyplane.Principal, up UsageParams) (map[string]map[string]float64, error) {
	q, err := keyplane.ParseUsageQuery(up.EntityType, up.EntityID, up.From, up.To, up.Metrics, s.today(), s.retention)
	if err != nil {
		return nil, err
	}
	op := keyplane.OpGetUsage
	var stored map[keyplane.MetricCode]map[keyplane.Day]float64
	err = s.store.Read(ctx, func(tx Tx) error {
		var err error
		switch q.Entity {
		case keyplane.UsageAccount:
			if err := keyplane.Authorize(p.Grants, keyplane.Target{}, op.Needs...); err != nil {
				return err
			}
			if q.EntityID != p.AccountID {
				// A key sees one account; others are as absent as their apps.
				return keyplane.Errorf(keyplane.CodeNotFound, "account %d: not found", q.EntityID)
			}
		case keyplane.UsageApp:
			if err := keyplane.Authorize(p.Grants, keyplane.Target{AppID: q.EntityID}, op.Needs...); err != nil {
				return err
			}
			_, err = tx.App(p.AccountID, q.EntityID)
		case keyplane.UsageKeyset:
			_, err = keyset(tx, p, q.EntityID, op)
		case keyplane.UsageCustomer:
			if err := keyplane.Authorize(p.Grants, keyplane.Target{}, op.Needs...); err != nil {
				return err
			}
			c, err := tx.Customer(p.AccountID, q.EntityID)
			if err != nil {
				return err
			}
			metrics, from := q.Stored()
			stored, err = tx.UsageOfKeysets(customerKeysetIDs(c), metrics, from, q.To)
			return err
		}
		if err != nil {
			return err
		}
		metrics, from := q.Stored()
		stored, err = tx.Usage(q.Entity, q.EntityID, metrics, from, q.To)
		return err
	})
	if err != nil {
		return nil, err
	}
	return q.Answer(stored), nil
}

// today is the current UTC day.
func (s *Service) today() keyplane.Day { return keyplane.DayOf(s.clock()) }

// UsageRetention is the number of days usage is kept.
func (s *Service) UsageRetention() int { return s.retention }

// maxUsageProblems bounds the messages of one refused batch.
const maxUsageProblems = 20

// ReportUsage stores reported usage of keysets of p's account, all of it or
// none: any bad report refuses the batch, naming each one ("points[3]…").
// A report replaces the value of the same keyset, metric and day, so a
// batch sent again counts nothing twice; within a batch, a later report
// replaces an earlier one the same way. Reports are not audited: they are
// measurements, not changes anyone made.
func (s *Service) ReportUsage(ctx context.Context, p keyplane.Principal, reports []keyplane.UsageReport) (int, error) {
	if err := keyplane.Authorize(p.Grants, keyplane.Target{}, keyplane.OpReportUsage.Needs...); err != nil {
		return 0, err
	}
	return s.putUsage(ctx, reports, p.AccountID, func(i int) string { return "points[" + strconv.Itoa(i) + "]." })
}

// CheckUsage validates reports of any account without storing them, as an
// import's first pass does; name(i) starts the messages about report i
// ("line 12: ").
func (s *Service) CheckUsage(ctx context.Context, reports []keyplane.UsageReport, name func(int) string) error {
	return s.store.Read(ctx, func(tx Tx) error {
		_, err := s.usagePoints(tx, reports, 0, name)
		return err
	})
}

// ImportUsage stores reports of keysets of any account, as an operator's
// import does, all or none, with ReportUsage's rules.
func (s *Service) ImportUsage(ctx context.Context, reports []keyplane.UsageReport, name func(int) string) (int, error) {
	return s.putUsage(ctx, reports, 0, name)
}

// putUsage stores reports of keysets of account (any when 0) in one
// transaction, and says how many points that made.
func (s *Service) putUsage(ctx context.Context, reports []keyplane.UsageReport, account int64, name func(int) string) (n int, err error) {
	err = s.store.Write(ctx, func(tx Tx) error {
		points, err := s.usagePoints(tx, reports, account, name)
		if err != nil {
			return err
		}
		n = len(points)
		return tx.PutUsage(points)
	})
	return n, err
}

// usagePoints validates reports and resolves their keysets, which must
// belong to account (any account when 0). Points come back one per
// keyset, metric and day, the last report of each.
func (s *Service) usagePoints(tx Tx, reports []keyplane.UsageReport, account int64, name func(int) string) ([]keyplane.UsagePoint, error) {
	today := s.today()
	var msgs []string
	problem := func(m ...string) { msgs = append(msgs, m...) }
	// Each keyset once: a batch names the same few keysets many times over
	// (one point per metric and day), and looking each up again was a tenth
	// of an ingestion's time.
	var ids []int64
	var subKeys []string
	seenID, seenSub := map[int64]bool{}, map[string]bool{}
	for _, r := range reports {
		if r.KeysetID != nil {
			if id := int64(*r.KeysetID); !seenID[id] {
				seenID[id] = true
				ids = append(ids, id)
			}
		} else if r.SubscribeKey != nil && !seenSub[*r.SubscribeKey] {
			seenSub[*r.SubscribeKey] = true
			subKeys = append(subKeys, *r.SubscribeKey)
		}
	}
	found, err := tx.KeysetsByRef(ids, subKeys)
	if err != nil {
		return nil, err
	}
	byID, bySub := map[int64]keyplane.Keyset{}, map[string]keyplane.Keyset{}
	for _, k := range found {
		if account == 0 || k.AccountID == account {
			byID[k.ID], bySub[k.SubscribeKey] = k, k
		}
	}
	where := "in this account"
	if account == 0 {
		where = "in any account"
	}
	type key struct {
		keyset int64
		metric keyplane.MetricCode
		day    keyplane.Day
	}
	index := map[key]int{}
	points := make([]keyplane.UsagePoint, 0, len(reports))
	for i, r := range reports {
		day, metric, bad := r.Check(name(i), today, s.retention)
		problem(bad...)
		var k keyplane.Keyset
		var ok bool
		switch {
		case r.KeysetID != nil:
			if k, ok = byID[int64(*r.KeysetID)]; !ok {
				problem(fmt.Sprintf("%skeysetId: keyset %d: not found %s", name(i), *r.KeysetID, where))
			}
		case r.SubscribeKey != nil:
			if k, ok = bySub[*r.SubscribeKey]; !ok && len(bad) == 0 {
				sub := *r.SubscribeKey
				if len(sub) > 60 {
					sub = sub[:60] + "…"
				}
				problem(fmt.Sprintf("%ssubscribeKey: no keyset %s has subscribe key %q", name(i), where, sub))
			}
		}
		if !ok || len(bad) > 0 || len(msgs) > 0 {
			continue
		}
		pt := keyplane.UsagePoint{AccountID: k.AccountID, AppID: k.AppID, KeysetID: k.ID, Day: day, Metric: metric, Value: *r.Value}
		if j, dup := index[key{k.ID, metric, day}]; dup {
			points[j] = pt
			continue
		}
		index[key{k.ID, metric, day}] = len(points)
		points = append(points, pt)
	}
	if len(msgs) > maxUsageProblems {
		msgs = append(msgs[:maxUsageProblems], fmt.Sprintf("… and %d more problems", len(msgs)-maxUsageProblems))
	}
	if err := keyplane.Invalid(msgs...); err != nil {
		return nil, err
	}
	return points, nil
}

// EnforceUsageRetention deletes the usage older than the retention window,
// and says how many rows went.
func (s *Service) EnforceUsageRetention(ctx context.Context) (int64, error) {
	var n int64
	err := s.store.Write(ctx, func(tx Tx) (err error) {
		n, err = tx.DeleteUsageBefore(s.today() - keyplane.Day(s.retention))
		return err
	})
	return n, err
}
