-- Blind indexes on normalised addresses (duplicate detection: "same address"). SQLite cannot
-- change a CHECK constraint in place: the table is rebuilt with the same rows.
CREATE TABLE blind_indexes_next (
    kind           TEXT NOT NULL CHECK (kind IN ('ein', 'ssn', 'bank_account', 'email', 'phone', 'address')),
    digest         BLOB NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, digest, application_id)
) STRICT, WITHOUT ROWID;
INSERT INTO blind_indexes_next (kind, digest, application_id)
SELECT kind, digest, application_id FROM blind_indexes;
DROP TABLE blind_indexes;
ALTER TABLE blind_indexes_next RENAME TO blind_indexes;
CREATE INDEX blind_indexes_by_application ON blind_indexes (application_id);
