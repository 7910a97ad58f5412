-- The outbox lease: a job is leased by one UPDATE … RETURNING that sets a fresh token, and a
-- worker records its attempt only while it still holds that token (a late worker whose lease
-- ran out cannot overwrite the one that took the job after it).
ALTER TABLE boarding_jobs ADD COLUMN lease_token TEXT;
