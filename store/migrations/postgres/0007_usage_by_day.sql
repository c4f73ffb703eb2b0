-- A keyset's metrics of one day lie side by side in the primary key's
-- index: the data plane reports every metric of a keyset's day together, so
-- a day's reports change one index page per keyset instead of one per keyset
-- and metric. (The SQLite migration of the same number rebuilds its table
-- the same way.)

ALTER TABLE usage_keyset_daily
    DROP CONSTRAINT usage_keyset_daily_pkey,
    ADD PRIMARY KEY (keyset_id, day, metric);
