-- Usage: one value per keyset, metric and day (days since 1970-01-01 UTC;
-- metrics by their code, keyplane.MetricCode), and rollups per app and per
-- account kept in the same transaction, so a total never scans keysets.
-- No foreign keys: the usage of a deleted keyset or app stays in the totals
-- it was part of, until retention removes it, and ids are never reused.

CREATE TABLE usage_keyset_daily (
    keyset_id  BIGINT  NOT NULL,
    metric     SMALLINT NOT NULL,
    day        INTEGER NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (keyset_id, metric, day)
);

CREATE TABLE usage_app_daily (
    app_id     BIGINT  NOT NULL,
    metric     SMALLINT NOT NULL,
    day        INTEGER NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (app_id, metric, day)
);

CREATE TABLE usage_account_daily (
    account_id BIGINT  NOT NULL,
    metric     SMALLINT NOT NULL,
    day        INTEGER NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, metric, day)
);

-- Retention deletes by day.
CREATE INDEX usage_keyset_daily_by_day ON usage_keyset_daily (day);
CREATE INDEX usage_app_daily_by_day ON usage_app_daily (day);
CREATE INDEX usage_account_daily_by_day ON usage_account_daily (day);
