-- Rows of one instant are read in the order they were written, on every desk: decisions,
-- internal notes and erasure records get the identity column `rowid` (as the history and the
-- merchant changes have since V2), which their readers sort by, as SQLite's own rowid.
ALTER TABLE decisions ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE application_notes ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE erasure_requests ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
