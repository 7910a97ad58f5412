-- Issue 17: "mine" in the review queue, and "next in queue", which looks at the caller's own
-- assignments first (the local vault's migration 0020 says the same). Partial: only the few
-- assigned rows are in it.
CREATE INDEX applications_queue_by_assignee
    ON applications (assignee, in_queue, risk_score DESC NULLS LAST, submitted_at NULLS FIRST, id)
    WHERE assignee IS NOT NULL;
