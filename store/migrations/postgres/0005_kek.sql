-- The fingerprint of the key-encryption key that seals the secret keys
-- (the key itself lives in a file outside the database): a server started
-- with another key refuses to start.
CREATE TABLE kek (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT    NOT NULL
);
