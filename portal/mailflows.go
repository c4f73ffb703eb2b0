package portal

import (
	"net/http"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// The pages people reach from e-mail, without a session: forgot password
// and its reset link, an invitation's link, and sign-up with its
// confirmation link. Each link's token travels in the URL's query, which
// the request log never shows, and then in a hidden field; every POST
// that succeeds is answered by a redirect, and one that fails shows its
// form again with the errors beside the fields, having changed nothing.

// signInWith sets the cookie of a session just opened and goes to next.
func (p *Portal) signInWith(w http.ResponseWriter, r *http.Request, token, next string) {
	_, expires, err := p.svc.Session(r.Context(), token)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.setCookie(w, r, token, expires)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// formError shows a form again with err beside its fields when err is the
// user's to fix (bad input, too many attempts, a busy server), and an
// error page otherwise.
func (p *Portal) formError(w http.ResponseWriter, r *http.Request, err error, page, title string, data func(map[string][]string) any, fields ...string) {
	switch keyplane.ErrorCode(err) {
	case keyplane.CodeInvalid, keyplane.CodeTooManyRequests, keyplane.CodeUnavailable, keyplane.CodeConflict:
		httpstatus.SetRetryAfter(w.Header(), err)
		p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), page, nil, title, data(fieldErrors(err, fields...)))
	default:
		p.fail(w, r, nil, err)
	}
}

type forgotPage struct {
	Email  string
	Mail   bool // whether this server sends e-mail at all
	Errors map[string][]string
}

func (p *Portal) forgotForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "forgot", nil, "Forgot password", forgotPage{Mail: p.svc.MailEnabled()})
}

func (p *Portal) forgot(w http.ResponseWriter, r *http.Request) {
	email := firstLine(r.PostFormValue("email"))
	if err := p.svc.RequestPasswordReset(r.Context(), email, p.clientIP(r), r.UserAgent()); err != nil {
		p.formError(w, r, err, "forgot", "Forgot password", func(errs map[string][]string) any {
			return forgotPage{Email: email, Mail: p.svc.MailEnabled(), Errors: errs}
		}, "email")
		return
	}
	http.Redirect(w, r, "/forgot?done=reset-sent", http.StatusSeeOther)
}

type resetPage struct {
	Token, Email string
	Errors       map[string][]string
}

func (p *Portal) resetForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	email, err := p.svc.OpenPasswordReset(r.Context(), token)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.render(w, r, http.StatusOK, "reset", nil, "Choose a new password", resetPage{Token: token, Email: email})
}

func (p *Portal) reset(w http.ResponseWriter, r *http.Request) {
	token, password := r.PostFormValue("token"), r.PostFormValue("password")
	email, err := p.svc.OpenPasswordReset(r.Context(), token)
	if err == nil && password != r.PostFormValue("confirm") {
		err = keyplane.Errorf(keyplane.CodeInvalid, "confirm: the two passwords differ")
	}
	if err == nil {
		err = p.svc.ResetPassword(r.Context(), token, password, p.clientIP(r), r.UserAgent())
	}
	if err != nil {
		p.formError(w, r, err, "reset", "Choose a new password", func(errs map[string][]string) any {
			return resetPage{Token: token, Email: email, Errors: errs}
		}, "password", "confirm")
		return
	}
	// Every session of theirs ended, this browser's included: they sign
	// in again with the new password.
	p.clearCookie(w, r)
	http.Redirect(w, r, "/login?done=password-reset", http.StatusSeeOther)
}

type invitationPage struct {
	Token    string
	Email    string
	Account  string
	Role     string
	Inviter  string
	Existing bool
	Errors   map[string][]string
}

func (p *Portal) invitationData(r *http.Request, token string) (invitationPage, error) {
	l, err := p.svc.OpenInvitation(r.Context(), token)
	if err != nil {
		return invitationPage{}, err
	}
	return invitationPage{Token: token, Email: l.Invitation.Email, Account: l.Account.Name, Role: l.Invitation.Role.Label(),
		Inviter: l.Invitation.Inviter, Existing: l.Existing}, nil
}

func (p *Portal) invitationForm(w http.ResponseWriter, r *http.Request) {
	page, err := p.invitationData(r, r.URL.Query().Get("token"))
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.render(w, r, http.StatusOK, "invitation", nil, "Join "+page.Account, page)
}

func (p *Portal) acceptInvitation(w http.ResponseWriter, r *http.Request) {
	token, password := r.PostFormValue("token"), r.PostFormValue("password")
	page, err := p.invitationData(r, token)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	if !page.Existing && password != r.PostFormValue("confirm") {
		err = keyplane.Errorf(keyplane.CodeInvalid, "confirm: the two passwords differ")
	} else {
		var session string
		if session, _, err = p.svc.AcceptInvitation(r.Context(), token, password, p.clientIP(r), r.UserAgent()); err == nil {
			p.signInWith(w, r, session, "/apps?done=joined")
			return
		}
	}
	p.formError(w, r, err, "invitation", "Join "+page.Account, func(errs map[string][]string) any {
		page.Errors = errs
		return page
	}, "password", "confirm")
}

type signupPage struct {
	Email  string
	Errors map[string][]string
}

// signupOn refuses the sign-up pages when sign-up is off: they do not exist.
func (p *Portal) signupOn(w http.ResponseWriter, r *http.Request) bool {
	if p.svc.SignupEnabled() {
		return true
	}
	p.render(w, r, http.StatusNotFound, "error", nil, "Page not found", errorPage{Title: "Page not found",
		Messages: []string{"Sign-up is off on this Keyplane: ask its operator, or an Owner of an account, for an invitation."}})
	return false
}

func (p *Portal) signupForm(w http.ResponseWriter, r *http.Request) {
	if p.signupOn(w, r) {
		p.render(w, r, http.StatusOK, "signup", nil, "Create an account", signupPage{})
	}
}

func (p *Portal) signup(w http.ResponseWriter, r *http.Request) {
	if !p.signupOn(w, r) {
		return
	}
	email := firstLine(r.PostFormValue("email"))
	if err := p.svc.RequestSignup(r.Context(), email, p.clientIP(r)); err != nil {
		p.formError(w, r, err, "signup", "Create an account", func(errs map[string][]string) any {
			return signupPage{Email: email, Errors: errs}
		}, "email")
		return
	}
	http.Redirect(w, r, "/signup?done=signup-sent", http.StatusSeeOther)
}

type signupConfirmPage struct {
	Token, Email string
	Existing     bool
	Account      string
	Errors       map[string][]string
}

func (p *Portal) signupConfirmForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	l, err := p.svc.OpenSignup(r.Context(), token)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.render(w, r, http.StatusOK, "signup-confirm", nil, "Create your account", signupConfirmPage{Token: token, Email: l.Email, Existing: l.Existing})
}

func (p *Portal) signupConfirm(w http.ResponseWriter, r *http.Request) {
	token, password := r.PostFormValue("token"), r.PostFormValue("password")
	name := firstLine(r.PostFormValue("account"))
	l, err := p.svc.OpenSignup(r.Context(), token)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	if !l.Existing && password != r.PostFormValue("confirm") {
		err = keyplane.Errorf(keyplane.CodeInvalid, "confirm: the two passwords differ")
	} else {
		var session string
		if session, _, err = p.svc.CompleteSignup(r.Context(), token, name, password, p.clientIP(r)); err == nil {
			p.signInWith(w, r, session, "/apps?done=signed-up")
			return
		}
	}
	p.formError(w, r, err, "signup-confirm", "Create your account", func(errs map[string][]string) any {
		return signupConfirmPage{Token: token, Email: l.Email, Existing: l.Existing, Account: name, Errors: errs}
	}, "account", "password", "confirm")
}
