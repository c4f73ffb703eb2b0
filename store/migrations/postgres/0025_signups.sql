-- Self-service sign-ups waiting for their address to be confirmed: only a
-- hash of the link's token is kept, with the address it was sent to.
CREATE TABLE signups (
    token_hash  BYTEA   PRIMARY KEY,
    email       TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX signups_by_email ON signups (email);
