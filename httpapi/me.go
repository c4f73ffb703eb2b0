package httpapi

import (
	"net/http"
	"strconv"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

func idString(v int64) string { return strconv.FormatInt(v, 10) }

func optIDString(v int64) *string {
	if v == 0 {
		return nil
	}
	s := idString(v)
	return &s
}

type grantJSON struct {
	Grant    string  `json:"grant"`
	Label    string  `json:"label"`
	Level    string  `json:"level"`
	TargetID *string `json:"targetId"`
	Resource string  `json:"resource"`
	Access   string  `json:"access"`
}

func grantOut(g keyplane.Grant) grantJSON {
	return grantJSON{Grant: g.String(), Label: g.Label(), Level: string(g.Level), TargetID: optIDString(g.TargetID),
		Resource: string(g.Resource), Access: string(g.Access)}
}

type accessMap map[keyplane.Resource]keyplane.Access

type appAccessJSON struct {
	ID     string    `json:"id"`
	Name   *string   `json:"name"`
	Access accessMap `json:"access"`
}

type keysetAccessJSON struct {
	ID     string    `json:"id"`
	AppID  string    `json:"appId"`
	Name   *string   `json:"name"`
	Access accessMap `json:"access"`
}

func (a *API) getMe(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	m, err := a.svc.Me(r.Context(), p)
	if err != nil {
		return err
	}
	perms := make([]grantJSON, len(m.Integration.Grants))
	for i, g := range m.Integration.Grants {
		perms[i] = grantOut(g)
	}
	apps := make([]appAccessJSON, len(m.Apps))
	for i, x := range m.Apps {
		apps[i] = appAccessJSON{ID: idString(x.App.ID), Access: x.Access}
		if x.Named {
			apps[i].Name = &x.App.Name
		}
	}
	keysets := make([]keysetAccessJSON, len(m.Keysets))
	for i, x := range m.Keysets {
		keysets[i] = keysetAccessJSON{ID: idString(x.Keyset.ID), AppID: idString(x.Keyset.AppID), Access: x.Access}
		if x.Named {
			keysets[i].Name = &x.Keyset.Name
		}
	}
	var lastUsed *string
	if m.Key.LastUsedAt != nil {
		s := keyplane.FormatTime(*m.Key.LastUsedAt)
		lastUsed = &s
	}
	writeJSON(w, http.StatusOK, meJSON{
		AccountID:   idString(m.AccountID),
		Partner:     m.Partner,
		Integration: idName{idString(m.Integration.ID), m.Integration.Name},
		Key: keyJSON{ID: idString(m.Key.ID), Prefix: m.Key.Prefix, CreatedAt: keyplane.FormatTime(m.Key.CreatedAt),
			ExpiresAt: keyplane.FormatTime(m.Key.ExpiresAt), LastUsedAt: lastUsed},
		Permissions: perms,
		Access:      effectiveJSON{Account: m.Account, Apps: apps, Keysets: keysets},
	})
	return nil
}

// The shape of GET /v2/me, in the order a reader wants it.
type meJSON struct {
	AccountID   string        `json:"accountId"`
	Partner     bool          `json:"partner"`
	Integration idName        `json:"integration"`
	Key         keyJSON       `json:"key"`
	Permissions []grantJSON   `json:"permissions"`
	Access      effectiveJSON `json:"access"`
}

type idName struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type keyJSON struct {
	ID         string  `json:"id"`
	Prefix     string  `json:"prefix"`
	CreatedAt  string  `json:"createdAt"`
	ExpiresAt  string  `json:"expiresAt"`
	LastUsedAt *string `json:"lastUsedAt"`
}

type effectiveJSON struct {
	Account accessMap          `json:"account"`
	Apps    []appAccessJSON    `json:"apps"`
	Keysets []keysetAccessJSON `json:"keysets"`
}

type authzTargetBody struct {
	AppID    *string `json:"appId"`
	KeysetID *string `json:"keysetId"`
}

type authzBody struct {
	Action *string          `json:"action"`
	Method *string          `json:"method"`
	Path   *string          `json:"path"`
	Target *authzTargetBody `json:"target"`
}

type permissionCheckJSON struct {
	Resource  string     `json:"resource"`
	Access    string     `json:"access"`
	Allowed   bool       `json:"allowed"`
	GrantedBy *grantJSON `json:"grantedBy"`
	Missing   *grantJSON `json:"missing"`
}

func (a *API) checkAuthz(w http.ResponseWriter, r *http.Request, p keyplane.Principal) error {
	var b authzBody
	if err := decode(w, r, &b); err != nil {
		return err
	}
	var q control.AuthzQuestion
	var msgs []string
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	q.Action, q.Method, q.Path = str(b.Action), str(b.Method), str(b.Path)
	if (q.Method == "") != (q.Path == "") {
		msgs = append(msgs, "body: method and path go together")
	}
	if t := b.Target; t != nil {
		var m string
		if t.AppID != nil {
			q.Target.AppID, m = bodyID("target.appId", *t.AppID)
			msgs = append(msgs, m)
		}
		if t.KeysetID != nil {
			q.Target.KeysetID, m = bodyID("target.keysetId", *t.KeysetID)
			msgs = append(msgs, m)
		}
	}
	if err := keyplane.Invalid(nonEmpty(msgs)...); err != nil {
		return err
	}
	ans, err := a.svc.CheckAuthz(r.Context(), p, q)
	if err != nil {
		return err
	}
	checks := make([]permissionCheckJSON, len(ans.Checks))
	reasons := []string{}
	for i, c := range ans.Checks {
		checks[i] = permissionCheckJSON{Resource: string(c.Need.Resource), Access: string(c.Need.Access), Allowed: c.Missing == nil}
		if c.GrantedBy != nil {
			g := grantOut(*c.GrantedBy)
			checks[i].GrantedBy = &g
		}
		if c.Missing != nil {
			g := grantOut(*c.Missing)
			checks[i].Missing = &g
			reasons = append(reasons, "missing permission: "+g.Label)
		}
	}
	reasons = append(append([]string{}, ans.Reasons...), reasons...)
	writeJSON(w, http.StatusOK, authzAnswerJSON{
		Allowed: ans.Allowed, Action: ans.Operation.ID, Method: ans.Operation.Method, Path: ans.Operation.Path,
		Target: targetJSON{optIDString(ans.Target.AppID), optIDString(ans.Target.KeysetID)},
		Checks: checks, Reasons: reasons,
	})
	return nil
}

// The shape of POST /v2/authz/check.
type authzAnswerJSON struct {
	Allowed bool                  `json:"allowed"`
	Action  string                `json:"action"`
	Method  string                `json:"method"`
	Path    string                `json:"path"`
	Target  targetJSON            `json:"target"`
	Checks  []permissionCheckJSON `json:"checks"`
	Reasons []string              `json:"reasons"`
}

type targetJSON struct {
	AppID    *string `json:"appId"`
	KeysetID *string `json:"keysetId"`
}
