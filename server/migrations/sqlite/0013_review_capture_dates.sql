-- Version 13: review detection reads each address unit code as of the day it was captured
-- (issue 11: "address unit codes are read as of the date they were captured").
--
-- review_index gains `captured_on`: a citizen's `captured_on`, a declaration's `filed_on`
-- (sync-core `model::captured_on`), so the residence check compares a citizen's permanent
-- unit and an accepted registration's unit each read on its own day: `07180` on a 2024 form
-- is old Xã Liên Hòa, on a 2026 form the ward.
ALTER TABLE review_index ADD COLUMN captured_on TEXT;
-- Backfill: every stored citizen and declaration is queued for the review worker, which
-- re-indexes it (filling the column) as it serves.
INSERT INTO review_queue (record, queued_ms)
SELECT id, 0 FROM records WHERE kind IN ('citizen', 'residence_declaration')
ON CONFLICT (record) DO NOTHING;
