-- Issue 16: access by keys. A record's keys are random, one per class of its fields, each
-- wrapped by its class key (`case`, `identifiers`) or sealed to a public key (`secrets`: the
-- secrets class; `own`: the user the record belongs to). A class key's rotation re-wraps these
-- rows and never re-encrypts data. Deleting a record's rows crypto-shreds it.
--
-- Format-1 salts (record key = HKDF(root key, salt)) wait in legacy_record_keys until the
-- keyring upgrade at the first sign-in converts them (vault/src/upgrade.rs).
ALTER TABLE record_keys RENAME TO legacy_record_keys;

CREATE TABLE record_keys (
    record_id  TEXT NOT NULL,
    class      TEXT NOT NULL CHECK (class IN ('case', 'identifiers', 'secrets', 'own')),
    generation INTEGER NOT NULL DEFAULT 1,
    wrapped    BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (record_id, class)
) STRICT;

-- Each part is now two pieces: `masked` holds the whole part with its identifiers masked
-- (•••-••-6789) under the case key; `body` holds its identifiers alone under the identifiers key.
ALTER TABLE applications ADD COLUMN masked BLOB;
ALTER TABLE application_people ADD COLUMN masked BLOB;
ALTER TABLE bank_accounts ADD COLUMN masked BLOB;
