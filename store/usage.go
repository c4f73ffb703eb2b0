package store

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane"
)

// usageChunk is how many rows one usage statement reads or writes: large
// enough to amortize a round trip, small enough that the statement's
// parameters stay few (4 a row at most).
const usageChunk = 250

// params builds the placeholders of a statement as its values are added:
// "$1, $2, …" on PostgreSQL, "?" on SQLite, which looks every "$N" up by
// name in a list, so a statement of a thousand of them cost quadratic time
// to prepare and to bind (most of an import's time, by profile).
type params struct {
	args []any
	anon bool
}

// params starts the parameters of one statement for t's engine.
func (t *txn) params() params { return params{anon: t.engine == "sqlite"} }

func (p *params) add(v any) string {
	p.args = append(p.args, v)
	if p.anon {
		return "?"
	}
	return "$" + strconv.Itoa(len(p.args))
}

// KeysetsByRef implements control.Tx.
func (t *txn) KeysetsByRef(ids []int64, subscribeKeys []string) ([]keyplane.Keyset, error) {
	var out []keyplane.Keyset
	var s keysetScanner
	find := func(col string, vals []any) error {
		for len(vals) > 0 {
			n := min(len(vals), usageChunk)
			p := t.params()
			marks := make([]string, n)
			for i, v := range vals[:n] {
				marks[i] = p.add(v)
			}
			vals = vals[n:]
			rows, err := t.query(`SELECT `+keysetCols+` FROM keysets WHERE `+col+` IN (`+strings.Join(marks, ", ")+`)`, p.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				k, err := s.scan(rows)
				if err != nil {
					rows.Close()
					return err
				}
				out = append(out, k)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	anyIDs := make([]any, len(ids))
	for i, v := range ids {
		anyIDs[i] = v
	}
	anyKeys := make([]any, len(subscribeKeys))
	for i, v := range subscribeKeys {
		anyKeys[i] = v
	}
	if err := find("id", anyIDs); err != nil {
		return nil, err
	}
	return out, find("subscribe_key", anyKeys)
}

type usageKey struct {
	id     int64
	metric keyplane.MetricCode
	day    keyplane.Day
}

// usageWriteRows is how many rows one statement of PutUsage reads or
// writes (4 parameters a row, well under either engine's limit).
const usageWriteRows = 500

// stmts prepares each statement text once per transaction: a batch of
// thousands of points runs the same few texts again and again, and parsing
// them was a fifth of an ingestion's time on SQLite. The transaction closes
// them when it ends.
type stmts map[string]*sql.Stmt

func (t *txn) prepared(c stmts, q string) (*sql.Stmt, error) {
	if st, ok := c[q]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(t.ctx, q)
	if err != nil {
		return nil, err
	}
	c[q] = st
	return st, nil
}

// rowMarks writes n groups of width placeholders, "(?, ?), (?, ?)" or
// "($1, $2), ($3, $4)".
func (t *txn) rowMarks(b *strings.Builder, n, width int) {
	p := t.params()
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range width {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.add(nil))
		}
		b.WriteByte(')')
	}
}

// PutUsage implements control.Tx. It reads the values the points replace,
// writes the points, then adds the differences to the app and account
// rollups, summed per app (or account), metric and day first, so a batch
// changes each rollup row once. Points go in the table's key order
// (keyset, day, metric), which keeps each statement's writes on few pages.
func (t *txn) PutUsage(points []keyplane.UsagePoint) error {
	points = slices.Clone(points)
	slices.SortFunc(points, func(a, b keyplane.UsagePoint) int {
		return cmp.Or(cmp.Compare(a.KeysetID, b.KeysetID), cmp.Compare(a.Day, b.Day), cmp.Compare(a.Metric, b.Metric))
	})
	cache := stmts{}
	apps, accounts := map[usageKey]float64{}, map[usageKey]float64{}
	args := make([]any, 0, 4*usageWriteRows)
	for chunk := range slices.Chunk(points, usageWriteRows) {
		var b strings.Builder
		args = args[:0]
		if t.engine == "sqlite" {
			b.WriteString(`SELECT keyset_id, metric, day, value FROM usage_keyset_daily WHERE (keyset_id, metric, day) IN (`)
			t.rowMarks(&b, len(chunk), 3)
			b.WriteString(")")
			for _, pt := range chunk {
				args = append(args, pt.KeysetID, int64(pt.Metric), int64(pt.Day))
			}
		} else {
			// PostgreSQL plans a list of 500 row values as 500 ORs, which
			// took it 90 ms to plan at each chunk (U1 on PostgreSQL ran at
			// 1,700 points/s); three arrays joined to the key plan in 2 ms.
			b.WriteString(`SELECT keyset_id, metric, day, value FROM usage_keyset_daily
				WHERE (keyset_id, day, metric) IN (SELECT * FROM unnest($1::bigint[], $2::integer[], $3::smallint[]))`)
			ids, days, metrics := make([]int64, len(chunk)), make([]int64, len(chunk)), make([]int64, len(chunk))
			for i, pt := range chunk {
				ids[i], days[i], metrics[i] = pt.KeysetID, int64(pt.Day), int64(pt.Metric)
			}
			args = append(args, ids, days, metrics)
		}
		st, err := t.prepared(cache, b.String())
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(t.ctx, args...)
		if err != nil {
			return err
		}
		old := make(map[usageKey]float64, len(chunk))
		for rows.Next() {
			var k usageKey
			var v float64
			if err := rows.Scan(&k.id, &k.metric, &k.day, &v); err != nil {
				rows.Close()
				return err
			}
			old[k] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		b.Reset()
		b.WriteString(`INSERT INTO usage_keyset_daily (keyset_id, metric, day, value) VALUES `)
		t.rowMarks(&b, len(chunk), 4)
		b.WriteString(` ON CONFLICT (keyset_id, metric, day) DO UPDATE SET value = excluded.value`)
		args = args[:0]
		for _, pt := range chunk {
			args = append(args, pt.KeysetID, int64(pt.Metric), int64(pt.Day), pt.Value)
			if d := pt.Value - old[usageKey{pt.KeysetID, pt.Metric, pt.Day}]; d != 0 {
				apps[usageKey{pt.AppID, pt.Metric, pt.Day}] += d
				accounts[usageKey{pt.AccountID, pt.Metric, pt.Day}] += d
			}
		}
		if st, err = t.prepared(cache, b.String()); err != nil {
			return err
		}
		if _, err := st.ExecContext(t.ctx, args...); err != nil {
			return err
		}
	}
	if err := t.addUsage(cache, "usage_app_daily", "app_id", apps); err != nil {
		return err
	}
	return t.addUsage(cache, "usage_account_daily", "account_id", accounts)
}

// addUsage adds deltas to a rollup table, in key order.
func (t *txn) addUsage(cache stmts, table, col string, deltas map[usageKey]float64) error {
	keys := make([]usageKey, 0, len(deltas))
	for k, d := range deltas {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b usageKey) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.metric, b.metric), cmp.Compare(a.day, b.day))
	})
	args := make([]any, 0, 4*usageWriteRows)
	for chunk := range slices.Chunk(keys, usageWriteRows) {
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + table + ` (` + col + `, metric, day, value) VALUES `)
		t.rowMarks(&b, len(chunk), 4)
		b.WriteString(` ON CONFLICT (` + col + `, metric, day) DO UPDATE SET value = ` + table + `.value + excluded.value`)
		args = args[:0]
		for _, k := range chunk {
			args = append(args, k.id, int64(k.metric), int64(k.day), deltas[k])
		}
		st, err := t.prepared(cache, b.String())
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(t.ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// usageTables are the table and id column of each entity's daily values.
var usageTables = map[keyplane.UsageEntity][2]string{
	keyplane.UsageKeyset:  {"usage_keyset_daily", "keyset_id"},
	keyplane.UsageApp:     {"usage_app_daily", "app_id"},
	keyplane.UsageAccount: {"usage_account_daily", "account_id"},
}

// Usage implements control.Tx.
func (t *txn) Usage(e keyplane.UsageEntity, id int64, metrics []keyplane.MetricCode, from, to keyplane.Day) (map[keyplane.MetricCode]map[keyplane.Day]float64, error) {
	tc, ok := usageTables[e]
	if !ok {
		return nil, fmt.Errorf("usage of %q: no such entity", e)
	}
	out := map[keyplane.MetricCode]map[keyplane.Day]float64{}
	if len(metrics) == 0 {
		return out, nil
	}
	// Parameters are added in the order they appear: "?" binds by position.
	p := t.params()
	idMark := p.add(id)
	marks := make([]string, len(metrics))
	for i, m := range metrics {
		marks[i] = p.add(int64(m))
	}
	q := fmt.Sprintf(`SELECT metric, day, value FROM %s WHERE %s = %s AND metric IN (%s) AND day >= %s AND day < %s`,
		tc[0], tc[1], idMark, strings.Join(marks, ", "), p.add(int64(from)), p.add(int64(to)))
	return out, t.scanUsage(q, p.args, out)
}

// UsageOfKeysets implements control.Tx.
func (t *txn) UsageOfKeysets(keysetIDs []int64, metrics []keyplane.MetricCode, from, to keyplane.Day) (map[keyplane.MetricCode]map[keyplane.Day]float64, error) {
	out := map[keyplane.MetricCode]map[keyplane.Day]float64{}
	if len(metrics) == 0 {
		return out, nil
	}
	for ids := range slices.Chunk(keysetIDs, usageChunk) {
		p := t.params()
		ks := make([]string, len(ids))
		for i, id := range ids {
			ks[i] = p.add(id)
		}
		ms := make([]string, len(metrics))
		for i, m := range metrics {
			ms[i] = p.add(int64(m))
		}
		q := fmt.Sprintf(`SELECT metric, day, SUM(value) FROM usage_keyset_daily WHERE keyset_id IN (%s) AND metric IN (%s) AND day >= %s AND day < %s GROUP BY metric, day`,
			strings.Join(ks, ", "), strings.Join(ms, ", "), p.add(int64(from)), p.add(int64(to)))
		if err := t.scanUsage(q, p.args, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scanUsage adds the (metric, day, value) rows of a query to out.
func (t *txn) scanUsage(q string, args []any, out map[keyplane.MetricCode]map[keyplane.Day]float64) error {
	rows, err := t.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m keyplane.MetricCode
		var d keyplane.Day
		var v float64
		if err := rows.Scan(&m, &d, &v); err != nil {
			return err
		}
		if out[m] == nil {
			out[m] = map[keyplane.Day]float64{}
		}
		out[m][d] += v
	}
	return rows.Err()
}

// DeleteUsageBefore implements control.Tx.
func (t *txn) DeleteUsageBefore(day keyplane.Day) (int64, error) {
	var n int64
	for _, tc := range []keyplane.UsageEntity{keyplane.UsageKeyset, keyplane.UsageApp, keyplane.UsageAccount} {
		res, err := t.exec(`DELETE FROM `+usageTables[tc][0]+` WHERE day < $1`, int64(day))
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}
