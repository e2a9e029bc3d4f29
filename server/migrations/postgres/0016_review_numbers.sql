-- Server schema version 16 on PostgreSQL: every number a citizen carries, for duplicate
-- detection (../sqlite/0016_review_numbers.sql, which explains it).
CREATE TABLE IF NOT EXISTS review_numbers (
    number TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (number, record)
);
CREATE INDEX IF NOT EXISTS review_numbers_record ON review_numbers (record);
INSERT INTO review_queue (record, queued_ms)
SELECT id, 0 FROM records WHERE kind = 'citizen'
ON CONFLICT (record) DO NOTHING;
