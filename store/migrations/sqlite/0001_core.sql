-- Accounts, apps, keysets with their configuration and secret keys,
-- Service Integrations with their API keys, and the audit trail.
-- Times are Unix milliseconds (UTC). Ids are AUTOINCREMENT: an id is never
-- reused, so a permission row naming a deleted app or keyset can never reach
-- a new one.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE apps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX apps_by_account ON apps (account_id, id);

CREATE TABLE keysets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    app_id         INTEGER NOT NULL REFERENCES apps (id),
    name           TEXT    NOT NULL,
    type           TEXT    NOT NULL CHECK (type IN ('testing', 'production')),
    publish_key    TEXT    NOT NULL UNIQUE,
    subscribe_key  TEXT    NOT NULL UNIQUE,
    config         TEXT    NOT NULL,          -- JSON, the full configuration
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX keysets_by_account ON keysets (account_id, id);
CREATE INDEX keysets_by_app ON keysets (app_id, id);

CREATE TABLE secret_keys (
    keyset_id   INTEGER NOT NULL REFERENCES keysets (id) ON DELETE CASCADE,
    prefix      TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    expires_at  INTEGER,                      -- NULL: the main key
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (keyset_id, prefix)
);
-- One main key per keyset.
CREATE UNIQUE INDEX secret_keys_one_main ON secret_keys (keyset_id) WHERE expires_at IS NULL;

CREATE TABLE integrations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    name          TEXT    NOT NULL,
    grants        TEXT    NOT NULL,           -- JSON array of grant strings; never changes
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX integrations_by_account ON integrations (account_id, id);

CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id  INTEGER NOT NULL REFERENCES integrations (id),
    prefix          TEXT    NOT NULL,
    hash            BLOB    NOT NULL UNIQUE,  -- SHA-256 of the key; the key itself is never stored
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER,
    last_used_at    INTEGER
);
CREATE INDEX api_keys_by_integration ON api_keys (integration_id);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    actor        TEXT    NOT NULL,            -- JSON
    target_type  TEXT    NOT NULL,
    target_id    INTEGER NOT NULL,
    before       TEXT,                        -- JSON, secrets removed
    after        TEXT,                        -- JSON, secrets removed
    prev_hash    BLOB    NOT NULL,
    hash         BLOB    NOT NULL
);
CREATE INDEX audit_events_by_account ON audit_events (account_id, id);
