package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// Wire shapes. IDs travel as strings on these routes, as PubNub sends them.

type appJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

func appOut(a keyplane.App) appJSON {
	return appJSON{strconv.FormatInt(a.ID, 10), a.Name, keyplane.FormatTime(a.CreatedAt), keyplane.FormatTime(a.UpdatedAt)}
}

type keysetJSON struct {
	ID           string          `json:"id"`
	AppID        string          `json:"appId"`
	Name         string          `json:"name"`
	Type         string          `json:"type"`
	PublishKey   string          `json:"publishKey"`
	SubscribeKey string          `json:"subscribeKey"`
	CreatedAt    string          `json:"createdAt"`
	UpdatedAt    string          `json:"updatedAt"`
	SecretKeys   []secretKeyJSON `json:"secretKeys,omitempty"` // only in the answer to a creation
}

func keysetOut(k keyplane.Keyset) keysetJSON {
	return keysetJSON{
		ID: strconv.FormatInt(k.ID, 10), AppID: strconv.FormatInt(k.AppID, 10), Name: k.Name, Type: string(k.Type),
		PublishKey: k.PublishKey, SubscribeKey: k.SubscribeKey,
		CreatedAt: keyplane.FormatTime(k.CreatedAt), UpdatedAt: keyplane.FormatTime(k.UpdatedAt),
	}
}

type secretKeyJSON struct {
	SecretKey string  `json:"secretKey"`
	ExpiresAt *string `json:"expiresAt"`
}

func secretKeyOut(s keyplane.SecretKey) secretKeyJSON {
	out := secretKeyJSON{SecretKey: s.Secret}
	if s.ExpiresAt != nil {
		t := keyplane.FormatTime(*s.ExpiresAt)
		out.ExpiresAt = &t
	}
	return out
}

var success = map[string]bool{"success": true}

// respond writes v with status, unless err says the operation failed.
func respond(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// list answers one page of a list under key ("apps", "keysets"), in
// PubNub's envelope: the items, the total the caller may see, page, limit.
func list[T, J any](w http.ResponseWriter, r *http.Request, key string, fetch func(keyplane.Page) ([]T, int, error), out func(T) J) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	items, total, err := fetch(pg)
	if err != nil {
		return err
	}
	js := make([]J, len(items))
	for i, it := range items {
		js[i] = out(it)
	}
	writeJSON(w, http.StatusOK, map[string]any{key: js, "total": total, "page": pg.Page, "limit": pg.Limit})
	return nil
}

func (a *API) listApps(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	return list(w, r, "apps", func(pg keyplane.Page) ([]keyplane.App, int, error) { return a.svc.ListApps(r.Context(), p, pg) }, appOut)
}

// appBody is the body of creating and renaming an app.
type appBody struct {
	Name *string `json:"name"`
}

func (b appBody) name() (string, error) {
	if b.Name == nil {
		return "", keyplane.Errorf(keyplane.CodeInvalid, "name: required")
	}
	return *b.Name, nil
}

func (a *API) createApp(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	var b appBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	name, err := b.name()
	if err != nil {
		return err
	}
	app, err := a.svc.CreateApp(r.Context(), p, name)
	return respond(w, http.StatusCreated, appOut(app), err)
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "appId")
	if err != nil {
		return err
	}
	app, err := a.svc.GetApp(r.Context(), p, id)
	return respond(w, http.StatusOK, appOut(app), err)
}

func (a *API) updateApp(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "appId")
	if err != nil {
		return err
	}
	var b appBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	name, err := b.name()
	if err != nil {
		return err
	}
	app, err := a.svc.RenameApp(r.Context(), p, id, name)
	return respond(w, http.StatusOK, appOut(app), err)
}

func (a *API) deleteApp(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "appId")
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, success, a.svc.DeleteApp(r.Context(), p, id))
}

// listKeysets answers what list would, written by writeKeysetPage; appId
// keeps one app's keysets (Keyplane's own filter: PubNub's client lists
// every keyset and never sends it).
func (a *API) listKeysets(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	pg, perr := page(r)
	appID, aerr := queryID(r, "appId", false)
	if err := invalidAll(perr, aerr); err != nil {
		return err
	}
	ks, total, err := a.svc.ListKeysetsOfApp(r.Context(), p, appID, pg)
	if err != nil {
		return err
	}
	writeKeysetPage(w, ks, total, pg)
	return nil
}

// keysetFields is the body of updating a keyset: its app never changes.
type keysetFields struct {
	Name *string              `json:"name"`
	Type *keyplane.KeysetType `json:"type"`
}

type createKeysetBody struct {
	Keyset *struct {
		Name  *string              `json:"name"`
		Type  *keyplane.KeysetType `json:"type"`
		AppID *string              `json:"appId"`
	} `json:"keyset"`
	Config json.RawMessage `json:"config"`
}

func (a *API) createKeyset(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	var b createKeysetBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	var n control.NewKeyset
	var msgs []string
	switch {
	case b.Keyset == nil:
		msgs = append(msgs, "keyset: required")
	case b.Keyset.AppID == nil:
		msgs = append(msgs, "keyset.appId: required")
	default:
		var m string
		n.AppID, m = bodyID("keyset.appId", *b.Keyset.AppID)
		msgs = append(msgs, m)
		n.Name, n.Type = b.Keyset.Name, b.Keyset.Type
	}
	switch {
	case len(b.Config) == 0 || string(b.Config) == "null":
	case b.Config[0] != '{':
		msgs = append(msgs, "config: must be an object")
	default:
		patch, err := keyplane.ParseConfigPatch(b.Config)
		if err != nil {
			msgs = append(msgs, keyplane.ErrorMessages(keyplane.PrefixMessages(err, "config."))...)
		}
		n.Config = patch
	}
	if err := keyplane.Invalid(nonEmpty(msgs)...); err != nil {
		return err
	}
	k, secret, cfg, err := a.svc.CreateKeyset(r.Context(), p, n)
	if err != nil {
		return err
	}
	out := keysetOut(k)
	out.SecretKeys = []secretKeyJSON{secretKeyOut(secret)}
	writeJSON(w, http.StatusCreated, map[string]any{"keyset": out, "config": cfg})
	return nil
}

// invalidAll joins the messages of the 400s in errs into one, so a request
// with several mistakes hears of all of them at once; nil when none failed.
// Each err is nil or a CodeInvalid error.
func invalidAll(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, keyplane.ErrorMessages(err)...)
		}
	}
	return keyplane.Invalid(msgs...)
}

func nonEmpty(msgs []string) []string {
	out := []string{}
	for _, m := range msgs {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

func (a *API) getKeyset(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	k, err := a.svc.GetKeyset(r.Context(), p, id)
	if err != nil {
		return err
	}
	a.keysetBodies.get(k).write(w)
	return nil
}

func (a *API) updateKeyset(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	var b keysetFields
	if err := decode(w, r, &b); err != nil {
		return err
	}
	k, err := a.svc.UpdateKeysetIf(r.Context(), p, id, b.Name, b.Type, ifMatch(r, id))
	if err == nil {
		setETag(w, k.ID, k.Version)
	}
	return respond(w, http.StatusOK, keysetOut(k), err)
}

func (a *API) deleteKeyset(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, success, a.svc.DeleteKeyset(r.Context(), p, id))
}

func (a *API) getConfig(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	c, version, err := a.svc.GetConfigVersion(r.Context(), p, id)
	if err == nil {
		setETag(w, id, version)
	}
	return respond(w, http.StatusOK, c, err)
}

func (a *API) updateConfig(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	raw, err := body(w, r)
	if err != nil {
		return err
	}
	patch, err := keyplane.ParseConfigPatch(raw)
	if err != nil {
		return err
	}
	c, version, err := a.svc.UpdateConfigIf(r.Context(), p, id, patch, ifMatch(r, id))
	if err == nil {
		setETag(w, id, version)
	}
	return respond(w, http.StatusOK, c, err)
}

func (a *API) listSecretKeys(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	activeOnly := false
	if q := r.URL.Query(); q.Has("activeOnly") {
		switch q.Get("activeOnly") {
		case "true":
			activeOnly = true
		case "false":
		default:
			return keyplane.Errorf(keyplane.CodeInvalid, "activeOnly: must be true or false")
		}
	}
	keys, err := a.svc.ListSecretKeys(r.Context(), p, id, activeOnly)
	if err != nil {
		return err
	}
	out := make([]secretKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = secretKeyOut(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"secretKeys": out})
	return nil
}

type expiryBody struct {
	ExpiresAt *string `json:"expiresAt"`
}

func (b expiryBody) time() (*time.Time, error) {
	if b.ExpiresAt == nil {
		return nil, nil
	}
	t, err := keyplane.ParseTime("expiresAt", *b.ExpiresAt)
	return &t, err
}

func (a *API) rotateSecretKey(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	var b expiryBody
	// The body is optional: a bare POST rotates at once.
	if r.ContentLength != 0 {
		if err := decode(w, r, &b); err != nil && !emptyBody(err) {
			return err
		}
	}
	at, err := b.time()
	if err != nil {
		return err
	}
	k, err := a.svc.RotateSecretKey(r.Context(), p, id, at)
	return respond(w, http.StatusCreated, map[string]string{"secretKey": k.Secret}, err)
}

// emptyBody reports whether err is DecodeJSON's refusal of an empty body.
func emptyBody(err error) bool {
	msgs := keyplane.ErrorMessages(err)
	return len(msgs) == 1 && msgs[0] == "body: required"
}

func (a *API) updateSecretKey(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	var b expiryBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	if b.ExpiresAt == nil {
		return keyplane.Errorf(keyplane.CodeInvalid, "expiresAt: required")
	}
	at, err := b.time()
	if err != nil {
		return err
	}
	k, err := a.svc.UpdateSecretKeyExpiry(r.Context(), p, id, r.PathValue("secretKeyPrefix"), *at)
	return respond(w, http.StatusOK, map[string]any{"secretKey": secretKeyOut(k)}, err)
}

func (a *API) deleteSecretKey(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	id, err := pathID(r, "keysetId")
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, success, a.svc.DeleteSecretKey(r.Context(), p, id, r.PathValue("secretKeyPrefix")))
}
