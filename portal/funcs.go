package portal

import (
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
)

// sideNav is the data of the "side" template.
type sideNav struct {
	S       *session
	Current string
}

// eventsPick is the data of the "webhook-events" template.
type eventsPick struct {
	Prefix string
	F      eventsForm
	Errors []string
}

// scopePick is the data of the "scope" template.
type scopePick struct {
	Page          usersPage
	Prefix        string
	Apps, Keysets []int64
}

var funcs = template.FuncMap{
	// when renders a time as people read it, in UTC.
	"when": func(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 UTC") },
	"date": func(t time.Time) string { return t.UTC().Format("Jan 2, 2006") },
	// iso is the machine-readable form for <time datetime>.
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"whenOpt": func(t *time.Time) string {
		if t == nil {
			return "Never"
		}
		return t.UTC().Format("Jan 2, 2006 15:04 UTC")
	},
	"id": func(n int64) string { return strconv.FormatInt(n, 10) },
	// ms shows a latency in milliseconds.
	"ms": func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" },
	// networks shows an integration's allowed networks, "Anywhere" for none.
	"networks": func(in keyplane.Integration) string {
		if len(in.Networks) == 0 {
			return "Anywhere"
		}
		return keyplane.FormatNetworks(in.Networks)
	},
	"keyState": func(k keyplane.APIKey, now time.Time) string { return k.State(now) },
	"join":     strings.Join,
	"plus1":    func(i int) int { return i + 1 },
	"has": func(m map[string][]string, k string) bool {
		return len(m[k]) > 0
	},
	// has1 reports whether list holds s.
	"has1": func(list []string, s string) bool { return slices.Contains(list, s) },
	// domID makes a config path ("presence.interval") an id CSS selects plainly.
	"domID":     func(path string) string { return "cfg-" + strings.ReplaceAll(path, ".", "-") },
	"roleLabel": func(r keyplane.Role) string { return r.Label() },
	// side is the data of the side navigation: which links the session
	// may follow, and the current one.
	"side": func(s *session, current string) sideNav { return sideNav{s, current} },
	// eventsPick is the data of the "webhook-events" template.
	"eventsPick": func(prefix string, f eventsForm, errs []string) eventsPick {
		return eventsPick{Prefix: prefix, F: f, Errors: errs}
	},
	// scopeOf is the data of the "scope" template: the apps and keysets
	// of page to pick from, those picked, and a prefix for the ids of
	// one user's row (0: the add form, -1: the invitation form).
	"scopeOf": func(page usersPage, user int64, apps, keysets []int64) scopePick {
		prefix := "new"
		if user == -1 { // the invitation form
			prefix = "invite"
		} else if user != 0 {
			prefix = strconv.FormatInt(user, 10)
		}
		return scopePick{Page: page, Prefix: prefix, Apps: apps, Keysets: keysets}
	},
	// hasID reports whether ids holds id.
	"hasID": func(ids []int64, id int64) bool { return slices.Contains(ids, id) },
	"initial": func(s string) string {
		for _, r := range s {
			return strings.ToUpper(string(r))
		}
		return "?"
	},
}
