package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyplane/keyplane/internal/pgtest"
	"github.com/keyplane/keyplane/internal/wallclock"
	"github.com/keyplane/keyplane/store"
)

// copyTables are the tables copy reports, in its order.
var copyTables = store.CopiedTables()

var (
	copyLineRE  = regexp.MustCompile(`^([a-z_]+) (\d+) → (\d+)$`)
	auditLineRE = regexp.MustCompile(`^audit chain head ([0-9a-f]{64}) → ([0-9a-f]{64})$`)
)

// checkCopyOutput checks what copy printed: a line per table with equal
// counts, the audit chain's head on both sides, "copied, verified". It
// returns the counts.
func checkCopyOutput(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != len(copyTables)+3 || lines[len(lines)-2] != "copied, verified" || lines[len(lines)-1] != "" {
		t.Fatalf("copy printed %q, want %d table lines, the audit line and \"copied, verified\"", out, len(copyTables))
	}
	counts := map[string]string{}
	for i, table := range copyTables {
		m := copyLineRE.FindStringSubmatch(lines[i])
		if m == nil || m[1] != table || m[2] != m[3] {
			t.Errorf("line %d %q, want \"%s N → N\"", i+1, lines[i], table)
			continue
		}
		counts[table] = m[2]
	}
	if m := auditLineRE.FindStringSubmatch(lines[len(copyTables)]); m == nil || m[1] != m[2] {
		t.Errorf("audit line %q, want \"audit chain head HASH → HASH\" with one hash", lines[len(copyTables)])
	}
	return counts
}

func runCopy(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runKeyplane(t, nil, append([]string{"admin", "copy"}, args...)...)
}

// copy: flags, output, refusal of a non-empty target, --force.
func TestCopyCommand(t *testing.T) {
	t.Parallel()
	src := newDB(t)
	createIntegration(t, src, "CI", "30d", fullAccess...)
	mustAdmin(t, src, "create-key", "--integration", "1", "--expires-in", "7d")
	mustAdmin(t, src, "revoke-key", "2")
	listed := listIntegrations(t, src)

	targets := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", newDB},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	}
	for _, target := range targets {
		t.Run(target.name, func(t *testing.T) {
			dst := target.dsn(t)
			out, errOut, err := runCopy(t, "--from", src, "--to", dst)
			if err != nil {
				t.Fatalf("copy: %v (stderr %q)", err, errOut)
			}
			counts := checkCopyOutput(t, out)
			if counts["integrations"] != "1" || counts["api_keys"] != "2" || counts["audit_events"] != "4" || counts["accounts"] != "1" {
				t.Errorf("counts %v", counts)
			}
			if !strings.Contains(errOut, "copying "+src+" (sqlite) to ") || strings.Contains(errOut, "copied") {
				t.Errorf("stderr %q", errOut)
			}
			if target.name == "sqlite" {
				if got := listIntegrations(t, dst); fmt.Sprint(got) != fmt.Sprint(listed) {
					t.Errorf("integrations on the copy:\n%+v\nwant\n%+v", got, listed)
				}
			}

			// Again: refused, with the counts, pointing at --force.
			out, _, err = runCopy(t, "--from", src, "--to", dst)
			if err == nil {
				t.Fatal("copy into a non-empty target succeeded")
			}
			for _, w := range []string{"not empty", "integrations 1", "api_keys 2", "audit_events 4", "--force"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q does not say %q", err, w)
				}
			}
			if out != "" {
				t.Errorf("stdout %q on a refusal, want nothing", out)
			}
			out, _, err = runCopy(t, "--from", src, "--to", dst, "--force")
			if err != nil {
				t.Fatalf("copy --force: %v", err)
			}
			checkCopyOutput(t, out)
		})
	}

	t.Run("refused", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing.db")
		for _, tc := range []struct {
			name string
			args []string
			want []string
		}{
			{"no --from", []string{"--to", newDB(t)}, []string{"required", `"from"`}},
			{"no --to", []string{"--from", src}, []string{"required", `"to"`}},
			{"--database", []string{"--database", src, "--from", src, "--to", newDB(t)}, []string{"--database does not apply", "--from and --to"}},
			{"--account", []string{"--account", "1", "--from", src, "--to", newDB(t)}, []string{"--account does not apply"}},
			{"missing source", []string{"--from", missing, "--to", newDB(t)}, []string{"--from " + missing + ": no such database file"}},
			{"same file", []string{"--from", src, "--to", src, "--force"}, []string{"the same database"}},
			{"argument", []string{"--from", src, "--to", newDB(t), "extra"}, []string{"unknown command"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out, _, err := runCopy(t, tc.args...)
				if err == nil {
					t.Fatalf("copy %q succeeded: %q", tc.args, out)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if out != "" {
					t.Errorf("stdout %q on an error", out)
				}
			})
		}
		if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("copy from a missing file created it: %v", err)
		}
		if got := listIntegrations(t, src); fmt.Sprint(got) != fmt.Sprint(listed) {
			t.Errorf("refused copies changed the source")
		}
	})
}

// The "done when": the copy round-trips a populated embedded
// database with identical API answers.
func TestCopyKeepsAPIAnswers(t *testing.T) {
	t.Parallel()
	src, dst := newDB(t), pgtest.DSN(t)
	key := createIntegration(t, src, "root", "30d", fullAccess...)
	var paths []string
	answers := map[string][]byte{}
	record := func(t *testing.T, s *testServer) {
		for _, p := range paths {
			answers[p] = mustCall(t, s.URL, "GET", p, key, "", http.StatusOK)
		}
	}

	// The source server runs for this subtest only: it is stopped before the copy.
	t.Run("populate", func(t *testing.T) {
		s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", src)
		expires := wallclock.Now().Add(48 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
		var keysets []string
		for i := range 4 {
			app := createApp(t, s, key, fmt.Sprintf("app %d ✓", i))
			paths = append(paths, "/v2/apps/"+app)
			for range i % 3 {
				ks, _ := createKeyset(t, s, key, app)
				keysets = append(keysets, ks)
			}
		}
		mustCall(t, s.URL, "PATCH", "/v2/apps/1", key, `{"name":"Telemedicine"}`, http.StatusOK)
		mustCall(t, s.URL, "PATCH", "/v2/keysets/"+keysets[0], key, `{"name":"staging","type":"testing"}`, http.StatusOK)
		for i, ks := range keysets {
			mustCall(t, s.URL, "PATCH", "/v2/keysets/"+ks+"/config", key,
				fmt.Sprintf(`{"messagePersistence":{"enabled":true,"retention":%d},"presence":{"enabled":true}}`, []int{1, 7, 30}[i%3]), http.StatusOK)
			for range i % 3 {
				mustCall(t, s.URL, "POST", "/v2/keysets/"+ks+"/secret-keys", key, `{"expiresAt":"`+expires+`"}`, http.StatusCreated)
			}
			paths = append(paths, "/v2/keysets/"+ks, "/v2/keysets/"+ks+"/config", "/v2/keysets/"+ks+"/secret-keys")
		}
		mustCall(t, s.URL, "DELETE", "/v2/apps/4", key, "", http.StatusOK)
		paths = slices.DeleteFunc(paths, func(p string) bool { return p == "/v2/apps/4" })
		paths = append(paths, "/v2/apps?limit=100", "/v2/keysets?limit=100")
		record(t, s)
	})
	if t.Failed() {
		return
	}
	before := answers
	answers = map[string][]byte{}

	out, errOut, err := runCopy(t, "--from", src, "--to", dst)
	if err != nil {
		t.Fatalf("copy: %v (stderr %q)", err, errOut)
	}
	checkCopyOutput(t, out)

	// The secret keys moved sealed: the server on the copy needs the key
	// they were sealed with.
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", dst, "--kek-file", src+".kek")
	record(t, s)
	for _, p := range paths {
		if string(before[p]) != string(answers[p]) {
			t.Errorf("GET %s\n  on SQLite:     %s\n  on PostgreSQL: %s", p, before[p], answers[p])
		}
	}
	// What was compared is what was made.
	var list struct{ Total int }
	if err := json.Unmarshal(answers["/v2/keysets?limit=100"], &list); err != nil || list.Total != 3 || len(paths) != 3+3*3+2 {
		t.Errorf("keysets list %s (%v), want 3 keysets; compared %d answers", answers["/v2/keysets?limit=100"], err, len(paths))
	}
	if n := strings.Count(string(answers["/v2/keysets/3/secret-keys"]), `"expiresAt":"`); n != 2 {
		t.Errorf("keyset 3 lists %d rotated secret keys, want 2: %s", n, answers["/v2/keysets/3/secret-keys"])
	}
	// New objects continue the ids: app 4 was deleted, so the next is 5.
	if id := createApp(t, s, key, "after the move"); id != "5" {
		t.Errorf("first app created after the copy has id %s, want 5", id)
	}
}

func runBackup(t *testing.T, db string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runKeyplane(t, nil, append([]string{"admin", "backup", "--database", db}, args...)...)
}

var backupLineRE = regexp.MustCompile(`^backed up (.+) to (.+) \((\d+) bytes, \d+ ms\)\n$`)

// backup: while serving, output, refusals.
func TestBackupCommand(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	key := createIntegration(t, db, "root", "30d", fullAccess...)
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--database", db)
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.db")

	// Taken while the server writes.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if status, b, err := call(s.URL, "POST", "/v2/apps", key, fmt.Sprintf(`{"name":"app %d"}`, i)); err != nil || status != http.StatusCreated {
				t.Errorf("POST /v2/apps during the backup: %d %s %v", status, b, err)
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	out, _, err := runBackup(t, db, "--to", file)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	m := backupLineRE.FindStringSubmatch(out)
	if m == nil || m[1] != db || m[2] != file {
		t.Errorf("backup printed %q, want \"backed up %s to %s (N bytes, N ms)\"", out, db, file)
	}
	if fi, err := os.Stat(file); err != nil || m == nil || fmt.Sprint(fi.Size()) != m[3] {
		t.Errorf("backup file: %v; printed %q", err, out)
	}
	var check string
	if err := openSQL(t, file).QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the backup: %q %v", check, err)
	}
	// The snapshot serves: the key works and the apps are there.
	if got := listIntegrations(t, file); len(got) != 1 || got[0].Name != "root" {
		t.Errorf("integrations in the backup: %+v", got)
	}

	for _, tc := range []struct {
		name string
		db   string
		args []string
		want []string
	}{
		{"existing file", db, []string{"--to", file}, []string{file, "already exists", "--force"}},
		{"postgres", "postgres://keyplane:s3cret@127.0.0.1:1/keyplane", []string{"--to", filepath.Join(dir, "pg.db")}, []string{"pg_dump -Fc", "pg_restore"}},
		{"missing database", filepath.Join(dir, "missing.db"), []string{"--to", filepath.Join(dir, "m.db")}, []string{"no such database file"}},
		{"no --to", db, nil, []string{"required", `"to"`}},
		{"--account", db, []string{"--account", "1", "--to", filepath.Join(dir, "a.db")}, []string{"--account does not apply"}},
		{"the database itself", db, []string{"--to", db, "--force"}, []string{"of the database"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runBackup(t, tc.db, tc.args...)
			if err == nil {
				t.Fatalf("backup %q succeeded: %q", tc.args, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
			if out != "" {
				t.Errorf("stdout %q on an error", out)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("refused backups left files: %v", entries)
	}

	// --force replaces the file with a new snapshot.
	mustCall(t, s.URL, "POST", "/v2/apps", key, `{"name":"after the first backup"}`, http.StatusCreated)
	if _, _, err := runBackup(t, db, "--to", file, "--force"); err != nil {
		t.Fatalf("backup --force: %v", err)
	}
	var src, snap int
	openSQL(t, db).QueryRow(`SELECT count(*) FROM apps`).Scan(&src)
	openSQL(t, file).QueryRow(`SELECT count(*) FROM apps`).Scan(&snap)
	if src == 0 || src != snap {
		t.Errorf("after --force the backup holds %d apps, the database %d", snap, src)
	}
}
