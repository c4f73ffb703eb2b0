-- A keyset's uploaded push credential files (APNs .p8 key, FCM service
-- account), sealed under the KEK like secret keys; the configuration keeps
-- their names, never their content.
CREATE TABLE push_credentials (
    keyset_id   BIGINT  NOT NULL REFERENCES keysets (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('apns', 'fcm')),
    content     TEXT    NOT NULL,
    uploaded_at BIGINT  NOT NULL,
    PRIMARY KEY (keyset_id, kind)
);
