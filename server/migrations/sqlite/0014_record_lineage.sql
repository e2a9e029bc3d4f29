-- Version 14: redaction of a wrongly entered value by a new document lineage
-- (docs/protocol.md §13; docs/adr/rights-sensitive-fields-and-redaction.md, Decision 2).
--
-- records.lineage: 0 for a record never redacted; each redaction (server/src/redact.rs)
-- replaces the record's document with a new one that shares no change with the old one, and
-- counts one up. The pull marks the snapshot of a newer lineage `replace` (the log row of kind
-- `lineage` in the record's unit tells which devices still hold an older copy).
ALTER TABLE records ADD COLUMN lineage INTEGER NOT NULL DEFAULT 0;
-- The hashes (never the bytes) of the changes a redaction dropped: a push of one of them, or
-- of a change that depends on one, is refused `lineage_replaced`, so the old lineage is never
-- stored again. `lineage` is the lineage the change belonged to.
CREATE TABLE IF NOT EXISTS redacted_changes (
    record TEXT NOT NULL,
    hash BLOB NOT NULL,
    lineage INTEGER NOT NULL,
    PRIMARY KEY (record, hash)
) STRICT, WITHOUT ROWID;
-- Each removed value as a salted SHA-256 (salt ‖ the value's bytes), sent to devices with
-- the replacing snapshot so that they recognise the value without being sent it. `lineage`
-- is the lineage the redaction made. Never the value itself.
CREATE TABLE IF NOT EXISTS record_redactions (
    record TEXT NOT NULL,
    lineage INTEGER NOT NULL,
    field TEXT NOT NULL,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (record, lineage, hash)
) STRICT, WITHOUT ROWID;
