//! The server's SQLite schema, applied with sync-core's `PRAGMA user_version` migration runner
//! when the server starts and by `ferry migrate`.
//!
//! Each migration is a numbered SQL file in `server/migrations/sqlite/`, embedded at compile
//! time: version 1 holds accounts, devices, tokens, records and the change log; version 2 adds
//! the hash-chained audit trail; version 3 the review queue and console sessions (also
//! [`crate::review::SCHEMA_SQL`]). The PostgreSQL translation is in [`crate::pg_schema`].
//! `server/migrations/README.md` says how to add a migration and how to freeze a release.
//!
//! The tests below are not circular: every released version has a frozen copy of its schema
//! in `server/migrations/sqlite/frozen/` (what a database in the field holds), and each is
//! upgraded with the migrations and compared with a fresh database.

use sync_core::store::schema::Migration;

/// Every schema step of the server database, oldest first. Adding a step: add
/// `server/migrations/sqlite/NNNN_<what>.sql` and one entry here.
pub const SERVER_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/sqlite/0001_accounts_records_changes.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/sqlite/0002_audit.sql"),
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
        sql: include_str!("../migrations/sqlite/0005_accounts_hardening.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../migrations/sqlite/0006_reports.sql"),
    },
    Migration {
        version: 7,
        sql: include_str!("../migrations/sqlite/0007_reports_activity.sql"),
    },
    Migration {
        version: 8,
        sql: include_str!("../migrations/sqlite/0008_user_display_names.sql"),
    },
    Migration {
        version: 9,
        sql: include_str!("../migrations/sqlite/0009_report_coverage.sql"),
    },
    Migration {
        version: 10,
        sql: include_str!("../migrations/sqlite/0010_pull_indexes.sql"),
    },
    Migration {
        version: 11,
        sql: include_str!("../migrations/sqlite/0011_report_indexes.sql"),
    },
    Migration {
        version: 12,
        sql: include_str!("../migrations/sqlite/0012_citizen_notice_vneid.sql"),
    },
    Migration {
        version: 13,
        sql: include_str!("../migrations/sqlite/0013_review_capture_dates.sql"),
    },
    Migration {
        version: 14,
        sql: include_str!("../migrations/sqlite/0014_record_lineage.sql"),
    },
    Migration {
        version: 15,
        sql: include_str!("../migrations/sqlite/0015_findings_resolved.sql"),
    },
    Migration {
        version: 16,
        sql: include_str!("../migrations/sqlite/0016_review_numbers.sql"),
    },
    Migration {
        version: 17,
        sql: include_str!("../migrations/sqlite/0017_sensitive_values.sql"),
    },
    Migration {
        version: 18,
        sql: include_str!("../migrations/sqlite/0018_restricted_records.sql"),
    },
];

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use sync_core::store::StoreError;
    use sync_core::store::schema::{database_at, database_from_frozen, describe, migrate};

    fn migrations_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite")
    }

    fn latest() -> i64 {
        SERVER_MIGRATIONS.last().map_or(0, |m| m.version)
    }

    /// The checked-in frozen schema of a released version; a missing one says how to make it.
    fn frozen(version: i64) -> String {
        let path = migrations_dir().join(format!("frozen/v{version}.sql"));
        std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "server schema version {version} has no frozen copy ({}). Every version on main \
                 is released; freeze it once, when its migration is final:\n  \
                 cargo run -q -p server --example freeze_schema -- {version} \
                 > server/migrations/sqlite/frozen/v{version}.sql",
                path.display()
            )
        })
    }

    #[test]
    fn every_migration_file_is_listed_once_in_order_with_its_number_as_version() {
        let mut files: Vec<(String, String)> = std::fs::read_dir(migrations_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        files.sort();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            files.len(),
            SERVER_MIGRATIONS.len(),
            "files {names:?} vs {} entries in SERVER_MIGRATIONS",
            SERVER_MIGRATIONS.len()
        );
        for (i, ((name, sql), m)) in files.iter().zip(SERVER_MIGRATIONS).enumerate() {
            let number: i64 =
                name.split('_').next().unwrap().parse().unwrap_or_else(|_| {
                    panic!("{name}: a migration file is named NNNN_<what>.sql")
                });
            assert_eq!(
                number,
                i as i64 + 1,
                "{name}: migrations are numbered 1, 2, 3, …"
            );
            assert_eq!(
                m.version, number,
                "{name} is listed as version {}",
                m.version
            );
            assert_eq!(
                m.sql, sql,
                "entry {} of SERVER_MIGRATIONS is not {name}",
                m.version
            );
        }
    }

    #[test]
    fn every_frozen_version_equals_a_database_built_by_the_migrations_up_to_it() {
        for m in SERVER_MIGRATIONS {
            let v = m.version;
            let from_frozen = database_from_frozen(&frozen(v), v).unwrap();
            let built = database_at(SERVER_MIGRATIONS, v).unwrap();
            assert_eq!(
                describe(&from_frozen).unwrap(),
                describe(&built).unwrap(),
                "the migrations up to version {v} no longer build the released schema \
                 frozen/v{v}.sql: a released migration was edited (change the schema with a \
                 new migration instead)"
            );
        }
    }

    #[test]
    fn a_database_at_any_released_version_upgrades_to_equal_a_fresh_one() {
        let fresh = describe(&database_at(SERVER_MIGRATIONS, latest()).unwrap()).unwrap();
        for m in SERVER_MIGRATIONS {
            let old = database_from_frozen(&frozen(m.version), m.version).unwrap();
            migrate(&old, SERVER_MIGRATIONS).unwrap();
            assert_eq!(
                describe(&old).unwrap(),
                fresh,
                "a database at version {} upgraded differs from a fresh one",
                m.version
            );
        }
    }

    #[test]
    fn upgrading_a_version_1_database_keeps_its_data() {
        let old = database_from_frozen(&frozen(1), 1).unwrap();
        old.execute(
            "INSERT INTO users (username, password_hash, role, created_ms)
             VALUES ('u1', 'x', 'officer', 1)",
            [],
        )
        .unwrap();
        migrate(&old, SERVER_MIGRATIONS).unwrap();
        let kept: String = old
            .query_row("SELECT role FROM users WHERE username = 'u1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "officer");
    }

    #[test]
    fn upgrading_a_version_10_database_rolls_its_daily_activity_up_by_month() {
        let old = database_from_frozen(&frozen(10), 10).unwrap();
        old.execute_batch(
            "INSERT INTO report_activity (day, \"user\", metric, n) VALUES
                 ('2026-01-30', 'thu', 'pulled', 3), ('2026-01-31', 'thu', 'pulled', 9),
                 ('2026-02-01', 'thu', 'pulled', 2), ('2026-01-31', 'lan', 'read', 4)",
        )
        .unwrap();
        migrate(&old, SERVER_MIGRATIONS).unwrap();
        let mut stmt = old
            .prepare(
                "SELECT month, \"user\", metric, n, max_day FROM report_activity_month
                 ORDER BY month, \"user\", metric",
            )
            .unwrap();
        let rows: Vec<(String, String, String, i64, i64)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let row = |m: &str, u: &str, k: &str, n, x| (m.into(), u.into(), k.into(), n, x);
        assert_eq!(
            rows,
            vec![
                row("2026-01", "lan", "read", 4, 4),
                row("2026-01", "thu", "pulled", 12, 9),
                row("2026-02", "thu", "pulled", 2, 2),
            ]
        );
    }

    #[test]
    fn migrating_a_server_database_twice_changes_nothing() {
        let conn = database_at(SERVER_MIGRATIONS, latest()).unwrap();
        let before = describe(&conn).unwrap();
        migrate(&conn, SERVER_MIGRATIONS).unwrap();
        assert_eq!(describe(&conn).unwrap(), before);
    }

    #[test]
    fn a_server_database_from_newer_code_is_refused() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert!(matches!(
            migrate(&conn, SERVER_MIGRATIONS),
            Err(StoreError::SchemaTooNew { found: 99, .. })
        ));
    }
}
