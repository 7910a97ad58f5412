-- Internal notes on an application (underwriters' working notes). The text is sealed with the
-- application's record key, so erasing the application shreds its notes too.
CREATE TABLE application_notes (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    author         TEXT NOT NULL,
    at             INTEGER NOT NULL,
    body           BLOB NOT NULL
) STRICT;
CREATE INDEX application_notes_by_application ON application_notes (application_id, at);
