-- The webhook outbox: one row per event and endpoint, inserted in the
-- transaction that records the event, so no event is lost between its
-- commit and its delivery. event_row is the event's install-wide row
-- (audit_events.id), event_id its id in its account, which names the
-- delivery within its webhook. A worker claims a due row by setting
-- lease_until; a claim whose worker died is taken again once the lease has
-- run out. attempts counts the current run's attempts and fences a
-- worker's result: it is written only if no other claim came since.
CREATE TABLE webhook_deliveries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id        INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    account_id        INTEGER NOT NULL,
    event_row         INTEGER NOT NULL,
    event_id          INTEGER NOT NULL,
    event_type        TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    first_attempt_at  INTEGER,
    next_attempt_at   INTEGER,
    lease_until       INTEGER,
    last_attempt_at   INTEGER,
    last_status       INTEGER,
    last_error        TEXT,
    last_latency_ms   INTEGER,
    delivered_at      INTEGER,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
