//! Prints the server's SQLite schema at one version as frozen SQL, the checked-in copy the
//! migration tests upgrade from (see `server/migrations/README.md`):
//!
//! ```text
//! cargo run -q -p server --example freeze_schema -- 4 > server/migrations/sqlite/frozen/v4.sql
//! ```

use std::process::ExitCode;

use sync_core::store::schema::{database_at, schema_sql};

fn main() -> ExitCode {
    let latest = server::schema::SERVER_MIGRATIONS
        .last()
        .map_or(0, |m| m.version);
    let version = match std::env::args().nth(1).map(|v| v.parse::<i64>()) {
        Some(Ok(v)) if (1..=latest).contains(&v) => v,
        _ => {
            eprintln!("usage: freeze_schema VERSION (1..={latest})");
            return ExitCode::FAILURE;
        }
    };
    match database_at(server::schema::SERVER_MIGRATIONS, version).and_then(|c| schema_sql(&c)) {
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
