-- The key notices given: one row per key, kind ('expiry' or 'unused'),
-- threshold (days) and basis (the expiry, or the last use the disuse is
-- counted from, in ms), so a notice is given once, by whichever replica
-- claims its row first, and a key used again and then left unused again
-- gets a new one. Rows go with their key's integration.
CREATE TABLE key_notices (
    key_id     INTEGER NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('expiry', 'unused')),
    threshold  INTEGER NOT NULL,
    basis      INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (key_id, kind, threshold, basis)
);
