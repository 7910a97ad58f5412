-- Administering boarded merchants: why and when the status last changed, and our processing
-- limits (the platform has no per-account volume cap; we enforce ours and note them in the
-- account's metadata). Jobs of one merchant are sent in the order they were queued.
ALTER TABLE merchants ADD COLUMN status_reason TEXT;
ALTER TABLE merchants ADD COLUMN status_changed_at INTEGER;
ALTER TABLE merchants ADD COLUMN status_changed_by TEXT;
ALTER TABLE merchants ADD COLUMN monthly_cap_cents INTEGER;
ALTER TABLE merchants ADD COLUMN max_ticket_cents INTEGER;
CREATE INDEX boarding_by_application ON boarding_jobs (application_id, created_at);
