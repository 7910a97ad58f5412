-- Underwriting: the latest risk assessment per application (factors kept, so every score can
-- be recomputed), the review queue's columns, decisions with reason codes, the blocklist.
ALTER TABLE applications ADD COLUMN risk_score INTEGER;
ALTER TABLE applications ADD COLUMN risk_band TEXT;
ALTER TABLE applications ADD COLUMN assignee TEXT;
-- The first approver of an application that needs a second, different one (four-eyes).
ALTER TABLE applications ADD COLUMN pending_approval_by TEXT;
-- 1 while the application waits in the review queue (submitted or in review): one indexable
-- value, so "the queue, riskiest first" walks an index instead of sorting 100,000 rows.
ALTER TABLE applications ADD COLUMN in_queue INTEGER
    GENERATED ALWAYS AS (status IN ('submitted', 'in_review')) VIRTUAL;
CREATE INDEX applications_queue_by_risk
    ON applications (in_queue, risk_score DESC, submitted_at, id);
CREATE INDEX applications_queue_by_age ON applications (in_queue, submitted_at, id);
-- The few applications with open hits, for the "with open hits" filter and its count.
CREATE INDEX applications_queue_with_hits
    ON applications (in_queue, risk_score DESC, submitted_at, id) WHERE open_hits > 0;
-- The few approvals waiting for a second approver.
CREATE INDEX applications_awaiting_second
    ON applications (in_queue, risk_score DESC, submitted_at, id)
    WHERE pending_approval_by IS NOT NULL;
-- (A risk band is a score range, so band filters read the same risk index; every index here
-- costs each import, so there are no more than the queue needs — docs/BENCHMARKS.md.)

CREATE TABLE risk_assessments (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    assessed_at    INTEGER NOT NULL,
    score          INTEGER NOT NULL,
    band           TEXT NOT NULL CHECK (band IN ('low', 'medium', 'high')),
    recommendation TEXT NOT NULL,
    four_eyes      INTEGER NOT NULL,
    factors        TEXT NOT NULL, -- JSON [{code, points, detail}]; details never hold KYC values
    rules          TEXT NOT NULL  -- JSON of the rule set used
) STRICT;

CREATE TABLE decisions (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('approve', 'second_approval', 'decline',
                       'request_info')),
    reasons        TEXT NOT NULL, -- JSON: reason codes, and for request_info the fields to fix
    note           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    at             INTEGER NOT NULL
) STRICT;
CREATE INDEX decisions_by_application ON decisions (application_id, at);
CREATE INDEX decisions_by_time ON decisions (at);

-- Identifiers of terminated or declined merchants and their owners (blind-index digests only).
CREATE TABLE blocklist (
    kind           TEXT NOT NULL CHECK (kind IN ('ein', 'ssn', 'bank_account')),
    digest         BLOB NOT NULL,
    application_id TEXT,
    reason         TEXT NOT NULL,
    added_by       TEXT NOT NULL,
    added_at       INTEGER NOT NULL,
    PRIMARY KEY (kind, digest)
) STRICT;
