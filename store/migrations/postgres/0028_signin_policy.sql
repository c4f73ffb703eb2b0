-- Second factors, part two: an account's sign-in policy, set by its Owner
-- or the operator. An account without a row requires nothing more than a
-- password. A session opened for a person who must enrol a second factor
-- first (an account of theirs requires two factors and they have none) is
-- marked enrol = 1: it opens only the person's own enrolment, and the mark
-- goes once they enrol.
CREATE TABLE signin_policies (
    account_id           BIGINT NOT NULL PRIMARY KEY REFERENCES accounts (id),
    require_two_factors  BIGINT NOT NULL DEFAULT 0 CHECK (require_two_factors IN (0, 1))
);
ALTER TABLE sessions ADD COLUMN enrol BIGINT NOT NULL DEFAULT 0;
