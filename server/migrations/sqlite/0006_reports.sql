-- Version 6: the report index, kept as records change (server/src/reports/index.rs), so the
-- leadership reports count rows instead of loading documents.
--
-- report_dossiers: one row per CCCD application and residence declaration. `procedure` is the
-- application's request type or the declaration's (effective) procedure; `outcome` folds the
-- status into in_progress / granted / refused / withdrawn; `period_on` is the day a report
-- counts the dossier in: `filed_on` when the dossier has one, else the Vietnam day the server
-- first indexed it (device clocks are not trusted). `due_on` is the recorded due day, else
-- the procedure's legal time limit in working days from `filed_on`. `decision_days` is decided_on − filed_on
-- in days, computed in Rust (no engine-specific date functions).
CREATE TABLE report_dossiers (
    record TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    procedure TEXT NOT NULL,
    unit TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    period_on TEXT NOT NULL,
    filed_on TEXT,
    due_on TEXT,
    decided_on TEXT,
    decision_days INTEGER,
    first_seen_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX report_dossiers_unit_period ON report_dossiers (unit, period_on);
-- report_findings: the data-quality findings a record carries now (one row per record and
-- finding code), with the day the finding was first seen.
CREATE TABLE report_findings (
    record TEXT NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    first_seen_on TEXT NOT NULL,
    PRIMARY KEY (record, code)
) STRICT, WITHOUT ROWID;
CREATE INDEX report_findings_unit ON report_findings (unit, code);
