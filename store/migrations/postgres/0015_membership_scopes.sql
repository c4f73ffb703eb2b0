-- The scope of a scoped role (App Admin / Viewer, Key Admin / Viewer): the
-- apps or keysets of the account its membership's rows name. A row per app
-- or keyset; an account-wide role has none. The rows go with their
-- membership. target_id has no foreign key (it names an app or a keyset,
-- by level), and none is needed: ids are never reused (0001), so a scope
-- naming a deleted app or keyset can never reach a new one, just as an
-- integration's permission row cannot.
-- Numbered 0015: 0014 belongs to another change; the runner applies every
-- file it has not applied yet, in order.
CREATE TABLE membership_scopes (
    account_id  BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL,
    level       TEXT    NOT NULL CHECK (level IN ('app', 'keyset')),
    target_id   BIGINT  NOT NULL,
    PRIMARY KEY (account_id, user_id, level, target_id),
    FOREIGN KEY (account_id, user_id) REFERENCES memberships (account_id, user_id) ON DELETE CASCADE
);
