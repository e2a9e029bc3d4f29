-- Frozen schema at user_version 7: the sqlite_master SQL of a database at that
-- version, printed by sync_core::store::schema::schema_sql. Never edit a released one.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    status TEXT,
    doc BLOB NOT NULL,
    heads BLOB NOT NULL,
    name_key TEXT NOT NULL DEFAULT '',
    id_number TEXT,
    findings TEXT NOT NULL DEFAULT '[]',
    updated_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX records_unit ON records (unit);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    change BLOB NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_record ON outbox (record);
CREATE TABLE cursors (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL) STRICT;
CREATE TABLE rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record TEXT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    edits TEXT NOT NULL,
    rejected_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE resync (record TEXT PRIMARY KEY) STRICT;
CREATE INDEX records_name_key ON records (name_key);
CREATE INDEX records_id_number ON records (id_number);
CREATE INDEX records_kind_status ON records (kind, status);
CREATE TABLE actors (
    actor BLOB PRIMARY KEY,
    user TEXT NOT NULL,
    device_name TEXT NOT NULL
, display_name TEXT) STRICT;
CREATE TABLE record_actors (
    record TEXT NOT NULL,
    actor BLOB NOT NULL,
    PRIMARY KEY (record, actor)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_actors_actor ON record_actors (actor);
CREATE TABLE attachment_blobs (
    record TEXT NOT NULL,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    bytes BLOB,
    origin TEXT NOT NULL,
    acked INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_ms INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    PRIMARY KEY (record, hash)
) STRICT;
CREATE TABLE attachment_pieces (
    record TEXT NOT NULL,
    hash TEXT NOT NULL,
    at INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (record, hash, at)
) STRICT;
CREATE TRIGGER attachments_leave_with_their_record AFTER DELETE ON records
BEGIN
    DELETE FROM attachment_blobs WHERE record = old.id;
    DELETE FROM attachment_pieces WHERE record = old.id;
END;
CREATE TABLE sensitive_outbox (
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    value TEXT,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (record, field)
) STRICT, WITHOUT ROWID;
CREATE TABLE record_numbers (
    number TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (number, record)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_numbers_record ON record_numbers (record);
CREATE TRIGGER numbers_leave_with_their_record AFTER DELETE ON records
BEGIN
    DELETE FROM record_numbers WHERE record = old.id;
END;
