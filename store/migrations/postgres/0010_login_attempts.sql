-- A sign-in attempt is counted before its password is checked, so that
-- guesses made in parallel cannot all pass the limit; a successful attempt
-- then takes its own row back. The attempt's random id names that row.
ALTER TABLE login_failures ADD COLUMN attempt BIGINT NOT NULL DEFAULT 0;
