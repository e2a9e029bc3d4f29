-- Server schema version 12 on PostgreSQL: the ID-number notice and VNeID columns of the
-- coverage index (../sqlite/0012_citizen_notice_vneid.sql, which explains them).
ALTER TABLE report_citizens ADD COLUMN id_notified BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_citizens ADD COLUMN vneid_active BIGINT NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS report_citizens_coverage;
CREATE INDEX IF NOT EXISTS report_citizens_coverage ON report_citizens
    (unit, status, turns_14_on, has_id_number, id_notified, vneid_active,
     card_issued_on, card_expires_on, card_due_age);
-- Backfill: existing citizens are re-indexed by the review worker.
INSERT INTO review_queue (record, queued_ms)
SELECT id, 0 FROM records WHERE kind = 'citizen'
ON CONFLICT (record) DO NOTHING;
