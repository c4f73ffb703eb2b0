-- Single sign-on, part one: an account's OpenID Connect provider, set by
-- its Owner or the operator. client_secret is sealed under the KEK (bound
-- to the account) once the server has one; '' for a public client.
-- jit_role is the role of people created at their first sign-in ('' : only
-- members sign in). require_sso = 1 refuses password sign-in to members,
-- except Owners with a second factor.
CREATE TABLE oidc_configs (
    account_id     INTEGER NOT NULL PRIMARY KEY REFERENCES accounts (id),
    issuer         TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    client_secret  TEXT    NOT NULL,
    jit_role       TEXT    NOT NULL,
    groups_claim   TEXT    NOT NULL,
    require_sso    INTEGER NOT NULL DEFAULT 0 CHECK (require_sso IN (0, 1)),
    updated_at     INTEGER NOT NULL
);

-- The e-mail domains an account claims. The primary key is the domain
-- alone: one domain sends its people to one account's provider, so a
-- second account's claim is refused rather than racing the first.
CREATE TABLE oidc_domains (
    domain      TEXT    NOT NULL PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES oidc_configs (account_id) ON DELETE CASCADE
);
CREATE INDEX oidc_domains_by_account ON oidc_domains (account_id);

-- A provider's groups mapped to roles, in the order the Owner gave them.
CREATE TABLE oidc_group_roles (
    account_id  INTEGER NOT NULL REFERENCES oidc_configs (account_id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    grp         TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    PRIMARY KEY (account_id, position)
);

-- A session opened by an account's provider names that account: the
-- provider vouches for the person there only, so the session does not move
-- to the person's other accounts. 0: opened by a password (or a link).
ALTER TABLE sessions ADD COLUMN sso_account INTEGER NOT NULL DEFAULT 0;
