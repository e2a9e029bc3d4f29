-- Server schema version 14 on PostgreSQL: redaction by a new document lineage
-- (../sqlite/0014_record_lineage.sql, which explains the column and the tables).
ALTER TABLE records ADD COLUMN lineage BIGINT NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS redacted_changes (
    record TEXT NOT NULL,
    hash BYTEA NOT NULL,
    lineage BIGINT NOT NULL,
    PRIMARY KEY (record, hash)
);
CREATE TABLE IF NOT EXISTS record_redactions (
    record TEXT NOT NULL,
    lineage BIGINT NOT NULL,
    field TEXT NOT NULL,
    salt BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (record, lineage, hash)
);
