-- Version 10: indexes that answer the pull window from indexes alone (issue 9).
--
-- A profile of 16 devices pushing showed the pull's window statement (server/src/feed.rs,
-- WINDOW_SQL) at 17% of the server's CPU, most of it table seeks behind index lookups: per
-- log row, the record's kind, unit and size (records' id index, then the row with its
-- document) and the kind of the record's latest row at or below the device's cursor
-- (`has_seen`: the (record, unit, seq) index, then the log row with its bytes).
--
-- records.doc_len: length(doc), kept by every write of the row (feed::write_record), so
-- that the size is in an index; records_pull covers what the window reads of a record.
-- changes_record_unit_seq_kind replaces changes_record_unit_seq with the row's kind added,
-- which covers `has_seen` (and still serves every lookup by record).
ALTER TABLE records ADD COLUMN doc_len BIGINT NOT NULL DEFAULT 0;
UPDATE records SET doc_len = length(doc);
CREATE INDEX records_pull ON records (id, kind, unit, doc_len);
CREATE INDEX changes_record_unit_seq_kind ON changes (record, unit, seq, kind);
DROP INDEX changes_record_unit_seq;
