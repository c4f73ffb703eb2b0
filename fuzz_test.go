package keyplane

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// FuzzParseGrant: any input is refused with a 400 or parses to a row that
// PubNub offers and that reads back the same from its canonical form.
func FuzzParseGrant(f *testing.F) {
	for _, s := range []string{"account:app:rw", "app/12:keyset:read", "keyset/7:secret-key:w", "app/-1:usage:r", "a:b:c:d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrant(s)
		if err != nil {
			if ErrorCode(err) != CodeInvalid {
				t.Fatalf("ParseGrant(%q): %v is not a 400", s, err)
			}
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("ParseGrant(%q) = %v, which does not validate: %v", s, g, err)
		}
		if again, err := ParseGrant(g.String()); err != nil || again != g {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
	})
}

// FuzzCheckAPIKey: the offline check never panics, and refuses with a 401.
func FuzzCheckAPIKey(f *testing.F) {
	k, _ := NewAPIKey(nil)
	for _, s := range []string{k, "si_", "", "si_" + k[3:20], k[:len(k)-1] + "!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckAPIKey(s)
		if err != nil && ErrorCode(err) != CodeUnauthorized {
			t.Fatalf("CheckAPIKey(%q): %v is not a 401", s, err)
		}
		if err == nil && len(s) != apiKeyLen {
			t.Fatalf("CheckAPIKey(%q) accepted a key of length %d", s, len(s))
		}
	})
}

// FuzzAuditInputs: the audit filters and cursors, and the method+path an
// authz check names, are refused with a 400 or read consistently; nothing
// panics.
func FuzzAuditInputs(f *testing.F) {
	q := AuditQuery{AccountID: 1, ActorType: "integration"}
	for _, s := range []string{"keyset/12", "operator", q.AuditCursor(7), "/v2/keysets/1/config", "", "//", "a/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if typ, id, err := ParseAuditRef("target", s); err != nil {
			if ErrorCode(err) != CodeInvalid {
				t.Fatalf("ParseAuditRef(%q): %v is not a 400", s, err)
			}
		} else if typ == "" || id < 0 {
			t.Fatalf("ParseAuditRef(%q) = %q %d", s, typ, id)
		}
		r := q
		if err := r.ReadAuditCursor(s); err != nil {
			if ErrorCode(err) != CodeInvalid {
				t.Fatalf("ReadAuditCursor(%q): %v is not a 400", s, err)
			}
		} else if r.After < 0 || q.AuditCursor(r.After) != s {
			t.Fatalf("cursor %q read as %d, which writes back as %q", s, r.After, q.AuditCursor(r.After))
		}
		if op, params, _, ok := MatchOperation("GET", s); ok {
			for _, v := range params {
				if v == "" {
					t.Fatalf("MatchOperation(%q) = %s with an empty parameter", s, op.ID)
				}
			}
		}
	})
}

// FuzzParseUsageQuery: any query is refused with a 400, or parses to a
// range inside the retention whose answer has every day and metric asked.
func FuzzParseUsageQuery(f *testing.F) {
	f.Add("account", "1", "2026-11-01", "2026-11-08", "publish,mtd_txn_total")
	f.Add("keyset", "12", "2028-02-28", "2028-03-01", "message_ratio")
	f.Add("app", "01", "2026-11-08", "2026-11-01", "nope, publish")
	f.Add("", "", "", "", "")
	today, _ := ParseDay("2026-11-23")
	f.Fuzz(func(t *testing.T, entity, id, from, to, metrics string) {
		q, err := ParseUsageQuery(entity, id, from, to, metrics, today, DefaultUsageRetentionDays)
		if err != nil {
			if ErrorCode(err) != CodeInvalid || len(ErrorMessages(err)) == 0 {
				t.Fatalf("refusal %v is not a 400 with messages", err)
			}
			return
		}
		if q.To <= q.From || int(q.To-q.From) > DefaultUsageRetentionDays || q.From < today-DefaultUsageRetentionDays || len(q.Metrics) == 0 {
			t.Fatalf("accepted %+v", q)
		}
		ans := q.Answer(nil)
		for _, m := range q.Metrics {
			if len(ans[m]) != int(q.To-q.From) {
				t.Fatalf("%s: %d days answered for %d asked", m, len(ans[m]), q.To-q.From)
			}
		}
	})
}

// FuzzUsageReport: a reported point decodes and checks to a 400 with
// messages, or to a day inside the retention and a metric that can be
// reported.
func FuzzUsageReport(f *testing.F) {
	f.Add(`{"keysetId":"12","date":"2026-11-01","metric":"publish","value":1234}`)
	f.Add(`{"subscribeKey":"sub-c-1","date":"2026-11-23","metric":"mtd_uuid","value":0.5}`)
	f.Add(`{"keysetId":12,"date":"2026-02-30","metric":"mtd_txn_total","value":-1}`)
	f.Add(`{"keysetId":"x"}`)
	today, _ := ParseDay("2026-11-23")
	f.Fuzz(func(t *testing.T, line string) {
		var r UsageReport
		if err := DecodeJSON([]byte(line), &r); err != nil {
			if ErrorCode(err) != CodeInvalid || len(ErrorMessages(err)) == 0 {
				t.Fatalf("DecodeJSON refusal %v is not a 400 with messages", err)
			}
			return
		}
		day, metric, msgs := r.Check("line 1: ", today, DefaultUsageRetentionDays)
		if len(msgs) > 0 {
			return
		}
		if day < today-DefaultUsageRetentionDays || day > today+1 || r.Value == nil || *r.Value < 0 {
			t.Fatalf("accepted %s: day %s, value %v", line, day, r.Value)
		}
		if _, ok := derived[metric.String()]; ok || (r.KeysetID == nil) == (r.SubscribeKey == nil) {
			t.Fatalf("accepted %s", line)
		}
	})
}

// FuzzUsageDecoders: the fast usage decoders accept only what DecodeJSON
// accepts, decode it to the same reports, and refuse what it refuses with
// its very messages.
func FuzzUsageDecoders(f *testing.F) {
	for _, s := range []string{
		`{"keysetId":"12","date":"2026-11-01","metric":"publish","value":1234}`,
		` { "subscribeKey" : "sub-c-1", "date":"2026-11-23","metric":"mtd_uuid","value":0.5e-3 } `,
		`{"keysetId":12,"keysetId":13}`, `{"keysetId":012}`, `{"keysetId":"1.0"}`, `{"value":-0}`,
		`{"value":1e999}`, `{"metric":"pub\u006cish"}`, `{"KeysetId":"1"}`, `{}`, `{"date":null}`,
		`{"note":1}`, `[]`, `{"metric":"publish"} x`, "{\"date\":\"\xff\"}",
	} {
		f.Add(s)
		f.Add(`{"points":[` + s + `]}`)
		f.Add(`{"points":[` + s + `,` + s + `]}`)
	}
	f.Add(`{"points":[]}`)
	f.Add(`{"points":null}`)
	f.Add(`{"points":[],"points":[]}`)
	same := func(t *testing.T, in string, fastV, slowV any, fastErr, slowErr error) {
		t.Helper()
		if (fastErr == nil) != (slowErr == nil) || fmt.Sprint(ErrorMessages(fastErr)) != fmt.Sprint(ErrorMessages(slowErr)) {
			t.Fatalf("%s: fast error %v, DecodeJSON error %v", in, fastErr, slowErr)
		}
		if fastErr == nil && !reflect.DeepEqual(fastV, slowV) {
			t.Fatalf("%s: fast decoded %s, DecodeJSON %s", in, dump(fastV), dump(slowV))
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := DecodeUsageReport([]byte(in))
		var want UsageReport
		werr := DecodeJSON([]byte(in), &want)
		same(t, in, r, want, err, werr)

		pts, err := DecodeUsageBatch([]byte(in))
		var b struct {
			Points *[]UsageReport `json:"points"`
		}
		werr = DecodeJSON([]byte(in), &b)
		same(t, in, pts, b.Points, err, werr)
	})
}

// dump shows what reports point to.
func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
