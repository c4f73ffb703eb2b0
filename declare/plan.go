package declare

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/client"
)

// The actions of a Change.
const (
	Create = "create" // printed "+"
	Update = "update" // printed "~"
	Delete = "delete" // printed "-"
)

// The kinds of thing a Change is about.
const (
	KindApp    = "app"
	KindKeyset = "keyset"
)

// Change is one step of a plan.
type Change struct {
	Action   string  `json:"action"`             // Create, Update or Delete
	Kind     string  `json:"kind"`               // KindApp or KindKeyset
	App      string  `json:"app"`                // the app's name
	AppID    string  `json:"appId,omitempty"`    // "" for an app the plan creates
	Keyset   string  `json:"keyset,omitempty"`   // the keyset's name
	KeysetID string  `json:"keysetId,omitempty"` // "" for a keyset the plan creates
	Fields   []Field `json:"fields,omitempty"`   // what a create sets or an update changes

	spec  *Keyset        // a keyset to create
	typ   string         // an update's new type, if it changes
	patch map[string]any // an update's configuration patch: the changed settings only
}

// Field is one setting a change makes: "type" or a configuration setting
// such as "config.messagePersistence.retention". From is nil on a create.
type Field struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// Plan is what it takes to make an account hold what a File declares.
type Plan struct {
	Changes []Change `json:"changes"`
	// Permissions are the rows a Service Integration needs to make the
	// plan and apply it, in the grant syntax of keyplane admin
	// create-integration; empty when there is nothing to change.
	Permissions []string `json:"permissions"`
	// Unmanaged names the apps and keysets the file does not declare and
	// that stay, since pruning was not asked for.
	Unmanaged []string `json:"unmanaged,omitempty"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Options tune a plan.
type Options struct {
	// Prune deletes what the file does not declare: keysets of declared
	// apps, and whole apps with their keysets.
	Prune bool
}

// readRows are what making a plan takes: it reads every app and keyset the
// key can see (so a narrower key sees part of the account, and would plan
// to create what it cannot see).
var readRows = []keyplane.Grant{
	{Level: keyplane.LevelAccount, Resource: keyplane.ResourceApp, Access: keyplane.AccessRead},
	{Level: keyplane.LevelAccount, Resource: keyplane.ResourceKeyset, Access: keyplane.AccessRead},
}

// Make reads the account through c and returns the plan that makes it hold
// what f declares.
func Make(ctx context.Context, c *client.Client, f *File, opts Options) (*Plan, error) {
	var apps []client.App
	for a, err := range c.Apps(ctx) {
		if err != nil {
			return nil, err
		}
		apps = append(apps, a)
	}
	keysetsOf := map[string][]client.Keyset{}
	for k, err := range c.Keysets(ctx) {
		if err != nil {
			return nil, err
		}
		keysetsOf[k.AppID] = append(keysetsOf[k.AppID], k)
	}
	appsByName := map[string][]client.App{}
	for _, a := range apps {
		appsByName[a.Name] = append(appsByName[a.Name], a)
	}

	p := &Plan{Changes: []Change{}, Permissions: []string{}}
	var problems []string
	declared := map[string]bool{}
	for _, da := range f.Apps {
		declared[da.Name] = true
		found := appsByName[da.Name]
		if len(found) > 1 {
			problems = append(problems, fmt.Sprintf("app %q: %d apps of the account have this name (ids %s); rename all but one (keyplane apps rename) so the file can name one", da.Name, len(found), ids(found, func(a client.App) string { return a.ID })))
			continue
		}
		if len(found) == 0 {
			p.Changes = append(p.Changes, Change{Action: Create, Kind: KindApp, App: da.Name})
			for i := range da.Keysets {
				p.Changes = append(p.Changes, createKeyset(da.Name, "", &da.Keysets[i]))
			}
			continue
		}
		app := found[0]
		byName := map[string][]client.Keyset{}
		for _, k := range keysetsOf[app.ID] {
			byName[k.Name] = append(byName[k.Name], k)
		}
		wanted := map[string]bool{}
		for i := range da.Keysets {
			dk := &da.Keysets[i]
			wanted[dk.Name] = true
			ks := byName[dk.Name]
			switch len(ks) {
			case 0:
				p.Changes = append(p.Changes, createKeyset(app.Name, app.ID, dk))
			case 1:
				ch, err := updateKeyset(ctx, c, app, ks[0], dk)
				if err != nil {
					return nil, err
				}
				if ch != nil {
					p.Changes = append(p.Changes, *ch)
				}
			default:
				problems = append(problems, fmt.Sprintf("keyset %q of app %q: %d keysets of the app have this name (ids %s); rename all but one (keyplane keysets update ID --name) so the file can name one", dk.Name, app.Name, len(ks), ids(ks, func(k client.Keyset) string { return k.ID })))
			}
		}
		for _, k := range keysetsOf[app.ID] {
			if !wanted[k.Name] {
				if opts.Prune {
					p.Changes = append(p.Changes, Change{Action: Delete, Kind: KindKeyset, App: app.Name, AppID: app.ID, Keyset: k.Name, KeysetID: k.ID})
				} else {
					p.Unmanaged = append(p.Unmanaged, fmt.Sprintf("keyset %q (%s) of app %q", k.Name, k.ID, app.Name))
				}
			}
		}
	}
	for _, a := range apps {
		if declared[a.Name] {
			continue
		}
		if !opts.Prune {
			p.Unmanaged = append(p.Unmanaged, fmt.Sprintf("app %q (%s) with %d keysets", a.Name, a.ID, len(keysetsOf[a.ID])))
			continue
		}
		// An app with keysets cannot be deleted: its keysets go first.
		for _, k := range keysetsOf[a.ID] {
			p.Changes = append(p.Changes, Change{Action: Delete, Kind: KindKeyset, App: a.Name, AppID: a.ID, Keyset: k.Name, KeysetID: k.ID})
		}
		p.Changes = append(p.Changes, Change{Action: Delete, Kind: KindApp, App: a.Name, AppID: a.ID})
	}
	if len(problems) > 0 {
		return nil, &Problems{List: problems}
	}
	p.Permissions = permissions(p.Changes)
	return p, nil
}

func ids[T any](xs []T, id func(T) string) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += id(x)
	}
	return s
}

// createKeyset is the change that creates dk in app (appID "" when the plan
// creates the app too).
func createKeyset(app, appID string, dk *Keyset) Change {
	ch := Change{Action: Create, Kind: KindKeyset, App: app, AppID: appID, Keyset: dk.Name, spec: dk}
	typ := dk.Type
	if typ == "" {
		typ = "testing" // the server's default
	}
	ch.Fields = append(ch.Fields, Field{Field: "type", To: typ})
	walkLeaves("config", dk.Config, func(path string, v any) {
		ch.Fields = append(ch.Fields, Field{Field: path, To: v})
	})
	return ch
}

// walkLeaves calls fn with the path and value of every setting in m, in
// name order (a map, unless empty, is not a setting: its entries are).
func walkLeaves(prefix string, m map[string]any, fn func(path string, v any)) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			walkLeaves(prefix+"."+k, sub, fn)
			continue
		}
		fn(prefix+"."+k, m[k])
	}
}

// updateKeyset compares a keyset with its declaration and returns the
// change that makes them agree, or nil when they do.
func updateKeyset(ctx context.Context, c *client.Client, app client.App, k client.Keyset, dk *Keyset) (*Change, error) {
	ch := &Change{Action: Update, Kind: KindKeyset, App: app.Name, AppID: app.ID, Keyset: k.Name, KeysetID: k.ID}
	if dk.Type != "" && k.Type != dk.Type {
		ch.typ = dk.Type
		ch.Fields = append(ch.Fields, Field{Field: "type", From: k.Type, To: dk.Type})
	}
	if len(dk.Config) > 0 {
		cfg, err := c.GetConfig(ctx, k.ID)
		if err != nil {
			return nil, err
		}
		var current map[string]any
		b, err := json.Marshal(cfg)
		if err == nil {
			err = json.Unmarshal(b, &current)
		}
		if err != nil {
			return nil, err
		}
		ch.patch = diff("config", dk.Config, current, &ch.Fields)
	}
	if len(ch.Fields) == 0 {
		return nil, nil
	}
	return ch, nil
}

// diff compares the declared settings with the current ones, notes each
// that differs in fields and returns the patch that changes them (nil when
// none does).
func diff(prefix string, declared, current map[string]any, fields *[]Field) map[string]any {
	var patch map[string]any
	for _, k := range slices.Sorted(maps.Keys(declared)) {
		want, path := declared[k], prefix+"."+k
		have, had := current[k]
		wantMap, isMap := want.(map[string]any)
		haveMap, wasMap := have.(map[string]any)
		if isMap && (wasMap || !had) {
			if sub := diff(path, wantMap, haveMap, fields); sub != nil {
				if patch == nil {
					patch = map[string]any{}
				}
				patch[k] = sub
			}
			continue
		}
		if had && reflect.DeepEqual(want, have) {
			continue
		}
		*fields = append(*fields, Field{Field: path, From: have, To: want})
		if patch == nil {
			patch = map[string]any{}
		}
		patch[k] = want
	}
	return patch
}

// permissions are the rows a plan needs: reading the account, then, for
// each change, the narrowest row that allows it. A keyset in an app the
// plan creates needs account-level rows, since the app's id is not known
// before.
func permissions(changes []Change) []string {
	if len(changes) == 0 {
		return []string{}
	}
	var rows []string
	add := func(g keyplane.Grant) {
		if s := g.String(); !slices.Contains(rows, s) {
			rows = append(rows, s)
		}
	}
	for _, g := range readRows {
		add(g)
	}
	id := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	rw := keyplane.AccessReadWrite
	for _, ch := range changes {
		switch {
		case ch.Kind == KindApp:
			if ch.Action == Create {
				add(keyplane.Grant{Level: keyplane.LevelAccount, Resource: keyplane.ResourceApp, Access: rw})
			} else {
				add(keyplane.Grant{Level: keyplane.LevelApp, TargetID: id(ch.AppID), Resource: keyplane.ResourceApp, Access: rw})
			}
		case ch.Action == Create && ch.AppID == "":
			add(keyplane.Grant{Level: keyplane.LevelAccount, Resource: keyplane.ResourceKeyset, Access: rw})
			add(keyplane.Grant{Level: keyplane.LevelAccount, Resource: keyplane.ResourceSecretKey, Access: keyplane.AccessRead})
		case ch.Action == Create:
			add(keyplane.Grant{Level: keyplane.LevelApp, TargetID: id(ch.AppID), Resource: keyplane.ResourceKeyset, Access: rw})
			add(keyplane.Grant{Level: keyplane.LevelApp, TargetID: id(ch.AppID), Resource: keyplane.ResourceSecretKey, Access: keyplane.AccessRead})
		default:
			add(keyplane.Grant{Level: keyplane.LevelKeyset, TargetID: id(ch.KeysetID), Resource: keyplane.ResourceKeyset, Access: rw})
		}
	}
	return rows
}
