-- OEM partners and their customers; audit events filterable by actor.

-- An operator enrols an account in the OEM partner programme (1) or not (0).
ALTER TABLE accounts ADD COLUMN partner INTEGER NOT NULL DEFAULT 0;

CREATE TABLE oem_customers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    external_id  TEXT    NOT NULL,              -- the partner's id; never changes
    name         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (account_id, external_id)
);

-- A keyset belongs to at most one customer: the keyset is the key. Deleting
-- the keyset ends its assignment.
CREATE TABLE oem_customer_keysets (
    keyset_id    INTEGER PRIMARY KEY REFERENCES keysets (id) ON DELETE CASCADE,
    customer_id  INTEGER NOT NULL REFERENCES oem_customers (id),
    assigned_at  INTEGER NOT NULL
);
CREATE INDEX oem_customer_keysets_by_customer ON oem_customer_keysets (customer_id, keyset_id);

-- The actor's type and id, copied out of the sealed actor JSON so the audit
-- API can filter on them with an index; verify-audit checks they agree.
ALTER TABLE audit_events ADD COLUMN actor_type TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN actor_id INTEGER NOT NULL DEFAULT 0;
UPDATE audit_events SET actor_type = json_extract(actor, '$.type'),
                        actor_id = COALESCE(json_extract(actor, '$.id'), 0);
CREATE INDEX audit_events_by_actor ON audit_events (account_id, actor_type, actor_id, id);
CREATE INDEX audit_events_by_target ON audit_events (account_id, target_type, target_id, id);
