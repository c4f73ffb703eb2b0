package portal

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// signInCookie holds the token of a sign-in whose password was right and
// that waits for its second factor. It is no session: it opens nothing
// but the second-step page, for keyplane.SecondStepTTL.
const signInCookie = "keyplane_signin"

// secondStepPage is the data of the second-step page.
type secondStepPage struct {
	Next string
	// TOTP and Passkey are what the person can give.
	TOTP, Passkey bool
	Errors        []string
}

// toSecondStep answers a sign-in whose password was right but that needs
// a second factor (err is a *control.SecondStep): it keeps the waiting
// sign-in in its cookie and sends the browser to the second step. It
// reports false, doing nothing, for any other err.
func (p *Portal) toSecondStep(w http.ResponseWriter, r *http.Request, err error, next string) bool {
	st, ok := errors.AsType[*control.SecondStep](err)
	if !ok {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: st.Token, Path: "/login", Expires: st.Expires,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login/second-factor?next="+url.QueryEscape(next), http.StatusSeeOther)
	return true
}

// pending is the waiting sign-in of r, and what it can be completed with.
func (p *Portal) pending(r *http.Request) (string, control.SecondStep, error) {
	c, err := r.Cookie(signInCookie)
	if err != nil {
		return "", control.SecondStep{}, keyplane.Errorf(keyplane.CodeUnauthorized, "This sign-in has expired or was already completed. Sign in again.")
	}
	st, err := p.svc.PendingSignIn(r.Context(), c.Value)
	return c.Value, st, err
}

// backToLogin shows the sign-in page with err's messages: a waiting
// sign-in that is gone starts again from the password.
func (p *Portal) backToLogin(w http.ResponseWriter, r *http.Request, err error, next string) {
	p.clearSignInCookie(w, r)
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "login", nil, "Sign in", loginPage{Next: next, Errors: keyplane.ErrorMessages(err)})
}

func (p *Portal) clearSignInCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: "/login", MaxAge: -1,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
}

// secondFactorForm asks for the second factor.
func (p *Portal) secondFactorForm(w http.ResponseWriter, r *http.Request) {
	next := localNext(r.URL.Query().Get("next"))
	_, st, err := p.pending(r)
	if keyplane.ErrorCode(err) == keyplane.CodeUnauthorized {
		p.backToLogin(w, r, err, next)
		return
	} else if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.render(w, r, http.StatusOK, "second-step", nil, "Second factor", secondStepPage{Next: next, TOTP: st.TOTP, Passkey: st.Passkey})
}

// secondFactor completes the sign-in with a code: the session opens, in
// a cookie of its own, and the waiting sign-in is gone.
func (p *Portal) secondFactor(w http.ResponseWriter, r *http.Request) {
	next := localNext(r.PostFormValue("next"))
	token, st, err := p.pending(r)
	if err == nil {
		var session string
		if session, _, err = p.svc.CompleteSignIn(r.Context(), token, p.clientIP(r), r.UserAgent(), r.PostFormValue("code")); err == nil {
			p.signedInAs(w, r, session, next)
			return
		}
	}
	p.secondStepFailed(w, r, err, st, next)
}

// secondStepFailed shows the second step again with err, or starts the
// sign-in again when the waiting one is gone.
func (p *Portal) secondStepFailed(w http.ResponseWriter, r *http.Request, err error, st control.SecondStep, next string) {
	switch keyplane.ErrorCode(err) {
	case keyplane.CodeInvalid, keyplane.CodeTooManyRequests, keyplane.CodeUnavailable:
	case keyplane.CodeUnauthorized:
		if _, _, perr := p.pending(r); perr != nil {
			p.backToLogin(w, r, err, next)
			return
		}
	case keyplane.CodeForbidden:
		p.backToLogin(w, r, err, next)
		return
	default:
		p.fail(w, r, nil, err)
		return
	}
	httpstatus.SetRetryAfter(w.Header(), err)
	p.render(w, r, httpstatus.Of(keyplane.ErrorCode(err)), "second-step", nil, "Second factor",
		secondStepPage{Next: next, TOTP: st.TOTP, Passkey: st.Passkey, Errors: keyplane.ErrorMessages(err)})
}

// signedInAs sets the cookie of a session just opened, forgets the waiting
// sign-in, and goes on to next.
func (p *Portal) signedInAs(w http.ResponseWriter, r *http.Request, token, next string) {
	_, expires, err := p.svc.Session(r.Context(), token)
	if err != nil && !errors.Is(err, control.ErrMustEnrol) {
		p.fail(w, r, nil, err)
		return
	}
	if _, err := r.Cookie(signInCookie); err == nil {
		p.clearSignInCookie(w, r)
	}
	p.setCookie(w, r, token, expires)
	http.Redirect(w, r, next, http.StatusSeeOther)
}
