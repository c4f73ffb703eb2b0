package keyplane

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// world is a small account: apps 1 and 2; keysets 10 and 11 in app 1,
// keyset 20 in app 2. Targets 3 and 30 do not exist.
var world = struct {
	apps    []int64
	keysets map[int64]int64 // keyset → its app
}{
	apps:    []int64{1, 2},
	keysets: map[int64]int64{10: 1, 11: 1, 20: 2},
}

// target of an operation on object id at op.On, as control builds it: a
// keyset that does not exist is known only by its id.
func targetOf(op Operation, id int64) Target {
	switch op.On {
	case LevelApp:
		return Target{AppID: id}
	case LevelKeyset:
		return Target{AppID: world.keysets[id], KeysetID: id}
	}
	return Target{}
}

// allGrantShapes is every row PubNub offers, for every level target of the
// world plus ones that name objects that do not exist.
func allGrantShapes() []Grant {
	var gs []Grant
	for _, l := range []Level{LevelAccount, LevelApp, LevelKeyset} {
		ids := map[Level][]int64{LevelAccount: {0}, LevelApp: {1, 2, 3}, LevelKeyset: {10, 11, 20, 30}}[l]
		for r, accesses := range offered[l] {
			for _, a := range accesses {
				for _, id := range ids {
					gs = append(gs, Grant{Level: l, TargetID: id, Resource: r, Access: a})
				}
			}
		}
	}
	return gs
}

// expectCovers is the specification, written out by hand rather than
// calling Covers: which objects a row reaches, and whether its access
// satisfies the need.
func expectCovers(g Grant, p Permission, op Operation, id int64) bool {
	if g.Resource != p.Resource {
		return false
	}
	if p.Access == AccessWrite && g.Access == AccessRead || p.Access == AccessRead && g.Access == AccessWrite {
		return false
	}
	switch g.Level {
	case LevelAccount:
		return true
	case LevelApp:
		switch op.On {
		case LevelApp:
			return id == g.TargetID
		case LevelKeyset:
			app, ok := world.keysets[id]
			return ok && app == g.TargetID
		}
	case LevelKeyset:
		return op.On == LevelKeyset && id == g.TargetID
	}
	return false
}

func objectsFor(op Operation) []int64 {
	switch op.On {
	case LevelApp:
		return []int64{1, 2, 3}
	case LevelKeyset:
		return []int64{10, 11, 20, 30}
	}
	return []int64{0}
}

// TestAuthorizeExhaustive checks every offered row shape, alone, against
// every operation on every object of the world (and missing ones): the
// decision, and on refusal the message naming each missing row.
func TestAuthorizeExhaustive(t *testing.T) {
	var allowed, denied int
	for _, g := range allGrantShapes() {
		for _, op := range Operations {
			for _, id := range objectsFor(op) {
				want := true
				var missing []string
				for _, p := range op.Needs {
					if !expectCovers(g, p, op, id) {
						want = false
						missing = append(missing, "missing permission: "+MissingRow(p, targetOf(op, id)).Label())
					}
				}
				err := Authorize([]Grant{g}, targetOf(op, id), op.Needs...)
				if (err == nil) != want {
					t.Errorf("%s on %s %d with %s: allowed=%v, want %v", op, op.On, id, g, err == nil, want)
					continue
				}
				if err == nil {
					allowed++
					continue
				}
				denied++
				if ErrorCode(err) != CodeForbidden || !slices.Equal(ErrorMessages(err), missing) {
					t.Errorf("%s on %s %d with %s: got %v %q, want Forbidden %q", op, op.On, id, g, ErrorCode(err), ErrorMessages(err), missing)
				}
			}
		}
	}
	// Both outcomes must actually occur, or the loop proves nothing.
	if allowed == 0 || denied == 0 {
		t.Fatalf("allowed %d, denied %d: the table is degenerate", allowed, denied)
	}
}

// TestCreateKeysetNeedsBothRows: creating a keyset needs Keyset write and
// Secret key read on the app, from any mix of levels that reach it.
func TestCreateKeysetNeedsBothRows(t *testing.T) {
	g := func(s string) Grant {
		t.Helper()
		v, err := ParseGrant(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	app1 := Target{AppID: 1}
	for _, c := range []struct {
		grants []string
		want   []string // missing rows; nil = allowed
	}{
		{[]string{"account:keyset:rw", "account:secret-key:read"}, nil},
		{[]string{"app/1:keyset:rw", "app/1:secret-key:r"}, nil},
		{[]string{"account:keyset:rw", "app/1:secret-key:rw"}, nil},
		{[]string{"app/1:keyset:rw"}, []string{"missing permission: App 1 · Secret key · Read"}},
		{[]string{"account:secret-key:read"}, []string{"missing permission: App 1 · Keyset · Read & write"}},
		{[]string{"app/1:keyset:read", "app/1:secret-key:read"}, []string{"missing permission: App 1 · Keyset · Read & write"}},
		{[]string{"app/2:keyset:rw", "app/2:secret-key:read"}, []string{"missing permission: App 1 · Keyset · Read & write", "missing permission: App 1 · Secret key · Read"}},
		// A keyset-level row never reaches the app a keyset would be made in.
		{[]string{"keyset/10:keyset:rw", "keyset/10:secret-key:rw"}, []string{"missing permission: App 1 · Keyset · Read & write", "missing permission: App 1 · Secret key · Read"}},
		{nil, []string{"missing permission: App 1 · Keyset · Read & write", "missing permission: App 1 · Secret key · Read"}},
	} {
		var gs []Grant
		for _, s := range c.grants {
			gs = append(gs, g(s))
		}
		err := Authorize(gs, app1, OpCreateKeyset.Needs...)
		if got := messagesOrNil(err); !slices.Equal(got, c.want) {
			t.Errorf("%v: got %q, want %q", c.grants, got, c.want)
		}
	}
}

func messagesOrNil(err error) []string {
	if err == nil {
		return nil
	}
	return ErrorMessages(err)
}

// TestMissingRowIgnoresExistence: a refusal for a keyset that exists in an
// app and one that does not exist at all name rows that tell nothing of
// which is which.
func TestMissingRowIgnoresExistence(t *testing.T) {
	g := []Grant{{Level: LevelApp, TargetID: 2, Resource: ResourceKeyset, Access: AccessRead}}
	exists := Authorize(g, Target{AppID: 1, KeysetID: 10}, read(ResourceKeyset))
	missing := Authorize(g, Target{KeysetID: 10}, read(ResourceKeyset))
	if exists == nil || missing == nil || exists.Error() != missing.Error() {
		t.Fatalf("existing: %v; missing: %v; want the same refusal", exists, missing)
	}
	if want := "missing permission: Keyset 10 · Keyset · Read"; exists.Error() != want {
		t.Errorf("got %q, want %q", exists.Error(), want)
	}
}

func TestVisible(t *testing.T) {
	parse := func(ss ...string) []Grant {
		var gs []Grant
		for _, s := range ss {
			g, err := ParseGrant(s)
			if err != nil {
				t.Fatal(err)
			}
			gs = append(gs, g)
		}
		return gs
	}
	for _, c := range []struct {
		grants []string
		need   Permission
		want   Visibility
		ok     bool
	}{
		{[]string{"account:app:read"}, read(ResourceApp), Visibility{All: true}, true},
		{[]string{"app/1:app:rw", "app/2:app:read"}, read(ResourceApp), Visibility{AppIDs: []int64{1, 2}}, true},
		{[]string{"app/1:app:rw", "account:app:read"}, read(ResourceApp), Visibility{All: true}, true},
		{[]string{"app/1:keyset:read", "keyset/20:keyset:rw"}, read(ResourceKeyset), Visibility{AppIDs: []int64{1}, KeysetIDs: []int64{20}}, true},
		{[]string{"account:keyset:read"}, read(ResourceApp), Visibility{}, false},
		{[]string{"account:secret-key:read", "app/1:usage:read"}, read(ResourceKeyset), Visibility{}, false},
		{nil, read(ResourceKeyset), Visibility{}, false},
	} {
		got, ok := Visible(parse(c.grants...), c.need)
		if ok != c.ok || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%v: got %+v %v, want %+v %v", c.grants, got, ok, c.want, c.ok)
		}
	}
}

func TestParseGrant(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // canonical form, or "error: <part of the message>"
	}{
		{"account:app:read", "account:app:read"},
		{"account:app:r", "account:app:read"},
		{"account:app:rw", "account:app:read-write"},
		{"account:keyset:read-write", "account:keyset:read-write"},
		{"account:secret-key:rw", "account:secret-key:read-write"},
		{"account:usage:read", "account:usage:read"},
		{"account:oem-customer:rw", "account:oem-customer:read-write"},
		{"app/12:keyset:rw", "app/12:keyset:read-write"},
		{"app/12:app:read", "app/12:app:read"},
		{"app/12:usage:r", "app/12:usage:read"},
		{"keyset/7:secret-key:read", "keyset/7:secret-key:read"},
		{" keyset/7:keyset:rw ", "keyset/7:keyset:read-write"},
		{"account:usage:rw", "error: Usage & Monitoring at account level offers only read access"},
		{"app/1:oem-customer:read", "error: OEM Customer is not offered at app level (only at: account)"},
		{"keyset/1:app:read", "error: App is not offered at keyset level (only at: account, app)"},
		{"account:app:write", "error: App at account level offers only read or read-write access"},
		{"account:app:w", "error: offers only read or read-write"},
		{"account/1:app:read", "error: names no id"},
		{"app:app:read", "error: positive numeric ID"},
		{"app/0:app:read", "error: positive numeric ID"},
		{"app/x:app:read", "error: positive numeric ID"},
		{"org:app:read", "error: level must be account, app/ID or keyset/ID"},
		{"account:apps:read", "error: resource must be one of app, keyset, secret-key, usage, oem-customer"},
		{"account:app:admin", "error: access must be read (r), write (w) or read-write (rw)"},
		{"account:app", "error: want LEVEL:RESOURCE:ACCESS"},
		{"", "error: want LEVEL:RESOURCE:ACCESS"},
	} {
		g, err := ParseGrant(c.in)
		if want, isErr := strings.CutPrefix(c.want, "error: "); isErr {
			if err == nil || ErrorCode(err) != CodeInvalid || !strings.Contains(err.Error(), want) {
				t.Errorf("ParseGrant(%q) = %v, %v; want an error containing %q", c.in, g, err, want)
			}
			continue
		}
		if err != nil || g.String() != c.want {
			t.Errorf("ParseGrant(%q) = %v, %v; want %s", c.in, g, err, c.want)
		}
		// The canonical form reads back to the same row.
		if again, err := ParseGrant(g.String()); err != nil || again != g {
			t.Errorf("round trip of %s: %v, %v", g, again, err)
		}
	}
}

// TestOfferedTable pins the table of available rows to PubNub's 21, plus
// Keyplane's own rows: Audit log read, usage reporting and webhooks.
func TestOfferedTable(t *testing.T) {
	var rows []string
	for l, rs := range offered {
		for r, as := range rs {
			for _, a := range as {
				rows = append(rows, fmt.Sprintf("%s:%s:%s", l, r, a))
			}
		}
	}
	slices.Sort(rows)
	want := []string{
		"account:app:read", "account:app:read-write", "account:audit-log:read",
		"account:integration:read", "account:integration:read-write", // people only
		"account:keyset:read", "account:keyset:read-write",
		"account:oem-customer:read", "account:oem-customer:read-write", "account:secret-key:read",
		"account:secret-key:read-write", "account:usage-report:write", "account:usage:read",
		"app:app:read", "app:app:read-write", "app:keyset:read", "app:keyset:read-write",
		"app:secret-key:read", "app:secret-key:read-write", "app:usage:read",
		"keyset:keyset:read", "keyset:keyset:read-write", "keyset:secret-key:read",
		"keyset:secret-key:read-write", "keyset:usage:read",
		"account:user:read", "account:user:read-write", // people only
		"account:webhook:read", "account:webhook:read-write",
	}
	slices.Sort(want)
	if !slices.Equal(rows, want) {
		t.Errorf("offered rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

func TestOfferedIsTheTable(t *testing.T) {
	rows := Offered()
	if len(rows) != 25 {
		t.Fatalf("%d rows, want the 21 of PubNub's table and Keyplane's 4 (audit log, usage reporting, webhooks read and read-write)", len(rows))
	}
	for _, g := range rows {
		if g.Level != LevelAccount {
			g.TargetID = 1
		}
		if err := g.Validate(); err != nil {
			t.Error(err)
		}
		if g.Resource.Label() == "" || g.Access.Label() == "" {
			t.Errorf("%s: no label", g)
		}
	}
}
