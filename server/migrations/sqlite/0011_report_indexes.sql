-- Version 11: every leadership report over 1 M dossiers from indexes and a rollup, not from
-- table rows (issue 12 item 6; figures in BENCHMARKS.md).
--
-- A profile of the reports at 1 M dossiers showed each statement seeking the table row behind
-- every index entry: the progress and completeness counts read kind, procedure, outcome and
-- the days of every dossier of the period (~0.5 M rows for a district-year), the findings
-- table the first-seen day of every finding. These indexes carry what each statement reads,
-- so SQLite answers from the index alone; where an old index is a prefix of a new one, it goes.
-- IF [NOT] EXISTS: the upgrade tests rewind a database to an older version and migrate again.
CREATE INDEX IF NOT EXISTS report_dossiers_progress ON report_dossiers
    (unit, period_on, kind, procedure, outcome, decision_days, due_on, decided_on, filed_on);
DROP INDEX IF EXISTS report_dossiers_unit_period;
CREATE INDEX IF NOT EXISTS report_findings_unit_code_seen ON report_findings
    (unit, code, first_seen_on);
DROP INDEX IF EXISTS report_findings_unit;
-- The coverage report: active citizens per unit with what it counts of them; a citizen's
-- card applications (kind, outcome, day) for its NOT EXISTS; cards issued per unit.
CREATE INDEX IF NOT EXISTS report_citizens_coverage ON report_citizens
    (unit, status, turns_14_on, has_id_number, card_issued_on, card_expires_on, card_due_age);
DROP INDEX IF EXISTS report_citizens_unit;
CREATE INDEX IF NOT EXISTS report_dossiers_citizen_applied ON report_dossiers
    (citizen, kind, outcome, period_on);
CREATE INDEX IF NOT EXISTS report_dossiers_unit_status ON report_dossiers (unit, kind, status);
-- report_activity_month: report_activity summed per Vietnam month ('YYYY-MM'), kept in the
-- same statement sequence as the daily row (reports/activity.rs), with the largest daily
-- count of the month (`max_day`: counts only grow, so the maximum can be kept as they do).
-- The officers and data-use reports read whole months here and only the days of a period's
-- partial months in report_activity: a year is 12 rows per user and metric, not 365.
CREATE TABLE IF NOT EXISTS report_activity_month (
    month TEXT NOT NULL,
    "user" TEXT NOT NULL,
    metric TEXT NOT NULL,
    n INTEGER NOT NULL,
    max_day INTEGER NOT NULL,
    PRIMARY KEY (month, "user", metric)
) STRICT, WITHOUT ROWID;
-- Backfill from the daily counts of a database made before this version.
INSERT INTO report_activity_month (month, "user", metric, n, max_day)
SELECT substr(day, 1, 7), "user", metric, SUM(n), MAX(n) FROM report_activity
 GROUP BY substr(day, 1, 7), "user", metric
ON CONFLICT (month, "user", metric) DO NOTHING;
