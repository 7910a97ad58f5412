-- A boarded merchant whose re-screening raised a new sanctions hit is flagged for review until
-- its hits are dispositioned (reason: a code, never a value).
ALTER TABLE merchants ADD COLUMN review_reason TEXT;
ALTER TABLE merchants ADD COLUMN review_since INTEGER;
CREATE INDEX merchants_in_review ON merchants (review_since) WHERE review_reason IS NOT NULL;
