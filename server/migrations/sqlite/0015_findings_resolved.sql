-- Version 15: the data-quality trend shows findings fixed, not only findings still open.
--
-- report_findings kept only the findings a record carries now: a finding corrected was
-- deleted, so a ward that cleaned its data showed nothing for it in past periods. Now a
-- finding that goes away keeps its row with `resolved_on` (the Vietnam day it went; NULL
-- while the record still carries it), and one that comes back opens again from that day.
-- The quality report counts per period the findings new, fixed and open at its end
-- (server/src/reports/quality.rs); the covering index carries the day.
ALTER TABLE report_findings ADD COLUMN resolved_on TEXT;
DROP INDEX IF EXISTS report_findings_unit_code_seen;
CREATE INDEX IF NOT EXISTS report_findings_unit_code_days ON report_findings
    (unit, code, first_seen_on, resolved_on);
