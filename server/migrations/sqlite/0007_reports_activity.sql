-- Version 7: device sync health and per-user activity (officers and data-use reports).
--
-- device_health (server/src/reports/devices.rs): a successful exchange is recorded in
-- `devices` (status, last_seen_ms: accounts::touch_device); this table holds what fails:
-- exchanges of an authenticated device answered with an error, counted since the device's
-- last successful exchange (`failures`; the success deletes the row), with the first and
-- last failure time and the last HTTP status.
CREATE TABLE device_health (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    failures INTEGER NOT NULL DEFAULT 0,
    first_failure_ms INTEGER,
    last_failure_ms INTEGER,
    last_failure_status INTEGER
) STRICT, WITHOUT ROWID;
-- report_activity: what each user did per Vietnam day, counted as the audit trail is written
-- (server/src/reports/activity.rs): `metric` is created, edited, rejected:<code>, pulled,
-- read, read_outside or exported; `n` the count.
CREATE TABLE report_activity (
    day TEXT NOT NULL,
    "user" TEXT NOT NULL,
    metric TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (day, "user", metric)
) STRICT, WITHOUT ROWID;
-- report_record_origin: the user who first pushed each record (its creator) and the one who
-- pushed it last.
CREATE TABLE report_record_origin (
    record TEXT PRIMARY KEY,
    creator TEXT NOT NULL,
    last_editor TEXT NOT NULL
) STRICT, WITHOUT ROWID;
