-- Issue 16, item 5: blocklist entries keyed by a blocklist key of their own (admins hold it; a
-- desk an admin enrolled keeps a copy bound to it), each with its legal basis and a retention
-- of its own. Rows written before this migration keep their blind-index digest (`keyed` 0):
-- they still match through the application's blind indexes, and an erasure re-keys them.
ALTER TABLE blocklist ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0 CHECK (keyed IN (0, 1));
ALTER TABLE blocklist ADD COLUMN legal_basis TEXT NOT NULL DEFAULT 'unrecorded'
    CHECK (legal_basis IN ('fraud_prevention', 'aml_record_keeping', 'card_network_rules',
                           'unrecorded'));
-- Epoch milliseconds after which the entry is deleted (NULL: kept until an admin sets one).
ALTER TABLE blocklist ADD COLUMN retain_until INTEGER;
-- The legacy rows get the default retention, five years from when they were added — and at
-- least a year from now, so an admin sees them listed before any goes.
UPDATE blocklist SET retain_until = max(added_at + 5 * 365 * 86400000,
                                        CAST(strftime('%s', 'now') AS INTEGER) * 1000
                                            + 365 * 86400000);
CREATE INDEX blocklist_by_retention ON blocklist (retain_until);
