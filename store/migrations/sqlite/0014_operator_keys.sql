-- Operator keys authenticate the operator API (/operator/v1/...): they are
-- the install's, not an account's, so no account_id. Only the SHA-256 of a
-- key is kept (it is shown once, by keyplane admin create-operator-key).
-- Numbered 0014: 0015 belongs to another change.
CREATE TABLE operator_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    prefix        TEXT    NOT NULL,
    hash          BLOB    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    last_used_at  INTEGER
);
