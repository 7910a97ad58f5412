-- Applications, their people, bank account, documents and history. Names used for search and
-- listing are columns (the whole file is encrypted); tax ids, SSNs, account numbers, people and
-- documents are sealed again per application (record key = the application id), so one
-- application can be crypto-shredded. Blind indexes (keyed HMACs) find equal values.
CREATE TABLE applications (
    id             TEXT PRIMARY KEY,
    status         TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'in_review',
                       'info_requested', 'approved', 'declined', 'boarding', 'boarded',
                       'boarding_failed', 'withdrawn')),
    legal_name     TEXT NOT NULL,
    legal_name_key TEXT NOT NULL,
    dba            TEXT NOT NULL,
    dba_key        TEXT NOT NULL,
    entity_type    TEXT NOT NULL,
    mcc            TEXT NOT NULL,
    people_count   INTEGER NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('wizard', 'import', 'demo')),
    created_by     TEXT NOT NULL,
    created_at     INTEGER NOT NULL, -- unix milliseconds
    updated_at     INTEGER NOT NULL,
    submitted_at   INTEGER,
    version        INTEGER NOT NULL,
    body           BLOB NOT NULL     -- sealed: business profile and terms acceptance
) STRICT;
CREATE INDEX applications_by_created ON applications (created_at DESC, id DESC);
CREATE INDEX applications_by_status ON applications (status, created_at DESC, id DESC);
CREATE INDEX applications_by_mcc ON applications (mcc, created_at DESC, id DESC);
CREATE INDEX applications_by_legal_name ON applications (legal_name_key);
CREATE INDEX applications_by_dba ON applications (dba_key);

CREATE TABLE application_people (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    person_id      TEXT NOT NULL,
    position       INTEGER NOT NULL,
    body           BLOB NOT NULL, -- sealed: the whole person
    PRIMARY KEY (application_id, person_id)
) STRICT;

CREATE TABLE bank_accounts (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    body           BLOB NOT NULL -- sealed
) STRICT;

CREATE TABLE blind_indexes (
    kind           TEXT NOT NULL CHECK (kind IN ('ein', 'ssn', 'bank_account', 'email', 'phone')),
    digest         BLOB NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, digest, application_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX blind_indexes_by_application ON blind_indexes (application_id);

CREATE TABLE documents (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('government_id', 'voided_check', 'articles',
                       'bank_statement', 'processing_statements')),
    media_type     TEXT NOT NULL CHECK (media_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size           INTEGER NOT NULL,
    sha256         BLOB NOT NULL,
    file_name      BLOB NOT NULL, -- sealed (a file name can carry a person's name)
    content        BLOB NOT NULL, -- sealed
    uploaded_by    TEXT NOT NULL,
    uploaded_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX documents_by_application ON documents (application_id, uploaded_at);

CREATE TABLE application_history (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    at             INTEGER NOT NULL,
    actor          TEXT NOT NULL,
    from_status    TEXT,
    to_status      TEXT NOT NULL,
    note           TEXT
) STRICT;
CREATE INDEX application_history_by_application ON application_history (application_id, at);

-- How many applications are in each status, kept by triggers: the list's total and the
-- dashboard's counts without scanning 100,000 rows.
CREATE TABLE application_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) STRICT;
CREATE TRIGGER application_counts_insert AFTER INSERT ON applications BEGIN
    INSERT INTO application_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER application_counts_delete AFTER DELETE ON applications BEGIN
    UPDATE application_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER application_counts_status AFTER UPDATE OF status ON applications
    WHEN NEW.status <> OLD.status BEGIN
    UPDATE application_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO application_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
