-- Second factors, part one: a person's TOTP authenticator (RFC 6238), their
-- recovery codes, and sign-ins waiting for their second step.
-- A person has at most one authenticator. Its secret is sealed under the
-- KEK (bound to the person's id) once the server has one. confirmed_at is
-- NULL while enrolment waits for the first code. last_step is the newest
-- time step a code was accepted for: no code of it, or of an earlier step,
-- is accepted again, so a code seen over someone's shoulder is worthless.
CREATE TABLE totp_secrets (
    user_id       INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER NOT NULL DEFAULT 0
);

-- A sign-in whose password was right, waiting for the second factor. Only
-- the hash of its token (the browser's short-lived cookie) is kept; it is
-- no session: the session is opened, with a token of its own, once the
-- second factor is given.
CREATE TABLE pending_signins (
    token_hash  BLOB    NOT NULL PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX pending_signins_by_user ON pending_signins (user_id);

-- Recovery codes: ten per person, made with the authenticator, each
-- usable once in its place. Only a hash of each is kept (a code carries 80
-- random bits, so a fast hash is enough); used_at is set by its use.
CREATE TABLE recovery_codes (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash     BLOB NOT NULL,
    used_at  INTEGER,
    PRIMARY KEY (user_id, hash)
);
