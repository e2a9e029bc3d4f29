//! `ferry migrate`: brings the database's schema up to date, the same way the server does at
//! start, and prints the version before and after. With `--database postgres://…` (or
//! `FERRY_DATABASE_URL`) it migrates that PostgreSQL database ([`crate::pg_schema`]); else
//! the SQLite file under `--data-dir` ([`crate::schema`]).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::Config;

/// Runs `ferry migrate`.
pub fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let (what, before, after) = match config.database.as_deref() {
        Some(url) => {
            let (before, after) = postgres(url)?;
            ("PostgreSQL database", before, after)
        }
        None => {
            let (before, after) = sqlite(config)?;
            ("SQLite database", before, after)
        }
    };
    let mut out = std::io::stdout().lock();
    if before == after {
        writeln!(out, "{what}: schema version {after}, up to date")?;
    } else {
        writeln!(out, "{what}: schema version {before} -> {after}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Migrates the SQLite file through the server's own open path; (before, after).
fn sqlite(config: &Config) -> anyhow::Result<(i64, i64)> {
    let path = config.db_path();
    let before = if path.exists() {
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .with_context(|| format!("cannot open the database {}", path.display()))?;
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))?
    } else {
        0
    };
    let pool = crate::open_pool(config)?;
    let after = pool.read(|c| -> anyhow::Result<i64> {
        Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    })?;
    Ok((before, after))
}

/// Migrates the PostgreSQL database at `url`; (before, after). Errors never print the URL
/// (it may hold a password).
pub(crate) fn postgres(url: &str) -> anyhow::Result<(i64, i64)> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!(
            "--database takes a postgres:// or postgresql:// URL (the SQLite database is chosen \
             with --data-dir)"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // TLS is not configured yet: use a local socket, a private network or an SSH tunnel.
        let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .context("cannot connect to the PostgreSQL database")?;
        let connection = tokio::spawn(connection);
        let before = crate::pg_schema::current_version(&client).await?;
        let after = crate::pg_schema::migrate(&mut client, crate::pg_schema::PG_MIGRATIONS).await;
        drop(client);
        let _ = connection.await;
        Ok((before, after?))
    })
}
