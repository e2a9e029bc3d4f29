-- Server schema version 6 on PostgreSQL: the report index (../sqlite/0006_reports.sql, which
-- explains the columns; translation rules in 0001).
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
    decision_days BIGINT,
    first_seen_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX report_dossiers_unit_period ON report_dossiers (unit, period_on);
CREATE TABLE report_findings (
    record TEXT NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    first_seen_on TEXT NOT NULL,
    PRIMARY KEY (record, code)
);
CREATE INDEX report_findings_unit ON report_findings (unit, code);
