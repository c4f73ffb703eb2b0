package keyplane

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAuditCursor(t *testing.T) {
	q := AuditQuery{AccountID: 1, Types: []string{"AppCreated"}, ActorType: "integration", ActorID: 3, Limit: 10}
	c := q.AuditCursor(42)
	if strings.ContainsAny(c, "+/=") {
		t.Errorf("cursor %q is not URL-safe", c)
	}
	r := q
	r.Limit = 50 // the page size may change between pages
	if err := r.ReadAuditCursor(c); err != nil || r.After != 42 {
		t.Errorf("read back: %v, after %d", err, r.After)
	}
	for name, other := range map[string]AuditQuery{
		"account": {AccountID: 2, Types: q.Types, ActorType: "integration", ActorID: 3},
		"types":   {AccountID: 1, Types: []string{"AppRenamed"}, ActorType: "integration", ActorID: 3},
		"actor":   {AccountID: 1, Types: q.Types, ActorType: "integration", ActorID: 4},
		"target":  {AccountID: 1, Types: q.Types, ActorType: "integration", ActorID: 3, TargetType: "app"},
		"from":    {AccountID: 1, Types: q.Types, ActorType: "integration", ActorID: 3, From: time.UnixMilli(1)},
	} {
		if err := other.ReadAuditCursor(c); err == nil || !strings.Contains(err.Error(), "made for other filters") {
			t.Errorf("%s changed: %v", name, err)
		}
	}
	for _, bad := range []string{"", "x", "AQ", c + "A", strings.ToUpper(c), "AgAAAAAAAAAqAAAAAAAAAAA"} {
		if err := q.ReadAuditCursor(bad); ErrorCode(err) != CodeInvalid {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}

func TestParseAuditRef(t *testing.T) {
	for _, tc := range []struct {
		in  string
		typ string
		id  int64
		ok  bool
	}{
		{"account", "account", 0, true},
		{"integration/12", "integration", 12, true},
		{"api-key/3", "api-key", 3, true},
		{"user/4", "user", 4, true},
		{"operator", "", 0, false}, // an actor, never a target
		{"apikey/3", "", 0, false}, // no such kind: it could only ever match nothing
		{"usr/1", "", 0, false},
		{"keyset/0", "", 0, false},
		{"keyset/012", "", 0, false},
		{"Keyset/1", "", 0, false},
		{"keyset/", "", 0, false},
		{"/1", "", 0, false},
		{"keyset/1/2", "", 0, false},
		{"keyset/99999999999999999999", "", 0, false},
		{"", "", 0, false},
	} {
		typ, id, err := ParseAuditRef("target", tc.in)
		if (err == nil) != tc.ok || typ != tc.typ || id != tc.id {
			t.Errorf("ParseAuditRef(%q) = %q %d %v", tc.in, typ, id, err)
		}
	}
	for _, tc := range []struct {
		in  string
		typ string
		id  int64
		ok  bool
	}{
		{"operator", "operator", 0, true},
		{"integration", "integration", 0, true},
		{"integration/12", "integration", 12, true},
		{"user/3", "user", 3, true},
		{"operator/1", "", 0, false}, // the operator has no id
		{"usr/1", "", 0, false},
		{"keyset/1", "", 0, false}, // a target, never an actor
	} {
		typ, id, err := ParseAuditRef("actor", tc.in)
		if (err == nil) != tc.ok || typ != tc.typ || id != tc.id {
			t.Errorf("ParseAuditRef(actor, %q) = %q %d %v", tc.in, typ, id, err)
		}
	}
}

// TestValidateEventTypes: a type no event has is refused, with the list of
// the ones that exist; every known type passes.
func TestValidateEventTypes(t *testing.T) {
	if m := ValidateEventTypes(EventTypes); m != "" {
		t.Errorf("the known types: %s", m)
	}
	m := ValidateEventTypes([]string{EventAppCreated, "KeysetConfigChangd"})
	if !strings.Contains(m, `type: "KeysetConfigChangd" is not an event type; want one of`) || !strings.Contains(m, EventKeysetConfigChanged) {
		t.Errorf("a misspelt type: %q", m)
	}
}

// TestCheckQuery: an operation refuses the query parameters it does not
// read, one message each, in name order, naming those it does.
func TestCheckQuery(t *testing.T) {
	if err := OpListApps.CheckQuery(map[string][]string{"page": {"2"}, "limit": {"5"}}); err != nil {
		t.Errorf("known parameters: %v", err)
	}
	err := OpListApps.CheckQuery(map[string][]string{"pgae": {"2"}, "appId": {"7"}, "page": {"1"}})
	want := []string{
		"appId: unknown query parameter; GET /v2/apps takes only page, limit",
		"pgae: unknown query parameter; GET /v2/apps takes only page, limit",
	}
	if ErrorCode(err) != CodeInvalid || !slices.Equal(ErrorMessages(err), want) {
		t.Errorf("unknown parameters: %v (%s), want %q", err, ErrorCode(err), want)
	}
	err = OpGetMe.CheckQuery(map[string][]string{"x y": nil, "sec-c-ABCDEFGHIJKLMNOP": nil})
	want = []string{
		"a parameter that looks like a key: unknown query parameter; GET /v2/me takes no query parameters",
		"\"x y\": unknown query parameter; GET /v2/me takes no query parameters",
	}
	if !slices.Equal(ErrorMessages(err), want) {
		t.Errorf("odd names: %q, want %q", ErrorMessages(err), want)
	}
}

// chain makes n sealed events of one account: its own chain.
func chain(n int) []AuditEvent { return accountChain(1, n) }

func accountChain(account int64, n int) []AuditEvent {
	var out []AuditEvent
	prev := []byte{}
	for i := 1; i <= n; i++ {
		e := AuditEvent{ID: int64(i), AccountID: account, At: time.UnixMilli(int64(1000 * i)).UTC(), Type: "AppCreated",
			Actor: Actor{Type: "integration", ID: 7, Name: "ci", KeyID: 9}, TargetType: "app", TargetID: int64(i),
			After: []byte(`{"id":1}`), PrevHash: prev}
		e.Hash = e.ChainHash()
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

// Two accounts' chains walked interleaved each verify on their own: a
// change in one is reported for that account, and the other still holds.
func TestAuditChains(t *testing.T) {
	a, b := accountChain(1, 4), accountChain(2, 3)
	interleave := func() []AuditEvent {
		return []AuditEvent{a[0], b[0], b[1], a[1], a[2], b[2], a[3]}
	}
	var c AuditChains
	for _, e := range interleave() {
		c.Add(e, e.Actor.Type, e.Actor.ID)
	}
	got := c.Accounts()
	if len(got) != 2 || got[0].AccountID != 1 || got[0].Events != 4 || got[0].Break != nil || string(got[0].Head) != string(a[3].Hash) ||
		got[1].AccountID != 2 || got[1].Events != 3 || got[1].Break != nil || string(got[1].Head) != string(b[2].Hash) {
		t.Fatalf("intact chains: %+v", got)
	}
	// The same event sealed into the other account's chain does not fit.
	moved := b[1]
	moved.AccountID = 1
	if string(moved.ChainHash()) == string(b[1].Hash) {
		t.Error("the account is not sealed into the hash")
	}
	b[1].After = []byte(`{"id":2}`)
	c = AuditChains{}
	for _, e := range interleave() {
		c.Add(e, e.Actor.Type, e.Actor.ID)
	}
	got = c.Accounts()
	if got[0].Break != nil || got[0].Events != 4 {
		t.Errorf("account 1 after account 2 was changed: %+v", got[0])
	}
	if br := got[1].Break; br == nil || br.AccountID != 2 || br.EventID != 2 || !strings.Contains(br.Reason, "recorded fields") {
		t.Errorf("account 2 changed at event 2: %+v", got[1])
	}
	if (&AuditChains{}).Accounts() == nil {
		t.Error("no chains: want an empty list, not nil")
	}
}

func TestChainVerifier(t *testing.T) {
	walk := func(es []AuditEvent, actorType func(AuditEvent) string) ChainVerifier {
		var v ChainVerifier
		for _, e := range es {
			v.Add(e, actorType(e), e.Actor.ID)
		}
		return v
	}
	own := func(e AuditEvent) string { return e.Actor.Type }
	v := walk(chain(5), own)
	if v.Break != nil || v.Count() != 5 || string(v.Head()) != string(chain(5)[4].Hash) {
		t.Fatalf("intact chain: %+v", v)
	}
	if v := walk(nil, own); v.Break != nil || v.Count() != 0 || v.Head() != nil {
		t.Errorf("empty chain: %+v", v)
	}
	for _, tc := range []struct {
		name   string
		change func([]AuditEvent) []AuditEvent
		at     int64
		reason string
	}{
		{"type", func(es []AuditEvent) []AuditEvent { es[2].Type = "AppDeleted"; return es }, 3, "recorded fields"},
		{"time", func(es []AuditEvent) []AuditEvent { es[1].At = es[1].At.Add(time.Millisecond); return es }, 2, "recorded fields"},
		{"account", func(es []AuditEvent) []AuditEvent { es[0].AccountID = 9; return es }, 1, "recorded fields"},
		{"after", func(es []AuditEvent) []AuditEvent { es[3].After = nil; return es }, 4, "recorded fields"},
		{"rehashed", func(es []AuditEvent) []AuditEvent {
			es[2].Type = "AppDeleted"
			es[2].Hash = es[2].ChainHash()
			return es
		}, 4, "previous-hash"},
		{"removed", func(es []AuditEvent) []AuditEvent { return append(es[:2], es[3:]...) }, 4, "missing"},
		{"removed first", func(es []AuditEvent) []AuditEvent { return es[1:] }, 2, "earlier events are missing"},
	} {
		v := walk(tc.change(chain(5)), own)
		if v.Break == nil || v.Break.EventID != tc.at || !strings.Contains(v.Break.Reason, tc.reason) {
			t.Errorf("%s: %+v, want a break at %d saying %q", tc.name, v.Break, tc.at, tc.reason)
		}
	}
	v = walk(chain(3), func(e AuditEvent) string {
		if e.ID == 2 {
			return "operator"
		}
		return e.Actor.Type
	})
	if v.Break == nil || v.Break.EventID != 2 || !strings.Contains(v.Break.Reason, "actor columns") {
		t.Errorf("actor columns: %+v", v.Break)
	}
}

func TestValidateExternalID(t *testing.T) {
	for in, want := range map[string]string{
		"acme":                   "",
		"Acme_Corp-2":            "",
		strings.Repeat("a", 255): "",
		"":                       "externalId: required",
		strings.Repeat("a", 256): "externalId: at most 255 characters",
		"acme corp":              "externalId: only letters",
		"acme.corp":              "externalId: only letters",
		"ácme":                   "externalId: only letters",
		"acme\n":                 "externalId: only letters",
	} {
		got := ValidateExternalID("externalId", in)
		if (want == "") != (got == "") || !strings.HasPrefix(got, want) {
			t.Errorf("ValidateExternalID(%q) = %q, want %q…", in, got, want)
		}
	}
}

// TestAuditCursorIsCanonical: a cursor differing only in its padding bits
// is refused rather than read as the same position.
func TestAuditCursorIsCanonical(t *testing.T) {
	q := AuditQuery{AccountID: 1}
	c := q.AuditCursor(7)
	last := c[len(c)-1]
	alt := c[:len(c)-1] + string(last+1)
	if err := q.ReadAuditCursor(alt); err == nil {
		t.Errorf("cursor %q (from %q) accepted", alt, c)
	}
}
