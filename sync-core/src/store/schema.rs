//! The replica schema and the `PRAGMA user_version` migration runner.
//!
//! Every migration is a batch of SQL run in one transaction, after which `user_version` is the
//! migration's number. A database at version N runs migrations N+1.. on open. The tests below
//! upgrade the frozen copy of every released version (`sync-core/migrations/frozen/`) and
//! compare it with a fresh database; `server/migrations/README.md` says how to freeze one.

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
    Migration {
        version: 4,
        // Attachments (`attachment::local`): blob bytes inside the (encrypted) store, the
        // upload queue, and pieces of fetches in progress. The trigger drops a record's
        // blobs with the record: purges, rejected new records and wipes take them along.
        sql: "
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
",
    },
    Migration {
        version: 5,
        // The officers' display names in the actor directory (`ActorInfo::display_name`):
        // NULL for entries stored before, and from servers that send none (the account
        // name is shown then).
        sql: "
ALTER TABLE actors ADD COLUMN display_name TEXT;
",
    },
    Migration {
        version: 6,
        // Sensitive values entered on the device and not yet acknowledged
        // (`store::sensitive`, protocol §12): they never enter a record's document, and leave
        // this table once the server has them. One per record and field: a later entry
        // replaces an earlier one still waiting.
        sql: "
CREATE TABLE sensitive_outbox (
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    value TEXT,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (record, field)
) STRICT, WITHOUT ROWID;
",
    },
    Migration {
        version: 7,
        // The earlier numbers a person carries (an old 9- or 12-digit CMND number, earlier
        // personal ID numbers), so that a search by number finds them too; kept by
        // `tables::put_record`, dropped with their record by the trigger.
        sql: "
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
",
    },
];

/// The schema as SQLite describes it, one normalised line per fact, for comparing two
/// databases: every `sqlite_master` row (SQL with whitespace normalised), each table's
/// `STRICT`/`WITHOUT ROWID` flags, columns (`table_xinfo`), indexes (`index_list` and
/// `index_xinfo`) and foreign keys, and `user_version`.
pub fn describe(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master
         WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut tables = Vec::new();
    for row in rows {
        let (kind, name, table, sql) = row?;
        out.push(format!("{kind} {name} on {table}: {}", normalise_sql(&sql)));
        if kind == "table" {
            tables.push(name);
        }
    }
    for table in &tables {
        out.extend(describe_table(conn, table)?);
    }
    out.push(format!(
        "user_version {}",
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?
    ));
    Ok(out)
}

/// What the pragmas say about one table (see [`describe`]).
fn describe_table(conn: &Connection, table: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    out.push(conn.query_row(
        "SELECT ncol, wr, strict FROM pragma_table_list(?1) WHERE schema = 'main'",
        [table],
        |r| {
            Ok(format!(
                "table {table}: columns={} without_rowid={} strict={}",
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?
            ))
        },
    )?);
    let mut cols = conn.prepare(
        "SELECT cid, name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
    )?;
    for col in cols.query_map([table], |r| {
        Ok(format!(
            "column {table}.{} #{}: {} notnull={} default={:?} pk={} hidden={}",
            r.get::<_, String>(1)?,
            r.get::<_, i64>(0)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?
        ))
    })? {
        out.push(col?);
    }
    let mut indexes = conn.prepare(
        "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY name",
    )?;
    let indexes = indexes
        .query_map([table], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut keys = conn.prepare(
        "SELECT seqno, coalesce(name, '<expr>'), \"desc\", coll, key FROM pragma_index_xinfo(?1)",
    )?;
    for (index, unique, origin, partial) in indexes {
        let columns = keys
            .query_map([&index], |r| {
                Ok(format!(
                    "{}:{}{}{}{}",
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    if r.get::<_, i64>(2)? == 1 {
                        " desc"
                    } else {
                        ""
                    },
                    r.get::<_, Option<String>>(3)?
                        .map(|c| format!(" collate {c}"))
                        .unwrap_or_default(),
                    if r.get::<_, i64>(4)? == 1 {
                        ""
                    } else {
                        " (aux)"
                    }
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        out.push(format!(
            "index {table}.{index}: unique={unique} origin={origin} partial={partial} columns=[{}]",
            columns.join(", ")
        ));
    }
    let mut fks = conn.prepare(
        "SELECT id, seq, \"table\", \"from\", coalesce(\"to\", ''), on_update, on_delete, \"match\"
         FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    for fk in fks.query_map([table], |r| {
        Ok(format!(
            "foreign key {table}#{}.{}: {} -> {}({}) on update {} on delete {} match {}",
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?
        ))
    })? {
        out.push(fk?);
    }
    Ok(out)
}

/// SQL text with runs of whitespace collapsed and no whitespace next to `(`, `)` or `,`, so
/// that re-indenting a statement does not count as a schema change.
fn normalise_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut space = false;
    for c in sql.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        let tight = matches!(c, '(' | ')' | ',');
        let prev_tight = out.ends_with(['(', ')', ',']);
        if space && !out.is_empty() && !tight && !prev_tight {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// The schema of a database as SQL that recreates it: every `CREATE` statement SQLite keeps
/// in `sqlite_master`, in creation order. This is the form of the frozen copies of released
/// schema versions (`server/migrations/sqlite/frozen/`, `sync-core/migrations/frozen/`).
pub fn schema_sql(conn: &Connection) -> Result<String, StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let mut out = format!(
        "-- Frozen schema at user_version {version}: the sqlite_master SQL of a database at that\n\
         -- version, printed by sync_core::store::schema::schema_sql. Never edit a released one.\n"
    );
    let mut stmt = conn.prepare(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
         ORDER BY rowid",
    )?;
    for sql in stmt.query_map([], |r| r.get::<_, String>(0))? {
        out.push_str(&sql?);
        out.push_str(";\n");
    }
    Ok(out)
}

/// A new in-memory database migrated up to `version` (and no further).
pub fn database_at(migrations: &[Migration], version: i64) -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory()?;
    let upto: Vec<Migration> = migrations
        .iter()
        .filter(|m| m.version <= version)
        .copied()
        .collect();
    migrate(&conn, &upto)?;
    Ok(conn)
}

/// A new in-memory database built from frozen schema SQL (see [`schema_sql`]) and marked as
/// being at `version`.
pub fn database_from_frozen(sql: &str, version: i64) -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(sql)?;
    conn.execute_batch(&format!("PRAGMA user_version = {version}"))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latest() -> i64 {
        REPLICA_MIGRATIONS.last().map_or(0, |m| m.version)
    }

    /// The checked-in frozen schema of a released replica version (`sync-core/migrations/
    /// frozen/`): what phones in the field hold. A missing one says how to make it.
    fn frozen(version: i64) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("migrations/frozen/v{version}.sql"));
        std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "replica schema version {version} has no frozen copy ({}). Freeze it once, \
                 when its migration is final:\n  cargo run -q -p sync-core --example \
                 freeze_replica_schema -- {version} > sync-core/migrations/frozen/v{version}.sql",
                path.display()
            )
        })
    }

    #[test]
    fn every_frozen_replica_version_equals_a_database_built_by_the_migrations_up_to_it() {
        for m in REPLICA_MIGRATIONS {
            let v = m.version;
            let from_frozen = database_from_frozen(&frozen(v), v).unwrap();
            let built = database_at(REPLICA_MIGRATIONS, v).unwrap();
            assert_eq!(
                describe(&from_frozen).unwrap(),
                describe(&built).unwrap(),
                "the migrations up to version {v} no longer build the released replica schema \
                 frozen/v{v}.sql: a released migration was edited (add a new one instead)"
            );
        }
    }

    #[test]
    fn a_replica_at_any_released_version_upgrades_to_equal_a_fresh_one() {
        let fresh = describe(&database_at(REPLICA_MIGRATIONS, latest()).unwrap()).unwrap();
        for m in REPLICA_MIGRATIONS {
            let old = database_from_frozen(&frozen(m.version), m.version).unwrap();
            migrate(&old, REPLICA_MIGRATIONS).unwrap();
            assert_eq!(
                describe(&old).unwrap(),
                fresh,
                "a replica at version {} upgraded differs from a fresh one",
                m.version
            );
        }
    }

    #[test]
    fn upgrading_a_version_1_replica_keeps_its_records() {
        let old = database_from_frozen(&frozen(1), 1).unwrap();
        old.execute(
            "INSERT INTO records (id, kind, unit, doc, heads, updated_ms)
             VALUES ('r1', 'citizen', '07132', x'00', x'', 1)",
            [],
        )
        .unwrap();
        migrate(&old, REPLICA_MIGRATIONS).unwrap();
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

    #[test]
    fn the_description_sees_what_a_schema_change_changes() {
        let base = describe(&database_at(REPLICA_MIGRATIONS, latest()).unwrap()).unwrap();
        for change in [
            "ALTER TABLE resync ADD COLUMN why TEXT",
            "CREATE INDEX extra ON records (kind)",
            "DROP INDEX records_kind_status; CREATE INDEX records_kind_status ON records (status, kind)",
        ] {
            let conn = database_at(REPLICA_MIGRATIONS, latest()).unwrap();
            conn.execute_batch(change).unwrap();
            assert_ne!(describe(&conn).unwrap(), base, "{change}");
        }
    }
}
