-- A keyset's metrics of one day lie side by side: the data plane reports
-- every metric of a keyset's day together, so a day's reports now change one
-- page per keyset instead of one per keyset and metric (ten times fewer
-- pages written for a batch of ten metrics). A keyset's query reads its days
-- in a range and keeps the metrics asked for, a few pages either way.
-- Columns keep their order (keyplane admin copy checks it).

CREATE TABLE usage_keyset_daily_0007 (
    keyset_id  INTEGER NOT NULL,
    metric     INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    value      REAL    NOT NULL,
    PRIMARY KEY (keyset_id, day, metric)
) WITHOUT ROWID;

INSERT INTO usage_keyset_daily_0007 (keyset_id, metric, day, value)
    SELECT keyset_id, metric, day, value FROM usage_keyset_daily ORDER BY keyset_id, day, metric;

DROP TABLE usage_keyset_daily;
ALTER TABLE usage_keyset_daily_0007 RENAME TO usage_keyset_daily;

-- Retention deletes by day.
CREATE INDEX usage_keyset_daily_by_day ON usage_keyset_daily (day);
