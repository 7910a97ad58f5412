-- Sanctions list versions (public data, stored as parsed entries) and screening hits (sealed
-- with the application's record key: a hit's explanation holds the applicant's name tokens).
CREATE TABLE sanctions_lists (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL CHECK (source IN ('sdn', 'consolidated')),
    imported_at INTEGER NOT NULL,
    imported_by TEXT NOT NULL,
    entry_count INTEGER NOT NULL,
    name_count  INTEGER NOT NULL,
    files       TEXT NOT NULL, -- JSON: [{name, sha256, rows, orphans}]
    active      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX sanctions_lists_one_active ON sanctions_lists (source) WHERE active = 1;

CREATE TABLE sanctions_entries (
    list_id TEXT NOT NULL REFERENCES sanctions_lists (id) ON DELETE CASCADE,
    uid     TEXT NOT NULL,
    body    TEXT NOT NULL, -- JSON of the parsed entry
    PRIMARY KEY (list_id, uid)
) STRICT;

-- Which list versions an application was last screened against (NULL: not yet screened).
ALTER TABLE applications ADD COLUMN screened_with TEXT;
ALTER TABLE applications ADD COLUMN open_hits INTEGER NOT NULL DEFAULT 0;

CREATE TABLE screening_hits (
    id               TEXT PRIMARY KEY,
    application_id   TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    subject          TEXT NOT NULL, -- form path of who was screened: business, people[1]
    subject_key      TEXT NOT NULL, -- stable across edits: business, person:<id>
    list_uid         TEXT NOT NULL, -- sdn:10278
    fingerprint      TEXT NOT NULL, -- of the list entry's names, dates, countries
    score            REAL NOT NULL,
    detail           BLOB NOT NULL, -- sealed JSON: matched name, alignment, adjustments
    screened_with    TEXT NOT NULL,
    screened_at      INTEGER NOT NULL,
    disposition      TEXT CHECK (disposition IN ('true_match', 'false_positive')),
    disposition_note TEXT,
    disposed_by      TEXT,
    disposed_at      INTEGER
) STRICT;
CREATE INDEX screening_hits_by_application ON screening_hits (application_id, score DESC);
CREATE UNIQUE INDEX screening_hits_one_per_entry
    ON screening_hits (application_id, subject_key, list_uid, fingerprint);
