package control

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keyplane/keyplane"
)

// Single sign-on with OpenID Connect: each account may name its provider
// and claim e-mail domains. BeginSSO sends a person to the provider of the
// account claiming their address's domain (authorization code flow with
// PKCE, state and nonce); FinishSSO takes the provider's answer, verifies
// the ID token with go-oidc (signature by the provider's JWKS, issuer,
// audience, expiry) and the nonce, and opens a session in that account
// only: the provider vouches for the person there, nowhere else.

// SSOTx keeps accounts' single sign-on and the sign-ins under way.
type SSOTx interface {
	// OIDCConfig is an account's configuration (NotFound without one),
	// with its client secret opened.
	OIDCConfig(accountID int64) (keyplane.OIDCConfig, error)
	// OIDCAccountByDomain is the account claiming a domain (NotFound).
	OIDCAccountByDomain(domain string) (int64, error)
	// PutOIDCConfig sets an account's configuration, its domains and group
	// mapping; a domain another account claims is a Conflict.
	PutOIDCConfig(c keyplane.OIDCConfig) error
	DeleteOIDCConfig(accountID int64) error
	// SSORequired tells whether an account refuses password sign-in.
	SSORequired(accountID int64) (bool, error)
	InsertSSOSignIn(s SSOSignIn) error
	// TakeSSOSignIn reads and deletes the sign-in behind a cookie's hash.
	TakeSSOSignIn(hash []byte) (SSOSignIn, error)
}

// SSOSignIn is a sign-in sent to an account's provider, waiting for the
// browser to come back. TokenHash is the hash of the browser's cookie.
type SSOSignIn struct {
	TokenHash              []byte
	AccountID              int64
	State, Nonce, Verifier string
	CreatedAt, ExpiresAt   time.Time
}

// ssoClient is what talks to providers: discovery, keys, tokens, user
// info. The timeout bounds a provider that hangs.
var ssoClient = &http.Client{Timeout: 15 * time.Second}

// SSOCallbackPath is where providers send the browser back, under the
// public URL: the redirect URI to register with a provider.
const SSOCallbackPath = "/login/sso/callback"

// SSORedirectURL is the redirect URI to register with a provider.
func (s *Service) SSORedirectURL() string { return s.publicURL + SSOCallbackPath }

// MayManageSSO tells whether p may configure its account's single sign-on,
// by the rule SetSSOConfig applies: the Owner's (or the operator's).
func (s *Service) MayManageSSO(p keyplane.Principal) error {
	return mayManagePolicy(p, p.AccountID, "single sign-on")
}

// SSOConfig is the single sign-on configuration of account accountID, for
// its Owner or the operator; ok is false when it has none. The client
// secret is never given back: SecretSet tells whether there is one.
func (s *Service) SSOConfig(ctx context.Context, p keyplane.Principal, accountID int64) (c keyplane.OIDCConfig, ok bool, err error) {
	if err := mayManagePolicy(p, accountID, "single sign-on"); err != nil {
		return c, false, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		c, err = tx.OIDCConfig(accountID)
		if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			c = keyplane.OIDCConfig{AccountID: accountID, GroupsClaim: keyplane.DefaultGroupsClaim}
			return nil
		}
		ok = err == nil
		return err
	})
	c.ClientSecret = ""
	return c, ok, err
}

// SetSSOConfig sets the single sign-on of account c.AccountID: its Owner's
// or the operator's. keepSecret keeps the client secret already set (a
// form left empty); changed is false when nothing changed. Audited as
// SSOConfigChanged, never with the secret.
func (s *Service) SetSSOConfig(ctx context.Context, p keyplane.Principal, c keyplane.OIDCConfig, keepSecret bool) (out keyplane.OIDCConfig, changed bool, err error) {
	// Authorized before anything is looked up or checked, so a refusal
	// tells nothing of the account.
	if err := mayManagePolicy(p, c.AccountID, "single sign-on"); err != nil {
		return out, false, err
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return out, false, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := accountExists(tx, c.AccountID); err != nil {
			return err
		}
		old, err := tx.OIDCConfig(c.AccountID)
		had := err == nil
		if err != nil && keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			return err
		}
		if keepSecret {
			c.ClientSecret = old.ClientSecret
		}
		c.SecretSet = c.ClientSecret != ""
		c.UpdatedAt = old.UpdatedAt
		if had && ssoEqual(old, c) {
			out = c
			return nil
		}
		changed = true
		c.UpdatedAt = s.clock()
		if err := tx.PutOIDCConfig(c); err != nil {
			return err
		}
		out = c
		var before any
		if had {
			before = ssoView(old, false)
		}
		return s.record(tx, p.Actor(), c.AccountID, keyplane.EventSSOConfigChanged, "account", c.AccountID,
			before, ssoView(c, had && old.ClientSecret != c.ClientSecret))
	})
	out.ClientSecret = ""
	return out, changed, err
}

// RemoveSSOConfig ends account accountID's single sign-on: its Owner's or
// the operator's. Its people sign in with passwords again (those created
// by it have none: they use Forgot password?). Sessions it opened stay.
func (s *Service) RemoveSSOConfig(ctx context.Context, p keyplane.Principal, accountID int64) error {
	if err := mayManagePolicy(p, accountID, "single sign-on"); err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error {
		if err := accountExists(tx, accountID); err != nil {
			return err
		}
		old, err := tx.OIDCConfig(accountID)
		if err != nil {
			return err
		}
		if err := tx.DeleteOIDCConfig(accountID); err != nil {
			return err
		}
		return s.record(tx, p.Actor(), accountID, keyplane.EventSSOConfigRemoved, "account", accountID, ssoView(old, false), nil)
	})
}

// ssoEqual compares two configurations, the secret included.
func ssoEqual(a, b keyplane.OIDCConfig) bool {
	return a.Issuer == b.Issuer && a.ClientID == b.ClientID && a.ClientSecret == b.ClientSecret &&
		slices.Equal(a.Domains, b.Domains) && a.JITRole == b.JITRole && a.GroupsClaim == b.GroupsClaim &&
		slices.Equal(a.GroupRoles, b.GroupRoles) && a.RequireSSO == b.RequireSSO
}

// ssoView is what an audit event records of a configuration: whether a
// client secret is set (and was just changed), never the secret.
func ssoView(c keyplane.OIDCConfig, secretChanged bool) any {
	groups := map[string]string{}
	for _, g := range c.GroupRoles {
		groups[g.Group] = string(g.Role)
	}
	secret := "none"
	switch {
	case secretChanged:
		secret = "changed"
	case c.ClientSecret != "" || c.SecretSet:
		secret = "set"
	}
	jit := string(c.JITRole)
	if jit == "" {
		jit = "none"
	}
	return map[string]any{"issuer": c.Issuer, "clientId": c.ClientID, "clientSecret": secret, "domains": c.Domains,
		"jitRole": jit, "groupsClaim": c.GroupsClaim, "groupRoles": groups, "requireSSO": c.RequireSSO}
}

// SSOStart is where BeginSSO sends the browser: URL, the provider's
// authorization endpoint, and Token, for a cookie binding the answer to
// this browser until Expires.
type SSOStart struct {
	URL     string
	Token   string
	Expires time.Time
}

// errNoSSO answers an address whose domain no account claims.
func errNoSSO(domain string) error {
	return keyplane.Errorf(keyplane.CodeInvalid, "email: no account signs in with single sign-on for addresses at %s; sign in with your password", domain)
}

// BeginSSO starts the single sign-on of the person at email: the account
// claiming its domain sends them to its provider. Whether a domain is
// claimed is no secret (the sign-in page must tell where to go); whether
// the address has a person is not looked at.
func (s *Service) BeginSSO(ctx context.Context, email string) (st SSOStart, err error) {
	email = keyplane.NormalizeEmail(email)
	if m := keyplane.ValidateEmail("email", email); m != "" {
		return st, keyplane.Invalid(m)
	}
	domain := keyplane.EmailDomain(email)
	var c keyplane.OIDCConfig
	err = s.store.Read(ctx, func(tx Tx) error {
		id, err := tx.OIDCAccountByDomain(domain)
		if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return errNoSSO(domain)
		} else if err != nil {
			return err
		}
		acc, err := tx.Account(id)
		if err != nil {
			return err
		}
		if err := usable(acc); err != nil {
			return err
		}
		c, err = tx.OIDCConfig(id)
		return err
	})
	if err != nil {
		return st, err
	}
	oc, _, err := s.ssoClientConfig(ctx, c)
	if err != nil {
		return st, err
	}
	var state, nonce string
	for _, p := range []*string{&st.Token, &state, &nonce} {
		if *p, err = keyplane.NewToken(s.rand, sessionTokenLen); err != nil {
			return st, err
		}
	}
	verifier := oauth2.GenerateVerifier()
	now := s.clock()
	st.Expires = now.Add(keyplane.SSOSignInTTL)
	err = s.store.Write(ctx, func(tx Tx) error {
		return tx.InsertSSOSignIn(SSOSignIn{TokenHash: hashToken(st.Token), AccountID: c.AccountID, State: state, Nonce: nonce, Verifier: verifier,
			CreatedAt: now, ExpiresAt: st.Expires})
	})
	st.URL = oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", email))
	return st, err
}

// ssoClientConfig discovers c's provider and returns the OAuth 2 client
// configuration for it.
func (s *Service) ssoClientConfig(ctx context.Context, c keyplane.OIDCConfig) (*oauth2.Config, *oidc.Provider, error) {
	prov, err := oidc.NewProvider(oidc.ClientContext(ctx, ssoClient), c.Issuer)
	if err != nil {
		s.log.Warn("sso: provider discovery failed", "account", c.AccountID, "issuer", c.Issuer, "error", err.Error())
		return nil, nil, keyplane.Errorf(keyplane.CodeUnavailable, "The single sign-on provider of this account (%s) cannot be reached or answered wrongly. Try again later; if it persists, tell the account's Owner.", c.Issuer)
	}
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: prov.Endpoint(), RedirectURL: s.SSORedirectURL(),
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, prov, nil
}

// SSOAnswer is what the provider sent the browser back with.
type SSOAnswer struct {
	// Token is the browser's cookie from BeginSSO.
	Token       string
	State, Code string
	// Error and ErrorDescription are the provider's refusal, if it refused.
	Error, ErrorDescription string
	// IP and Agent are the client's address and User-Agent, for the audit.
	IP, Agent string
}

// ssoRefused refuses a sign-in; each refusal says why in the person's
// terms, and to start again.
func ssoRefused(format string, args ...any) error {
	return keyplane.Errorf(keyplane.CodeUnauthorized, format+" Sign in again.", args...)
}

// FinishSSO completes a single sign-on with the provider's answer and
// opens a session in the account whose provider it is, returning its
// token. The sign-in under way is used up first, whatever follows, so an
// answer is taken once. A person the provider vouches for who is not a
// member is made one with the account's just-in-time role (or their
// groups' role); a member's role follows their groups when the mapping
// names one of them (an Owner stays Owner).
func (s *Service) FinishSSO(ctx context.Context, a SSOAnswer) (token string, u keyplane.User, err error) {
	var si SSOSignIn
	var c keyplane.OIDCConfig
	now := s.clock()
	err = s.store.Write(ctx, func(tx Tx) (err error) {
		if si, err = tx.TakeSSOSignIn(hashToken(a.Token)); keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return ssoRefused("This single sign-on has expired or was already completed.")
		} else if err != nil {
			return err
		}
		if !now.Before(si.ExpiresAt) {
			return ssoRefused("This single sign-on took too long and has expired.")
		}
		if c, err = tx.OIDCConfig(si.AccountID); keyplane.ErrorCode(err) == keyplane.CodeNotFound {
			return ssoRefused("This account no longer signs in with single sign-on.")
		}
		return err
	})
	if err != nil {
		return "", u, err
	}
	// From here the sign-in is known to be the account's: each refusal is
	// recorded there, with where the answer came from (the system refused
	// a request of someone's), whatever the provider said or did not say.
	refuse := func(email, format string, args ...any) error {
		reason := fmt.Sprintf(format, args...)
		after := map[string]any{"reason": reason}
		if email != "" {
			after["email"] = email
		}
		refuser := keyplane.Actor{Type: "system", Name: "single sign-on"}.From(requestOrigin(a.IP, a.Agent))
		if err := s.store.Write(ctx, func(tx Tx) error {
			return s.record(tx, refuser, c.AccountID, keyplane.EventSSOSignInRefused, "account", c.AccountID, nil, after)
		}); err != nil {
			return err
		}
		return ssoRefused("%s", reason)
	}
	if subtle.ConstantTimeCompare([]byte(a.State), []byte(si.State)) != 1 {
		return "", u, refuse("", "The provider's answer is not for this sign-in (its state differs).")
	}
	if a.Error != "" {
		return "", u, refuse("", "The provider refused the sign-in: %s.", clipText(a.Error+" "+a.ErrorDescription))
	}
	if a.Code == "" {
		return "", u, refuse("", "The provider's answer holds no code.")
	}
	oc, prov, err := s.ssoClientConfig(ctx, c)
	if err != nil {
		return "", u, err
	}
	hctx := oidc.ClientContext(ctx, ssoClient)
	tok, err := oc.Exchange(hctx, a.Code, oauth2.VerifierOption(si.Verifier))
	if err != nil {
		s.log.Info("sso: code exchange refused", "account", c.AccountID, "error", err.Error())
		return "", u, refuse("", "The provider did not accept this sign-in's code (used already, or made for another sign-in).")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", u, refuse("", "The provider sent no ID token.")
	}
	idt, err := prov.VerifierContext(hctx, &oidc.Config{ClientID: c.ClientID, Now: s.clock}).Verify(hctx, raw)
	if err != nil {
		return "", u, refuse("", "The provider's ID token was refused: %s.", idTokenProblem(err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(si.Nonce)) != 1 {
		return "", u, refuse("", "The provider's ID token was refused: its nonce is not this sign-in's (a token replayed or made for another sign-in).")
	}
	who, err := ssoClaims(hctx, prov, tok, idt, c.GroupsClaim)
	if err != nil {
		return "", u, err
	}
	if reason := ssoAccepts(c, who); reason != "" {
		return "", u, refuse(who.Email, "%s", reason)
	}
	if token, err = keyplane.NewToken(s.rand, sessionTokenLen); err != nil {
		return "", u, err
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		acc, err := tx.Account(c.AccountID)
		if err != nil {
			return err
		}
		if err := usable(acc); err != nil {
			return err
		}
		var jit bool
		if u, jit, err = s.ssoMember(tx, c, who); err != nil {
			return err
		}
		if err := tx.DeleteExpiredSessions(now); err != nil {
			return err
		}
		if err := tx.InsertSession(keyplane.Session{TokenHash: hashToken(token), UserID: u.ID, AccountID: c.AccountID, CreatedAt: now,
			ExpiresAt: now.Add(keyplane.SessionTTL), SSOAccount: c.AccountID}); err != nil {
			return err
		}
		return s.record(tx, u.Principal().Actor().From(requestOrigin(a.IP, a.Agent)), c.AccountID, keyplane.EventSSOSignIn, "user", u.ID, nil,
			map[string]any{"email": u.Email, "role": string(u.Role), "created": jit, "issuer": c.Issuer, "subject": idt.Subject})
	})
	if err != nil {
		return "", keyplane.User{}, err
	}
	return token, u, nil
}

// ssoPerson is what a provider says of the person.
type ssoPerson struct {
	Email    string
	Verified bool
	Groups   []string
}

// ssoClaims reads the person's address, whether the provider verified it,
// and their groups: from the ID token, or, when it carries no address
// (providers that keep such claims for the UserInfo endpoint), from
// UserInfo for the same subject.
func ssoClaims(ctx context.Context, prov *oidc.Provider, tok *oauth2.Token, idt *oidc.IDToken, groupsClaim string) (who ssoPerson, err error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return who, ssoRefused("The provider's ID token holds unreadable claims.")
	}
	if _, ok := claims["email"]; !ok {
		ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return who, ssoRefused("The provider's ID token names no e-mail address, and its user info could not be read.")
		}
		if ui.Subject != idt.Subject {
			return who, ssoRefused("The provider's user info is about someone else than its ID token.")
		}
		claims = map[string]any{}
		if err := ui.Claims(&claims); err != nil {
			return who, ssoRefused("The provider's user info is unreadable.")
		}
	}
	who.Email, _ = claims["email"].(string)
	who.Email = keyplane.NormalizeEmail(who.Email)
	switch v := claims["email_verified"].(type) {
	case bool:
		who.Verified = v
	case string: // some providers send "true"
		who.Verified = strings.EqualFold(v, "true")
	}
	switch g := claims[groupsClaim].(type) {
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok {
				who.Groups = append(who.Groups, s)
			}
		}
	case string:
		who.Groups = []string{g}
	}
	return who, nil
}

// ssoAccepts says why c refuses the person a provider vouches for ("" when
// it does not): the address must be verified by the provider and of a
// domain the account claims.
func ssoAccepts(c keyplane.OIDCConfig, who ssoPerson) string {
	switch {
	case who.Email == "" || keyplane.ValidateEmail("email", who.Email) != "":
		return "The provider named no usable e-mail address."
	case !who.Verified:
		return "The provider has not verified " + who.Email + " (email_verified is not true): verify it with the provider first."
	case !c.Claims(who.Email):
		return "This account's single sign-on does not accept addresses at " + keyplane.EmailDomain(who.Email) + "."
	}
	return ""
}

// ssoMember is the membership the person vouched for gets: theirs (its
// role following their groups when the mapping names one), or a new one
// just in time, for a new person or one of another account.
func (s *Service) ssoMember(tx Tx, c keyplane.OIDCConfig, who ssoPerson) (u keyplane.User, jit bool, err error) {
	role, mapped := c.RoleForGroups(who.Groups)
	person, err := tx.UserByEmail(who.Email)
	known := err == nil
	if err != nil && keyplane.ErrorCode(err) != keyplane.CodeNotFound {
		return u, false, err
	}
	if known {
		m, err := tx.User(c.AccountID, person.ID)
		if err == nil {
			if mapped && m.Role != role && m.Role != keyplane.RoleOwner {
				before := userView(m)
				m.Role, m.Apps, m.Keysets = role, nil, nil
				if err := tx.UpdateUserRole(m); err != nil {
					return u, false, err
				}
				if err := s.record(tx, keyplane.Actor{Type: "system", Name: "single sign-on"}, c.AccountID, keyplane.EventUserRoleAdded, "user", m.ID, before, userView(m)); err != nil {
					return u, false, err
				}
			}
			return m, false, nil
		}
		if keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			return u, false, err
		}
	}
	if !mapped {
		role = c.JITRole
	}
	if role == "" {
		return u, false, keyplane.Errorf(keyplane.CodeForbidden, "%s is not a member of this account, and its single sign-on adds no one by itself: ask its Owner to invite you.", who.Email)
	}
	u = keyplane.User{AccountID: c.AccountID, Email: who.Email, Role: role, CreatedAt: s.clock()}
	if known {
		u.ID, u.PasswordHash = person.ID, person.PasswordHash
		err = tx.InsertMembership(u)
	} else {
		// No password: the person signs in through the provider (or sets
		// one with Forgot password?).
		err = tx.InsertUser(&u)
	}
	if err != nil {
		return u, false, err
	}
	return u, true, s.record(tx, u.Principal().Actor(), c.AccountID, keyplane.EventUserAccessGranted, "user", u.ID, nil, userView(u))
}

// idTokenProblem says in a person's terms what go-oidc found wrong.
func idTokenProblem(err error) string {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &exp):
		return "it has expired"
	case strings.Contains(msg, "signature"):
		return "its signature does not verify with the provider's keys"
	case strings.Contains(msg, "audience"):
		return "it was issued to another client (audience)"
	case strings.Contains(msg, "issuer"):
		return "it was issued by another issuer"
	}
	return clipText(msg)
}

// clipText keeps text shown or recorded from outside to one short line.
func clipText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// passwordMayAct tells whether a session not opened by an account's
// provider may act in account m.AccountID for member m: always, unless
// the account requires single sign-on; then only for its Owner with a
// second factor (breakGlass).
func passwordMayAct(tx Tx, m keyplane.User) (ok, breakGlass bool, err error) {
	req, err := tx.SSORequired(m.AccountID)
	if err != nil || !req {
		return !req, false, err
	}
	if m.Role != keyplane.RoleOwner {
		return false, false, nil
	}
	f, err := secondFactors(tx, m.ID)
	if err != nil || !f.Any() {
		return false, false, err
	}
	return true, true, nil
}

// errSSORequired refuses a password session in an account that requires
// single sign-on.
func errSSORequired(accountID int64) error {
	return keyplane.Errorf(keyplane.CodeForbidden, "Account %d requires single sign-on: sign out, then choose Sign in with SSO.", accountID)
}

// breakGlass records an Owner's password use of an account that requires
// single sign-on.
func (s *Service) breakGlass(tx Tx, m keyplane.User, how string) error {
	return s.record(tx, m.Principal().Actor(), m.AccountID, keyplane.EventSSOBreakGlass, "user", m.ID, nil, map[string]any{"email": m.Email, "via": how})
}

// personalCredentials refuses a change to the person's own credentials
// (password, second factors) from a session a provider opened: a provider
// vouches for the person in its account only, and these hold in every
// account of theirs.
func personalCredentials(p keyplane.Principal) error {
	if p.SSO {
		return keyplane.Errorf(keyplane.CodeForbidden, "You signed in with single sign-on: your password and second factors are managed when you sign in with your password.")
	}
	return nil
}

// errSSOOnly answers a right password of a person whose every usable
// account requires single sign-on.
var errSSOOnly = keyplane.Errorf(keyplane.CodeForbidden, "Your account requires single sign-on: choose Sign in with SSO and type your e-mail address.")
