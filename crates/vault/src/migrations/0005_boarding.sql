-- Boarding: the durable outbox of platform jobs, one idempotency key per request, and the
-- platform's view of each boarded merchant.
CREATE TABLE boarding_jobs (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications (id),
    kind            TEXT NOT NULL CHECK (kind IN ('board', 'update', 'reject')),
    state           TEXT NOT NULL CHECK (state IN ('queued', 'retrying', 'needs_fix', 'done',
                        'cancelled')),
    -- 'account', 'person:N', 'provided', 'done' for boarding; 'send' for update/reject
    step            TEXT NOT NULL,
    account_id      TEXT,
    persons         TEXT NOT NULL DEFAULT '[]', -- JSON [[platform person id, person index]]
    payload         BLOB,     -- sealed JSON parameters of an update or reject job
    attempts        INTEGER NOT NULL DEFAULT 0, -- of the current step
    total_attempts  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    error_kind      TEXT,     -- network, busy, rate_limited, rejected, unauthorized, unsendable
    error_message   BLOB,     -- sealed: a platform message may quote what was sent
    error_field     TEXT,     -- our form field the platform (or our pre-check) named
    error_param     TEXT,     -- the platform's `param`
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER
) STRICT;
CREATE UNIQUE INDEX boarding_one_board_job ON boarding_jobs (application_id) WHERE kind = 'board';
CREATE INDEX boarding_due ON boarding_jobs (next_attempt_at) WHERE state IN ('queued', 'retrying');
CREATE INDEX boarding_by_state ON boarding_jobs (state, updated_at);

-- The idempotency key of each request, stored before its first attempt and sent on every retry.
CREATE TABLE boarding_requests (
    job_id          TEXT NOT NULL REFERENCES boarding_jobs (id) ON DELETE CASCADE,
    step            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    fingerprint     TEXT NOT NULL, -- SHA-256 of the parameters: a key never carries others
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (job_id, step)
) STRICT;

-- Boarded merchants: the platform account and what the platform last said about it (field
-- names and codes only, never values).
CREATE TABLE merchants (
    application_id    TEXT PRIMARY KEY REFERENCES applications (id),
    account_id        TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'restricted', 'suspended', 'terminated')),
    charges_enabled   INTEGER NOT NULL DEFAULT 0,
    payouts_enabled   INTEGER NOT NULL DEFAULT 0,
    requirements      TEXT NOT NULL DEFAULT '{}',
    capabilities      TEXT NOT NULL DEFAULT '{}',
    persons           TEXT NOT NULL DEFAULT '[]',
    open_requirements INTEGER NOT NULL DEFAULT 0,
    boarded_at        INTEGER NOT NULL,
    synced_at         INTEGER
) STRICT;
CREATE INDEX merchants_by_sync ON merchants (synced_at);
