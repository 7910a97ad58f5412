-- Issue 17: the legal name and DBA sealed under the application's case key (JSON
-- `{legal_name, dba}`), searched through keyed word-prefix tokens (applications/names.rs), so a
-- team store never holds them in clear. The old columns stay (a STRICT table cannot drop a NOT
-- NULL column's requirement, and the team store's desks may not alter it): new rows write ''
-- to them, and a desk that signs in seals what an earlier version left there (`names IS NULL`).
ALTER TABLE applications ADD COLUMN names BLOB;
CREATE TABLE name_tokens (
    token          BLOB NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (token, application_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX name_tokens_by_application ON name_tokens (application_id);
CREATE INDEX applications_unsealed_names ON applications (id) WHERE names IS NULL;
