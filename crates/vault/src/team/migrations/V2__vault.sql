-- The vault's tables in the team store: the local schema (crates/vault/src/migrations, through
-- 0018) in PostgreSQL's types, so the repositories' one SQL runs on both (docs/adr/0001).
-- INTEGER → BIGINT, BLOB → BYTEA, REAL → DOUBLE PRECISION; flags stay integers (0/1).
-- Left out: `legacy_record_keys` (format 1 was local only) and the audit tables (V1).
--
-- NOT YET ZERO-KNOWLEDGE: `applications.legal_name`, `legal_name_key`, `dba` and `dba_key` are
-- still clear text, as in the local file. Issue 17 seals them (with blind name tokens) before a
-- team can board a merchant on this store; until then `desk team create` is not offered.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'lead', 'underwriter', 'auditor')),
    disabled             BIGINT NOT NULL DEFAULT 0,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    totp_secret          BYTEA,
    totp_confirmed       BIGINT NOT NULL DEFAULT 0,
    totp_last_step       BIGINT,
    created_at           TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL,
    last_login_at        TEXT,
    created_by           TEXT
);

CREATE TABLE record_keys (
    record_id  TEXT NOT NULL,
    class      TEXT NOT NULL CHECK (class IN ('case', 'identifiers', 'secrets', 'own')),
    generation BIGINT NOT NULL DEFAULT 1,
    wrapped    BYTEA NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (record_id, class)
);

CREATE TABLE applications (
    id                  TEXT PRIMARY KEY,
    status              TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'in_review',
                            'info_requested', 'approved', 'declined', 'boarding', 'boarded',
                            'boarding_failed', 'withdrawn')),
    legal_name          TEXT NOT NULL,
    -- Compared as code points (prefix ranges end in U+10FFFF), whatever the database's locale.
    legal_name_key      TEXT COLLATE "C" NOT NULL,
    dba                 TEXT NOT NULL,
    dba_key             TEXT COLLATE "C" NOT NULL,
    entity_type         TEXT NOT NULL,
    mcc                 TEXT NOT NULL,
    people_count        BIGINT NOT NULL,
    source              TEXT NOT NULL CHECK (source IN ('wizard', 'import', 'demo')),
    created_by          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    submitted_at        BIGINT,
    version             BIGINT NOT NULL,
    body                BYTEA NOT NULL,
    screened_with       TEXT,
    open_hits           BIGINT NOT NULL DEFAULT 0,
    risk_score          BIGINT,
    risk_band           TEXT,
    assignee            TEXT,
    pending_approval_by TEXT,
    in_queue            BIGINT GENERATED ALWAYS AS
                            (CASE WHEN status IN ('submitted', 'in_review') THEN 1 ELSE 0 END) STORED,
    legal_hold          TEXT,
    erased_at           BIGINT,
    edited_by           TEXT,
    masked              BYTEA
);
CREATE INDEX applications_by_created ON applications (created_at DESC, id DESC);
CREATE INDEX applications_by_status ON applications (status, created_at DESC, id DESC);
CREATE INDEX applications_by_mcc ON applications (mcc, created_at DESC, id DESC);
CREATE INDEX applications_by_legal_name ON applications (legal_name_key);
CREATE INDEX applications_by_dba ON applications (dba_key);
CREATE INDEX applications_queue_by_risk
    ON applications (in_queue, risk_score DESC NULLS LAST, submitted_at NULLS FIRST, id);
CREATE INDEX applications_queue_by_age ON applications (in_queue, submitted_at NULLS FIRST, id);
CREATE INDEX applications_queue_with_hits
    ON applications (in_queue, risk_score DESC NULLS LAST, submitted_at NULLS FIRST, id)
    WHERE open_hits > 0;
CREATE INDEX applications_awaiting_second
    ON applications (in_queue, risk_score DESC NULLS LAST, submitted_at NULLS FIRST, id)
    WHERE pending_approval_by IS NOT NULL;

CREATE TABLE application_people (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    person_id      TEXT NOT NULL,
    position       BIGINT NOT NULL,
    body           BYTEA NOT NULL,
    masked         BYTEA,
    PRIMARY KEY (application_id, person_id)
);

CREATE TABLE bank_accounts (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    body           BYTEA NOT NULL,
    masked         BYTEA
);

CREATE TABLE blind_indexes (
    kind           TEXT NOT NULL CHECK (kind IN ('ein', 'ssn', 'bank_account', 'email', 'phone', 'address')),
    digest         BYTEA NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, digest, application_id)
);
CREATE INDEX blind_indexes_by_application ON blind_indexes (application_id);

CREATE TABLE documents (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('government_id', 'voided_check', 'articles',
                       'bank_statement', 'processing_statements')),
    media_type     TEXT NOT NULL CHECK (media_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size           BIGINT NOT NULL,
    sha256         BYTEA NOT NULL,
    file_name      BYTEA NOT NULL,
    content        BYTEA NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    BIGINT NOT NULL
);
CREATE INDEX documents_by_application ON documents (application_id, uploaded_at);

-- `rowid`: the order rows were written in, which the history's readers sort by (SQLite has
-- its own of that name).
CREATE TABLE application_history (
    rowid          BIGINT GENERATED ALWAYS AS IDENTITY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    at             BIGINT NOT NULL,
    actor          TEXT NOT NULL,
    from_status    TEXT,
    to_status      TEXT NOT NULL,
    note           TEXT
);
CREATE INDEX application_history_by_application ON application_history (application_id, at);

CREATE TABLE application_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL
);
CREATE FUNCTION count_applications() RETURNS trigger LANGUAGE plpgsql
    SET search_path = desk, pg_catalog AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE application_counts SET n = n - 1 WHERE status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO application_counts (status, n) VALUES (NEW.status, 1)
            ON CONFLICT (status) DO UPDATE SET n = application_counts.n + 1;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER application_counts_insert AFTER INSERT OR DELETE ON applications
    FOR EACH ROW EXECUTE FUNCTION count_applications();
CREATE TRIGGER application_counts_status AFTER UPDATE OF status ON applications
    FOR EACH ROW WHEN (NEW.status <> OLD.status) EXECUTE FUNCTION count_applications();

CREATE TABLE application_notes (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    author         TEXT NOT NULL,
    at             BIGINT NOT NULL,
    body           BYTEA NOT NULL
);
CREATE INDEX application_notes_by_application ON application_notes (application_id, at);

CREATE TABLE sanctions_lists (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL CHECK (source IN ('sdn', 'consolidated')),
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    entry_count BIGINT NOT NULL,
    name_count  BIGINT NOT NULL,
    files       TEXT NOT NULL,
    active      BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sanctions_lists_one_active ON sanctions_lists (source) WHERE active = 1;

CREATE TABLE sanctions_entries (
    list_id TEXT NOT NULL REFERENCES sanctions_lists (id) ON DELETE CASCADE,
    uid     TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (list_id, uid)
);

CREATE TABLE screening_hits (
    id               TEXT PRIMARY KEY,
    application_id   TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    subject          TEXT NOT NULL,
    subject_key      TEXT NOT NULL,
    list_uid         TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    score            DOUBLE PRECISION NOT NULL,
    detail           BYTEA NOT NULL,
    screened_with    TEXT NOT NULL,
    screened_at      BIGINT NOT NULL,
    disposition      TEXT CHECK (disposition IN ('true_match', 'false_positive')),
    disposition_note TEXT,
    disposed_by      TEXT,
    disposed_at      BIGINT
);
CREATE INDEX screening_hits_by_application ON screening_hits (application_id, score DESC);
CREATE UNIQUE INDEX screening_hits_one_per_entry
    ON screening_hits (application_id, subject_key, list_uid, fingerprint);

CREATE TABLE risk_assessments (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    assessed_at    BIGINT NOT NULL,
    score          BIGINT NOT NULL,
    band           TEXT NOT NULL CHECK (band IN ('low', 'medium', 'high')),
    recommendation TEXT NOT NULL,
    four_eyes      BIGINT NOT NULL,
    factors        TEXT NOT NULL,
    rules          TEXT NOT NULL
);

CREATE TABLE decisions (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('approve', 'second_approval', 'decline',
                       'request_info')),
    reasons        TEXT NOT NULL,
    note           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    at             BIGINT NOT NULL
);
CREATE INDEX decisions_by_application ON decisions (application_id, at);
CREATE INDEX decisions_by_time ON decisions (at);

CREATE TABLE blocklist (
    kind           TEXT NOT NULL CHECK (kind IN ('ein', 'ssn', 'bank_account')),
    digest         BYTEA NOT NULL,
    application_id TEXT,
    reason         TEXT NOT NULL,
    added_by       TEXT NOT NULL,
    added_at       BIGINT NOT NULL,
    keyed          BIGINT NOT NULL DEFAULT 0 CHECK (keyed IN (0, 1)),
    legal_basis    TEXT NOT NULL DEFAULT 'unrecorded'
                       CHECK (legal_basis IN ('fraud_prevention', 'aml_record_keeping',
                           'card_network_rules', 'unrecorded')),
    retain_until   BIGINT,
    PRIMARY KEY (kind, digest)
);
CREATE INDEX blocklist_by_retention ON blocklist (retain_until);

CREATE TABLE boarding_jobs (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications (id),
    kind            TEXT NOT NULL CHECK (kind IN ('board', 'update', 'reject')),
    state           TEXT NOT NULL CHECK (state IN ('queued', 'retrying', 'needs_fix', 'done',
                        'cancelled')),
    step            TEXT NOT NULL,
    account_id      TEXT,
    persons         TEXT NOT NULL DEFAULT '[]',
    payload         BYTEA,
    attempts        BIGINT NOT NULL DEFAULT 0,
    total_attempts  BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    error_kind      TEXT,
    error_message   BYTEA,
    error_field     TEXT,
    error_param     TEXT,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    lease_token     TEXT
);
CREATE UNIQUE INDEX boarding_one_board_job ON boarding_jobs (application_id) WHERE kind = 'board';
CREATE INDEX boarding_due ON boarding_jobs (next_attempt_at) WHERE state IN ('queued', 'retrying');
CREATE INDEX boarding_by_state ON boarding_jobs (state, updated_at);
CREATE INDEX boarding_by_application ON boarding_jobs (application_id, created_at);

CREATE TABLE boarding_requests (
    job_id          TEXT NOT NULL REFERENCES boarding_jobs (id) ON DELETE CASCADE,
    step            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    fingerprint     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (job_id, step)
);

CREATE TABLE merchants (
    application_id    TEXT PRIMARY KEY REFERENCES applications (id),
    account_id        TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'restricted', 'suspended', 'terminated')),
    charges_enabled   BIGINT NOT NULL DEFAULT 0,
    payouts_enabled   BIGINT NOT NULL DEFAULT 0,
    requirements      TEXT NOT NULL DEFAULT '{}',
    capabilities      TEXT NOT NULL DEFAULT '{}',
    persons           TEXT NOT NULL DEFAULT '[]',
    open_requirements BIGINT NOT NULL DEFAULT 0,
    boarded_at        BIGINT NOT NULL,
    synced_at         BIGINT,
    review_reason     TEXT,
    review_since      BIGINT,
    status_reason     TEXT,
    status_changed_at BIGINT,
    status_changed_by TEXT,
    monthly_cap_cents BIGINT,
    max_ticket_cents  BIGINT
);
CREATE INDEX merchants_by_sync ON merchants (synced_at);
CREATE INDEX merchants_in_review ON merchants (review_since) WHERE review_reason IS NOT NULL;

CREATE TABLE erasure_requests (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    at             BIGINT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('erased', 'refused_retention', 'refused_hold',
                        'refused_active', 'refused_erased')),
    possible_from  BIGINT,
    source         TEXT NOT NULL CHECK (source IN ('request', 'retention_run'))
);
CREATE INDEX erasure_requests_by_application ON erasure_requests (application_id, at);

CREATE TABLE merchant_changes (
    rowid          BIGINT GENERATED ALWAYS AS IDENTITY,
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    fields         TEXT NOT NULL,
    material       BIGINT NOT NULL CHECK (material IN (0, 1)),
    previous       BYTEA,
    state          TEXT NOT NULL CHECK (state IN ('applied', 'pending', 'accepted', 'rejected')),
    requested_by   TEXT NOT NULL,
    requested_at   BIGINT NOT NULL,
    decided_by     TEXT,
    decided_at     BIGINT
);
CREATE UNIQUE INDEX merchant_one_pending_change ON merchant_changes (application_id)
    WHERE state = 'pending';
CREATE INDEX merchant_changes_by_application ON merchant_changes (application_id, requested_at);

-- The desks' role: read and write the vault's tables, nothing else (the audit tables' grants
-- are V1's). No DELETE on the erasure records: they prove what was erased.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    meta, settings, users, record_keys, applications, application_people, bank_accounts,
    blind_indexes, documents, application_history, application_counts, application_notes,
    sanctions_lists, sanctions_entries, screening_hits, risk_assessments, decisions, blocklist,
    boarding_jobs, boarding_requests, merchants, merchant_changes
    TO boarding_desk_app;
GRANT SELECT, INSERT ON erasure_requests TO boarding_desk_app;
