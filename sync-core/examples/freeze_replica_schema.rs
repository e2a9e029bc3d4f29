//! Prints the phone replica's schema at one version as frozen SQL, the checked-in copy the
//! migration tests upgrade from (see `server/migrations/README.md`, "The phone replica"):
//!
//! ```text
//! cargo run -q -p sync-core --example freeze_replica_schema -- 3 > sync-core/migrations/frozen/v3.sql
//! ```

use std::process::ExitCode;

use sync_core::store::schema::{database_at, schema_sql};

fn main() -> ExitCode {
    let latest = sync_core::store::schema::REPLICA_MIGRATIONS
        .last()
        .map_or(0, |m| m.version);
    let version = match std::env::args().nth(1).map(|v| v.parse::<i64>()) {
        Some(Ok(v)) if (1..=latest).contains(&v) => v,
        _ => {
            eprintln!("usage: freeze_replica_schema VERSION (1..={latest})");
            return ExitCode::FAILURE;
        }
    };
    match database_at(sync_core::store::schema::REPLICA_MIGRATIONS, version)
        .and_then(|c| schema_sql(&c))
    {
        Ok(sql) => {
            print!("{sql}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
