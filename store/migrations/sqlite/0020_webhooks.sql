-- Webhook endpoints: where an account's events are sent. The signing
-- secret is sealed under the KEK like secret keys (see seal.go), bound to
-- its row; during a rotation's overlap the previous one signs too, until
-- previous_until. events is '*' or the event types between commas
-- (',AppCreated,KeysetCreated,'): the outbox matches an event's type with
-- LIKE, and event types hold no LIKE wildcard. Numbered 0020: 0016 to 0019
-- belong to other changes.
CREATE TABLE webhooks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts (id),
    url              TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    events           TEXT    NOT NULL,
    secret           TEXT    NOT NULL,
    previous_secret  TEXT,
    previous_until   INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    disabled_at      INTEGER,
    disabled_reason  TEXT
);
CREATE INDEX webhooks_by_account ON webhooks (account_id, id);
