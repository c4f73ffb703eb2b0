-- How many keysets each account holds in each run of 4096 ids, kept by
-- triggers: a deep page of the account-wide keyset list finds its first
-- keyset by adding up these counts (250 rows for a million keysets)
-- instead of stepping over every keyset before it with OFFSET.
-- The width 4096 is keysetBucketWidth in store.go; both must change
-- together. Derived data: copy skips it, and the triggers rebuild it in
-- the copy. An empty bucket's row is removed, so the rows stay few when
-- keysets come and go.
CREATE TABLE keyset_buckets (
    account_id  BIGINT NOT NULL,
    bucket      BIGINT NOT NULL, -- id / 4096
    n           BIGINT NOT NULL,
    PRIMARY KEY (account_id, bucket)
);
INSERT INTO keyset_buckets (account_id, bucket, n)
    SELECT account_id, id / 4096, count(*) FROM keysets GROUP BY account_id, id / 4096;

-- keysets_count (0008) keeps both tables, in one function: every writer
-- then locks the account's keyset_counts row before any bucket row, so two
-- transactions that add and remove keysets cannot lock buckets in opposite
-- orders and deadlock.
CREATE OR REPLACE FUNCTION keysets_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO keyset_counts (account_id, n) VALUES (NEW.account_id, 1)
            ON CONFLICT (account_id) DO UPDATE SET n = keyset_counts.n + 1;
        INSERT INTO keyset_buckets (account_id, bucket, n) VALUES (NEW.account_id, NEW.id / 4096, 1)
            ON CONFLICT (account_id, bucket) DO UPDATE SET n = keyset_buckets.n + 1;
    ELSE
        UPDATE keyset_counts SET n = n - 1 WHERE account_id = OLD.account_id;
        DELETE FROM keyset_buckets WHERE account_id = OLD.account_id AND bucket = OLD.id / 4096 AND n = 1;
        IF NOT FOUND THEN
            UPDATE keyset_buckets SET n = n - 1 WHERE account_id = OLD.account_id AND bucket = OLD.id / 4096;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
