-- Server schema version 1: accounts, devices, tokens, records and the change log.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    units TEXT NOT NULL DEFAULT '[]',
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    actor TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    revoked INTEGER NOT NULL DEFAULT 0,
    wipe_pending INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT '{}',
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX devices_user ON devices (user_id);
CREATE TABLE tokens (
    hash BLOB PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_device ON tokens (device_id);
CREATE INDEX tokens_user ON tokens (user_id);
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
CREATE INDEX records_name_key ON records (name_key);
CREATE INDEX records_id_number ON records (id_number);
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'change',
    hash BLOB UNIQUE,
    bytes BLOB NOT NULL,
    unit TEXT NOT NULL,
    origin_device TEXT,
    received_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_unit_seq ON changes (unit, seq);
CREATE INDEX changes_record_unit_seq ON changes (record, unit, seq);
