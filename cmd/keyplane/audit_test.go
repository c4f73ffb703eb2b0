package main

import (
	"bufio"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/keyplane/keyplane/internal/pgtest"
)

// engines are the databases the audit commands are tested on.
var engines = []struct {
	name string
	dsn  func(t *testing.T) string
	open func(t *testing.T, dsn string) *sql.DB
}{
	{"sqlite", newDB, openSQL},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }, func(t *testing.T, dsn string) *sql.DB {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
}

var intactRE = regexp.MustCompile(`^audit chain intact: (\d+) events, head ([0-9a-f]{64})\n$`)

// auditEvents fills db with events through the admin commands and returns
// how many there are.
func auditEvents(t *testing.T, db string) int {
	t.Helper()
	createIntegration(t, db, "CI", "30d", fullAccess...)
	mustAdmin(t, db, "create-key", "--integration", "1", "--expires-in", "7d")
	mustAdmin(t, db, "revoke-key", "2")
	mustAdmin(t, db, "set-partner", "1")
	mustAdmin(t, db, "unset-partner", "1")
	createIntegration(t, db, "reader", "30d", "account:audit-log:read")
	// ServiceIntegrationCreated + ApiKeyCreated, ApiKeyCreated, ApiKeyRevoked,
	// AccountPartnerChanged twice, ServiceIntegrationCreated + ApiKeyCreated.
	return 8
}

// verify-audit passes an untouched chain and names the first broken link of
// a tampered one, exiting non-zero, on both engines: the tampering is a
// plain SQL statement on the stored rows, as someone with database access
// would do it.
func TestVerifyAudit(t *testing.T) {
	t.Parallel()
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name, sql string
				event     int
				reason    string
			}{
				{"changed type", `UPDATE audit_events SET type = 'AppDeleted' WHERE id = 3`, 3, "does not match its recorded fields"},
				{"changed payload", `UPDATE audit_events SET after = '{"id":2}' WHERE id = 2`, 2, "does not match its recorded fields"},
				{"changed time", `UPDATE audit_events SET at = at + 1 WHERE id = 5`, 5, "does not match its recorded fields"},
				{"rehashed row", `UPDATE audit_events SET hash = prev_hash WHERE id = 4`, 4, "does not match its recorded fields"},
				{"deleted row", `DELETE FROM audit_events WHERE id = 6`, 7, "events in between are missing"},
				{"deleted first row", `DELETE FROM audit_events WHERE id = 1`, 2, "earlier events are missing"},
				{"actor column", `UPDATE audit_events SET actor_type = 'integration' WHERE id = 4`, 4, "actor columns"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					db := eng.dsn(t)
					if out, _ := mustAdmin(t, db, "verify-audit"); out != "audit chain empty: no events yet\n" {
						t.Errorf("verify-audit on a new database printed %q", out)
					}
					n := auditEvents(t, db)
					out, _ := mustAdmin(t, db, "verify-audit")
					m := intactRE.FindStringSubmatch(out)
					if m == nil || m[1] != strconv.Itoa(n) {
						t.Fatalf("verify-audit on an untouched chain printed %q, want %d events intact", out, n)
					}
					if _, err := eng.open(t, db).Exec(tc.sql); err != nil {
						t.Fatal(err)
					}
					out, _, err := runAdmin(t, db, "verify-audit")
					if err == nil {
						t.Fatalf("verify-audit succeeded on a tampered chain; printed %q", out)
					}
					want := "audit chain BROKEN at event " + strconv.Itoa(tc.event) + ": "
					if !strings.HasPrefix(out, want) || !strings.Contains(out, tc.reason) {
						t.Errorf("verify-audit printed %q, want %q… saying %q", out, want, tc.reason)
					}
					if !strings.Contains(err.Error(), "audit chain broken at event "+strconv.Itoa(tc.event)) {
						t.Errorf("error %q does not name event %d", err, tc.event)
					}
				})
			}
		})
	}
}

type exportedEvent struct {
	ID        string          `json:"id"`
	AccountID string          `json:"accountId"`
	Type      string          `json:"type"`
	Actor     map[string]any  `json:"actor"`
	Target    map[string]any  `json:"target"`
	After     json.RawMessage `json:"after"`
	PrevHash  string          `json:"prevHash"`
	Hash      string          `json:"hash"`
}

// export-audit writes one event a line, oldest first, linked by hash; to a
// file it refuses to overwrite.
func TestExportAudit(t *testing.T) {
	t.Parallel()
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			db := eng.dsn(t)
			n := auditEvents(t, db)
			out, _ := mustAdmin(t, db, "export-audit")
			var events []exportedEvent
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				var e exportedEvent
				dec := json.NewDecoder(strings.NewReader(sc.Text()))
				if err := dec.Decode(&e); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				events = append(events, e)
			}
			if len(events) != n {
				t.Fatalf("%d events exported, want %d:\n%s", len(events), n, out)
			}
			prev := ""
			for i, e := range events {
				if e.ID != strconv.Itoa(i+1) || e.AccountID != "1" || e.PrevHash != prev {
					t.Errorf("event %d: id %s account %s prevHash %.12s, want id %d, account 1, prevHash %.12s", i, e.ID, e.AccountID, e.PrevHash, i+1, prev)
				}
				if h, err := hex.DecodeString(e.Hash); err != nil || len(h) != 32 {
					t.Errorf("event %d hash %q", i, e.Hash)
				}
				prev = e.Hash
			}
			if events[5].Type != "AccountPartnerChanged" || events[5].Actor["type"] != "operator" || events[5].Target["type"] != "account" ||
				string(events[5].After) != `{"partner":false}` {
				t.Errorf("event 6 = %+v, want the operator ending the partnership of account 1", events[5])
			}
			verify, _ := mustAdmin(t, db, "verify-audit")
			if !strings.HasSuffix(verify, ", head "+prev+"\n") {
				t.Errorf("verify-audit head %q, want the last exported hash %s", verify, prev)
			}

			file := filepath.Join(t.TempDir(), "audit.ndjson")
			_, errOut := mustAdmin(t, db, "export-audit", "--out", file)
			data, err := os.ReadFile(file)
			if err != nil || string(data) != out || !strings.Contains(errOut, "wrote 8 audit events") {
				t.Errorf("export to a file wrote %q (%v), stderr %q; want what stdout had", data, err, errOut)
			}
			if _, _, err := runAdmin(t, db, "export-audit", "--out", file); err == nil {
				t.Error("export-audit overwrote an existing file")
			}
		})
	}
}

// list-accounts prints one account a line, id first; set-partner and
// unset-partner change the flag it shows, saying when nothing changed.
func TestPartnerCommands(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	lineRE := regexp.MustCompile(`^1\t(partner|-)\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tenabled\tDefault account\n$`)
	state := func() string {
		out, _ := mustAdmin(t, db, "list-accounts")
		m := lineRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("list-accounts printed %q", out)
		}
		return m[1]
	}
	if s := state(); s != "-" {
		t.Errorf("a new account is %q, want not a partner", s)
	}
	if out, _ := mustAdmin(t, db, "set-partner", "1"); out != "account 1 is now a partner\n" {
		t.Errorf("set-partner printed %q", out)
	}
	if s := state(); s != "partner" {
		t.Errorf("after set-partner: %q", s)
	}
	if out, _ := mustAdmin(t, db, "set-partner", "1"); out != "account 1 was already a partner\n" {
		t.Errorf("set-partner again printed %q", out)
	}
	if out, _ := mustAdmin(t, db, "unset-partner", "1"); out != "account 1 is now not a partner\n" {
		t.Errorf("unset-partner printed %q", out)
	}
	if s := state(); s != "-" {
		t.Errorf("after unset-partner: %q", s)
	}
	for _, tc := range []struct{ arg, want string }{
		{"7", "account 7: not found"},
		{"x", `ACCOUNT "x": want an account id`},
		{"0", `ACCOUNT "0": want an account id`},
	} {
		if _, _, err := runAdmin(t, db, "set-partner", tc.arg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("set-partner %s: %v, want an error saying %q", tc.arg, err, tc.want)
		}
	}
}
