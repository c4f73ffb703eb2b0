-- Password resets asked for by e-mail: only a hash of the link's token is
-- kept, for its person, until used (which deletes every one of theirs) or
-- expired (deleted when the next is made).
CREATE TABLE password_resets (
    token_hash  BYTEA   PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);
