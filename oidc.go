package keyplane

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Single sign-on: an account may send its people to its own OpenID
// Connect provider. A person types their e-mail address; the account that
// claims its domain sends them to its provider, and the ID token that comes
// back opens a session in that account only.

// OIDCConfig is an account's single sign-on configuration.
type OIDCConfig struct {
	AccountID int64
	// Issuer is the provider's issuer URL: its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer   string
	ClientID string
	// ClientSecret is sealed at rest and never shown again; empty for a
	// public client (PKCE alone). SecretSet tells whether there is one when
	// a config is read for display, with ClientSecret left empty.
	ClientSecret string
	SecretSet    bool
	// Domains are the e-mail domains the account claims: an address of
	// one of them signs in through this provider, and only such addresses
	// are accepted from it. A domain is claimed by one account at most.
	Domains []string
	// JITRole is the role of a person the provider vouches for who is not
	// yet a member (just-in-time); "" creates no one: only members sign in.
	JITRole Role
	// GroupsClaim names the ID token's claim listing the person's groups
	// ("groups" unless set); GroupRoles maps groups to roles.
	GroupsClaim string
	GroupRoles  []GroupRole
	// RequireSSO refuses password sign-in to the account's members, except
	// its Owners who have a second factor (break-glass, audited).
	RequireSSO bool
	UpdatedAt  time.Time
}

// GroupRole gives the members of a provider's group a role.
type GroupRole struct {
	Group string
	Role  Role
}

// DefaultGroupsClaim is the claim read for groups unless one is named.
const DefaultGroupsClaim = "groups"

// SSOSignInTTL is how long a sign-in sent to a provider may take to come
// back.
const SSOSignInTTL = 10 * time.Minute

// Limits of a configuration.
const (
	maxSSODomains    = 20
	maxSSOGroupRoles = 50
)

// SSORoles are the roles SSO may give, just-in-time or by group: the
// account-wide ones an Owner may hand out (scoped roles name apps or
// keysets, which a provider's groups know nothing of; an account has one
// Owner).
var SSORoles = []Role{RoleAdmin, RoleViewer}

var (
	domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	claimRE  = regexp.MustCompile(`^[A-Za-z0-9_:./-]{1,64}$`)
)

// NormalizeDomain is a domain as compared: lower case, no surrounding
// space, no leading "@" or trailing dot.
func NormalizeDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "@")
	return strings.TrimSuffix(s, ".")
}

// EmailDomain is the domain of an e-mail address ("" without one).
func EmailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return NormalizeDomain(email[i+1:])
}

// Normalize puts c in the form it is stored and compared in.
func (c *OIDCConfig) Normalize() {
	c.Issuer = strings.TrimRight(strings.TrimSpace(c.Issuer), "/")
	c.ClientID = strings.TrimSpace(c.ClientID)
	c.ClientSecret = strings.TrimSpace(c.ClientSecret)
	var ds []string
	for _, d := range c.Domains {
		if d = NormalizeDomain(d); d != "" && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	c.Domains = ds
	c.GroupsClaim = strings.TrimSpace(c.GroupsClaim)
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	for i := range c.GroupRoles {
		c.GroupRoles[i].Group = strings.TrimSpace(c.GroupRoles[i].Group)
	}
}

// Validate checks a configuration an Owner or the operator sets, after
// Normalize: every problem, each naming its field.
func (c OIDCConfig) Validate() error {
	var msgs []string
	if m := validateIssuer(c.Issuer); m != "" {
		msgs = append(msgs, m)
	}
	switch {
	case c.ClientID == "":
		msgs = append(msgs, "clientId: required; the client id the provider gave Keyplane")
	case len(c.ClientID) > 255 || strings.ContainsAny(c.ClientID, "\r\n\t "):
		msgs = append(msgs, "clientId: at most 255 characters, no spaces")
	}
	if len(c.ClientSecret) > 1024 || strings.ContainsAny(c.ClientSecret, "\r\n") {
		msgs = append(msgs, "clientSecret: at most 1024 characters, one line")
	}
	switch {
	case len(c.Domains) == 0:
		msgs = append(msgs, "domains: at least one; the e-mail domains whose people sign in through this provider (like example.com)")
	case len(c.Domains) > maxSSODomains:
		msgs = append(msgs, "domains: at most 20")
	}
	for _, d := range c.Domains {
		if !domainRE.MatchString(d) {
			msgs = append(msgs, "domains: "+quoteClip(d)+" is not a domain name (like example.com)")
		}
	}
	if c.JITRole != "" && !slices.Contains(SSORoles, c.JITRole) {
		msgs = append(msgs, "jitRole: admin, viewer, or none (only members sign in)")
	}
	if !claimRE.MatchString(c.GroupsClaim) {
		msgs = append(msgs, "groupsClaim: a claim name of letters, digits and _:./- (like groups)")
	}
	if len(c.GroupRoles) > maxSSOGroupRoles {
		msgs = append(msgs, "groupRoles: at most 50")
	}
	seen := map[string]bool{}
	for _, g := range c.GroupRoles {
		switch {
		case g.Group == "" || len(g.Group) > 255 || strings.ContainsAny(g.Group, "\r\n="):
			msgs = append(msgs, "groupRoles: a group is a name of 1 to 255 characters, without = or line breaks")
		case seen[g.Group]:
			msgs = append(msgs, "groupRoles: group "+quoteClip(g.Group)+" is mapped twice")
		case !slices.Contains(SSORoles, g.Role):
			msgs = append(msgs, "groupRoles: group "+quoteClip(g.Group)+": the role is admin or viewer")
		}
		seen[g.Group] = true
	}
	return Invalid(msgs...)
}

// validateIssuer checks an issuer URL: https, or http on this machine
// (a provider under test).
func validateIssuer(s string) string {
	if s == "" {
		return "issuer: required; the provider's issuer URL (like https://login.example.com)"
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(s) > 512 {
		return "issuer: an absolute https URL without query or fragment (like https://login.example.com)"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return ""
		}
	}
	return "issuer: must be https (http only for a provider on this machine)"
}

// ParseGroupRole reads a GROUP=ROLE mapping.
func ParseGroupRole(s string) (GroupRole, error) {
	g, r, ok := strings.Cut(s, "=")
	role := Role(strings.ToLower(strings.TrimSpace(r)))
	if !ok || strings.TrimSpace(g) == "" || !slices.Contains(SSORoles, role) {
		return GroupRole{}, Errorf(CodeInvalid, "groupRoles: want GROUP=ROLE with ROLE admin or viewer, not %s", quoteClip(s))
	}
	return GroupRole{Group: strings.TrimSpace(g), Role: role}, nil
}

// RoleForGroups is the role groups give by c's mapping: the strongest of
// the groups mapped, and ok false when none is.
func (c OIDCConfig) RoleForGroups(groups []string) (r Role, ok bool) {
	for _, g := range c.GroupRoles {
		if !slices.Contains(groups, g.Group) {
			continue
		}
		if !ok || slices.Index(Roles, g.Role) < slices.Index(Roles, r) {
			r, ok = g.Role, true
		}
	}
	return r, ok
}

// Claims tells whether c claims the domain of email.
func (c OIDCConfig) Claims(email string) bool {
	return slices.Contains(c.Domains, EmailDomain(email))
}

func quoteClip(s string) string { return `"` + clip(s) + `"` }

// Audit events of single sign-on (Keyplane's names).
const (
	EventSSOConfigChanged = "SSOConfigChanged"
	EventSSOConfigRemoved = "SSOConfigRemoved"
	// EventSSOSignIn is a session opened by the account's provider;
	// EventSSOSignInRefused one it vouched for that was refused (an
	// unverified address, a domain not allowed, no one to create).
	EventSSOSignIn        = "SSOSignIn"
	EventSSOSignInRefused = "SSOSignInRefused"
	// EventSSOBreakGlass is an Owner's password sign-in to an account that
	// requires single sign-on.
	EventSSOBreakGlass = "SSOBreakGlass"
)
