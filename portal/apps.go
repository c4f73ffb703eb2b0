package portal

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

type appRow struct {
	keyplane.App
	Keysets int
}

type appsPage struct {
	Apps   []appRow
	Total  int
	Query  string
	Name   string
	Errors map[string][]string
	// KeysetsOnly is set for a person whose rows are on keysets and not on
	// apps (a Key Admin or Key Viewer): the page lists Keysets instead.
	KeysetsOnly bool
	Keysets     []keyplane.Keyset
}

// matches tells whether a name or id answers a search: any part of the
// name, whatever the case, or the whole id.
func matches(q, name string, id int64) bool {
	return q == "" || strings.Contains(strings.ToLower(name), q) || strconv.FormatInt(id, 10) == q
}

func (p *Portal) appsPage(r *http.Request, s *session, page appsPage) (appsPage, error) {
	page.Query = strings.TrimSpace(r.URL.Query().Get("q"))
	q := strings.ToLower(page.Query)
	apps, err := p.allApps(r.Context(), s.P)
	if keyplane.ErrorCode(err) == keyplane.CodeForbidden {
		// No row reads apps; rows on keysets still read those keysets.
		ks, kerr := p.allKeysets(r.Context(), s.P)
		if kerr != nil {
			return page, err
		}
		page.KeysetsOnly, page.Total = true, len(ks)
		for _, k := range ks {
			if matches(q, k.Name, k.ID) {
				page.Keysets = append(page.Keysets, k)
			}
		}
		return page, nil
	}
	if err != nil {
		return page, err
	}
	counts := map[int64]int{}
	if ks, err := p.allKeysets(r.Context(), s.P); err == nil {
		for _, k := range ks {
			counts[k.AppID]++
		}
	}
	page.Total = len(apps)
	for _, a := range apps {
		if matches(q, a.Name, a.ID) {
			page.Apps = append(page.Apps, appRow{a, counts[a.ID]})
		}
	}
	return page, nil
}

func (p *Portal) apps(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := p.appsPage(r, s, appsPage{})
	if err != nil {
		return err
	}
	title := "Apps"
	if page.KeysetsOnly {
		title = "Keysets"
	}
	p.render(w, r, http.StatusOK, "apps", s, title, page)
	return nil
}

func (p *Portal) createApp(w http.ResponseWriter, r *http.Request, s *session) error {
	name := firstLine(r.PostFormValue("name"))
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		a, err := p.svc.CreateApp(ctx, s.P, name)
		return "/apps/" + strconv.FormatInt(a.ID, 10), nil, err
	})
	if done {
		return nil
	}
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		return err
	}
	page, perr := p.appsPage(r, s, appsPage{Name: name, Errors: fieldErrors(err, "name")})
	if perr != nil {
		return perr
	}
	p.render(w, r, http.StatusBadRequest, "apps", s, "Apps", page)
	return nil
}

type appPage struct {
	// CanWrite tells whether the user may change this app (an App Admin
	// of it may, without writing any other).
	CanWrite bool
	App      keyplane.App
	Keysets  []keyplane.Keyset
	Rename   string
	Keyset   struct{ Name, Type string }
	Errors   map[string][]string
	Created  *createdKeyset
}

type createdKeyset struct {
	Keyset keyplane.Keyset
	Secret keyplane.SecretKey
}

func (p *Portal) appPage(r *http.Request, s *session, id int64, page appPage) (appPage, error) {
	a, err := p.svc.GetApp(r.Context(), s.P, id)
	if err != nil {
		return page, err
	}
	page.App = a
	page.CanWrite = p.svc.Can(s.P, keyplane.Target{AppID: id}, keyplane.OpUpdateApp.Needs...) == nil
	if page.Rename == "" {
		page.Rename = a.Name
	}
	if page.Keyset.Type == "" {
		page.Keyset.Type = string(keyplane.KeysetTesting)
	}
	ks, err := p.allKeysets(r.Context(), s.P)
	if err != nil && keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		return page, err
	}
	for _, k := range ks {
		if k.AppID == id {
			page.Keysets = append(page.Keysets, k)
		}
	}
	return page, nil
}

func (p *Portal) app(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	page, err := p.appPage(r, s, id, appPage{})
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "app", s, page.App.Name, page)
	return nil
}

func (p *Portal) renameApp(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	name := firstLine(r.PostFormValue("name"))
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		_, err := p.svc.RenameApp(ctx, s.P, id, name)
		return "/apps/" + strconv.FormatInt(id, 10) + "?done=renamed", nil, err
	})
	if !done {
		if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
			return err
		}
		page, perr := p.appPage(r, s, id, appPage{Rename: name, Errors: fieldErrors(err, "name")})
		if perr != nil {
			return perr
		}
		p.render(w, r, http.StatusBadRequest, "app", s, page.App.Name, page)
	}
	return nil
}

func (p *Portal) deleteAppForm(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := p.svc.Can(s.P, keyplane.Target{AppID: id}, keyplane.OpDeleteApp.Needs...); err != nil {
		return err
	}
	a, err := p.svc.GetApp(r.Context(), s.P, id)
	if err != nil {
		return err
	}
	base := "/apps/" + strconv.FormatInt(id, 10)
	p.render(w, r, http.StatusOK, "confirm", s, "Delete app", confirmPage{
		Heading: "Delete app “" + a.Name + "”?",
		Body:    "An app that still has keysets cannot be deleted: delete its keysets first.",
		Action:  base + "/delete", Button: "Delete app", Cancel: base, Danger: true})
	return nil
}

func (p *Portal) deleteApp(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		return "/apps?done=app-deleted", nil, p.svc.DeleteApp(ctx, s.P, id)
	})
}

func (p *Portal) createKeyset(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	name, typ := firstLine(r.PostFormValue("name")), keyplane.KeysetType(r.PostFormValue("type"))
	n := control.NewKeyset{AppID: id, Type: &typ}
	if strings.TrimSpace(name) != "" {
		n.Name = &name
	}
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		k, secret, _, err := p.svc.CreateKeyset(ctx, s.P, n)
		if err != nil {
			return "", nil, err
		}
		return shownURL(r), &shownSecret{KeysetID: k.ID, Secret: secret.Secret}, nil
	})
	if done {
		return nil
	}
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		return err
	}
	page := appPage{Errors: fieldErrors(err, "keyset.name", "keyset.type")}
	page.Keyset.Name, page.Keyset.Type = name, string(typ)
	page, err = p.appPage(r, s, id, page)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusBadRequest, "app", s, page.App.Name, page)
	return nil
}

// keysetShown shows, once, the secret key of the keyset a form made, on
// its app's page.
func (p *Portal) keysetShown(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sec, err := p.takeShown(r, s)
	if err != nil {
		return err
	}
	if sec == nil || sec.KeysetID == 0 {
		p.goneSecret(w, r, s, "secret key", "If it was not copied, rotate the keyset's secret key on its page.")
		return nil
	}
	k, err := p.svc.GetKeyset(r.Context(), s.P, sec.KeysetID)
	if err != nil {
		return err
	}
	page, err := p.appPage(r, s, id, appPage{Created: &createdKeyset{Keyset: k, Secret: keyplane.SecretKey{Secret: sec.Secret}}})
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "app", s, page.App.Name, page)
	return nil
}

// cfgField is one input of the configuration form.
type cfgField struct {
	Path, Label, Kind string // Kind: bool, int, text, select, locked (a write-once value already set)
	Value             string
	Checked, Nullable bool
	Errors            []string
	// Choices are a select's options; Hint says what the field takes.
	Choices  []keyplane.ConfigChoice
	Hint     string
	Min, Max int
}

type cfgSection struct {
	Key, Title string
	Fields     []cfgField
}

type keysetPage struct {
	// CanWrite tells whether the user may change this keyset.
	CanWrite   bool
	Keyset     keyplane.Keyset
	App        keyplane.App
	Secrets    []keyplane.SecretKey
	SecretsErr string
	Config     []cfgSection
	Name, Type string
	Errors     map[string][]string
	NewSecret  string
	Rotations  []option
	ConfigErr  bool // the configuration form was refused; nothing was saved
	// APNs and FCM are what the keyset holds of its push credentials,
	// shown beside their upload forms.
	APNs keyplane.APNs
	FCM  keyplane.FCM
}

// rotations are how long an old secret key may keep working after a rotation.
var rotations = []option{{"", "Stop the old key at once"}, {"1h", "1 hour"}, {"24h", "24 hours"}, {"168h", "7 days"}, {"720h", "30 days"}}

func (p *Portal) keysetPage(r *http.Request, s *session, id int64, page keysetPage, sent map[string]string) (keysetPage, error) {
	k, err := p.svc.GetKeyset(r.Context(), s.P, id)
	if err != nil {
		return page, err
	}
	page.Keyset = k
	page.CanWrite = p.svc.Can(s.P, k.Target(), keyplane.OpUpdateKeyset.Needs...) == nil
	if a, err := p.svc.GetApp(r.Context(), s.P, k.AppID); err == nil {
		page.App = a
	}
	if page.Name == "" {
		page.Name = k.Name
	}
	if page.Type == "" {
		page.Type = string(k.Type)
	}
	if secrets, err := p.svc.ListSecretKeys(r.Context(), s.P, id, false); err == nil {
		page.Secrets = secrets
	} else if keyplane.ErrorCode(err) == keyplane.CodeForbidden {
		page.SecretsErr = "Your role does not show secret keys."
	} else {
		return page, err
	}
	cfg, err := p.svc.GetConfig(r.Context(), s.P, id)
	if err != nil {
		return page, err
	}
	page.Config = configForm(cfg, page.Errors, sent)
	page.APNs, page.FCM = cfg.APNs, cfg.FCM
	page.Rotations = rotations
	return page, nil
}

func (p *Portal) keyset(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	page, err := p.keysetPage(r, s, id, keysetPage{}, nil)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "keyset", s, page.Keyset.Name, page)
	return nil
}

func (p *Portal) updateKeyset(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	name, typ := firstLine(r.PostFormValue("name")), keyplane.KeysetType(r.PostFormValue("type"))
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		_, err := p.svc.UpdateKeyset(ctx, s.P, id, &name, &typ)
		return "/keysets/" + strconv.FormatInt(id, 10) + "?done=saved", nil, err
	})
	if !done {
		if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
			return err
		}
		page, perr := p.keysetPage(r, s, id, keysetPage{Name: name, Type: string(typ), Errors: fieldErrors(err, "name", "type")}, nil)
		if perr != nil {
			return perr
		}
		p.render(w, r, http.StatusBadRequest, "keyset", s, page.Keyset.Name, page)
	}
	return nil
}

func (p *Portal) updateConfig(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return keyplane.Errorf(keyplane.CodeInvalid, "form: unreadable")
	}
	cur, err := p.svc.GetConfig(r.Context(), s.P, id)
	if err != nil {
		return err
	}
	patch, sent, problems, err := configPatch(cur, r.PostForm)
	if err == nil && problems != nil {
		// Nothing is saved while a field is unreadable, but the rest of
		// the form is checked as the API would check it, so that every
		// error shows at once, not one save at a time.
		var k keyplane.Keyset
		if k, err = p.svc.GetKeyset(r.Context(), s.P, id); err != nil {
			return err
		}
		if err = p.svc.Can(s.P, k.Target(), keyplane.OpUpdateConfig.Needs...); err != nil {
			return err
		}
		if _, aerr := cur.Apply(patch); aerr != nil {
			problems = append(problems, keyplane.ErrorMessages(aerr)...)
		}
		err = keyplane.Invalid(problems...)
	}
	if err == nil {
		var done bool
		done, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			_, err := p.svc.UpdateConfig(ctx, s.P, id, patch)
			return "/keysets/" + strconv.FormatInt(id, 10) + "?done=saved#config", nil, err
		})
		if done {
			return nil
		}
	}
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		return err
	}
	page, perr := p.keysetPage(r, s, id, keysetPage{Errors: fieldErrors(err, configPaths()...), ConfigErr: true}, sent)
	if perr != nil {
		return perr
	}
	p.render(w, r, http.StatusBadRequest, "keyset", s, page.Keyset.Name, page)
	return nil
}

func (p *Portal) rotateSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var at *time.Time
	keep := r.PostFormValue("keep")
	if keep != "" {
		i := slices.IndexFunc(rotations, func(o option) bool { return o.Value == keep })
		d, perr := time.ParseDuration(keep)
		if i < 0 || perr != nil {
			return keyplane.Errorf(keyplane.CodeInvalid, "keep: choose one of the offered periods")
		}
		t := p.now().Add(d)
		at = &t
	}
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		key, err := p.svc.RotateSecretKey(ctx, s.P, id, at)
		if err != nil {
			return "", nil, err
		}
		return shownURL(r), &shownSecret{KeysetID: id, Secret: key.Secret}, nil
	})
	if done {
		return nil
	}
	if c := keyplane.ErrorCode(err); c != keyplane.CodeInvalid && c != keyplane.CodeConflict {
		return err
	}
	page, perr := p.keysetPage(r, s, id, keysetPage{Errors: map[string][]string{"rotate": keyplane.ErrorMessages(err)}}, nil)
	if perr != nil {
		return perr
	}
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "keyset", s, page.Keyset.Name, page)
	return nil
}

// rotatedShown shows, once, the secret key a rotation made, on the
// keyset's page.
func (p *Portal) rotatedShown(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sec, err := p.takeShown(r, s)
	if err != nil {
		return err
	}
	if sec == nil {
		p.goneSecret(w, r, s, "secret key", "If it was not copied, rotate the secret key again.")
		return nil
	}
	page, err := p.keysetPage(r, s, id, keysetPage{NewSecret: sec.Secret}, nil)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "keyset", s, page.Keyset.Name, page)
	return nil
}

func (p *Portal) deleteKeysetForm(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	k, err := p.svc.GetKeyset(r.Context(), s.P, id)
	if err != nil {
		return err
	}
	if err := p.svc.Can(s.P, k.Target(), keyplane.OpDeleteKeyset.Needs...); err != nil {
		return err
	}
	base := "/keysets/" + strconv.FormatInt(id, 10)
	p.render(w, r, http.StatusOK, "confirm", s, "Delete keyset", confirmPage{
		Heading: "Delete keyset “" + k.Name + "”?",
		Body:    "Its publish, subscribe and secret keys stop working, and its configuration is gone for good.",
		Action:  base + "/delete", Button: "Delete keyset", Cancel: base, Danger: true})
	return nil
}

func (p *Portal) deleteKeyset(w http.ResponseWriter, r *http.Request, s *session) error {
	return p.onceOn(w, r, s, func(ctx context.Context, id int64) (string, *shownSecret, error) {
		k, err := p.svc.GetKeyset(ctx, s.P, id)
		if err != nil {
			return "", nil, err
		}
		return "/apps/" + strconv.FormatInt(k.AppID, 10) + "?done=keyset-deleted", nil, p.svc.DeleteKeyset(ctx, s.P, id)
	})
}
