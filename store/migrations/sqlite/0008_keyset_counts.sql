-- How many keysets each account holds, kept by triggers: listing keysets
-- answers their total, and counting a million index entries at every
-- request would cost more than the page itself. Derived data: copy skips
-- it, and the triggers rebuild it in the copy.
CREATE TABLE keyset_counts (
    account_id  INTEGER PRIMARY KEY,
    n           INTEGER NOT NULL
);
INSERT INTO keyset_counts (account_id, n) SELECT account_id, count(*) FROM keysets GROUP BY account_id;

CREATE TRIGGER keysets_counted AFTER INSERT ON keysets BEGIN
    INSERT INTO keyset_counts (account_id, n) VALUES (NEW.account_id, 1)
        ON CONFLICT (account_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER keysets_uncounted AFTER DELETE ON keysets BEGIN
    UPDATE keyset_counts SET n = n - 1 WHERE account_id = OLD.account_id;
END;
