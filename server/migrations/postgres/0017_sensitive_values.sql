-- Server schema version 17 on PostgreSQL: sensitive values kept apart from record documents
-- (../sqlite/0017_sensitive_values.sql, which explains the tables).
CREATE TABLE IF NOT EXISTS sensitive_values (
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    written_by TEXT NOT NULL,
    device TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (record, field)
);
CREATE TABLE IF NOT EXISTS sensitive_writes (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT,
    written_by TEXT NOT NULL,
    device TEXT NOT NULL,
    written_ms BIGINT NOT NULL,
    applied_ms BIGINT NOT NULL,
    redacted BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sensitive_writes_record ON sensitive_writes (record, applied_ms);
