-- Server schema version 13 on PostgreSQL: the capture day of review_index rows
-- (../sqlite/0013_review_capture_dates.sql, which explains it).
ALTER TABLE review_index ADD COLUMN captured_on TEXT;
-- Backfill: existing citizens and declarations are re-indexed by the review worker.
INSERT INTO review_queue (record, queued_ms)
SELECT id, 0 FROM records WHERE kind IN ('citizen', 'residence_declaration')
ON CONFLICT (record) DO NOTHING;
