-- Server schema version 2: the hash-chained audit trail.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    records TEXT NOT NULL DEFAULT '[]',
    details TEXT NOT NULL DEFAULT '{}',
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
) STRICT;
CREATE INDEX audit_ts ON audit (ts_ms);
CREATE INDEX audit_user ON audit (user);
CREATE INDEX audit_device ON audit (device);
