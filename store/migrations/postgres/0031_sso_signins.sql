-- Single sign-on, part two: sign-ins sent to a provider, waiting for it to
-- send the browser back. token_hash is the hash of the browser's
-- short-lived cookie, which binds the answer to the browser that asked
-- (login CSRF); state, nonce and the PKCE verifier are checked against
-- the answer and the ID token. Each is used once.
CREATE TABLE sso_signins (
    token_hash  BYTEA   NOT NULL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    state       TEXT    NOT NULL,
    nonce       TEXT    NOT NULL,
    verifier    TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
