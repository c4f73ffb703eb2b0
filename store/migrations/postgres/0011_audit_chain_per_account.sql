-- Each account's audit events form a chain of their own, numbered from 1:
-- seq is the id the API, the CLI and exports show, so an account learns
-- nothing of another's activity from its ids. The install-wide id stays as
-- the row's key (it orders an export of every account oldest first) and is
-- never shown.
ALTER TABLE audit_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE audit_events SET seq = r.n
FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY id) AS n FROM audit_events) AS r
WHERE audit_events.id = r.id;
-- The indexes follow: pages, filters and the chain's end are read by seq.
DROP INDEX audit_events_by_account;
CREATE UNIQUE INDEX audit_events_by_account ON audit_events (account_id, seq);
DROP INDEX audit_events_by_actor;
CREATE INDEX audit_events_by_actor ON audit_events (account_id, actor_type, actor_id, seq);
DROP INDEX audit_events_by_target;
CREATE INDEX audit_events_by_target ON audit_events (account_id, target_type, target_id, seq);
-- The hashes are recomputed in Go right after this file, in the same
-- transaction (relinkAuditChains in store/auditlog.go): SQLite has no
-- SHA-256, and the hash covers the actor as Go encodes it.
