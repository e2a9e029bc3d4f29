-- Version 17: sensitive values kept apart from record documents (docs/protocol.md §12;
-- docs/adr/rights-sensitive-fields-and-redaction.md, Decision 1).
--
-- A sensitive field (docs/schema.md, class "sensitive": religion, ethnicity, blood type, the
-- biometrics flags) never enters a record's Automerge document, so it never reaches a phone
-- in a snapshot or a history. Devices send each value once, as a sensitive write beside
-- their changes; the server keeps it here and shows it only to roles that read sensitive
-- data (staff, admins), each read audited.
--
-- sensitive_values: the current value of each field of each record (JSON text, as the
-- admin API shows it), with who wrote it last and when.
CREATE TABLE IF NOT EXISTS sensitive_values (
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    written_by TEXT NOT NULL,
    device TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (record, field)
) STRICT, WITHOUT ROWID;
-- sensitive_writes: every write, in the order applied (the history the subject-access report
-- shows, and the idempotency of a write re-sent after a lost reply: `id` is the device's).
-- `value` NULL: the write cleared the field, or a redaction removed the value (`redacted`).
CREATE TABLE IF NOT EXISTS sensitive_writes (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT,
    written_by TEXT NOT NULL,
    device TEXT NOT NULL,
    written_ms INTEGER NOT NULL,
    applied_ms INTEGER NOT NULL,
    redacted INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX IF NOT EXISTS sensitive_writes_record ON sensitive_writes (record, applied_ms);
