-- GDPR erasure with AML retention: a legal hold per application, the time an application was
-- erased (reduced to a tombstone), and every erasure request with its outcome.
ALTER TABLE applications ADD COLUMN legal_hold TEXT;
ALTER TABLE applications ADD COLUMN erased_at INTEGER;
CREATE TABLE erasure_requests (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    at             INTEGER NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('erased', 'refused_retention', 'refused_hold',
                        'refused_active', 'refused_erased')),
    possible_from  INTEGER,
    source         TEXT NOT NULL CHECK (source IN ('request', 'retention_run'))
) STRICT;
CREATE INDEX erasure_requests_by_application ON erasure_requests (application_id, at);
