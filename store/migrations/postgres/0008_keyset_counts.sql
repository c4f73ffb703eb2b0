-- How many keysets each account holds, kept by triggers: listing keysets
-- answers their total, and counting a million index entries at every
-- request would cost more than the page itself. Derived data: copy skips
-- it, and the triggers rebuild it in the copy.
CREATE TABLE keyset_counts (
    account_id  BIGINT PRIMARY KEY,
    n           BIGINT NOT NULL
);
INSERT INTO keyset_counts (account_id, n) SELECT account_id, count(*) FROM keysets GROUP BY account_id;

CREATE FUNCTION keysets_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO keyset_counts (account_id, n) VALUES (NEW.account_id, 1)
            ON CONFLICT (account_id) DO UPDATE SET n = keyset_counts.n + 1;
    ELSE
        UPDATE keyset_counts SET n = n - 1 WHERE account_id = OLD.account_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER keysets_counted AFTER INSERT OR DELETE ON keysets
    FOR EACH ROW EXECUTE FUNCTION keysets_count();
