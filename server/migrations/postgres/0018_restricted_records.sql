-- Server schema version 18 on PostgreSQL: restricted records
-- (../sqlite/0018_restricted_records.sql, which explains the column).
ALTER TABLE records ADD COLUMN restricted BIGINT NOT NULL DEFAULT 0;
DROP INDEX records_pull;
CREATE INDEX records_pull ON records (id, kind, unit, doc_len, restricted);
