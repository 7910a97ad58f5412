-- Edits of a boarded merchant's details. A minor change (contact details, addresses, website)
-- is applied and sent to the platform at once ('applied'). A material change (tax id, legal
-- name, entity type, MCC, people, bank account) is kept in our record at once but reaches the
-- platform only once an underwriter other than its author accepts it ('pending' → 'accepted');
-- the details before it stay here, sealed with the application's key, so a rejection can put
-- them back. `fields` lists the changed field paths, never their values.
CREATE TABLE merchant_changes (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    fields         TEXT NOT NULL,
    material       INTEGER NOT NULL CHECK (material IN (0, 1)),
    previous       BLOB,
    state          TEXT NOT NULL CHECK (state IN ('applied', 'pending', 'accepted', 'rejected')),
    requested_by   TEXT NOT NULL,
    requested_at   INTEGER NOT NULL,
    decided_by     TEXT,
    decided_at     INTEGER
) STRICT;
CREATE UNIQUE INDEX merchant_one_pending_change ON merchant_changes (application_id)
    WHERE state = 'pending';
CREATE INDEX merchant_changes_by_application ON merchant_changes (application_id, requested_at);
