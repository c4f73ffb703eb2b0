// Package oidctest runs a real OpenID provider inside a test process:
// zitadel/oidc's OP (github.com/zitadel/oidc/v3/pkg/op, a maintained
// provider library) with its example storage and login page, on
// 127.0.0.1. Keyplane's single sign-on is tested against it over real
// HTTP: discovery, the authorization endpoint, the login form, the token
// endpoint, JWKS and UserInfo are the library's own.
//
// What the tests need beyond the example's is added by wrapping its
// storage, never by answering for the provider: people of the test's
// choosing (an unverified address, groups), a groups claim, and a key set
// that can be swapped for another key, to prove that a token whose
// signature does not verify is refused.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Password is every test person's password at the provider.
const Password = "provider-password"

// OtherClientID is a second web client registered at every provider (with
// the same secret and redirect URI): another application of the same
// company, whose ID tokens are not Keyplane's.
const OtherClientID = "other-app"

// Person is someone the provider signs in: Username is what its login
// form takes.
type Person struct {
	Username string
	Email    string
	Verified bool
	Groups   []string
}

// Provider is a running OpenID provider.
type Provider struct {
	// Issuer is its issuer URL (http://127.0.0.1:PORT).
	Issuer             string
	ClientID, Secret   string
	people             *people
	storage            *wrapped
	server             *http.Server
	BadKeys, NoIDClaim atomic.Bool
	// WrongAudience makes the provider mix up its clients: it takes the
	// client exchanging a code, and the sign-in behind the code, for
	// OtherClientID, so the ID token it signs (with its real key) is
	// issued to that client (audience and authorized party). The library
	// itself always names the client that signed in, so this is the one
	// way to get a token that is not Keyplane's from it.
	WrongAudience atomic.Bool
}

// Start runs a provider with one web client, clientID with secret,
// allowed to redirect to redirectURI; it stops when the test ends.
func Start(t testing.TB, clientID, secret, redirectURI string) *Provider {
	t.Helper()
	return StartNamed(t, "127.0.0.1", clientID, secret, redirectURI)
}

// StartNamed is Start with the provider's issuer under host, a name of
// this machine (it listens on 127.0.0.1): a browser test names it
// localhost so that the provider is another site than a Keyplane at
// 127.0.0.1, as in production, where cookies' SameSite rules apply.
func StartNamed(t testing.TB, host, clientID, secret, redirectURI string) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p := &Provider{Issuer: "http://" + net.JoinHostPort(host, port), ClientID: clientID, Secret: secret, people: &people{byID: map[string]*storage.User{}}}
	st := storage.NewStorageWithClients(p.people, map[string]*storage.Client{clientID: storage.WebClient(clientID, secret, redirectURI),
		OtherClientID: storage.WebClient(OtherClientID, secret, redirectURI)})
	p.storage = &wrapped{Storage: st, p: p}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.storage.other = other
	router := exampleop.SetupServer(p.Issuer, p.storage, nil, false)
	p.server = &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go p.server.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.server.Shutdown(ctx)
	})
	return p
}

// Add makes a person the provider signs in.
func (p *Provider) Add(who Person) {
	p.people.add(who)
}

// people is the provider's user store: the example's interface, filled by
// the test.
type people struct {
	mu     sync.Mutex
	byID   map[string]*storage.User
	groups map[string][]string
}

func (s *people) add(who Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "u" + who.Username
	s.byID[id] = &storage.User{ID: id, Username: who.Username, Password: Password, FirstName: "Test", LastName: who.Username,
		Email: who.Email, EmailVerified: who.Verified, PreferredLanguage: language.English}
	if s.groups == nil {
		s.groups = map[string][]string{}
	}
	s.groups[id] = who.Groups
}

// GetUserByID implements storage.UserStore.
func (s *people) GetUserByID(id string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// GetUserByUsername implements storage.UserStore.
func (s *people) GetUserByUsername(name string) *storage.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.byID {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// ExampleClientID implements storage.UserStore.
func (s *people) ExampleClientID() string { return "service" }

func (s *people) groupsOf(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groups[id]
}

// wrapped is the example storage with what the tests need: the groups
// claim, the profile and e-mail claims in the ID token (as most providers
// put them; NoIDClaim leaves them to UserInfo, as the OIDC core spec
// does), and a key set that can name another key (BadKeys).
type wrapped struct {
	*storage.Storage
	p     *Provider
	other *rsa.PrivateKey
}

// GetClientByClientID puts the user info claims in the ID token unless
// the test wants them only at UserInfo.
func (w *wrapped) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := w.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{Client: c, yes: !w.p.NoIDClaim.Load(), other: w.p.WrongAudience.Load()}, nil
}

type claimsInIDToken struct {
	op.Client
	yes, other bool
}

// GetID is the client's id, or, mixed up, the other client's.
func (c claimsInIDToken) GetID() string {
	if c.other {
		return OtherClientID
	}
	return c.Client.GetID()
}

func (c claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return c.yes }

// SetUserinfoFromScopes adds the person's groups to the ID token's claims.
func (w *wrapped) SetUserinfoFromScopes(ctx context.Context, ui *oidc.UserInfo, userID, clientID string, scopes []string) error {
	if err := w.Storage.SetUserinfoFromScopes(ctx, ui, userID, clientID, scopes); err != nil {
		return err
	}
	w.addGroups(ui, userID, scopes)
	return nil
}

// SetUserinfoFromToken adds the person's groups to UserInfo's answer.
func (w *wrapped) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := w.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	w.addGroups(ui, subject, []string{oidc.ScopeEmail})
	return nil
}

func (w *wrapped) addGroups(ui *oidc.UserInfo, userID string, scopes []string) {
	for _, s := range scopes {
		if s == oidc.ScopeEmail || s == oidc.ScopeProfile {
			if g := w.p.people.groupsOf(userID); g != nil {
				ui.AppendClaims("groups", g)
			}
			return
		}
	}
}

// AuthRequestByCode is the sign-in behind a code; with WrongAudience,
// taken for OtherClientID's.
func (w *wrapped) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := w.Storage.AuthRequestByCode(ctx, code)
	if err != nil || !w.p.WrongAudience.Load() {
		return r, err
	}
	return otherAudience{r}, nil
}

// otherAudience is a sign-in taken for OtherClientID's.
type otherAudience struct{ op.AuthRequest }

func (otherAudience) GetClientID() string   { return OtherClientID }
func (otherAudience) GetAudience() []string { return []string{OtherClientID} }

// CreateAccessToken gives the example storage the sign-in it made, which
// it recognises by its type.
func (w *wrapped) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	if o, ok := r.(otherAudience); ok {
		r = o.AuthRequest
	}
	return w.Storage.CreateAccessToken(ctx, r)
}

// KeySet is the provider's JWKS: with BadKeys, another key under the
// same id, so signatures made with the real one do not verify.
func (w *wrapped) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := w.Storage.KeySet(ctx)
	if err != nil || !w.p.BadKeys.Load() || len(keys) == 0 {
		return keys, err
	}
	return []op.Key{otherKey{id: keys[0].ID(), key: &w.other.PublicKey}}, nil
}

type otherKey struct {
	id  string
	key *rsa.PublicKey
}

func (k otherKey) ID() string                         { return k.id }
func (k otherKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k otherKey) Use() string                        { return "sig" }
func (k otherKey) Key() any                           { return k.key }
