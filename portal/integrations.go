package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// pathID reads a numeric path value; anything else is a plain 404.
func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n < 1 {
		return 0, keyplane.Errorf(keyplane.CodeNotFound, "There is no such page.")
	}
	return n, nil
}

// allApps and allKeysets list everything the principal may read, page by
// page: the pickers and tables show the whole account.
func (p *Portal) allApps(ctx context.Context, pr keyplane.Principal) ([]keyplane.App, error) {
	return all(func(pg keyplane.Page) ([]keyplane.App, int, error) { return p.svc.ListApps(ctx, pr, pg) })
}

func (p *Portal) allKeysets(ctx context.Context, pr keyplane.Principal) ([]keyplane.Keyset, error) {
	return all(func(pg keyplane.Page) ([]keyplane.Keyset, int, error) { return p.svc.ListKeysets(ctx, pr, pg) })
}

// all gathers every page of a list.
func all[T any](list func(keyplane.Page) ([]T, int, error)) ([]T, error) {
	var out []T
	for page := 1; ; page++ {
		items, total, err := list(keyplane.Page{Page: page, Limit: keyplane.MaxLimit})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) == 0 || len(out) >= total {
			return out, nil
		}
	}
}

// integrationRow is one line of the Service Integrations table.
type integrationRow struct {
	control.IntegrationKeys
	Summary    string
	ActiveKeys int
}

func summarize(gs []keyplane.Grant) string {
	var parts []string
	for _, g := range gs {
		parts = append(parts, g.Label())
	}
	return strings.Join(parts, "; ")
}

// integrationsPage is the API Management page: every integration, or,
// filtered (?show=expiring or ?show=unused), only the keys that need
// attention; and the account's key policy.
type integrationsPage struct {
	Rows    []integrationRow
	Show    string      // "", "expiring" or "unused"
	Keys    []noticeRow // with Show: the keys it keeps
	Notices noticeSummary
	Policy  policyForm
}

func (p *Portal) integrationsPage(r *http.Request, s *session) (integrationsPage, error) {
	var page integrationsPage
	ins, err := p.svc.ListIntegrations(r.Context(), s.P)
	if err != nil {
		return page, err
	}
	now := p.now()
	page.Rows = make([]integrationRow, len(ins))
	for i, in := range ins {
		page.Rows[i] = integrationRow{IntegrationKeys: in, Summary: summarize(in.Grants)}
		for _, k := range in.Keys {
			if k.Active(now) {
				page.Rows[i].ActiveKeys++
			}
		}
	}
	ns, err := p.svc.KeyNotices(r.Context(), s.P)
	if err != nil {
		return page, err
	}
	page.Notices = summarizeNotices(ns)
	switch show := r.URL.Query().Get("show"); show {
	case "expiring", "unused":
		page.Show = show
		kind := keyplane.NoticeExpiry
		if show == "unused" {
			kind = keyplane.NoticeUnused
		}
		for _, n := range ns {
			if n.Notice.Kind == kind {
				page.Keys = append(page.Keys, noticeRow{n, noticeWhy(n, now)})
			}
		}
	}
	page.Policy, err = p.policyForm(r, s)
	return page, err
}

func (p *Portal) integrations(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := p.integrationsPage(r, s)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "integrations", s, "API Management", page)
	return nil
}

// expiryChoice is a lifetime a new key may be given, with the date it
// leads to, so the person sees the expiration date they choose.
type expiryChoice struct {
	Days  int
	Label string
}

// expiryChoices are the lifetimes a new key may be given: at most a year.
var expiryChoices = []expiryChoice{{7, "7 days"}, {30, "30 days"}, {90, "90 days"}, {180, "180 days"}, {365, "1 year"}}

// expiries labels each choice with the date it ends on, seen from now.
func expiries(now time.Time) []expiryChoice {
	out := make([]expiryChoice, len(expiryChoices))
	for i, c := range expiryChoices {
		out[i] = expiryChoice{c.Days, c.Label + " — until " + now.AddDate(0, 0, c.Days).UTC().Format("Jan 2, 2006")}
	}
	return out
}

const defaultExpiryDays = 90

func parseExpiry(s string, now time.Time) (time.Time, string) {
	days, err := strconv.Atoi(s)
	for _, c := range expiryChoices {
		if err == nil && c.Days == days {
			return now.AddDate(0, 0, days), ""
		}
	}
	return time.Time{}, "expiration: choose one of the offered lifetimes (at most 1 year)"
}

// permRow is one permission row of the create form as sent: the offered
// row ("account:app:read-write") and the app or keyset it applies to.
type permRow struct {
	Perm   string
	Target string
	Errors []string
}

// option is one choice of a select.
type option struct {
	Value, Label string
}

type optionGroup struct {
	Label   string
	Options []option
}

type newIntegrationPage struct {
	Name     string
	Networks string // as typed: one network a line
	Rows     []permRow
	Expiry   int
	Perms    []optionGroup
	Targets  []optionGroup
	Expiries []expiryChoice
	Errors   map[string][]string
}

// permValue is how a permission row is spelled in the form.
func permValue(g keyplane.Grant) string {
	return string(g.Level) + ":" + string(g.Resource) + ":" + string(g.Access)
}

func (p *Portal) newIntegrationPage(r *http.Request, s *session, page newIntegrationPage) (newIntegrationPage, error) {
	var groups []optionGroup
	for _, g := range keyplane.Offered() {
		label := g.Level.Label() + " level"
		if len(groups) == 0 || groups[len(groups)-1].Label != label {
			groups = append(groups, optionGroup{Label: label})
		}
		groups[len(groups)-1].Options = append(groups[len(groups)-1].Options,
			option{permValue(g), g.Level.Label() + " · " + g.Resource.Label() + " · " + g.Access.Label()})
	}
	page.Perms = groups
	apps, err := p.allApps(r.Context(), s.P)
	if err != nil {
		return page, err
	}
	keysets, err := p.allKeysets(r.Context(), s.P)
	if err != nil {
		return page, err
	}
	appNames := map[int64]string{}
	ag := optionGroup{Label: "Apps"}
	for _, a := range apps {
		appNames[a.ID] = a.Name
		ag.Options = append(ag.Options, option{"app/" + strconv.FormatInt(a.ID, 10), a.Name + " (app " + strconv.FormatInt(a.ID, 10) + ")"})
	}
	kg := optionGroup{Label: "Keysets"}
	for _, k := range keysets {
		kg.Options = append(kg.Options, option{"keyset/" + strconv.FormatInt(k.ID, 10), appNames[k.AppID] + " / " + k.Name + " (keyset " + strconv.FormatInt(k.ID, 10) + ")"})
	}
	page.Targets = []optionGroup{ag, kg}
	page.Expiries = expiries(p.now())
	if page.Expiry == 0 {
		page.Expiry = defaultExpiryDays
	}
	for len(page.Rows) < 3 {
		page.Rows = append(page.Rows, permRow{})
	}
	return page, nil
}

func (p *Portal) newIntegrationForm(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return err
	}
	page, err := p.newIntegrationPage(r, s, newIntegrationPage{})
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "integration-new", s, "Create Service Integration", page)
	return nil
}

// presets are the examples of PubNub's Service Integrations page.
var presets = map[string][]string{
	"full":      {"account:app:read-write", "account:keyset:read-write", "account:secret-key:read-write", "account:usage:read"},
	"provision": {"account:app:read-write", "account:keyset:read-write"},
	"read-only": {"account:app:read", "account:keyset:read", "account:usage:read"},
	"one-app":   {"app:app:read-write", "app:keyset:read-write"},
}

// parseRows reads the permission rows of the form into grants, marking
// each row's problems on the row.
func parseRows(rows []permRow) ([]keyplane.Grant, bool) {
	var gs []keyplane.Grant
	ok := true
	for i := range rows {
		row := &rows[i]
		if row.Perm == "" {
			if row.Target != "" {
				row.Errors = append(row.Errors, "Choose a permission for this row, or clear its app or keyset.")
				ok = false
			}
			continue
		}
		parts := strings.Split(row.Perm, ":")
		if len(parts) != 3 {
			row.Errors = append(row.Errors, "Choose one of the offered permissions.")
			ok = false
			continue
		}
		g := keyplane.Grant{Level: keyplane.Level(parts[0]), Resource: keyplane.Resource(parts[1]), Access: keyplane.Access(parts[2])}
		if g.Level != keyplane.LevelAccount {
			kind, id, _ := strings.Cut(row.Target, "/")
			n, err := strconv.ParseInt(id, 10, 64)
			switch {
			case row.Target == "":
				row.Errors = append(row.Errors, "Choose the "+strings.ToLower(g.Level.Label())+" this "+g.Level.Label()+"-level row applies to.")
				ok = false
				continue
			case kind != string(g.Level) || err != nil || n < 1:
				row.Errors = append(row.Errors, "An "+g.Level.Label()+"-level row applies to "+map[keyplane.Level]string{keyplane.LevelApp: "an app", keyplane.LevelKeyset: "a keyset"}[g.Level]+"; choose one from that list.")
				ok = false
				continue
			}
			g.TargetID = n
		} else if row.Target != "" {
			row.Errors = append(row.Errors, "An Account-level row applies to the whole account; clear its app or keyset.")
			ok = false
			continue
		}
		if err := g.Validate(); err != nil {
			row.Errors = append(row.Errors, keyplane.ErrorMessages(err)...)
			ok = false
			continue
		}
		gs = append(gs, g)
	}
	return gs, ok
}

type keyCreatedPage struct {
	Integration keyplane.Integration
	Key         control.NewKey
	New         bool // the integration was just created
	// OldKeyPrefix and OldKeyUntil are set for a roll: the key replaced,
	// and when it stops.
	OldKeyPrefix string
	OldKeyUntil  time.Time
}

func (p *Portal) createIntegration(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := r.ParseForm(); err != nil {
		return keyplane.Errorf(keyplane.CodeInvalid, "form: unreadable")
	}
	page := newIntegrationPage{Name: firstLine(r.PostForm.Get("name")), Networks: r.PostForm.Get("networks"), Errors: map[string][]string{}}
	perms, targets := r.PostForm["perm"], r.PostForm["target"]
	for i, perm := range perms {
		row := permRow{Perm: perm}
		if i < len(targets) {
			row.Target = targets[i]
		}
		page.Rows = append(page.Rows, row)
	}
	page.Expiry, _ = strconv.Atoi(r.PostForm.Get("expiration"))
	action := r.PostForm.Get("action")
	switch {
	case action == "add-row":
		page.Rows = append(page.Rows, permRow{})
	case strings.HasPrefix(action, "preset-"):
		rows, ok := presets[strings.TrimPrefix(action, "preset-")]
		if ok {
			page.Rows = nil
			for _, v := range rows {
				page.Rows = append(page.Rows, permRow{Perm: v})
			}
		}
	default:
		if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
			return err
		}
		grants, ok := parseRows(page.Rows)
		expires, msg := parseExpiry(r.PostForm.Get("expiration"), p.now())
		if msg != "" {
			page.Errors["expiration"] = []string{msg}
		}
		networks, err := keyplane.ParseNetworks("networks", splitNetworks(page.Networks))
		if err != nil {
			page.Errors["networks"] = keyplane.ErrorMessages(err)
		}
		if m := keyplane.ValidateName("name", page.Name); m != "" {
			page.Errors["name"] = []string{m}
		}
		if ok && len(page.Errors) == 0 {
			if len(grants) == 0 {
				page.Errors["rows"] = []string{"Add at least one permission row."}
			} else {
				done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
					in, key, err := p.svc.CreateIntegrationWith(ctx, s.P, control.NewIntegration{Name: page.Name, Grants: grants, Networks: networks, Expires: expires})
					if err != nil {
						return "", nil, err
					}
					return shownURL(r), &shownSecret{IntegrationID: in.ID, NewIntegration: true, APIKeyPrefix: key.Prefix, APIKeyExpires: key.ExpiresAt, Secret: key.Key}, nil
				})
				if done {
					return nil
				}
				if c := keyplane.ErrorCode(err); c != keyplane.CodeInvalid {
					return err
				}
				page.Errors = fieldErrors(err, "name", "expiry", "grants", "grant", "allowCidr")
			}
		}
		page, err := p.newIntegrationPage(r, s, page)
		if err != nil {
			return err
		}
		p.render(w, r, http.StatusBadRequest, "integration-new", s, "Create Service Integration", page)
		return nil
	}
	page, err := p.newIntegrationPage(r, s, page)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "integration-new", s, "Create Service Integration", page)
	return nil
}

// grantRow is one read-only permission row of an integration's page.
type grantRow struct {
	Level, Target, Resource, Access string
}

type integrationPage struct {
	control.IntegrationKeys
	// NetworksText is the allowed networks as the form shows them, one a
	// line; NetworksErr what was wrong with them when sent.
	NetworksText string
	NetworksErr  []string
	Grants       []grantRow
	Active       []keyplane.APIKey
	Inactive     []keyplane.APIKey
	Expiries     []expiryChoice
	Expiry       int
	GenerateErr  []string
	// Full tells that the integration holds as many active keys as it may,
	// so Generate API Key is offered disabled, with the reason.
	Full bool
	Max  int
}

func (p *Portal) integrationPage(r *http.Request, s *session, id int64) (integrationPage, error) {
	in, err := p.svc.GetIntegration(r.Context(), s.P, id)
	if err != nil {
		return integrationPage{}, err
	}
	page := integrationPage{IntegrationKeys: in, Expiries: expiries(p.now()), Expiry: defaultExpiryDays,
		NetworksText: strings.ReplaceAll(keyplane.FormatNetworks(in.Networks), ", ", "\n")}
	names := map[string]string{}
	if apps, err := p.allApps(r.Context(), s.P); err == nil {
		for _, a := range apps {
			names["app/"+strconv.FormatInt(a.ID, 10)] = a.Name
		}
	}
	if ks, err := p.allKeysets(r.Context(), s.P); err == nil {
		for _, k := range ks {
			names["keyset/"+strconv.FormatInt(k.ID, 10)] = k.Name
		}
	}
	for _, g := range in.Grants {
		row := grantRow{Level: g.Level.Label(), Target: "Whole account", Resource: g.Resource.Label(), Access: g.Access.Label()}
		if g.Level != keyplane.LevelAccount {
			ref := string(g.Level) + "/" + strconv.FormatInt(g.TargetID, 10)
			row.Target = g.Level.Label() + " " + strconv.FormatInt(g.TargetID, 10)
			if n := names[ref]; n != "" {
				row.Target += " (" + n + ")"
			} else {
				row.Target += " (deleted)"
			}
		}
		page.Grants = append(page.Grants, row)
	}
	now := p.now()
	for _, k := range in.Keys {
		if k.Active(now) {
			page.Active = append(page.Active, k)
		} else {
			page.Inactive = append(page.Inactive, k)
		}
	}
	page.Max = keyplane.MaxActiveAPIKeys
	page.Full = len(page.Active) >= page.Max
	return page, nil
}

func (p *Portal) integration(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	page, err := p.integrationPage(r, s, id)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "integration", s, page.Name, page)
	return nil
}

func (p *Portal) generateKey(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return err
	}
	expires, msg := parseExpiry(r.PostFormValue("expiration"), p.now())
	if msg == "" {
		var done bool
		done, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			key, err := p.svc.CreateAPIKey(ctx, s.P, id, expires)
			if err != nil {
				return "", nil, err
			}
			return shownURL(r), &shownSecret{IntegrationID: id, APIKeyPrefix: key.Prefix, APIKeyExpires: key.ExpiresAt, Secret: key.Key}, nil
		})
		if done {
			return nil
		}
		if c := keyplane.ErrorCode(err); c != keyplane.CodeInvalid && c != keyplane.CodeConflict {
			return err
		}
	}
	page, perr := p.integrationPage(r, s, id)
	if perr != nil {
		return perr
	}
	status := http.StatusBadRequest
	if msg != "" {
		page.GenerateErr = []string{msg}
	} else {
		page.GenerateErr = keyplane.ErrorMessages(err)
		status = httpstatus.Of(keyplane.ErrorCode(err))
	}
	page.Expiry, _ = strconv.Atoi(r.PostFormValue("expiration"))
	p.render(w, r, status, "integration", s, page.Name, page)
	return nil
}

type confirmPage struct {
	Heading, Body, Action, Button, Cancel string
	Danger                                bool
	// Overlaps, when set, are the choices of a roll's overlap;
	// OverlapLabel and OverlapHint, when set, say what they are of (an
	// API key's when not).
	Overlaps                  []overlapChoice
	OverlapLabel, OverlapHint string
}

// keyOfIntegration is the API key named by the path ({id}/keys/{key}) of
// a page that acts on one, for whoever may manage integrations, with its
// integration and the integration page's path; a key of another
// integration is not found.
func (p *Portal) keyOfIntegration(r *http.Request, s *session) (in control.IntegrationKeys, k keyplane.APIKey, base string, err error) {
	id, err := pathID(r, "id")
	if err != nil {
		return in, k, "", err
	}
	keyID, err := pathID(r, "key")
	if err != nil {
		return in, k, "", err
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return in, k, "", err
	}
	if in, err = p.svc.GetIntegration(r.Context(), s.P, id); err != nil {
		return in, k, "", err
	}
	for _, k := range in.Keys {
		if k.ID == keyID {
			return in, k, "/account/api-management/" + strconv.FormatInt(id, 10), nil
		}
	}
	return in, k, "", keyplane.Errorf(keyplane.CodeNotFound, "API key %d: not found in this integration", keyID)
}

func (p *Portal) revokeKeyForm(w http.ResponseWriter, r *http.Request, s *session) error {
	in, k, base, err := p.keyOfIntegration(r, s)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "confirm", s, "Revoke API key", confirmPage{
		Heading: "Revoke API key " + k.Prefix + "…?",
		Body:    "Programs using this key of “" + in.Name + "” will be refused at once. This cannot be undone.",
		Action:  base + "/keys/" + strconv.FormatInt(k.ID, 10) + "/revoke", Button: "Revoke API key", Cancel: base, Danger: true})
	return nil
}

func (p *Portal) revokeKey(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	keyID, err := pathID(r, "key")
	if err != nil {
		return err
	}
	_, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		_, err := p.svc.RevokeIntegrationKey(ctx, s.P, id, keyID)
		return "/account/api-management/" + strconv.FormatInt(id, 10) + "?done=revoked", nil, err
	})
	return err
}

func (p *Portal) deleteIntegrationForm(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.svc.Can(s.P, keyplane.Target{}, keyplane.ManageIntegrations); err != nil {
		return err
	}
	in, err := p.svc.GetIntegration(r.Context(), s.P, id)
	if err != nil {
		return err
	}
	base := "/account/api-management/" + strconv.FormatInt(id, 10)
	p.render(w, r, http.StatusOK, "confirm", s, "Delete Service Integration", confirmPage{
		Heading: "Delete “" + in.Name + "”?",
		Body:    "Its API keys stop working at once, and the integration is gone for good. Programs that use it will be refused.",
		Action:  base + "/delete", Button: "Delete integration", Cancel: base, Danger: true})
	return nil
}

func (p *Portal) deleteIntegration(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		return "/account/api-management?done=integration-deleted", nil, p.svc.DeleteIntegration(ctx, s.P, id)
	})
}

// keyShown shows, once, the API key a create or generate form made.
func (p *Portal) keyShown(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := p.takeShown(r, s)
	if err != nil {
		return err
	}
	if sec == nil || sec.IntegrationID == 0 {
		p.goneSecret(w, r, s, "API key", "If it was not copied, revoke it on its integration's page and generate another.")
		return nil
	}
	in, err := p.svc.GetIntegration(r.Context(), s.P, sec.IntegrationID)
	if err != nil {
		return err
	}
	key := control.NewKey{Key: sec.Secret, APIKey: keyplane.APIKey{Prefix: sec.APIKeyPrefix, ExpiresAt: sec.APIKeyExpires}}
	title := "API key generated"
	switch {
	case sec.NewIntegration:
		title = "Service Integration created"
	case sec.OldKeyPrefix != "":
		title = "API key rolled"
	}
	p.render(w, r, http.StatusOK, "key-created", s, title, keyCreatedPage{Integration: in.Integration, Key: key, New: sec.NewIntegration,
		OldKeyPrefix: sec.OldKeyPrefix, OldKeyUntil: sec.OldKeyUntil})
	return nil
}
