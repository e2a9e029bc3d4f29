-- Version 12: the coverage report counts citizens not yet told their personal ID number
-- (seed plan 4.6) and VNeID accounts (seed plan 2.3), from the citizen fields
-- `id_number_notified_on` and `vneid_level` that record them (sync-core model, schema.md).
--
-- report_citizens gains `id_notified` (1 when `id_number_notified_on` is recorded) and
-- `vneid_active` (1 when `vneid_level` is `level_1` or `level_2`); the coverage index carries
-- them so the report still answers from the index alone (version 11).
-- IF [NOT] EXISTS on the index: the upgrade tests rewind a database and migrate again.
ALTER TABLE report_citizens ADD COLUMN id_notified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_citizens ADD COLUMN vneid_active INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS report_citizens_coverage;
CREATE INDEX IF NOT EXISTS report_citizens_coverage ON report_citizens
    (unit, status, turns_14_on, has_id_number, id_notified, vneid_active,
     card_issued_on, card_expires_on, card_due_age);
-- Backfill: every stored citizen is queued for the review worker, which re-indexes it
-- (filling the two columns) as it serves.
INSERT INTO review_queue (record, queued_ms)
SELECT id, 0 FROM records WHERE kind = 'citizen'
ON CONFLICT (record) DO NOTHING;
