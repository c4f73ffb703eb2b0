package portal

import (
	"context"
	"net/http"
	"strings"

	"github.com/keyplane/keyplane"
)

// ssoConfigPage is the data of the Owner's single sign-on page.
type ssoConfigPage struct {
	C  keyplane.OIDCConfig
	On bool
	// Domains and GroupRoles are the form's text: one a line.
	Domains, GroupRoles string
	RedirectURL         string
	Roles               []keyplane.Role
	Errors              map[string][]string
}

// ssoFields are the fields errors are shown beside.
var ssoFields = []string{"issuer", "clientId", "clientSecret", "domains", "jitRole", "groupsClaim", "groupRoles"}

// ssoConfig shows the account's single sign-on to its Owner; control
// refuses anyone else.
func (p *Portal) ssoConfig(w http.ResponseWriter, r *http.Request, s *session) error {
	c, on, err := p.svc.SSOConfig(r.Context(), s.P, s.P.AccountID)
	if err != nil {
		return err
	}
	page := p.ssoPageOf(c, on)
	p.render(w, r, http.StatusOK, "sso-config", s, "Single sign-on", page)
	return nil
}

func (p *Portal) ssoPageOf(c keyplane.OIDCConfig, on bool) ssoConfigPage {
	var groups []string
	for _, g := range c.GroupRoles {
		groups = append(groups, g.Group+"="+string(g.Role))
	}
	return ssoConfigPage{C: c, On: on, Domains: strings.Join(c.Domains, "\n"), GroupRoles: strings.Join(groups, "\n"),
		RedirectURL: p.svc.SSORedirectURL(), Roles: keyplane.SSORoles}
}

// lines splits a text area into its non-empty lines (commas too).
func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
}

// saveSSOConfig saves the form through the same operation as keyplane
// admin set-oidc; an empty secret keeps the one set.
func (p *Portal) saveSSOConfig(w http.ResponseWriter, r *http.Request, s *session) error {
	c := keyplane.OIDCConfig{AccountID: s.P.AccountID, Issuer: r.PostFormValue("issuer"), ClientID: r.PostFormValue("client-id"),
		ClientSecret: r.PostFormValue("client-secret"), Domains: lines(r.PostFormValue("domains")),
		GroupsClaim: r.PostFormValue("groups-claim"), RequireSSO: r.PostFormValue("require-sso") == "on"}
	if jit := r.PostFormValue("jit-role"); jit != "none" {
		c.JITRole = keyplane.Role(jit)
	}
	var bad []string
	for _, l := range lines(r.PostFormValue("group-roles")) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		g, err := keyplane.ParseGroupRole(l)
		if err != nil {
			bad = append(bad, keyplane.ErrorMessages(err)...)
			continue
		}
		c.GroupRoles = append(c.GroupRoles, g)
	}
	var err error
	if len(bad) > 0 {
		// Every problem at once: the mapping's, and the rest of the form's.
		check := c
		check.Normalize()
		if verr := check.Validate(); verr != nil {
			bad = append(bad, keyplane.ErrorMessages(verr)...)
		}
		err = keyplane.Invalid(bad...)
	} else {
		var done bool
		done, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			_, _, err := p.svc.SetSSOConfig(ctx, s.P, c, strings.TrimSpace(c.ClientSecret) == "")
			return "/account/sso?done=sso-saved", nil, err
		})
		if done {
			return nil
		}
	}
	if code := keyplane.ErrorCode(err); code != keyplane.CodeInvalid && code != keyplane.CodeConflict {
		return err
	}
	_, on, perr := p.svc.SSOConfig(r.Context(), s.P, s.P.AccountID)
	if perr != nil {
		return perr
	}
	c.ClientSecret = ""
	page := p.ssoPageOf(c, on)
	page.Domains, page.GroupRoles = r.PostFormValue("domains"), r.PostFormValue("group-roles")
	page.Errors = fieldErrors(err, ssoFields...)
	p.render(w, r, http.StatusBadRequest, "sso-config", s, "Single sign-on", page)
	return nil
}

// removeSSOConfig ends the account's single sign-on.
func (p *Portal) removeSSOConfig(w http.ResponseWriter, r *http.Request, s *session) error {
	_, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		return "/account/sso?done=sso-removed", nil, p.svc.RemoveSSOConfig(ctx, s.P, s.P.AccountID)
	})
	return err
}
