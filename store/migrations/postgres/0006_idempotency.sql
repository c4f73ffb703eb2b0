-- Idempotency keys of POST requests (the Idempotency-Key header). A row is
-- written in the same transaction as the operation it guards, so a retry
-- after a crash finds it and never runs the operation twice. response is
-- empty until the answer is stored (in a second, later transaction); it is
-- the answer's status, headers and body as JSON, sealed under the
-- key-encryption key when the server has one (it may carry a secret key).
CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL,          -- who sent it: integration/ID or user/ID
    idem_key    TEXT    NOT NULL,
    fingerprint BYTEA   NOT NULL,          -- SHA-256 of method, path, query and canonical body
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    response    BYTEA   NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- The version of a keyset row, raised by every change of its name, type or
-- configuration: the ETag of the keyset and of its configuration, compared
-- with If-Match inside the write transaction.
ALTER TABLE keysets ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
