-- Version 9: the coverage report's index (server/src/reports/index.rs, reports/coverage.rs).
--
-- report_citizens: one row per citizen record, what the coverage report counts of it:
-- `status` (active, deceased, withdrawn, merged_into); `turns_14_on`, the day the citizen is
-- 14 at the latest (from the latest day a partial date of birth allows, so someone counted
-- 14+ is 14+ whatever the missing month or day); `has_id_number` 1 when the personal ID
-- number is recorded; `card_issued_on` and `card_expires_on`, the card recorded on the
-- citizen (`previous_card_issued_on`; `previous_card_expires_on`, else the expiry Identification
-- Law Art. 21 gives for the issue day and an exact date of birth; NULL when valid for life or
-- unknown); `card_due_age`, the exchange age (14/25/40/60) the expiry falls on, when the date of
-- birth is exact. All days are `YYYY-MM-DD` text and computed in Rust.
CREATE TABLE report_citizens (
    record TEXT PRIMARY KEY,
    unit TEXT NOT NULL,
    status TEXT NOT NULL,
    turns_14_on TEXT,
    has_id_number INTEGER NOT NULL,
    card_issued_on TEXT,
    card_expires_on TEXT,
    card_due_age INTEGER,
    updated_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX report_citizens_unit ON report_citizens (unit, status);
CREATE INDEX report_citizens_card ON report_citizens (unit, card_expires_on);
-- report_dossiers gains: `citizen`, the citizen the dossier is for (`citizen_id`);
-- `registration`, the registration a declaration acts on (`registration_id`: extended or
-- removed); `expires_on`, the last day of a temporary registration or extension (`to_date`).
ALTER TABLE report_dossiers ADD COLUMN citizen TEXT;
ALTER TABLE report_dossiers ADD COLUMN registration TEXT;
ALTER TABLE report_dossiers ADD COLUMN expires_on TEXT;
CREATE INDEX report_dossiers_citizen ON report_dossiers (citizen);
CREATE INDEX report_dossiers_registration ON report_dossiers (registration);
CREATE INDEX report_dossiers_expiry ON report_dossiers (expires_on);
-- Backfill: every citizen, application and declaration stored before this version is queued
-- for the review worker, which re-indexes it (filling the new rows and columns) as it serves.
INSERT INTO review_queue (record, queued_ms)
SELECT id, 0 FROM records
 WHERE kind IN ('citizen', 'cccd_application', 'residence_declaration')
ON CONFLICT (record) DO NOTHING;
