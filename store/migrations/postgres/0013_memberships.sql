-- People in several accounts. A row of users is a person: one e-mail and
-- one password. What they may do in an account is a membership, with the
-- role they hold there. users.account_id and users.role keep the account a
-- person was first added to and the role given there; nothing reads them.
-- A session is in one of its person's accounts, chosen at sign-in and
-- changed by the account switcher.
-- Numbered 0013: 0011 and 0012 belong to other changes; the runner applies
-- every file it has not applied yet, in order.
CREATE TABLE memberships (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'viewer', 'app-admin', 'app-viewer', 'key-admin', 'key-viewer')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id, account_id);
INSERT INTO memberships (account_id, user_id, role, created_at)
    SELECT account_id, id, role, created_at FROM users;

ALTER TABLE sessions ADD COLUMN account_id BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET account_id = (SELECT u.account_id FROM users u WHERE u.id = sessions.user_id);
