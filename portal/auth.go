package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/httpstatus"
)

// home sends a signed-in user to their apps, anyone else to sign in.
func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	if _, err := p.session(r); err == nil {
		http.Redirect(w, r, "/apps", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type loginPage struct {
	Email  string
	Next   string
	Errors []string
	// Signup offers self-service sign-up (serve --signup).
	Signup bool
}

func (p *Portal) loginForm(w http.ResponseWriter, r *http.Request) {
	next := localNext(r.URL.Query().Get("next"))
	if _, err := p.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "login", nil, "Sign in", loginPage{Next: next, Signup: p.svc.SignupEnabled()})
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	next := localNext(r.PostFormValue("next"))
	token, _, err := p.svc.SignInWith(r.Context(), email, password, p.clientIP(r), r.UserAgent())
	if p.toSecondStep(w, r, err, next) { // the password was right; a second factor is due
		return
	}
	if err != nil {
		code := keyplane.ErrorCode(err)
		// Forbidden: the password was right, but the account is disabled;
		// the page says so, and that nothing is lost.
		if code != keyplane.CodeUnauthorized && code != keyplane.CodeForbidden && code != keyplane.CodeTooManyRequests && code != keyplane.CodeUnavailable {
			p.fail(w, r, nil, err)
			return
		}
		httpstatus.SetRetryAfter(w.Header(), err)
		p.render(w, r, httpstatus.Of(code), "login", nil, "Sign in", loginPage{Email: email, Next: next, Errors: keyplane.ErrorMessages(err), Signup: p.svc.SignupEnabled()})
		return
	}
	p.signedInAs(w, r, token, next)
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		if err := p.svc.SignOut(r.Context(), c.Value); err != nil {
			p.fail(w, r, nil, err)
			return
		}
	}
	p.clearCookie(w, r)
	http.Redirect(w, r, "/login?done=signed-out", http.StatusSeeOther)
}

type setupPage struct {
	Token string
	Email string
	// Account is the name typed for the account; Current its name now,
	// kept when Account is left empty.
	Account, Current string
	Errors           map[string][]string
}

func (p *Portal) setupForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	a, err := p.svc.SetupAccount(r.Context(), token)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.render(w, r, http.StatusOK, "setup", nil, "Create the Owner", setupPage{Token: token, Current: a.Name})
}

func (p *Portal) setup(w http.ResponseWriter, r *http.Request) {
	token, email := r.PostFormValue("token"), r.PostFormValue("email")
	password := r.PostFormValue("password")
	page := setupPage{Token: token, Email: email, Account: firstLine(r.PostFormValue("account")), Current: keyplane.DefaultAccountName}
	if a, err := p.svc.SetupAccount(r.Context(), token); err == nil {
		page.Current = a.Name
	}
	if password != r.PostFormValue("confirm") {
		page.Errors = map[string][]string{"confirm": {"confirm: the two passwords differ"}}
		p.render(w, r, http.StatusBadRequest, "setup", nil, "Create the Owner", page)
		return
	}
	if _, err := p.svc.SetupOwner(r.Context(), token, email, password, strings.TrimSpace(r.PostFormValue("account"))); err != nil {
		if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
			p.fail(w, r, nil, err)
			return
		}
		page.Errors = fieldErrors(err, "email", "password", "account")
		p.render(w, r, http.StatusBadRequest, "setup", nil, "Create the Owner", page)
		return
	}
	t, _, err := p.svc.SignInWith(r.Context(), email, password, p.clientIP(r), r.UserAgent())
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	_, expires, err := p.svc.Session(r.Context(), t)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	p.setCookie(w, r, t, expires)
	http.Redirect(w, r, "/account/api-management", http.StatusSeeOther)
}

// accountPage is My Account's data: errors of its forms, and whether the
// user may rename the account (control decides; the page only offers).
type accountPage struct {
	Errors    map[string][]string
	CanRename bool
	// Name is the account name the rename form shows.
	Name string
	// Sessions are the person's sessions, in every account.
	Sessions []control.SessionView
}

// accountData is My Account's data for s, with errs beside the fields.
func (p *Portal) accountData(r *http.Request, s *session, errs map[string][]string) (accountPage, error) {
	err := p.svc.MayRenameAccount(s.P, s.P.AccountID)
	if err != nil && keyplane.ErrorCode(err) != keyplane.CodeForbidden {
		return accountPage{}, err
	}
	sessions, serr := p.svc.ListSessions(r.Context(), s.P, s.cookie)
	if serr != nil {
		return accountPage{}, serr
	}
	return accountPage{Errors: errs, CanRename: err == nil, Name: s.Account.Name, Sessions: sessions}, nil
}

// account is My Account: who you are, your password, and the
// Organization Settings.
func (p *Portal) account(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := p.accountData(r, s, nil)
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusOK, "account", s, "My Account", page)
	return nil
}

// renameAccount is the Owner's rename of their account, through the same
// operation as keyplane admin rename-account, which refuses anyone else.
func (p *Portal) renameAccount(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PostFormValue("name")
	done, err := p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
		_, _, err := p.svc.RenameAccount(ctx, s.P, s.P.AccountID, name)
		return "/account?done=account-renamed", nil, err
	})
	if done {
		return nil
	}
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		return err
	}
	page, perr := p.accountData(r, s, fieldErrors(err, "name"))
	if perr != nil {
		return perr
	}
	page.Name = firstLine(name)
	p.render(w, r, http.StatusBadRequest, "account", s, "My Account", page)
	return nil
}

func (p *Portal) changePassword(w http.ResponseWriter, r *http.Request, s *session) error {
	next := r.PostFormValue("password")
	var err error
	if next != r.PostFormValue("confirm") {
		err = keyplane.Errorf(keyplane.CodeInvalid, "confirm: the two new passwords differ")
	} else {
		var done bool
		done, err = p.once(w, r, s, func(ctx context.Context) (string, *shownSecret, error) {
			return "/account?done=password-changed", nil, p.svc.ChangePassword(ctx, s.P, s.cookie, p.clientIP(r), r.PostFormValue("current"), next)
		})
		if done {
			return nil
		}
	}
	if keyplane.ErrorCode(err) != keyplane.CodeInvalid {
		return err
	}
	page, err := p.accountData(r, s, fieldErrors(err, "current", "password", "confirm"))
	if err != nil {
		return err
	}
	p.render(w, r, http.StatusBadRequest, "account", s, "My Account", page)
	return nil
}

// firstLine keeps a value to one line, for fields echoed back into forms.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// switchAccount moves the session to another of the person's accounts
// (the switcher in the header) and shows its apps. Switching is the same
// whatever is sent twice, so it needs no form token.
func (p *Portal) switchAccount(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.PostFormValue("account"), 10, 64)
	if err != nil || id < 1 {
		return keyplane.Errorf(keyplane.CodeInvalid, "account: choose one of your accounts")
	}
	if _, err := p.svc.SwitchAccount(r.Context(), s.cookie, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/apps", http.StatusSeeOther)
	return nil
}
