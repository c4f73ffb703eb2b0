-- How many keysets each account holds in each run of 4096 ids, kept by
-- triggers: a deep page of the account-wide keyset list finds its first
-- keyset by adding up these counts (250 rows for a million keysets)
-- instead of stepping over every keyset before it with OFFSET.
-- The width 4096 is keysetBucketWidth in store.go; both must change
-- together. Derived data: copy skips it, and the triggers rebuild it in
-- the copy. An empty bucket's row is removed, so the rows stay few when
-- keysets come and go.
CREATE TABLE keyset_buckets (
    account_id  INTEGER NOT NULL,
    bucket      INTEGER NOT NULL, -- id / 4096
    n           INTEGER NOT NULL,
    PRIMARY KEY (account_id, bucket)
) WITHOUT ROWID;
INSERT INTO keyset_buckets (account_id, bucket, n)
    SELECT account_id, id / 4096, count(*) FROM keysets GROUP BY account_id, id / 4096;

CREATE TRIGGER keysets_bucketed AFTER INSERT ON keysets BEGIN
    INSERT INTO keyset_buckets (account_id, bucket, n) VALUES (NEW.account_id, NEW.id / 4096, 1)
        ON CONFLICT (account_id, bucket) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER keysets_unbucketed AFTER DELETE ON keysets BEGIN
    UPDATE keyset_buckets SET n = n - 1 WHERE account_id = OLD.account_id AND bucket = OLD.id / 4096;
    DELETE FROM keyset_buckets WHERE account_id = OLD.account_id AND bucket = OLD.id / 4096 AND n = 0;
END;
