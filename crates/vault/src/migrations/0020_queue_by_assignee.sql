-- Issue 17: "mine" in the review queue, and "next in queue", which looks at the caller's own
-- assignments first. Without it, an underwriter with nothing assigned walks every queued row
-- to find none (about 300 ms per "Next" over a queue of 20,000; docs/BENCHMARKS.md). Partial:
-- only the few assigned rows are in it.
CREATE INDEX applications_queue_by_assignee
    ON applications (assignee, in_queue, risk_score DESC, submitted_at, id)
    WHERE assignee IS NOT NULL;
