-- Invitations by e-mail: an account asks a person to join it with a role.
-- Only a hash of the link's token is kept; resending replaces it. A row
-- lives until it is accepted or revoked (an expired one stays listed, to
-- be resent or revoked). One pending invitation per address and account.
-- scope holds the apps or keysets of a scoped role, comma-separated, as
-- membership_scopes would once accepted.
-- Numbered 0023: 0016 to 0022 belong to other changes; the runner applies
-- every file it has not applied yet, in order.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    email       TEXT    NOT NULL,           -- lower case
    role        TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'viewer', 'app-admin', 'app-viewer', 'key-admin', 'key-viewer')),
    scope       TEXT    NOT NULL DEFAULT '',
    inviter     TEXT    NOT NULL,
    token_hash  BLOB   NOT NULL UNIQUE,    -- SHA-256 of the link's token
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    UNIQUE (account_id, email)
);
