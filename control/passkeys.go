package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyplane/keyplane"
)

// Passkeys are WebAuthn credentials (go-webauthn checks the ceremonies):
// a person registers them on the Two factors page, and gives one as the
// second step of a sign-in, or signs in with one alone. Alone, a passkey
// must verify its user (a PIN or a fingerprint on the device): it is then
// two factors in itself, something held and something known or been.
//
// Each ceremony has two halves: Begin… makes a challenge, keeps it (with
// what the answer is checked against) for keyplane.PasskeyCeremonyTTL on
// the injected clock, and hands the browser its options; the browser's
// answer names the challenge, which is taken (deleted) by the first answer
// that names it, right or wrong, so none is used twice.

// StoredPasskey is a passkey as stored: what the person sees of it, and
// the credential its uses are checked against.
type StoredPasskey struct {
	keyplane.Passkey
	CredentialID []byte
	// PublicKey is the credential's public key (COSE), as registered.
	PublicKey []byte
	// UserHandle is the opaque, random id the person has on their
	// authenticators.
	UserHandle        []byte
	SignCount         uint32
	AAGUID            []byte
	BackupEligible    bool
	BackupState       bool
	Transports        []string
	AttestationFormat string
}

// Ceremony is a WebAuthn ceremony under way: its challenge, its kind
// (CeremonyRegister, CeremonySignIn or CeremonySecond), the person it is
// for (0 for a sign-in without a password), and the library's session
// data (JSON).
type Ceremony struct {
	Challenge string
	Kind      string
	UserID    int64
	Session   []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// The kinds of ceremony.
const (
	CeremonyRegister = "register"
	CeremonySignIn   = "signin"
	CeremonySecond   = "second"
)

// PasskeyTx keeps passkeys and the ceremonies under way.
type PasskeyTx interface {
	// Passkeys are a person's, oldest first.
	Passkeys(userID int64) ([]StoredPasskey, error)
	// PasskeyByCredential finds one by its credential id; NotFound when
	// none has it.
	PasskeyByCredential(credentialID []byte) (StoredPasskey, error)
	// InsertPasskey stores a new one, setting its ID; Conflict when its
	// credential id is registered already.
	InsertPasskey(pk *StoredPasskey) error
	// UsePasskey records a use: the counter moves from old to now, in one
	// statement that reports false (changing nothing) when another use
	// moved it first.
	UsePasskey(id int64, old, now uint32, backupState bool, at time.Time) (bool, error)
	// DeletePasskey deletes a person's passkey; false when they have no
	// passkey id.
	DeletePasskey(userID, id int64) (bool, error)
	// InsertCeremony keeps a ceremony, forgetting expired ones on the way.
	InsertCeremony(c Ceremony) error
	// TakeCeremony deletes the ceremony of challenge and returns it;
	// NotFound when there is none.
	TakeCeremony(challenge string) (Ceremony, error)
}

// RelyingParty is the site passkeys belong to: its host name (the RP ID,
// which an authenticator binds each passkey to) and the origin its pages
// are served from (which the browser puts in every answer).
type RelyingParty struct {
	ID     string
	Origin string
}

// NewRelyingParty is the relying party of the site at base, an http(s)
// URL (the public URL, or the address a browser used). An IP address is
// refused: WebAuthn binds passkeys to a domain name.
func NewRelyingParty(base string) (RelyingParty, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return RelyingParty{}, keyplane.Errorf(keyplane.CodeInvalid, "passkeys: this server's address %q is not an http(s) URL", base)
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		return RelyingParty{}, keyplane.Errorf(keyplane.CodeInvalid,
			"passkeys: they belong to a site's name, and this page was reached by an IP address (%s). Open it by name (such as http://localhost:%s), or have the operator set --public-url.", host, u.Port())
	}
	return RelyingParty{ID: host, Origin: u.Scheme + "://" + strings.ToLower(u.Host)}, nil
}

// rpName is the name authenticators show beside the person's address.
const rpName = "Keyplane"

// webAuthn is the library set up for rp.
func (rp RelyingParty) webAuthn() (*webauthn.WebAuthn, error) {
	return webauthn.New(&webauthn.Config{RPID: rp.ID, RPDisplayName: rpName, RPOrigins: []string{rp.Origin},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: keyplane.PasskeyCeremonyTTL, TimeoutUVD: keyplane.PasskeyCeremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: keyplane.PasskeyCeremonyTTL, TimeoutUVD: keyplane.PasskeyCeremonyTTL},
		}})
}

// passkeyUser is a person as the library sees them: their user handle,
// address and passkeys.
type passkeyUser struct {
	handle []byte
	email  string
	keys   []StoredPasskey
}

func (u passkeyUser) WebAuthnID() []byte          { return u.handle }
func (u passkeyUser) WebAuthnName() string        { return u.email }
func (u passkeyUser) WebAuthnDisplayName() string { return u.email }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(u.keys))
	for i, k := range u.keys {
		out[i] = k.credential()
	}
	return out
}

// credential is k as the library checks it.
func (k StoredPasskey) credential() webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, len(k.Transports))
	for i, t := range k.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{ID: k.CredentialID, PublicKey: k.PublicKey, AttestationType: string(protocol.PreferNoAttestation),
		AttestationFormat: k.AttestationFormat, Transport: ts,
		Flags:         webauthn.CredentialFlags{BackupEligible: k.BackupEligible, BackupState: k.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount}}
}

// descriptors lists keys for allowCredentials and excludeCredentials.
func descriptors(keys []StoredPasskey) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, len(keys))
	for i, k := range keys {
		c := k.credential()
		out[i] = c.Descriptor()
	}
	return out
}

// userHandleLen is the length of a new user handle: 32 random bytes, as
// WebAuthn recommends (never anything that names the person).
const userHandleLen = 32

// publicPasskeys are keys as people see them.
func publicPasskeys(keys []StoredPasskey) []keyplane.Passkey {
	out := make([]keyplane.Passkey, len(keys))
	for i, k := range keys {
		out[i] = k.Passkey
	}
	return out
}

// keepCeremony stores a new ceremony of kind for userID with the library's
// session data, in its own transaction (raw: it is bookkeeping, not the
// effect of a form), first charged to the subjects given, if any: past
// their limit nothing is stored.
func (s *Service) keepCeremony(ctx context.Context, kind string, userID int64, sd *webauthn.SessionData, charged ...throttled) error {
	b, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	now := s.clock()
	return s.raw.Write(ctx, func(tx Tx) error {
		if len(charged) > 0 {
			if _, err := s.reserveAttempt(tx, charged); err != nil {
				return err
			}
		}
		return tx.InsertCeremony(Ceremony{Challenge: sd.Challenge, Kind: kind, UserID: userID, Session: b, CreatedAt: now, ExpiresAt: now.Add(keyplane.PasskeyCeremonyTTL)})
	})
}

// errCeremonyGone refuses an answer to a challenge that is unknown,
// expired or answered already.
var errCeremonyGone = keyplane.Errorf(keyplane.CodeInvalid, "passkey: this request has expired or was answered already; try again")

// takeCeremony takes the ceremony challenge names, in tx: it must be of
// kind, for userID, and not expired. It is deleted whatever the outcome.
func (s *Service) takeCeremony(tx Tx, challenge, kind string, userID int64) (sd webauthn.SessionData, err error) {
	c, err := tx.TakeCeremony(challenge)
	if keyplane.ErrorCode(err) == keyplane.CodeNotFound {
		return sd, errCeremonyGone
	} else if err != nil {
		return sd, err
	}
	if c.Kind != kind || c.UserID != userID || !s.clock().Before(c.ExpiresAt) {
		return sd, errCeremonyGone
	}
	if err := json.Unmarshal(c.Session, &sd); err != nil {
		return sd, err
	}
	return sd, nil
}

// errNoCredential refuses a form sent without the browser's answer.
var errNoCredential = keyplane.Errorf(keyplane.CodeInvalid, "passkey: your browser sent no passkey; use the button again (it needs JavaScript)")

// maxCredentialJSON bounds the browser's answer: a real one is a few
// kilobytes, attestation certificates included.
const maxCredentialJSON = 64 << 10

// BeginPasskeyRegistration starts adding a passkey for p at rp: the
// options for navigator.credentials.create, as JSON. The passkey is to be
// discoverable (so it can sign in without a password) and to verify its
// user; a device that holds one of p's passkeys already is excluded.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p keyplane.Principal, rp RelyingParty) ([]byte, error) {
	if err := ownFactors(p); err != nil {
		return nil, err
	}
	var keys []StoredPasskey
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		keys, err = tx.Passkeys(p.UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(keys) >= keyplane.MaxPasskeys {
		return nil, keyplane.Errorf(keyplane.CodeConflict, "passkey: you have %d, the most one person may have; remove one first", keyplane.MaxPasskeys)
	}
	// A person's passkeys share one handle: an authenticator keeps one
	// passkey per site and handle, so the exclusion list, not a second
	// handle, is what keeps a device from registering twice.
	handle := make([]byte, userHandleLen)
	if len(keys) > 0 {
		handle = keys[0].UserHandle
	} else if _, err := io.ReadFull(s.rand, handle); err != nil {
		return nil, err
	}
	wa, err := rp.webAuthn()
	if err != nil {
		return nil, err
	}
	opts, sd, err := wa.BeginRegistration(passkeyUser{handle: handle, email: p.UserEmail, keys: keys},
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: protocol.ResidentKeyRequired(),
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		}),
		webauthn.WithExclusions(descriptors(keys)))
	if err != nil {
		return nil, err
	}
	if err := s.keepCeremony(ctx, CeremonyRegister, p.UserID, sd); err != nil {
		return nil, err
	}
	return json.Marshal(opts)
}

// FinishPasskeyRegistration checks the browser's answer (credential, the
// JSON of its PublicKeyCredential) to p's registration at rp, and keeps
// the passkey under name. Adding one is a second factor enrolled: it is
// audited, and opens a session that waited for one.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p keyplane.Principal, rp RelyingParty, name, credential string) (pk keyplane.Passkey, err error) {
	if err := ownFactors(p); err != nil {
		return pk, err
	}
	name = strings.TrimSpace(name)
	if msg := keyplane.ValidatePasskeyName("name", name); msg != "" {
		return pk, keyplane.Errorf(keyplane.CodeInvalid, "%s", msg)
	}
	if credential == "" {
		return pk, errNoCredential
	}
	var parsed *protocol.ParsedCredentialCreationData
	if len(credential) <= maxCredentialJSON {
		parsed, err = protocol.ParseCredentialCreationResponseBytes([]byte(credential))
	}
	if parsed == nil || err != nil {
		return pk, keyplane.Errorf(keyplane.CodeInvalid, "passkey: your browser's answer could not be read; try again")
	}
	var sd webauthn.SessionData
	err = s.raw.Write(ctx, func(tx Tx) (err error) {
		sd, err = s.takeCeremony(tx, parsed.Response.CollectedClientData.Challenge, CeremonyRegister, p.UserID)
		return err
	})
	if err != nil {
		return pk, err
	}
	if sd.RelyingPartyID != rp.ID {
		return pk, errCeremonyGone
	}
	wa, err := rp.webAuthn()
	if err != nil {
		return pk, err
	}
	cred, err := wa.CreateCredential(passkeyUser{handle: sd.UserID, email: p.UserEmail}, sd, parsed)
	if err != nil {
		s.log.Info("passkey registration refused", "user", p.UserID, "err", webauthnReason(err))
		return pk, keyplane.Errorf(keyplane.CodeInvalid, "passkey: it could not be checked (%s); try again, or with another device", webauthnReason(err))
	}
	now := s.clock()
	st := StoredPasskey{Passkey: keyplane.Passkey{UserID: p.UserID, Name: name, CreatedAt: now},
		CredentialID: cred.ID, PublicKey: cred.PublicKey, UserHandle: sd.UserID, SignCount: cred.Authenticator.SignCount,
		AAGUID: cred.Authenticator.AAGUID, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		AttestationFormat: cred.AttestationFormat}
	for _, t := range cred.Transport {
		st.Transports = append(st.Transports, string(t))
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		keys, err := tx.Passkeys(p.UserID)
		if err != nil {
			return err
		}
		if len(keys) >= keyplane.MaxPasskeys {
			return keyplane.Errorf(keyplane.CodeConflict, "passkey: you have %d, the most one person may have; remove one first", keyplane.MaxPasskeys)
		}
		for _, k := range keys {
			if strings.EqualFold(k.Name, name) {
				return keyplane.Errorf(keyplane.CodeInvalid, "name: you have a passkey named %q already; choose another name", k.Name)
			}
		}
		if err := tx.InsertPasskey(&st); err != nil {
			return err
		}
		if err := s.enrolled(tx, p.UserID); err != nil {
			return err
		}
		return s.recordPerson(tx, p.UserID, keyplane.EventSecondFactorEnrolled, map[string]any{"kind": "passkey", "name": name}, true, p.Origin)
	})
	return st.Passkey, err
}

// RemovePasskey removes p's passkey id. The password is asked again (and
// throttled as at sign-in), as for removing an authenticator; the last
// second factor of a person whose account requires two stays. Another
// person's passkey answers as a missing one.
func (s *Service) RemovePasskey(ctx context.Context, p keyplane.Principal, ip, password string, id int64) error {
	if err := ownFactors(p); err != nil {
		return err
	}
	a, err := s.recheckPassword(ctx, p, ip, password)
	if err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error {
		if err := a.release(tx); err != nil {
			return err
		}
		keys, err := tx.Passkeys(p.UserID)
		if err != nil {
			return err
		}
		var name string
		for _, k := range keys {
			if k.ID == id {
				name = k.Name
			}
		}
		if name == "" {
			return keyplane.Errorf(keyplane.CodeNotFound, "passkey %d: not found", id)
		}
		f, err := secondFactors(tx, p.UserID)
		if err != nil {
			return err
		}
		if !f.TOTP && len(keys) == 1 {
			if err := s.mayGoWithout(tx, p.UserID); err != nil {
				return err
			}
		}
		if _, err := tx.DeletePasskey(p.UserID, id); err != nil {
			return err
		}
		return s.recordPerson(tx, p.UserID, keyplane.EventSecondFactorRemoved, map[string]any{"kind": "passkey", "name": name}, true, p.Origin)
	})
}

// BeginPasskeySignIn starts a sign-in with a passkey at rp, without a
// password: the options for navigator.credentials.get, as JSON. The
// browser offers the passkeys it holds for rp (discoverable credentials),
// and the passkey must verify its user. Anyone may ask, so each ask is
// charged to the client at ip (keyplane.MaxPasskeyStartsClient a window),
// which bounds the ceremonies stored before anyone is signed in.
func (s *Service) BeginPasskeySignIn(ctx context.Context, rp RelyingParty, ip string) ([]byte, error) {
	wa, err := rp.webAuthn()
	if err != nil {
		return nil, err
	}
	opts, sd, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	if err := s.keepCeremony(ctx, CeremonySignIn, 0, sd, passkeyStartSubject(ip)); err != nil {
		return nil, err
	}
	return json.Marshal(opts)
}

// BeginPasskeySecondStep starts the second step of the waiting sign-in
// behind pending with one of the person's passkeys: the options for
// navigator.credentials.get, as JSON, listing their passkeys.
func (s *Service) BeginPasskeySecondStep(ctx context.Context, rp RelyingParty, pending string) ([]byte, error) {
	var userID int64
	var keys []StoredPasskey
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		if userID, err = s.pendingUser(tx, hashToken(pending)); err != nil {
			return err
		}
		keys, err = tx.Passkeys(userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, keyplane.Errorf(keyplane.CodeInvalid, "passkey: you have none; use your authenticator app")
	}
	wa, err := rp.webAuthn()
	if err != nil {
		return nil, err
	}
	// The password was the first factor: the passkey need only be
	// present, though a device that can verify its user will.
	opts, sd, err := wa.BeginLogin(passkeyUser{handle: keys[0].UserHandle, keys: keys}, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, err
	}
	if err := s.keepCeremony(ctx, CeremonySecond, userID, sd); err != nil {
		return nil, err
	}
	return json.Marshal(opts)
}

// errPasskeyRefused refuses a passkey that did not prove itself: a
// signature that does not verify, a passkey unknown or removed, one used
// elsewhere since (its counter went back).
var errPasskeyRefused = keyplane.Errorf(keyplane.CodeUnauthorized, "That passkey was not accepted. Try again, or sign in another way.")

// PasskeySignIn checks the browser's answer (credential) to a sign-in
// begun by BeginPasskeySignIn at rp and opens a session for the passkey's
// person, in their first account that is not disabled, returning its
// token. Failures are throttled per client at ip, as passwords are, and
// per person once the passkey is known.
func (s *Service) PasskeySignIn(ctx context.Context, rp RelyingParty, ip, userAgent, credential string) (token string, u keyplane.User, err error) {
	return s.passkeyAssertion(ctx, rp, ip, userAgent, credential, "")
}

// CompletePasskeySignIn completes the waiting sign-in behind pending with
// one of the person's passkeys: the browser's answer (credential) to the
// ceremony begun by BeginPasskeySecondStep. It opens the session as
// CompleteSignIn does, throttled as codes are.
func (s *Service) CompletePasskeySignIn(ctx context.Context, rp RelyingParty, pending, ip, userAgent, credential string) (token string, u keyplane.User, err error) {
	if pending == "" {
		return "", u, errSignInGone
	}
	return s.passkeyAssertion(ctx, rp, ip, userAgent, credential, pending)
}

// passkeyAssertion checks an answer to a sign-in ceremony: without a
// password when pending is empty, else as the second step of that
// waiting sign-in. The sign-in is audited as PasskeySignIn, with the
// client's address and User-Agent.
func (s *Service) passkeyAssertion(ctx context.Context, rp RelyingParty, ip, userAgent, credential, pending string) (token string, u keyplane.User, err error) {
	if credential == "" {
		return "", u, errNoCredential
	}
	var parsed *protocol.ParsedCredentialAssertionData
	if len(credential) <= maxCredentialJSON {
		parsed, err = protocol.ParseCredentialRequestResponseBytes([]byte(credential))
	}
	if parsed == nil || err != nil {
		return "", u, keyplane.Errorf(keyplane.CodeInvalid, "passkey: your browser's answer could not be read; try again")
	}
	var hash []byte
	var userID int64
	kind := CeremonySignIn
	if pending != "" {
		hash, kind = hashToken(pending), CeremonySecond
	}
	var sd webauthn.SessionData
	var key StoredPasskey
	var known bool
	var a attempt
	// The challenge is taken and the attempt charged in one transaction of
	// their own: a wrong answer uses the challenge up and counts.
	err = s.raw.Write(ctx, func(tx Tx) (err error) {
		if hash != nil {
			if userID, err = s.pendingUser(tx, hash); err != nil {
				return err
			}
		}
		if sd, err = s.takeCeremony(tx, parsed.Response.CollectedClientData.Challenge, kind, userID); err != nil {
			return err
		}
		key, err = tx.PasskeyByCredential(parsed.RawID)
		known = err == nil && (userID == 0 || key.UserID == userID)
		if err != nil && keyplane.ErrorCode(err) != keyplane.CodeNotFound {
			return err
		}
		subjects := []throttled{{"ip:" + trimIP(ip), keyplane.MaxLoginFailuresIP, "Too many failed sign-ins from your network address"}}
		if known {
			subjects = secondFactorSubjects(key.UserID, ip)
		}
		a, err = s.reserveAttempt(tx, subjects)
		return err
	})
	if err != nil {
		return "", u, err
	}
	if !known || sd.RelyingPartyID != rp.ID {
		return "", u, errPasskeyRefused
	}
	wa, err := rp.webAuthn()
	if err != nil {
		return "", u, err
	}
	var keys []StoredPasskey
	if err := s.store.Read(ctx, func(tx Tx) (err error) {
		keys, err = tx.Passkeys(key.UserID)
		return err
	}); err != nil {
		return "", u, err
	}
	owner := passkeyUser{handle: key.UserHandle, keys: keys}
	var cred *webauthn.Credential
	if pending == "" {
		cred, err = wa.ValidateDiscoverableLogin(func(rawID, handle []byte) (webauthn.User, error) { return owner, nil }, sd, parsed)
	} else {
		// The passkey is known to be this person's (above); the handle it
		// was registered with is the one its answer carries.
		sd.UserID = key.UserHandle
		cred, err = wa.ValidateLogin(owner, sd, parsed)
	}
	if err != nil {
		s.log.Info("passkey sign-in refused", "user", key.UserID, "err", webauthnReason(err))
		return "", u, errPasskeyRefused
	}
	if cred.Authenticator.CloneWarning {
		s.log.Warn("passkey counter went back: refused as a possible copy", "user", key.UserID, "passkey", key.ID)
		return "", u, errPasskeyRefused
	}
	if token, err = keyplane.NewToken(s.rand, sessionTokenLen); err != nil {
		return "", u, err
	}
	now := s.clock()
	var disabled bool
	err = s.store.Write(ctx, func(tx Tx) error {
		if hash != nil {
			if _, err := s.pendingUser(tx, hash); err != nil {
				return err
			}
		}
		// One statement moves the counter from what was checked: a second
		// use of the same answer, at once, finds it moved and fails.
		ok, err := tx.UsePasskey(key.ID, key.SignCount, cred.Authenticator.SignCount, cred.Flags.BackupState, now)
		if err != nil {
			return err
		}
		if !ok {
			return errPasskeyRefused
		}
		if err := a.release(tx); err != nil {
			return err
		}
		if hash != nil {
			if err := tx.DeletePendingSignIn(hash); err != nil {
				return err
			}
		}
		if u, disabled, err = s.openInFirstAccount(tx, key.UserID, token, now); err != nil || disabled {
			return err
		}
		how := "without a password"
		if hash != nil {
			how = "second step"
		}
		return s.record(tx, u.Principal().Actor().From(requestOrigin(ip, userAgent)), u.AccountID, keyplane.EventPasskeySignIn, "user", u.ID, nil,
			map[string]any{"email": u.Email, "passkey": key.Name, "as": how})
	})
	if err != nil {
		return "", keyplane.User{}, err
	}
	if disabled {
		return "", keyplane.User{}, keyplane.AccountDisabledError(u.AccountID)
	}
	return token, u, nil
}

// webauthnReason is what the library said was wrong, in a few words, for
// the log and for the person registering (it names no secret).
func webauthnReason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return "the answer did not verify"
}
