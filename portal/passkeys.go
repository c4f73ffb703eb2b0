package portal

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// Passkeys in the portal. WebAuthn lives in the browser's JavaScript
// (static/passkeys.js), so each passkey button sits in a plain form: the
// script asks the options endpoint (…/options, JSON) for a challenge,
// hands it to navigator.credentials, puts the answer in the form's hidden
// credential field and sends the form, which is checked and answered like
// any other (Post/Redirect/Get, form tokens, errors on the page). Without
// JavaScript the buttons stay hidden, and password and authenticator app
// work as before.

// relyingParty is the site passkeys belong to for r: the public URL when
// the operator set one, else the address the browser used (as a server
// reached directly, or through a proxy that keeps Host, is).
func (p *Portal) relyingParty(r *http.Request) (control.RelyingParty, error) {
	if p.publicURL != "" {
		return control.NewRelyingParty(p.publicURL)
	}
	scheme := "http://"
	if p.secure(r) {
		scheme = "https://"
	}
	return control.NewRelyingParty(scheme + r.Host)
}

// passkeyOptionsJSON answers an options request: the JSON options, or
// the API's error body ({statusCode, error, message[]}) for the script to
// show.
func (p *Portal) passkeyOptionsJSON(w http.ResponseWriter, r *http.Request, begin func(ctx context.Context, rp control.RelyingParty) ([]byte, error)) {
	rp, err := p.relyingParty(r)
	var body []byte
	if err == nil {
		body, err = begin(r.Context(), rp)
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := keyplane.ErrorCode(err)
		if code == keyplane.CodeInternal {
			p.log.Error("portal request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		status := httpstatus.Of(code)
		httpstatus.SetRetryAfter(w.Header(), err)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(struct {
			StatusCode int      `json:"statusCode"`
			Error      string   `json:"error"`
			Message    []string `json:"message"`
		}{status, string(code), keyplane.ErrorMessages(err)})
		return
	}
	_, _ = w.Write(body)
}

// passkeyRegistrationOptions begins adding a passkey.
func (p *Portal) passkeyRegistrationOptions(w http.ResponseWriter, r *http.Request, s *session) error {
	p.passkeyOptionsJSON(w, r, func(ctx context.Context, rp control.RelyingParty) ([]byte, error) {
		return p.svc.BeginPasskeyRegistration(ctx, s.P, rp)
	})
	return nil
}

// addPasskey keeps the passkey the browser made, under the name typed.
func (p *Portal) addPasskey(w http.ResponseWriter, r *http.Request, s *session) error {
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		rp, err := p.relyingParty(r)
		if err != nil {
			return "", nil, err
		}
		_, err = p.svc.FinishPasskeyRegistration(ctx, s.P, rp, r.PostFormValue("name"), r.PostFormValue("credential"))
		return "/account/two-factor?done=passkey-added#passkeys", nil, err
	})
	if done {
		return nil
	}
	return p.passkeyFailed(w, r, s, err, "name")
}

// removePasskey removes a passkey, once the password is given again.
func (p *Portal) removePasskey(w http.ResponseWriter, r *http.Request, s *session) error {
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		id, err := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		if err != nil {
			return "", nil, keyplane.Errorf(keyplane.CodeInvalid, "id: choose the passkey to remove")
		}
		return "/account/two-factor?done=passkey-removed#passkeys", nil, p.svc.RemovePasskey(ctx, s.P, p.clientIP(r), r.PostFormValue("password"), id)
	})
	if done {
		return nil
	}
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
		// Gone since the page was shown (removed in another tab): say so
		// on the page.
		err = keyplane.Errorf(keyplane.CodeConflict, "That passkey is not yours, or was removed already.")
	}
	return p.passkeyFailed(w, r, s, err, "password", "id")
}

// passkeySignInOptions begins a sign-in with a passkey, without a password.
func (p *Portal) passkeySignInOptions(w http.ResponseWriter, r *http.Request) {
	p.passkeyOptionsJSON(w, r, func(ctx context.Context, rp control.RelyingParty) ([]byte, error) {
		return p.svc.BeginPasskeySignIn(ctx, rp, p.clientIP(r))
	})
}

// passkeySignIn signs in with the passkey the browser gave.
func (p *Portal) passkeySignIn(w http.ResponseWriter, r *http.Request) {
	next := localNext(r.PostFormValue("next"))
	rp, err := p.relyingParty(r)
	var token string
	if err == nil {
		if token, _, err = p.svc.PasskeySignIn(r.Context(), rp, p.clientIP(r), r.UserAgent(), r.PostFormValue("credential")); err == nil {
			p.signedInAs(w, r, token, next)
			return
		}
	}
	code := keyplane.ErrorCode(err)
	if code == keyplane.CodeInternal {
		p.fail(w, r, nil, err)
		return
	}
	httpstatus.SetRetryAfter(w.Header(), err)
	p.render(w, r, httpstatus.Of(code), "login", nil, "Sign in", loginPage{Next: next, Errors: keyplane.ErrorMessages(err), Signup: p.svc.SignupEnabled()})
}

// passkeySecondStepOptions begins the second step with a passkey.
func (p *Portal) passkeySecondStepOptions(w http.ResponseWriter, r *http.Request) {
	p.passkeyOptionsJSON(w, r, func(ctx context.Context, rp control.RelyingParty) ([]byte, error) {
		c, err := r.Cookie(signInCookie)
		if err != nil {
			return nil, keyplane.Errorf(keyplane.CodeUnauthorized, "This sign-in has expired or was already completed. Sign in again.")
		}
		return p.svc.BeginPasskeySecondStep(ctx, rp, c.Value)
	})
}

// passkeySecondStep completes the waiting sign-in with a passkey.
func (p *Portal) passkeySecondStep(w http.ResponseWriter, r *http.Request) {
	next := localNext(r.PostFormValue("next"))
	token, st, err := p.pending(r)
	if err == nil {
		var rp control.RelyingParty
		if rp, err = p.relyingParty(r); err == nil {
			var session string
			if session, _, err = p.svc.CompletePasskeySignIn(r.Context(), rp, token, p.clientIP(r), r.UserAgent(), r.PostFormValue("credential")); err == nil {
				p.signedInAs(w, r, session, next)
				return
			}
		}
	}
	p.secondStepFailed(w, r, err, st, next)
}
