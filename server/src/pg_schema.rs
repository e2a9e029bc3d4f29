//! The server's PostgreSQL schema and its migration runner, used by `ferry migrate --database`
//! (and, once the PostgreSQL engine exists, by the server at start).
//!
//! The migrations are the numbered files in `server/migrations/postgres/`, embedded at compile
//! time: the same tables and column names as the SQLite ones ([`crate::schema`]), translated
//! (the rules and the portability notes are at the top of `0001_accounts_records_changes.sql`),
//! plus `unit_seq`, the per-unit sequence that keeps the change feed free of gaps with several
//! nodes. `tests/tests/integration/postgres_schema.rs` compares the result with a frozen
//! description in `server/migrations/postgres/frozen/`.
//!
//! The applied versions are rows of `schema_migrations`. Each migration runs in one
//! transaction that first inserts its version row: when two nodes migrate at once, the second
//! insert waits for the first transaction and then fails on the primary key, and that node
//! moves on to the next version instead of applying the same one twice. This needs no
//! advisory locks or `LOCK TABLE`, which CockroachDB does not offer.

use anyhow::Context;
use sync_core::store::schema::Migration;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

/// Every schema step of the PostgreSQL database, oldest first. Adding a step: add
/// `server/migrations/postgres/NNNN_<what>.sql` and one entry here.
pub const PG_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/postgres/0001_accounts_records_changes.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/postgres/0002_audit.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/postgres/0003_review_queue.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/postgres/0004_review_detection_queue.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/postgres/0005_accounts_hardening.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../migrations/postgres/0006_reports.sql"),
    },
    Migration {
        version: 7,
        sql: include_str!("../migrations/postgres/0007_reports_activity.sql"),
    },
    Migration {
        version: 8,
        sql: include_str!("../migrations/postgres/0008_user_display_names.sql"),
    },
    Migration {
        version: 9,
        sql: include_str!("../migrations/postgres/0009_report_coverage.sql"),
    },
    Migration {
        version: 10,
        sql: include_str!("../migrations/postgres/0010_pull_indexes.sql"),
    },
    Migration {
        version: 11,
        sql: include_str!("../migrations/postgres/0011_report_indexes.sql"),
    },
    Migration {
        version: 12,
        sql: include_str!("../migrations/postgres/0012_citizen_notice_vneid.sql"),
    },
    Migration {
        version: 13,
        sql: include_str!("../migrations/postgres/0013_review_capture_dates.sql"),
    },
    Migration {
        version: 14,
        sql: include_str!("../migrations/postgres/0014_record_lineage.sql"),
    },
    Migration {
        version: 15,
        sql: include_str!("../migrations/postgres/0015_findings_resolved.sql"),
    },
    Migration {
        version: 16,
        sql: include_str!("../migrations/postgres/0016_review_numbers.sql"),
    },
    Migration {
        version: 17,
        sql: include_str!("../migrations/postgres/0017_sensitive_values.sql"),
    },
    Migration {
        version: 18,
        sql: include_str!("../migrations/postgres/0018_restricted_records.sql"),
    },
];

/// The table recording which migrations were applied (the SQLite side uses `user_version`).
const VERSIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    applied_ms BIGINT NOT NULL
)";

/// The highest applied migration (0 for an empty database).
pub async fn current_version(client: &Client) -> anyhow::Result<i64> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// Applies the migrations newer than the database's version, each in one transaction, and
/// returns the version afterwards. A database newer than this code knows is refused untouched.
pub async fn migrate(client: &mut Client, migrations: &[Migration]) -> anyhow::Result<i64> {
    create_versions_table(client).await?;
    let latest = migrations.last().map_or(0, |m| m.version);
    let current = current_version(client).await?;
    if current > latest {
        anyhow::bail!(
            "the database schema is at version {current}, newer than this ferry knows \
             ({latest}); use a newer ferry"
        );
    }
    for m in migrations.iter().filter(|m| m.version > current) {
        let tx = client.transaction().await?;
        let claimed = tx
            .execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                &[&m.version, &crate::now_ms()],
            )
            .await;
        match claimed {
            Ok(_) => {}
            // Another node applied this version meanwhile (and has committed it).
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => continue,
            Err(e) => return Err(e.into()),
        }
        tx.batch_execute(m.sql)
            .await
            .with_context(|| format!("PostgreSQL migration {} failed", m.version))?;
        tx.commit()
            .await
            .with_context(|| format!("PostgreSQL migration {} failed", m.version))?;
    }
    current_version(client).await
}

/// Creates `schema_migrations` if missing. Two nodes doing so at once can both miss it and
/// one `CREATE TABLE IF NOT EXISTS` then fails on the catalog — as a unique violation on
/// `pg_type` or as "type … already exists" (duplicate object), depending on where the race
/// is lost; one more try finds the table.
async fn create_versions_table(client: &Client) -> anyhow::Result<()> {
    if current_version(client).await.is_ok_and(|v| v > 0) {
        return Ok(());
    }
    match client.batch_execute(VERSIONS_TABLE).await {
        Err(e)
            if e.code().is_some_and(|c| {
                [
                    SqlState::UNIQUE_VIOLATION,
                    SqlState::DUPLICATE_OBJECT,
                    SqlState::DUPLICATE_TABLE,
                ]
                .contains(c)
            }) =>
        {
            client.batch_execute(VERSIONS_TABLE).await?;
        }
        other => other?,
    }
    Ok(())
}
