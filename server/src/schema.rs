//! The server's SQLite schema, applied with sync-core's `PRAGMA user_version` migration runner.
//!
//! Version 1 holds accounts, devices, tokens, records and the change log; version 2 adds the
//! hash-chained audit trail; version 3 the review queue and console sessions
//! ([`crate::review::SCHEMA_SQL`]). The test below proves that a database created at version 1 and
//! upgraded equals a fresh one.

use sync_core::store::schema::Migration;

/// Every schema step of the server database, oldest first.
pub const SERVER_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
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
",
    },
    Migration {
        version: 2,
        sql: "
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
",
    },
    Migration {
        version: 3,
        sql: crate::review::SCHEMA_SQL,
    },
    Migration {
        version: 4,
        sql: crate::review::queue::SCHEMA_SQL,
    },
    Migration {
        version: 5,
        sql: ACCOUNTS_HARDENING_SQL,
    },
];

/// Version 5: the keyed audit chain (`audit.keyed`: 0 for rows written before the audit key,
/// verified as the legacy SHA-256 chain), login attempts counted per account and client
/// address before the password is checked, tokens that ended but still carry a pending wipe
/// order (`tokens.ended`), and every actor id ever registered (actor ids are never reused).
const ACCOUNTS_HARDENING_SQL: &str = "
ALTER TABLE audit ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE login_attempts (
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (username, address)
) STRICT, WITHOUT ROWID;
CREATE INDEX login_attempts_updated ON login_attempts (updated_ms);
ALTER TABLE tokens ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;
CREATE TABLE actor_ids (
    actor TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id)
) STRICT, WITHOUT ROWID;
INSERT INTO actor_ids (actor, device_id) SELECT actor, id FROM devices;
";

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use sync_core::store::StoreError;
    use sync_core::store::schema::{describe, migrate};

    #[test]
    fn a_server_database_upgraded_from_version_1_equals_a_fresh_one() {
        let old = Connection::open_in_memory().unwrap();
        migrate(&old, &SERVER_MIGRATIONS[..1]).unwrap();
        old.execute(
            "INSERT INTO users (username, password_hash, role, created_ms)
             VALUES ('u1', 'x', 'officer', 1)",
            [],
        )
        .unwrap();
        migrate(&old, SERVER_MIGRATIONS).unwrap();

        let fresh = Connection::open_in_memory().unwrap();
        migrate(&fresh, SERVER_MIGRATIONS).unwrap();

        assert_eq!(describe(&old).unwrap(), describe(&fresh).unwrap());
        let kept: String = old
            .query_row("SELECT role FROM users WHERE username = 'u1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "officer", "upgrading keeps the data");
    }

    #[test]
    fn migrating_a_server_database_twice_changes_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, SERVER_MIGRATIONS).unwrap();
        let before = describe(&conn).unwrap();
        migrate(&conn, SERVER_MIGRATIONS).unwrap();
        assert_eq!(describe(&conn).unwrap(), before);
    }

    #[test]
    fn a_server_database_from_newer_code_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert!(matches!(
            migrate(&conn, SERVER_MIGRATIONS),
            Err(StoreError::SchemaTooNew { found: 99, .. })
        ));
    }
}
