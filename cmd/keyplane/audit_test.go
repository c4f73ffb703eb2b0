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

// intactRE is verify-audit's line for an account whose chain holds.
var intactRE = regexp.MustCompile(`(?m)^account (\d+): audit chain intact: (\d+) events, head ([0-9a-f]{64})$`)

// intactAccounts reads verify-audit's intact lines: account id → events.
func intactAccounts(out string) map[string]string {
	got := map[string]string{}
	for _, m := range intactRE.FindAllStringSubmatch(out, -1) {
		got[m[1]] = m[2]
	}
	return got
}

// otherAccount makes account 2 in db (no command makes accounts yet) and
// records 3 events in it: one now, ServiceIntegrationCreated and
// ApiKeyCreated when the returned func is called, so that its events
// interleave with account 1's.
func otherAccount(t *testing.T, db *sql.DB, dsn string) func() {
	t.Helper()
	if _, err := db.Exec(`INSERT INTO accounts (name, created_at) VALUES ('Other', 0)`); err != nil {
		t.Fatal(err)
	}
	mustAdmin(t, dsn, "set-partner", "2")
	return func() { createIntegrationIn(t, dsn, "2", "other", "30d", "account:app:read") }
}

func createIntegrationIn(t *testing.T, db, account, name, expiresIn string, grants ...string) {
	t.Helper()
	mustAdmin(t, db, "create-integration", append([]string{"--account", account, "--name", name, "--expires-in", expiresIn}, grantArgs(grants)...)...)
}

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
				account   int
				event     int
				reason    string
			}{
				{"changed type", `UPDATE audit_events SET type = 'AppDeleted' WHERE account_id = 1 AND seq = 3`, 1, 3, "does not match its recorded fields"},
				{"changed payload", `UPDATE audit_events SET after = '{"id":2}' WHERE account_id = 1 AND seq = 2`, 1, 2, "does not match its recorded fields"},
				{"changed time", `UPDATE audit_events SET at = at + 1 WHERE account_id = 1 AND seq = 5`, 1, 5, "does not match its recorded fields"},
				{"rehashed row", `UPDATE audit_events SET hash = prev_hash WHERE account_id = 1 AND seq = 4`, 1, 4, "does not match its recorded fields"},
				{"deleted row", `DELETE FROM audit_events WHERE account_id = 1 AND seq = 6`, 1, 7, "events in between are missing"},
				{"deleted first row", `DELETE FROM audit_events WHERE account_id = 1 AND seq = 1`, 1, 2, "earlier events are missing"},
				{"actor column", `UPDATE audit_events SET actor_type = 'integration' WHERE account_id = 1 AND seq = 4`, 1, 4, "actor columns"},
				{"renumbered", `UPDATE audit_events SET seq = 9 WHERE account_id = 1 AND seq = 8`, 1, 9, "events in between are missing"},
				{"other account's payload", `UPDATE audit_events SET after = '{"id":2}' WHERE account_id = 2 AND seq = 2`, 2, 2, "does not match its recorded fields"},
				{"moved to the other account", `UPDATE audit_events SET account_id = 2, seq = 4 WHERE account_id = 1 AND seq = 8`, 2, 4, "previous-hash"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					db := eng.dsn(t)
					if out, _ := mustAdmin(t, db, "verify-audit"); out != "audit chain empty: no events yet\n" {
						t.Errorf("verify-audit on a new database printed %q", out)
					}
					raw := eng.open(t, db)
					more := otherAccount(t, raw, db)
					n := auditEvents(t, db)
					more()
					out, _ := mustAdmin(t, db, "verify-audit")
					if got := intactAccounts(out); len(got) != 2 || got["1"] != strconv.Itoa(n) || got["2"] != "3" {
						t.Fatalf("verify-audit on untouched chains printed %q, want account 1 with %d events and account 2 with 3, intact", out, n)
					}
					if _, err := raw.Exec(tc.sql); err != nil {
						t.Fatal(err)
					}
					out, _, err := runAdmin(t, db, "verify-audit")
					if err == nil {
						t.Fatalf("verify-audit succeeded on a tampered chain; printed %q", out)
					}
					acc := strconv.Itoa(tc.account)
					want := "account " + acc + ": audit chain BROKEN at event " + strconv.Itoa(tc.event) + ": "
					if !strings.Contains(out, "\n"+want) && !strings.HasPrefix(out, want) || !strings.Contains(out, tc.reason) {
						t.Errorf("verify-audit printed %q, want %q… saying %q", out, want, tc.reason)
					}
					// The other account is still walked, and holds.
					if got := intactAccounts(out); len(got) != 1 || got[acc] != "" {
						t.Errorf("verify-audit printed %q, want the other account intact", out)
					}
					if !strings.Contains(err.Error(), "audit chain broken in account "+acc+" at event "+strconv.Itoa(tc.event)) {
						t.Errorf("error %q does not name account %s and event %d", err, acc, tc.event)
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

			// With a second account, --all writes both, interleaved as they
			// were recorded; each account's ids count from 1 and its
			// prevHash links only its own events. The first account's export
			// is unchanged by the second's events.
			more := otherAccount(t, eng.open(t, db), db)
			more()
			if again, _ := mustAdmin(t, db, "export-audit"); again != out {
				t.Errorf("account 1's export changed with account 2's events:\n%s\nwas\n%s", again, out)
			}
			all, _ := mustAdmin(t, db, "export-audit", "--all")
			next, prevOf := map[string]int{}, map[string]string{}
			var accounts []string
			sc = bufio.NewScanner(strings.NewReader(all))
			for sc.Scan() {
				var e exportedEvent
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatal(err)
				}
				next[e.AccountID]++
				if e.ID != strconv.Itoa(next[e.AccountID]) || e.PrevHash != prevOf[e.AccountID] {
					t.Errorf("account %s event %s prevHash %.12s, want id %d prevHash %.12s", e.AccountID, e.ID, e.PrevHash, next[e.AccountID], prevOf[e.AccountID])
				}
				prevOf[e.AccountID] = e.Hash
				accounts = append(accounts, e.AccountID)
			}
			if next["1"] != n || next["2"] != 3 || accounts[n] != "2" || accounts[len(accounts)-1] != "2" {
				t.Errorf("--all exported accounts %v, want account 1's %d events then account 2's 3", accounts, n)
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
