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
	KindApp      = "app"
	KindKeyset   = "keyset"
	KindCustomer = "customer"
)

// Change is one step of a plan.
type Change struct {
	Action   string `json:"action"`             // Create, Update or Delete
	Kind     string `json:"kind"`               // KindApp or KindKeyset
	App      string `json:"app,omitempty"`      // the app's name
	AppID    string `json:"appId,omitempty"`    // "" for an app the plan creates
	Keyset   string `json:"keyset,omitempty"`   // the keyset's name
	KeysetID string `json:"keysetId,omitempty"` // "" for a keyset the plan creates
	// Customer is a customer's external id, CustomerID its id ("" for a
	// customer the plan creates).
	Customer   string  `json:"customer,omitempty"`
	CustomerID string  `json:"customerId,omitempty"`
	Fields     []Field `json:"fields,omitempty"` // what a create sets or an update changes

	spec  *Keyset        // a keyset to create
	typ   string         // an update's new type, if it changes
	patch map[string]any // an update's configuration patch: the changed settings only
	push  Push           // the push credentials to upload, after the create or update

	name   string      // a customer's name to set ("" when it stays)
	assign []KeysetRef // keysets to give a customer
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
	var deletes []Change // last, after customers may have taken keysets
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
					deletes = append(deletes, Change{Action: Delete, Kind: KindKeyset, App: app.Name, AppID: app.ID, Keyset: k.Name, KeysetID: k.ID})
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
			deletes = append(deletes, Change{Action: Delete, Kind: KindKeyset, App: a.Name, AppID: a.ID, Keyset: k.Name, KeysetID: k.ID})
		}
		deletes = append(deletes, Change{Action: Delete, Kind: KindApp, App: a.Name, AppID: a.ID})
	}
	if len(f.Customers) > 0 {
		changes, more, err := planCustomers(ctx, c, f, apps, keysetsOf, deletes)
		if err != nil {
			return nil, err
		}
		p.Changes = append(p.Changes, changes...)
		problems = append(problems, more...)
	}
	p.Changes = append(p.Changes, deletes...)
	if len(problems) > 0 {
		return nil, &Problems{List: problems}
	}
	p.Permissions = permissions(p.Changes, len(f.Customers) > 0)
	return p, nil
}

// planCustomers compares the declared customers with the account's: by
// external id, the name, and the keysets each should hold. A keyset is
// named by app and keyset name, and must be in the file or in the account
// (and not among those the plan deletes).
func planCustomers(ctx context.Context, c *client.Client, f *File, apps []client.App, keysetsOf map[string][]client.Keyset, deletes []Change) ([]Change, []string, error) {
	existing := map[KeysetRef]string{} // keysets of the account by name, to their ids
	for _, a := range apps {
		for _, k := range keysetsOf[a.ID] {
			existing[KeysetRef{a.Name, k.Name}] = k.ID
		}
	}
	for _, d := range deletes {
		if d.Kind == KindKeyset {
			delete(existing, KeysetRef{d.App, d.Keyset})
		}
	}
	declared := map[KeysetRef]bool{}
	for _, a := range f.Apps {
		for _, k := range a.Keysets {
			declared[KeysetRef{a.Name, k.Name}] = true
		}
	}
	list, err := c.ListCustomers(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	byExternal := map[string]client.CustomerSummary{}
	for _, cu := range list {
		byExternal[cu.ExternalID] = cu
	}
	var changes []Change
	var problems []string
	for i, dc := range f.Customers {
		for j, r := range dc.Keysets {
			if _, ok := existing[r]; !ok && !declared[r] {
				problems = append(problems, fmt.Sprintf("customers[%d].keysets[%d]: keyset %s is neither declared in the file nor in the account", i, j, r))
			}
		}
		summary, ok := byExternal[dc.ExternalID]
		if !ok {
			ch := Change{Action: Create, Kind: KindCustomer, Customer: dc.ExternalID, name: dc.Name, assign: dc.Keysets}
			ch.Fields = append(ch.Fields, Field{Field: "name", To: dc.Name})
			for _, r := range dc.Keysets {
				ch.Fields = append(ch.Fields, Field{Field: "keysets", To: r.String()})
			}
			changes = append(changes, ch)
			continue
		}
		cu, err := c.GetCustomer(ctx, summary.ID)
		if err != nil {
			return nil, nil, err
		}
		held := map[string]bool{}
		for _, k := range cu.Keysets {
			held[k.ID] = true
		}
		ch := Change{Action: Update, Kind: KindCustomer, Customer: dc.ExternalID, CustomerID: cu.ID}
		if cu.Name != dc.Name {
			ch.name = dc.Name
			ch.Fields = append(ch.Fields, Field{Field: "name", From: cu.Name, To: dc.Name})
		}
		for _, r := range dc.Keysets {
			if id, ok := existing[r]; ok && held[id] {
				continue
			}
			ch.assign = append(ch.assign, r)
			ch.Fields = append(ch.Fields, Field{Field: "keysets", To: r.String()})
		}
		if len(ch.Fields) > 0 {
			changes = append(changes, ch)
		}
	}
	return changes, problems, nil
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
	if dk.Push != nil {
		ch.push = pushChanges(*dk.Push, keyplane.Config{}, &ch.Fields)
	}
	return ch
}

// pushChanges compares the declared push credentials with what the
// configuration shows of those stored (ids and file name; the server never
// shows a file), notes what differs in fields, and returns the uploads
// that make them agree.
func pushChanges(declared Push, cur keyplane.Config, fields *[]Field) (out Push) {
	note := func(field string, from *string, to string) bool {
		if from != nil && *from == to {
			return false
		}
		f := Field{Field: field, To: to}
		if from != nil {
			f.From = *from
		}
		*fields = append(*fields, f)
		return true
	}
	if a := declared.APNs; a != nil {
		u := a.upload()
		changed := note("push.apns.teamId", cur.APNs.TeamID, u.TeamID)
		changed = note("push.apns.authKeyId", cur.APNs.AuthKeyID, u.AuthKeyID) || changed
		changed = note("push.apns.filename", cur.APNs.Filename, u.Filename) || changed
		if changed {
			out.APNs = a
		}
	}
	if f := declared.FCM; f != nil && note("push.fcm.filename", cur.FCM.Filename, f.upload().Filename) {
		out.FCM = f
	}
	return out
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
	if len(dk.Config) > 0 || dk.Push != nil {
		cfg, err := c.GetConfig(ctx, k.ID)
		if err != nil {
			return nil, err
		}
		if dk.Push != nil {
			ch.push = pushChanges(*dk.Push, cfg, &ch.Fields)
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
func permissions(changes []Change, customers bool) []string {
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
	if customers {
		add(keyplane.Grant{Level: keyplane.LevelAccount, Resource: keyplane.ResourceOEMCustomer, Access: keyplane.AccessRead})
	}
	id := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	rw := keyplane.AccessReadWrite
	for _, ch := range changes {
		switch {
		case ch.Kind == KindCustomer:
			add(keyplane.Grant{Level: keyplane.LevelAccount, Resource: keyplane.ResourceOEMCustomer, Access: rw})
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
