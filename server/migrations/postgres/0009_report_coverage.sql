-- Server schema version 9 on PostgreSQL: the coverage report's index
-- (../sqlite/0009_report_coverage.sql, which explains the columns).
CREATE TABLE report_citizens (
    record TEXT PRIMARY KEY,
    unit TEXT NOT NULL,
    status TEXT NOT NULL,
    turns_14_on TEXT,
    has_id_number BIGINT NOT NULL,
    card_issued_on TEXT,
    card_expires_on TEXT,
    card_due_age BIGINT,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX report_citizens_unit ON report_citizens (unit, status);
CREATE INDEX report_citizens_card ON report_citizens (unit, card_expires_on);
ALTER TABLE report_dossiers ADD COLUMN citizen TEXT;
ALTER TABLE report_dossiers ADD COLUMN registration TEXT;
ALTER TABLE report_dossiers ADD COLUMN expires_on TEXT;
CREATE INDEX report_dossiers_citizen ON report_dossiers (citizen);
CREATE INDEX report_dossiers_registration ON report_dossiers (registration);
CREATE INDEX report_dossiers_expiry ON report_dossiers (expires_on);
-- Backfill: existing citizens, applications and declarations are re-indexed by the review
-- worker.
INSERT INTO review_queue (record, queued_ms)
SELECT id, 0 FROM records
 WHERE kind IN ('citizen', 'cccd_application', 'residence_declaration')
ON CONFLICT (record) DO NOTHING;
