// Package portal serves the Admin Portal: the web pages people use to
// manage apps, keysets, Service Integrations and users. Pages are rendered
// on the server from embedded templates and work without JavaScript; every
// change goes through the control package as the signed-in user's
// principal, so the portal can do exactly what the API allows and no more.
// It holds no SQL.
package portal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
	"github.com/keyplane/keyplane/internal/clientaddr"
	"github.com/keyplane/keyplane/internal/httpstatus"
	"github.com/keyplane/keyplane/internal/wallclock"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// maxFormBytes caps a request body.
const maxFormBytes = 256 << 10

// CookieName is the name of the session cookie.
const CookieName = "keyplane_session"

// Portal is the Admin Portal over a control.Service.
type Portal struct {
	svc   *control.Service
	log   *slog.Logger
	now   func() time.Time
	proxy bool
	// publicURL is the operator's --public-url, which passkeys belong to;
	// empty: the address each request came to.
	publicURL string
	pages     map[string]*template.Template
}

// Options adjusts a Portal; the zero value suits a server reached directly.
type Options struct {
	// Now is the clock the service runs on (expiries the portal computes
	// must agree with it); nil is the real one.
	Now func() time.Time
	// TrustProxy says a reverse proxy stands in front: the client address
	// sign-in failures count under is the last X-Forwarded-For entry (the
	// one the proxy added), and X-Forwarded-Proto: https marks the session
	// cookie Secure. Without a proxy these headers are ignored, since any
	// client can send them.
	TrustProxy bool
	// PublicURL is the address people's browsers reach the portal at
	// (serve --public-url); passkeys belong to its host name. Empty: the
	// host each request names, which suits a server reached directly.
	PublicURL string
}

// New returns the portal over svc.
func New(svc *control.Service, log *slog.Logger, o Options) *Portal {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = wallclock.Now
	}
	p := &Portal{svc: svc, log: log, now: o.Now, proxy: o.TrustProxy, publicURL: o.PublicURL, pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" {
			continue
		}
		p.pages[strings.TrimSuffix(base, ".html")] = template.Must(
			template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return p
}

// Handler returns the portal's routes, behind cross-origin protection
// (http.CrossOriginProtection refuses a state-changing request that a
// browser marks as coming from another site) and the security headers
// every page carries.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))

	// Browsers ask for /favicon.ico whatever the page says: the same icon
	// as the pages' own <link rel=icon>, an SVG (every current browser
	// takes one at this path too).
	mux.Handle("GET /favicon.ico", cacheStatic(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = w.Write(favicon)
	})))
	for _, rt := range p.routes() {
		mux.Handle(rt.pattern, rt.handler)
	}
	mux.HandleFunc("/", p.notFound)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusForbidden, "error", nil, "Request refused", errorPage{Title: "Request refused",
			Messages: []string{"This form was sent from another site, so it was refused. Open the page in Keyplane and try again."}})
	}))
	return p.recovered(securityHeaders(cop.Handler(mux)))
}

// route is one page or form of the portal: a ServeMux pattern and what
// answers it.
type route struct {
	pattern string
	handler http.Handler
}

// routes are every page and form of the portal but its static files and
// the not-found page, in one table: the isolation tests walk it, so a new
// page is checked across accounts without being listed twice.
func (p *Portal) routes() []route {
	return []route{
		{"GET /{$}", http.HandlerFunc(p.home)},
		{"GET /login", http.HandlerFunc(p.loginForm)},
		{"POST /login", http.HandlerFunc(p.login)},
		{"GET /login/second-factor", http.HandlerFunc(p.secondFactorForm)},
		{"POST /login/second-factor", http.HandlerFunc(p.secondFactor)},
		{"POST /login/second-factor/passkey/options", http.HandlerFunc(p.passkeySecondStepOptions)},
		{"POST /login/second-factor/passkey", http.HandlerFunc(p.passkeySecondStep)},
		{"POST /login/passkey/options", http.HandlerFunc(p.passkeySignInOptions)},
		{"POST /login/passkey", http.HandlerFunc(p.passkeySignIn)},
		{"GET /login/sso", http.HandlerFunc(p.ssoForm)},
		{"POST /login/sso", http.HandlerFunc(p.ssoBegin)},
		{"GET " + control.SSOCallbackPath, http.HandlerFunc(p.ssoCallback)},
		{"POST /logout", http.HandlerFunc(p.logout)},
		{"GET /setup", http.HandlerFunc(p.setupForm)},
		{"POST /setup", http.HandlerFunc(p.setup)},
		{"GET /forgot", http.HandlerFunc(p.forgotForm)},
		{"POST /forgot", http.HandlerFunc(p.forgot)},
		{"GET " + control.ResetPath, http.HandlerFunc(p.resetForm)},
		{"POST " + control.ResetPath, http.HandlerFunc(p.reset)},
		{"GET " + control.InvitationPath, http.HandlerFunc(p.invitationForm)},
		{"POST " + control.InvitationPath, http.HandlerFunc(p.acceptInvitation)},
		{"GET /signup", http.HandlerFunc(p.signupForm)},
		{"POST /signup", http.HandlerFunc(p.signup)},
		{"GET " + control.SignupPath, http.HandlerFunc(p.signupConfirmForm)},
		{"POST " + control.SignupPath, http.HandlerFunc(p.signupConfirm)},

		{"GET /account", p.signedIn(p.account)},
		{"POST /account/password", p.signedIn(p.changePassword)},
		{"POST /account/switch", p.signedIn(p.switchAccount)},
		{"POST /account/sessions/{handle}/end", p.signedIn(p.endSession)},
		{"POST /account/sessions/end-others", p.signedIn(p.endOtherSessions)},
		{"POST /account/users/{id}/sessions/end", p.signedIn(p.endMemberSessions)},
		{"POST /account/name", p.signedIn(p.renameAccount)},
		{"GET /account/two-factor", p.signedIn(p.twoFactor)},
		{"POST /account/two-factor/totp", p.signedIn(p.beginTOTP)},
		{"POST /account/two-factor/totp/confirm", p.signedIn(p.confirmTOTP)},
		{"GET /account/two-factor/totp/confirm/shown", p.signedIn(p.codesShown)},
		{"POST /account/two-factor/totp/remove", p.signedIn(p.removeTOTP)},
		{"POST /account/two-factor/recovery-codes", p.signedIn(p.regenerateCodes)},
		{"GET /account/two-factor/recovery-codes/shown", p.signedIn(p.codesShown)},
		{"POST /account/two-factor/passkeys/options", p.signedIn(p.passkeyRegistrationOptions)},
		{"POST /account/two-factor/passkeys", p.signedIn(p.addPasskey)},
		{"POST /account/two-factor/passkeys/remove", p.signedIn(p.removePasskey)},
		{"GET /account/api-management", p.signedIn(p.integrations)},
		{"GET /account/api-management/new", p.signedIn(p.newIntegrationForm)},
		{"POST /account/api-management/new", p.signedIn(p.createIntegration)},
		{"GET /account/api-management/new/shown", p.signedIn(p.keyShown)},
		{"GET /account/api-management/{id}", p.signedIn(p.integration)},
		{"POST /account/api-management/{id}/keys", p.signedIn(p.generateKey)},
		{"GET /account/api-management/{id}/keys/shown", p.signedIn(p.keyShown)},
		{"GET /account/api-management/{id}/keys/{key}/revoke", p.signedIn(p.revokeKeyForm)},
		{"POST /account/api-management/{id}/keys/{key}/revoke", p.signedIn(p.revokeKey)},
		{"GET /account/api-management/{id}/keys/{key}/roll", p.signedIn(p.rollKeyForm)},
		{"POST /account/api-management/{id}/keys/{key}/roll", p.signedIn(p.rollKey)},
		{"GET /account/api-management/{id}/keys/{key}/roll/shown", p.signedIn(p.keyShown)},
		{"POST /account/api-management/{id}/suspend", p.signedIn(p.suspend(true))},
		{"POST /account/api-management/{id}/resume", p.signedIn(p.suspend(false))},
		{"POST /account/api-management/{id}/networks", p.signedIn(p.setNetworks)},
		{"POST /account/api-management/policy", p.signedIn(p.setPolicy)},
		{"GET /account/api-management/{id}/delete", p.signedIn(p.deleteIntegrationForm)},
		{"POST /account/api-management/{id}/delete", p.signedIn(p.deleteIntegration)},

		{"GET /account/users", p.signedIn(p.users)},
		{"POST /account/users", p.signedIn(p.createUser)},
		{"GET /account/users/shown", p.signedIn(p.passwordShown)},
		{"POST /account/users/invitations", p.signedIn(p.invite)},
		{"GET /account/users/invitations/shown", p.signedIn(p.invitationShown)},
		{"POST /account/users/invitations/{id}/resend", p.signedIn(p.resendInvitation)},
		{"GET /account/users/invitations/{id}/resend/shown", p.signedIn(p.invitationShown)},
		{"POST /account/users/invitations/{id}/revoke", p.signedIn(p.revokeInvitation)},
		{"POST /account/users/{id}/role", p.signedIn(p.changeRole)},
		{"POST /account/users/policy", p.signedIn(p.setSignInPolicy)},
		{"POST /account/users/session-limits", p.signedIn(p.setSessionLimits)},
		{"GET /account/sso", p.signedIn(p.ssoConfig)},
		{"POST /account/sso", p.signedIn(p.saveSSOConfig)},
		{"POST /account/sso/remove", p.signedIn(p.removeSSOConfig)},
		{"GET /account/users/{id}/remove", p.signedIn(p.removeUserForm)},
		{"POST /account/users/{id}/remove", p.signedIn(p.removeUser)},

		{"GET /account/webhooks", p.signedIn(p.webhooks)},
		{"POST /account/webhooks", p.signedIn(p.createWebhook)},
		{"GET /account/webhooks/shown", p.signedIn(p.webhookSecretShown)},
		{"GET /account/webhooks/{id}", p.signedIn(p.webhook)},
		{"POST /account/webhooks/{id}", p.signedIn(p.updateWebhook)},
		{"POST /account/webhooks/{id}/enable", p.signedIn(p.setWebhookEnabled(true))},
		{"POST /account/webhooks/{id}/disable", p.signedIn(p.setWebhookEnabled(false))},
		{"POST /account/webhooks/{id}/test", p.signedIn(p.testWebhook)},
		{"GET /account/webhooks/{id}/rotate", p.signedIn(p.rotateWebhookForm)},
		{"POST /account/webhooks/{id}/rotate", p.signedIn(p.rotateWebhook)},
		{"GET /account/webhooks/{id}/rotate/shown", p.signedIn(p.webhookSecretShown)},
		{"GET /account/webhooks/{id}/delete", p.signedIn(p.deleteWebhookForm)},
		{"POST /account/webhooks/{id}/delete", p.signedIn(p.deleteWebhook)},
		{"POST /account/webhooks/{id}/deliveries/{delivery}/retry", p.signedIn(p.redeliver)},

		{"GET /account/audit", p.signedIn(p.auditLog)},
		{"GET /account/audit/export", p.signedIn(p.auditExport)},
		{"GET /account/audit/{id}", p.signedIn(p.auditEvent)},
		{"GET /usage", p.signedIn(p.usage)},
		{"GET /apps", p.signedIn(p.apps)},
		{"POST /apps", p.signedIn(p.createApp)},
		{"GET /apps/{id}", p.signedIn(p.app)},
		{"POST /apps/{id}/rename", p.signedIn(p.renameApp)},
		{"GET /apps/{id}/delete", p.signedIn(p.deleteAppForm)},
		{"POST /apps/{id}/delete", p.signedIn(p.deleteApp)},
		{"POST /apps/{id}/keysets", p.signedIn(p.createKeyset)},
		{"GET /apps/{id}/keysets/shown", p.signedIn(p.keysetShown)},
		{"GET /keysets/{id}", p.signedIn(p.keyset)},
		{"POST /keysets/{id}", p.signedIn(p.updateKeyset)},
		{"POST /keysets/{id}/config", p.signedIn(p.updateConfig)},
		{"POST /keysets/{id}/push/apns", p.signedIn(p.uploadPush(keyplane.PushAPNs))},
		{"POST /keysets/{id}/push/fcm", p.signedIn(p.uploadPush(keyplane.PushFCM))},
		{"POST /keysets/{id}/rotate", p.signedIn(p.rotateSecret)},
		{"GET /keysets/{id}/rotate/shown", p.signedIn(p.rotatedShown)},
		{"GET /keysets/{id}/delete", p.signedIn(p.deleteKeysetForm)},
		{"POST /keysets/{id}/delete", p.signedIn(p.deleteKeyset)},
	}
}

// favicon is the portal's icon, drawn for it.
var favicon = func() []byte {
	b, err := staticFS.ReadFile("static/favicon.svg")
	if err != nil {
		panic(err)
	}
	return b
}()

// notFound answers a path the portal does not have. A signed-in person
// keeps the layout and its navigation, and is offered the way back: to the
// page they came from (when it is one of ours) and to their apps.
func (p *Portal) notFound(w http.ResponseWriter, r *http.Request) {
	page := errorPage{Title: "Page not found", Messages: []string{"There is no page at " + r.URL.Path + "."}}
	s, err := p.session(r)
	if err != nil {
		s = nil
	} else if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path != r.URL.Path {
		page.Back = localNext(ref.RequestURI())
	}
	p.render(w, r, http.StatusNotFound, "error", s, "Page not found", page)
}

// contentSecurityPolicy is the portal's policy with formAction as the
// places its forms may lead to: 'self' on every page but the SSO one.
func contentSecurityPolicy(formAction string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action " +
		formAction + "; frame-ancestors 'none'"
}

// securityHeaders sets what every answer carries: a Content Security
// Policy that allows only the portal's own files (no inline script or
// style), no framing, no sniffing, and no caching of pages that may show a
// key once.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy("'self'"))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		// No form of the portal comes near this; a larger body is cut off
		// and its form reads as empty.
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// recovered logs one line per request (the path only: a query may hold a
// setup token, a body a password) and turns a panic into a plain 500 page.
func (p *Portal) recovered(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &httpstatus.Recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				p.log.Error("portal panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				if sw.Status == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			p.log.Info("portal request", "method", r.Method, "path", r.URL.Path, "status", sw.Status, "ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// session is the signed-in user of a request.
type session struct {
	P       keyplane.Principal
	Account keyplane.Account
	// CanManage tells whether the user may manage integrations and users;
	// pages use it to hide what would be refused anyway.
	CanManage bool
	// CanWrite tells whether the user's role makes apps (an Account-level
	// App row); pages about one app or keyset ask about that one.
	CanWrite bool
	// CanSeeIntegrations, CanSeeUsers, CanAudit, CanAccountUsage and
	// CanSeeWebhooks tell which account-wide pages the user may read, so
	// links to the others are hidden: a scoped role holds none of their
	// rows.
	CanSeeIntegrations, CanSeeUsers, CanAudit, CanAccountUsage, CanSeeWebhooks bool
	// Accounts are the person's memberships, for the account switcher.
	Accounts []control.Membership
	// KeyNotices counts the account's keys that expire soon or went
	// unused, for the banner; zero for who may not see integrations.
	KeyNotices noticeSummary
	// DisabledWebhooks counts the account's webhooks the server disabled
	// (a 410, or a day of failures), for the banner; zero for who may not
	// read webhooks.
	DisabledWebhooks int
	// MustEnrol is set while an account of the person requires two
	// factors and they have none: only the Two factors page opens.
	MustEnrol bool
	// cookie is the session's token, which form keys are bound to.
	cookie string
}

type pageHandler func(w http.ResponseWriter, r *http.Request, s *session) error

// signedIn runs h for a signed-in user, and sends anyone else to the
// sign-in page, coming back here afterwards.
func (p *Portal) signedIn(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := p.session(r)
		if err != nil {
			if keyplane.ErrorCode(err) != keyplane.CodeUnauthorized {
				p.fail(w, r, nil, err)
				return
			}
			p.clearCookie(w, r)
			next := "/"
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if s.MustEnrol && !strings.HasPrefix(r.URL.Path, "/account/two-factor") {
			http.Redirect(w, r, "/account/two-factor", http.StatusSeeOther)
			return
		}
		if err := h(w, r, s); err != nil {
			p.fail(w, r, s, err)
		}
	})
}

func (p *Portal) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, keyplane.Errorf(keyplane.CodeUnauthorized, "not signed in")
	}
	pr, _, err := p.svc.SessionFrom(r.Context(), c.Value, p.origin(r))
	// A person who must enrol a second factor first has a session for
	// that only: its principal holds no rows (see signedIn).
	mustEnrol := errors.Is(err, control.ErrMustEnrol)
	if err != nil && !mustEnrol {
		return nil, err
	}
	a, err := p.svc.Account(r.Context(), pr.AccountID)
	if err != nil {
		return nil, err
	}
	accounts, err := p.svc.Memberships(r.Context(), pr)
	if err != nil {
		return nil, err
	}
	s := &session{P: pr, Account: a, Accounts: accounts, cookie: c.Value, MustEnrol: mustEnrol, CanManage: p.svc.Can(pr, keyplane.Target{}, keyplane.ManageIntegrations, keyplane.ManageUsers) == nil,
		CanWrite:           p.svc.Can(pr, keyplane.Target{}, keyplane.OpCreateApp.Needs...) == nil,
		CanSeeIntegrations: p.svc.Can(pr, keyplane.Target{}, keyplane.ReadIntegrations) == nil,
		CanSeeUsers:        p.svc.Can(pr, keyplane.Target{}, keyplane.ReadUsers) == nil,
		CanAudit:           p.svc.Can(pr, keyplane.Target{}, keyplane.OpListAuditEvents.Needs...) == nil,
		CanAccountUsage:    p.svc.Can(pr, keyplane.Target{}, keyplane.OpGetUsage.Needs...) == nil,
		CanSeeWebhooks:     p.svc.Can(pr, keyplane.Target{}, keyplane.OpListWebhooks.Needs...) == nil}
	if s.CanSeeIntegrations {
		ns, err := p.svc.KeyNotices(r.Context(), pr)
		if err != nil {
			return nil, err
		}
		s.KeyNotices = summarizeNotices(ns)
	}
	if s.CanSeeWebhooks {
		if s.DisabledWebhooks, err = p.disabledWebhooks(r.Context(), pr); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// secure tells whether the browser reached us over TLS.
func (p *Portal) secure(r *http.Request) bool {
	return r.TLS != nil || (p.proxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

func (p *Portal) setCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
}

func (p *Portal) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteLaxMode})
}

// view is what the layout renders around a page.
type view struct {
	Title string
	S     *session
	Nav   string // the section the page belongs to: apps, usage, api, account
	Flash string
	// Form is the form token the page's forms send (see once.go).
	Form string
	Data any
}

// formPages are the pages holding a state-changing form of a signed-in
// user, whose URL must carry a form token.
var formPages = map[string]bool{"integration-new": true, "integration": true, "integrations": true, "apps": true, "app": true,
	"keyset": true, "users": true, "account": true, "confirm": true, "two-factor": true,
	"webhooks": true, "webhook": true, "sso-config": true}

// render writes a page with its layout.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, page string, s *session, title string, data any) {
	t, ok := p.pages[page]
	if !ok {
		panic("portal: no template " + page)
	}
	v := view{Title: title, S: s, Data: data, Flash: flashes[r.URL.Query().Get("done")]}
	if s != nil && formPages[page] {
		switch {
		case r.Method != http.MethodGet:
			// A form shown again with its errors keeps the token it was
			// sent with: nothing was done with it yet.
			v.Form = r.PostFormValue(formField)
		case strings.HasSuffix(r.URL.Path, "/shown"):
			// The token in this URL is spent: forms here start afresh.
			v.Form = newFormToken()
		default:
			v.Form = r.URL.Query().Get(formField)
			if !validFormToken(v.Form) && status == http.StatusOK {
				http.Redirect(w, r, withFormToken(r), http.StatusSeeOther)
				return
			}
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/account/api-management"):
		v.Nav = "api"
	case strings.HasPrefix(r.URL.Path, "/account"):
		v.Nav = "account"
	case strings.HasPrefix(r.URL.Path, "/apps"), strings.HasPrefix(r.URL.Path, "/keysets"):
		v.Nav = "apps"
	case strings.HasPrefix(r.URL.Path, "/usage"):
		v.Nav = "usage"
	}
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		p.log.Error("rendering", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

// flashes are the confirmations a redirect can ask for with ?done=.
var flashes = map[string]string{
	"revoked":              "The API key was revoked. It stopped working immediately.",
	"integration-deleted":  "The Service Integration was deleted, and its API keys stopped working.",
	"app-deleted":          "The app was deleted.",
	"keyset-deleted":       "The keyset was deleted.",
	"renamed":              "Saved.",
	"saved":                "Saved.",
	"session-ended":        "That session was signed out.",
	"sessions-ended":       "Every other session of yours was signed out.",
	"member-signed-out":    "The member was signed out of every session in this account.",
	"uploaded":             "Uploaded. The file is stored sealed and cannot be downloaded.",
	"user-added":           "The user was added.",
	"user-removed":         "The user was removed and signed out.",
	"role-changed":         "The role was changed.",
	"signed-out":           "You are signed out.",
	"password-changed":     "Your password was changed. Your other sessions were signed out.",
	"account-renamed":      "The account was renamed.",
	"suspended":            "The Service Integration was suspended. Its API keys are refused until it is resumed.",
	"resumed":              "The Service Integration was resumed. Its API keys work again.",
	"networks-saved":       "The allowed networks were saved. They apply from the next request.",
	"policy-saved":         "The key policy was saved.",
	"invitation-sent":      "The invitation was sent by e-mail. Its link works for 7 days.",
	"invitation-resent":    "The invitation was sent again, with a new link for 7 days; the old link no longer works.",
	"invitation-revoked":   "The invitation was revoked: its link no longer works.",
	"reset-sent":           "If a person signs in to Keyplane with that address, a link to choose a new password is on its way to it. It works for 1 hour. Nothing arrived? Check the address and your spam folder, then ask again.",
	"password-reset":       "Your password was changed, and every session of yours was signed out. Sign in with the new password.",
	"joined":               "Welcome: you joined the account.",
	"signup-sent":          "A link to create your account is on its way to that address. It works for 24 hours.",
	"signed-up":            "Welcome: your account is ready, and you are its Owner.",
	"totp-removed":         "The authenticator and its recovery codes were removed.",
	"passkey-added":        "The passkey was added.",
	"passkey-removed":      "The passkey was removed.",
	"signin-policy-saved":  "The sign-in policy was saved.",
	"session-limits-saved": "The session limits were saved. They hold from every session's next request.",
	"webhook-deleted":      "The webhook was deleted. Nothing more is sent to it.",
	"webhook-enabled":      "The webhook is on again. Deliveries still waiting start their retry schedule afresh, from now.",
	"webhook-disabled":     "The webhook is off: nothing is sent to it, and events recorded meanwhile are not queued for it.",
	"webhook-tested":       "A test event (WebhookTested) was queued for this webhook alone; it is sent within seconds and listed below.",
	"redelivered":          "The delivery was queued again, with the same webhook-id; it is sent within seconds.",
	"sso-saved":            "Single sign-on was saved.",
	"sso-removed":          "Single sign-on was removed: everyone signs in with a password again.",
}

// errorPage is the data of the error template.
type errorPage struct {
	Title    string
	Messages []string
	// Back is the page of this site the person came from, if any.
	Back string
}

var titleOf = map[keyplane.Code]string{
	keyplane.CodeInvalid:         "That did not work",
	keyplane.CodeForbidden:       "Not allowed",
	keyplane.CodeNotFound:        "Not found",
	keyplane.CodeConflict:        "That did not work",
	keyplane.CodeTooManyRequests: "Too many attempts",
	keyplane.CodeUnavailable:     "Try again",
	keyplane.CodeInternal:        "Something went wrong",
}

// fail renders err as an error page with its status. Internal errors are
// logged and shown without their cause.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	code := keyplane.ErrorCode(err)
	if code == keyplane.CodeInternal {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return
		}
		p.log.Error("portal request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	title := titleOf[code]
	if title == "" {
		title = "That did not work"
	}
	msgs := keyplane.ErrorMessages(err)
	if code == keyplane.CodeForbidden && s != nil {
		msgs = append(msgs, "Your role is "+s.P.Role.Label()+". Ask an Owner or Account Admin if you need more.")
	}
	httpstatus.SetRetryAfter(w.Header(), err)
	p.render(w, r, httpstatus.Of(code), "error", s, title, errorPage{Title: title, Messages: msgs})
}

// clientIP is the address sign-in failures are counted under: the peer's,
// or behind a trusted proxy the address the proxy saw, by the one rule
// every surface follows (internal/clientaddr).
func (p *Portal) clientIP(r *http.Request) string {
	if a := clientaddr.Of(r, p.proxy); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

// origin is where a request comes from, for the session's record of use.
func (p *Portal) origin(r *http.Request) keyplane.Origin {
	return keyplane.Origin{Addr: clientaddr.Of(r, p.proxy), UserAgent: r.UserAgent()}
}

// fieldErrors sorts an error's messages by the field each names ("name:
// required" → "name"), for showing each beside its input; messages that
// name no known field go under "".
func fieldErrors(err error, fields ...string) map[string][]string {
	out := map[string][]string{}
	for _, m := range keyplane.ErrorMessages(err) {
		key := ""
		for _, f := range fields {
			if strings.HasPrefix(m, f+":") {
				key = f
				break
			}
		}
		out[key] = append(out[key], m)
	}
	return out
}

// localNext is where to go after signing in: a path on this site, or else
// the home page. It judges next as a browser will read it, not as Go does:
// browsers drop ASCII tab, LF and CR anywhere in a URL, strip leading
// spaces and controls, and read a backslash as a slash, so "/\t/evil" and
// "/\\evil" are "//evil" to them, another host. Rather than repair such a
// value (and risk repairing it differently from some browser), anything
// but printable ASCII without spaces or backslashes is refused; what is
// left must parse as a bare path, with no scheme, host or user.
func localNext(next string) string {
	const home = "/apps"
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return home
		}
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return home
	}
	return next
}
