-- Server schema version 7 on PostgreSQL: device sync health and per-user activity
-- (../sqlite/0007_reports_activity.sql, which explains the columns).
CREATE TABLE device_health (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    failures BIGINT NOT NULL DEFAULT 0,
    first_failure_ms BIGINT,
    last_failure_ms BIGINT,
    last_failure_status BIGINT
);
CREATE TABLE report_activity (
    day TEXT NOT NULL,
    "user" TEXT NOT NULL,
    metric TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, "user", metric)
);
CREATE TABLE report_record_origin (
    record TEXT PRIMARY KEY,
    creator TEXT NOT NULL,
    last_editor TEXT NOT NULL
);
