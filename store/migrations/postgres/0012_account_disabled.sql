-- An operator disables an account (keyplane admin disable-account): its
-- keys and sign-ins are refused while this holds the time it was done, and
-- nothing it holds is deleted. NULL: enabled.
ALTER TABLE accounts ADD COLUMN disabled_at BIGINT;
