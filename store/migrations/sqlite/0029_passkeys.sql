-- Second factors, part three: passkeys (WebAuthn credentials), as a second
-- factor after the password and to sign in without one.
-- A person may register several, each named by them. Only the public half
-- of the key is kept (COSE, as the authenticator gave it): nothing here
-- signs anything. sign_count is the authenticator's signature counter as
-- last seen: a use whose counter does not move past it (when either is
-- not 0) is refused, as a copied key would show. user_handle is the
-- random, opaque id the person has on their authenticators (never their
-- e-mail or their row id); backup_eligible must stay as registered.
CREATE TABLE passkeys (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    credential_id       BLOB    NOT NULL UNIQUE,
    public_key          BLOB    NOT NULL,
    user_handle         BLOB    NOT NULL,
    sign_count          INTEGER NOT NULL DEFAULT 0,
    aaguid              BLOB    NOT NULL,
    backup_eligible     INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
    backup_state        INTEGER NOT NULL DEFAULT 0 CHECK (backup_state IN (0, 1)),
    transports          TEXT    NOT NULL DEFAULT '',   -- comma-separated, as the browser said
    attestation_format  TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    last_used_at        INTEGER
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A WebAuthn ceremony under way: the challenge sent to the browser and
-- what its answer is checked against (the library's session data, JSON).
-- A row is taken (deleted) by the first answer that names its challenge,
-- right or wrong, so a challenge is used once; it is refused past
-- expires_at. kind: 'register' (a signed-in person adds a passkey),
-- 'signin' (sign-in without a password; no person yet) or 'second' (the
-- second step of a sign-in whose password was right).
CREATE TABLE webauthn_ceremonies (
    challenge   TEXT    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('register', 'signin', 'second')),
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    session     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies (expires_at);
