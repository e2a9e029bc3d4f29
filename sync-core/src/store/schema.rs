//! The replica schema and the `PRAGMA user_version` migration runner.
//!
//! Every migration is a batch of SQL run in one transaction, after which `user_version` is the
//! migration's number. A database at version N runs migrations N+1.. on open. The test below
//! proves that a database created at version 1 and upgraded equals a fresh one.

use rusqlite::Connection;

use super::StoreError;

/// One schema step: after it, `user_version` is `version`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The `user_version` after this step.
    pub version: i64,
    /// The SQL of this step.
    pub sql: &'static str,
}

/// Applies the migrations newer than the database's `user_version`, each in one transaction.
/// A database newer than this code knows is refused rather than damaged.
pub fn migrate(conn: &Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let latest = migrations.last().map_or(0, |m| m.version);
    if current > latest {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: latest,
        });
    }
    for m in migrations.iter().filter(|m| m.version > current) {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;\n{}\nPRAGMA user_version = {};\nCOMMIT;",
            m.sql, m.version
        ))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })?;
    }
    Ok(())
}

/// The phone replica's schema.
pub const REPLICA_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
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
",
    },
    Migration {
        version: 2,
        sql: "
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
",
    },
    Migration {
        version: 3,
        // The actor directory (who wrote what) and which actors appear in which record, so
        // that names leave with the last record that needs them.
        sql: "
CREATE TABLE actors (
    actor BLOB PRIMARY KEY,
    user TEXT NOT NULL,
    device_name TEXT NOT NULL
) STRICT;
CREATE TABLE record_actors (
    record TEXT NOT NULL,
    actor BLOB NOT NULL,
    PRIMARY KEY (record, actor)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_actors_actor ON record_actors (actor);
",
    },
];

/// The schema as SQLite describes it, for comparing two databases.
pub fn describe(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master
         WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = rows.collect::<Result<Vec<_>, _>>()?;
    // `ALTER TABLE ADD COLUMN` leaves the column in the stored SQL text in a different layout
    // than a fresh CREATE: compare the columns themselves instead.
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for table in tables {
        let mut cols = conn.prepare(&format!("PRAGMA table_xinfo({table})"))?;
        let cols = cols
            .query_map([], |r| {
                Ok(format!(
                    "column {table}.{}: {} notnull={} default={:?} pk={}",
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut cols = cols;
        cols.sort();
        out.extend(cols);
    }
    out.retain(|line| !line.starts_with("table "));
    out.push(format!(
        "user_version {}",
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_upgraded_from_version_1_equals_a_fresh_one() {
        let old = Connection::open_in_memory().unwrap();
        migrate(&old, &REPLICA_MIGRATIONS[..1]).unwrap();
        old.execute(
            "INSERT INTO records (id, kind, unit, doc, heads, updated_ms)
             VALUES ('r1', 'citizen', '07132', x'00', x'', 1)",
            [],
        )
        .unwrap();
        migrate(&old, REPLICA_MIGRATIONS).unwrap();

        let fresh = Connection::open_in_memory().unwrap();
        migrate(&fresh, REPLICA_MIGRATIONS).unwrap();

        assert_eq!(describe(&old).unwrap(), describe(&fresh).unwrap());
        let kept: String = old
            .query_row("SELECT kind FROM records WHERE id = 'r1'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, "citizen", "upgrading keeps the data");
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, REPLICA_MIGRATIONS).unwrap();
        let before = describe(&conn).unwrap();
        migrate(&conn, REPLICA_MIGRATIONS).unwrap();
        assert_eq!(describe(&conn).unwrap(), before);
    }

    #[test]
    fn a_database_from_newer_code_is_refused_untouched() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert!(matches!(
            migrate(&conn, REPLICA_MIGRATIONS),
            Err(StoreError::SchemaTooNew { found: 99, .. })
        ));
    }
}
