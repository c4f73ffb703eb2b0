-- An account's key policy, set by its Owner or the operator: the longest
-- lifetime of a new or rolled API key (NULL: the one-year ceiling), and
-- the days before a key's expiry at which notices are given ("14,3,1").
-- An account without a row has the defaults.
CREATE TABLE account_policies (
    account_id        BIGINT NOT NULL PRIMARY KEY REFERENCES accounts (id),
    max_key_lifetime  BIGINT,
    notice_days       TEXT   NOT NULL
);
