package store

import (
	"database/sql"
	"errors"
	"strings"

	"github.com/keyplane/keyplane"
	"github.com/keyplane/keyplane/control"
)

// oidcSecretPrefix is what an SSO client secret's seal is bound to beside
// the account's id: moved to another account's row, it no longer opens.
const oidcSecretPrefix = "oidc-client"

// OIDCConfig implements control.Tx: NotFound for an account without
// single sign-on.
func (t *txn) OIDCConfig(accountID int64) (keyplane.OIDCConfig, error) {
	c := keyplane.OIDCConfig{AccountID: accountID}
	var role string
	var req, updated int64
	err := t.queryRow(`SELECT issuer, client_id, client_secret, jit_role, groups_claim, require_sso, updated_at FROM oidc_configs WHERE account_id = $1`, accountID).
		Scan(&c.Issuer, &c.ClientID, &c.ClientSecret, &role, &c.GroupsClaim, &req, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return c, keyplane.Errorf(keyplane.CodeNotFound, "account %d: no single sign-on", accountID)
	}
	if err != nil {
		return c, err
	}
	c.JITRole, c.RequireSSO, c.UpdatedAt = keyplane.Role(role), req == 1, fromMS(updated)
	c.SecretSet = c.ClientSecret != ""
	// Without a KEK (an admin command that needs no secret), the sealed
	// value is kept as it is: written back unchanged, it still opens.
	if c.SecretSet && t.seal != nil {
		if c.ClientSecret, err = t.seal.openWith(aad(accountID, oidcSecretPrefix), "SSO client secret of account", c.ClientSecret); err != nil {
			return c, err
		}
	}
	if c.Domains, err = t.strings(`SELECT domain FROM oidc_domains WHERE account_id = $1 ORDER BY domain`, accountID); err != nil {
		return c, err
	}
	rows, err := t.query(`SELECT grp, role FROM oidc_group_roles WHERE account_id = $1 ORDER BY position`, accountID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var g keyplane.GroupRole
		if err := rows.Scan(&g.Group, &g.Role); err != nil {
			return c, err
		}
		c.GroupRoles = append(c.GroupRoles, g)
	}
	return c, rows.Err()
}

// strings reads one text column of a query's rows.
func (t *txn) strings(q string, args ...any) ([]string, error) {
	return textColumn(t.query(q, args...))
}

// textColumn reads the one text column of rows, then closes them.
func textColumn(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// OIDCAccountByDomain implements control.Tx: the account claiming domain.
func (t *txn) OIDCAccountByDomain(domain string) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT account_id FROM oidc_domains WHERE domain = $1`, domain).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, keyplane.Errorf(keyplane.CodeNotFound, "domain %s: not claimed", domain)
	}
	return id, err
}

// PutOIDCConfig implements control.Tx: c in place of the account's
// configuration, its domains and group mapping with it. A domain another
// account claims is a Conflict, decided by the domain's primary key.
func (t *txn) PutOIDCConfig(c keyplane.OIDCConfig) error {
	for _, d := range c.Domains {
		var other int64
		err := t.queryRow(`SELECT account_id FROM oidc_domains WHERE domain = $1 AND account_id <> $2`, d, c.AccountID).Scan(&other)
		if err == nil {
			return keyplane.Errorf(keyplane.CodeConflict, "domains: %s is claimed for single sign-on by another account; a domain sends its people to one account's provider", d)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	secret := c.ClientSecret
	if secret != "" && t.seal != nil && !strings.HasPrefix(secret, sealedPrefix) {
		var err error
		if secret, err = t.seal.seal(c.AccountID, oidcSecretPrefix, secret); err != nil {
			return err
		}
	}
	if _, err := t.exec(`INSERT INTO oidc_configs (account_id, issuer, client_id, client_secret, jit_role, groups_claim, require_sso, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (account_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret,
		jit_role = excluded.jit_role, groups_claim = excluded.groups_claim, require_sso = excluded.require_sso, updated_at = excluded.updated_at`,
		c.AccountID, c.Issuer, c.ClientID, secret, string(c.JITRole), c.GroupsClaim, boolInt(c.RequireSSO), ms(c.UpdatedAt)); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM oidc_domains WHERE account_id = $1`, `DELETE FROM oidc_group_roles WHERE account_id = $1`} {
		if _, err := t.exec(q, c.AccountID); err != nil {
			return err
		}
	}
	for _, d := range c.Domains {
		if _, err := t.exec(`INSERT INTO oidc_domains (domain, account_id) VALUES ($1, $2)`, d, c.AccountID); err != nil {
			return err
		}
	}
	for i, g := range c.GroupRoles {
		if _, err := t.exec(`INSERT INTO oidc_group_roles (account_id, position, grp, role) VALUES ($1, $2, $3, $4)`, c.AccountID, i, g.Group, string(g.Role)); err != nil {
			return err
		}
	}
	return nil
}

// DeleteOIDCConfig implements control.Tx; its domains and mapping go with
// it, and its sign-ins under way.
func (t *txn) DeleteOIDCConfig(accountID int64) error {
	for _, q := range []string{`DELETE FROM oidc_domains WHERE account_id = $1`, `DELETE FROM oidc_group_roles WHERE account_id = $1`,
		`DELETE FROM sso_signins WHERE account_id = $1`, `DELETE FROM oidc_configs WHERE account_id = $1`} {
		if _, err := t.exec(q, accountID); err != nil {
			return err
		}
	}
	return nil
}

// SSORequired implements control.Tx.
func (t *txn) SSORequired(accountID int64) (bool, error) {
	var req int64
	err := t.queryRow(`SELECT require_sso FROM oidc_configs WHERE account_id = $1`, accountID).Scan(&req)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return req == 1, err
}

// InsertSSOSignIn implements control.Tx, deleting expired ones on the way.
func (t *txn) InsertSSOSignIn(s control.SSOSignIn) error {
	if _, err := t.exec(`DELETE FROM sso_signins WHERE expires_at <= $1`, ms(s.CreatedAt)); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO sso_signins (token_hash, account_id, state, nonce, verifier, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.TokenHash, s.AccountID, s.State, s.Nonce, s.Verifier, ms(s.CreatedAt), ms(s.ExpiresAt))
	return err
}

// TakeSSOSignIn implements control.Tx: the sign-in is deleted as it is
// read, so its answer is taken once.
func (t *txn) TakeSSOSignIn(hash []byte) (control.SSOSignIn, error) {
	s := control.SSOSignIn{TokenHash: hash}
	var c, e int64
	err := t.queryRow(`SELECT account_id, state, nonce, verifier, created_at, expires_at FROM sso_signins WHERE token_hash = $1`, hash).
		Scan(&s.AccountID, &s.State, &s.Nonce, &s.Verifier, &c, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return s, keyplane.Errorf(keyplane.CodeNotFound, "sso sign-in: not found")
	}
	if err != nil {
		return s, err
	}
	s.CreatedAt, s.ExpiresAt = fromMS(c), fromMS(e)
	_, err = t.exec(`DELETE FROM sso_signins WHERE token_hash = $1`, hash)
	return s, err
}
