//! Ferry's sync server and admin CLI.
//!
//! [`app`] builds the axum router over an [`AppState`]; [`launch`] serves it on a listener
//! until a shutdown signal (tests bind port 0 and call it, or run the `ferry` binary);
//! [`cli::main`] is the binary's entry point. See `docs/protocol.md` for the wire protocol and
//! `docs/architecture-server.md` for how the modules fit together.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod cli_review;
pub mod config;
pub mod directory;
pub mod error;
pub mod feed;
pub mod metrics;
pub mod review;
pub mod routes;
pub mod schema;
pub mod sync;

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use sync_core::model::Role;
use sync_core::store::Pool;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use config::Config;

use crate::metrics::Metrics;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub pool: Arc<Pool>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
}

/// Reader connections the server opens.
const READERS: usize = 4;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Opens (creating and migrating) the database under the configured data directory.
pub fn open_pool(config: &Config) -> anyhow::Result<Pool> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let path = config.db_path();
    let pool = Pool::open(&path, None, schema::SERVER_MIGRATIONS, READERS)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    // The sync path alone runs a few dozen distinct statements (push checks, review
    // detection, the pull, audit); rusqlite's default cache of 16 would evict and re-parse
    // them on every exchange.
    pool.write(|tx| -> anyhow::Result<()> {
        tx.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(())
    })?;
    for _ in 0..READERS.max(1) {
        pool.read(|c| -> anyhow::Result<()> {
            c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            Ok(())
        })?;
    }
    Ok(pool)
}

/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 256;

/// Opens the state; on first start creates the `admin` account and returns its password
/// when it was generated (to be printed once).
pub fn open_state(config: Config) -> anyhow::Result<(AppState, Option<String>)> {
    let pool = open_pool(&config)?;
    let generated = bootstrap_admin(&pool, config.admin_password.as_deref())?;
    if let Some((records, stats)) = review::detect::backfill(&pool, now_ms())? {
        tracing::info!(
            records,
            opened = stats.opened,
            "review queue: indexed existing records"
        );
    }
    Ok((
        AppState {
            pool: Arc::new(pool),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
        },
        generated,
    ))
}

/// Creates the `admin` user when no user exists. Returns the password if it was generated.
fn bootstrap_admin(pool: &Pool, password: Option<&str>) -> anyhow::Result<Option<String>> {
    if pool.read(accounts::any_user)? {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) if !p.is_empty() => (p.to_owned(), false),
        _ => (accounts::random_password(), true),
    };
    let hash = accounts::hash_password(&password)?;
    let created = pool.write(|tx| -> anyhow::Result<bool> {
        // Another process may have won the race.
        if accounts::any_user(tx)? {
            return Ok(false);
        }
        accounts::add_user(tx, "admin", &hash, Role::Admin, &[], now_ms())?;
        audit::append(
            tx,
            now_ms(),
            &audit::Entry {
                user: "server",
                action: "user_add",
                details: serde_json::json!({"username": "admin", "role": "admin", "bootstrap": true}),
                ..audit::Entry::default()
            },
        )?;
        Ok(true)
    })?;
    Ok((created && generated).then_some(password))
}

/// The router with every route and the tracing, timeout and limit layers.
pub fn app(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.request_timeout_secs.max(1));
    routes::router(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    // Method and path only: paths carry record ids at most, never personal
                    // data, and query strings and bodies are not logged.
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// Serves `config` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish. Prints the bootstrap admin password (first start only) and the URL on stdout.
pub async fn launch(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db_path = config.db_path();
    let (state, generated) = tokio::task::spawn_blocking(move || open_state(config)).await??;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "ferry {}: database {}",
            env!("CARGO_PKG_VERSION"),
            db_path.display()
        )?;
        if let Some(password) = generated {
            writeln!(
                out,
                "created user `admin` with password: {password}\n  (shown once; change it with `ferry user passwd admin`)"
            )?;
        }
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    tracing::info!(%addr, "serving");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("stopped");
    Ok(())
}
