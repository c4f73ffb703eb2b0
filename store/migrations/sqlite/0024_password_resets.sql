-- Password resets asked for by e-mail: only a hash of the link's token is
-- kept, for its person, until used (which deletes every one of theirs) or
-- expired (deleted when the next is made).
CREATE TABLE password_resets (
    token_hash  BLOB   PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);
