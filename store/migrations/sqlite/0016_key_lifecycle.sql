-- Key lifecycle (issue 19). An integration may be suspended (its keys are
-- refused, nothing is deleted) and may name the client networks its keys
-- are allowed from (a JSON array of CIDRs; NULL: anywhere). A key rolled
-- to a new one names it in replaced_by, its expires_at moved to the end of
-- the overlap. A key's last use keeps the client address and User-Agent
-- beside its time, written at most once a minute per key and server.
-- Numbered 0016-0018: the numbers given to this change.
ALTER TABLE integrations ADD COLUMN suspended_at INTEGER;
ALTER TABLE integrations ADD COLUMN networks TEXT;
ALTER TABLE api_keys ADD COLUMN replaced_by INTEGER;
ALTER TABLE api_keys ADD COLUMN last_used_from TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_agent TEXT;
