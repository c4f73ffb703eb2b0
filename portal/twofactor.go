package portal

import (
	"context"
	"html/template"
	"net/http"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// twoFactorPage is My Account's Two factors page: what the person has
// enrolled, an authenticator being set up (its QR code and secret), and
// recovery codes just made, shown once.
type twoFactorPage struct {
	Factors keyplane.SecondFactors
	// Pending is an authenticator being set up, until its first code.
	Pending *control.TOTPEnrolment
	QR      template.HTML
	// Codes are recovery codes just made, shown once.
	Codes  []string
	Errors map[string][]string
	// Required tells that an account of the person requires two factors
	// and they have none yet: nothing else opens until they enrol.
	Required bool
	// PasskeyErrors are the passkey forms' errors, beside their fields
	// (their password field is not the authenticator's).
	PasskeyErrors map[string][]string
}

func (p *Portal) twoFactorData(r *http.Request, s *session, page twoFactorPage) (twoFactorPage, error) {
	f, err := p.svc.SecondFactors(r.Context(), s.P)
	if err != nil {
		return page, err
	}
	page.Factors = f
	pending, ok, err := p.svc.PendingTOTP(r.Context(), s.P)
	if err != nil {
		return page, err
	}
	if ok {
		page.Pending = &pending
		if page.QR, err = qrSVG(pending.URL, "QR code of the authenticator's secret for "+s.P.UserEmail); err != nil {
			return page, err
		}
	}
	page.Required = s.MustEnrol
	return page, nil
}

// twoFactor shows the Two factors page.
func (p *Portal) twoFactor(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := p.twoFactorData(r, s, twoFactorPage{})
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "two-factor", s, "Two factors", page)
	return nil
}

// twoFactorFailed shows the page again with a form's errors beside its
// fields, or hands err on when it is not about the form.
func (p *Portal) twoFactorFailed(w http.ResponseWriter, r *http.Request, s *session, err error, fields ...string) error {
	return p.twoFactorShowErrors(w, r, s, err, twoFactorPage{Errors: fieldErrors(err, fields...)})
}

// passkeyFailed is twoFactorFailed for the passkey forms.
func (p *Portal) passkeyFailed(w http.ResponseWriter, r *http.Request, s *session, err error, fields ...string) error {
	return p.twoFactorShowErrors(w, r, s, err, twoFactorPage{PasskeyErrors: fieldErrors(err, fields...)})
}

// twoFactorShowErrors shows the page again with the errors in page, or
// hands err on when it is not about a form.
func (p *Portal) twoFactorShowErrors(w http.ResponseWriter, r *http.Request, s *session, err error, page twoFactorPage) error {
	c := keyplane.ErrorCode(err)
	if c != keyplane.CodeInvalid && c != keyplane.CodeConflict && c != keyplane.CodeTooManyRequests && c != keyplane.CodeUnauthorized {
		return err
	}
	page, perr := p.twoFactorData(r, s, page)
	if perr != nil {
		return perr
	}
	httpstatus.SetRetryAfter(w.Header(), err)
	p.render(w, r, httpstatus.Of(c), "two-factor", s, "Two factors", page)
	return nil
}

// beginTOTP makes a new authenticator secret and shows the page with its
// QR code.
func (p *Portal) beginTOTP(w http.ResponseWriter, r *http.Request, s *session) error {
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		_, err := p.svc.BeginTOTP(ctx, s.P)
		return "/account/two-factor#authenticator", nil, err
	})
	if done {
		return nil
	}
	return p.twoFactorFailed(w, r, s, err, "code")
}

// confirmTOTP confirms the authenticator with its first code, and shows
// the recovery codes made with it, once.
func (p *Portal) confirmTOTP(w http.ResponseWriter, r *http.Request, s *session) error {
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		codes, err := p.svc.ConfirmTOTP(ctx, s.P, p.clientIP(r), r.PostFormValue("code"))
		if err != nil {
			return "", nil, err
		}
		return shownURL(r), &shownSecret{Codes: codes}, nil
	})
	if done {
		return nil
	}
	return p.twoFactorFailed(w, r, s, err, "code")
}

// removeTOTP removes the authenticator, once the password is given again.
func (p *Portal) removeTOTP(w http.ResponseWriter, r *http.Request, s *session) error {
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		return "/account/two-factor?done=totp-removed", nil, p.svc.RemoveTOTP(ctx, s.P, p.clientIP(r), r.PostFormValue("password"))
	})
	if done {
		return nil
	}
	return p.twoFactorFailed(w, r, s, err, "password")
}

// regenerateCodes makes new recovery codes, shown once.
func (p *Portal) regenerateCodes(w http.ResponseWriter, r *http.Request, s *session) error {
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		codes, err := p.svc.RegenerateRecoveryCodes(ctx, s.P, p.clientIP(r), r.PostFormValue("password"))
		if err != nil {
			return "", nil, err
		}
		return shownURL(r), &shownSecret{Codes: codes}, nil
	})
	if done {
		return nil
	}
	return p.twoFactorFailed(w, r, s, err, "password")
}

// codesShown shows, once, the recovery codes a form made.
func (p *Portal) codesShown(w http.ResponseWriter, r *http.Request, s *session) error {
	sec, err := p.takeShown(r, s)
	if err != nil {
		return err
	}
	if sec == nil || len(sec.Codes) == 0 {
		p.goneSecret(w, r, s, "list of recovery codes", "If they were not saved, make new ones on the Two factors page (the old ones stop working).")
		return nil
	}
	page, err := p.twoFactorData(r, s, twoFactorPage{Codes: sec.Codes})
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "two-factor", s, "Two factors", page)
	return nil
}
