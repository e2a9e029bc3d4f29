-- Version 16: review detection finds one person captured twice by any number they carry
-- (issue 11; shared/domain/REVIEW.md §7 "duplicates across old CMND numbers").
--
-- review_numbers: one row per number a citizen record carries — the personal ID number, the
-- old CMND number (`old_id_number`) and each earlier ID number (`previous_id_numbers`) —
-- rewritten whenever detection indexes the citizen (server/src/review/store.rs). Two live
-- citizens sharing a row's number are a `duplicate_id_number` item.
CREATE TABLE IF NOT EXISTS review_numbers (
    number TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (number, record)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS review_numbers_record ON review_numbers (record);
-- Backfill: every stored citizen is queued for the review worker, which re-indexes it.
INSERT INTO review_queue (record, queued_ms)
SELECT id, 0 FROM records WHERE kind = 'citizen'
ON CONFLICT (record) DO NOTHING;
