-- Portal users and their sessions, sign-in failures for throttling, and
-- the one-time tokens of the setup link that creates the Owner.
-- Numbered 0003: 0002 belongs to another change; the runner applies every
-- file it has not applied yet, in order, so the gap is harmless.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    email          TEXT    NOT NULL UNIQUE,    -- lower case
    password_hash  TEXT    NOT NULL,           -- argon2id, PHC string form
    role           TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    created_at     INTEGER NOT NULL
);
CREATE INDEX users_by_account ON users (account_id, id);

CREATE TABLE sessions (
    token_hash  BLOB    PRIMARY KEY,           -- SHA-256 of the cookie's token; the token is never stored
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE login_failures (
    subject  TEXT    NOT NULL,                 -- "email:<address>" or "ip:<address>"
    at       INTEGER NOT NULL
);
CREATE INDEX login_failures_by_subject ON login_failures (subject, at);

CREATE TABLE setup_tokens (
    hash        BLOB    PRIMARY KEY,           -- SHA-256 of the token in the setup link
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
