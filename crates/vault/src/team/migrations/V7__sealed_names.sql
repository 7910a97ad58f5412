-- Issue 17: the legal name and DBA sealed under the application's case key, searched through
-- keyed word-prefix tokens (the local vault's migration 0019 says the same). New rows write ''
-- to the old clear columns.
ALTER TABLE applications ADD COLUMN names BYTEA;
CREATE TABLE name_tokens (
    token          BYTEA NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (token, application_id)
);
CREATE INDEX name_tokens_by_application ON name_tokens (application_id);
CREATE INDEX applications_unsealed_names ON applications (id) WHERE names IS NULL;

GRANT SELECT, INSERT, DELETE ON name_tokens TO boarding_desk_app;
