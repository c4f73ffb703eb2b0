-- Sessions a person can see and end: where each was last used from and
-- when (for the account's idle timeout). And the account's session limits
-- in its sign-in policy, in minutes (0: the default lifetime, no idle
-- timeout).
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_seen_at = created_at;
ALTER TABLE signin_policies ADD COLUMN idle_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signin_policies ADD COLUMN lifetime_minutes INTEGER NOT NULL DEFAULT 0;
