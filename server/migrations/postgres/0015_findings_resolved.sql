-- Server schema version 15 on PostgreSQL: findings fixed stay in the report index with the
-- day they went (../sqlite/0015_findings_resolved.sql, which explains it).
ALTER TABLE report_findings ADD COLUMN resolved_on TEXT;
DROP INDEX IF EXISTS report_findings_unit_code_seen;
CREATE INDEX IF NOT EXISTS report_findings_unit_code_days ON report_findings
    (unit, code, first_seen_on, resolved_on);
