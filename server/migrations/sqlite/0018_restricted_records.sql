-- Version 18: restricted records (docs/protocol.md §12.1). A temporary-absence declaration on
-- a ground of Residence Law Art. 31(1)(a)(b) states its citizen's criminal-procedure status:
-- the whole record is sensitive. `restricted` is 1 for such a record (kept by every write,
-- server/src/sync.rs); its changes are logged in its unit's restricted scope (`07132#r`),
-- which only roles that read sensitive data pull. records_pull gains the column, so that
-- the pull's window still reads a record's kind, unit, size and restriction from the index.
ALTER TABLE records ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;
DROP INDEX records_pull;
CREATE INDEX records_pull ON records (id, kind, unit, doc_len, restricted);
