package portal

import (
	"net/http"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// ssoCookie binds a single sign-on under way to the browser that started
// it: the provider's answer is taken only with it (no one can make a
// victim's browser complete a sign-in the attacker started). It lives
// under /login/sso for keyplane.SSOSignInTTL and opens nothing.
const ssoCookie = "keyplane_sso"

// ssoFormAction is where the SSO page's form may lead. Its answer is a
// redirect to the account's provider, and browsers hold every redirect a
// form's submission follows to form-action: with 'self' alone, Chromium
// stops at the provider's door. Providers are https, or http on this
// machine (keyplane.OIDCConfig's rule for issuers); which one is known
// only once the address is typed.
const ssoFormAction = "'self' https: http://localhost:* http://127.0.0.1:* http://[::1]:*"

// ssoPage is the data of the "Sign in with SSO" page.
type ssoPage struct {
	Email  string
	Errors []string
}

// ssoForm asks for the address whose domain decides the provider.
func (p *Portal) ssoForm(w http.ResponseWriter, r *http.Request) {
	if _, err := p.session(r); err == nil {
		http.Redirect(w, r, "/apps", http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy(ssoFormAction))
	p.render(w, r, http.StatusOK, "sso", nil, "Sign in with SSO", ssoPage{Email: firstLine(r.URL.Query().Get("email"))})
}

// ssoBegin sends the browser to the provider of the account claiming the
// address's domain. Nothing changes here but a sign-in under way, so it
// needs no form token: sending it twice starts two, of which the browser
// keeps the last.
func (p *Portal) ssoBegin(w http.ResponseWriter, r *http.Request) {
	email := firstLine(r.PostFormValue("email"))
	st, err := p.svc.BeginSSO(r.Context(), email)
	if err != nil {
		p.ssoFailed(w, r, email, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: st.Token, Path: "/login/sso", Expires: st.Expires,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, st.URL, http.StatusSeeOther)
}

// ssoCallback takes the provider's answer (a GET the provider's redirect
// makes) and opens the session.
func (p *Portal) ssoCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a := control.SSOAnswer{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
		IP: p.clientIP(r), Agent: r.UserAgent()}
	if c, err := r.Cookie(ssoCookie); err == nil {
		a.Token = c.Value
	}
	// Used or not, the sign-in under way is over.
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/login/sso", MaxAge: -1,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	token, _, err := p.svc.FinishSSO(r.Context(), a)
	if err != nil {
		p.ssoFailed(w, r, "", err)
		return
	}
	p.signedInAs(w, r, token, "/apps")
}

// ssoFailed shows the SSO page again with what went wrong, in the
// status of its code; errors that are not the person's are the server's.
func (p *Portal) ssoFailed(w http.ResponseWriter, r *http.Request, email string, err error) {
	switch keyplane.ErrorCode(err) {
	case keyplane.CodeInvalid, keyplane.CodeUnauthorized, keyplane.CodeForbidden, keyplane.CodeUnavailable:
	default:
		p.fail(w, r, nil, err)
		return
	}
	httpstatus.SetRetryAfter(w.Header(), err)
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy(ssoFormAction))
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "sso", nil, "Sign in with SSO", ssoPage{Email: email, Errors: keyplane.ErrorMessages(err)})
}
