//! Ferry's sync server and admin CLI.
//!
//! [`app`] builds the axum router over an [`AppState`]; [`launch`] serves it on a listener
//! until a shutdown signal (tests bind port 0 and call it, or run the `ferry` binary);
//! [`cli::main`] is the binary's entry point. See `docs/protocol.md` for the wire protocol and
//! `docs/architecture-server.md` for how the modules fit together.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod audit_key;
pub mod auth;
pub mod blobs;
pub mod cli;
pub mod cli_record;
pub mod cli_review;
pub mod cli_units;
pub mod compress;
pub mod config;
pub mod db;
pub mod directory;
pub mod doc_cache;
pub mod error;
pub mod exchange;
pub mod feed;
pub mod import;
pub mod login;
pub mod metrics;
pub mod migrate;
pub mod pg_schema;
pub mod redact;
pub mod reports;
pub mod residence;
pub mod review;
pub mod rights;
pub mod routes;
pub mod schema;
pub mod sensitive;
pub mod sensitive_split;
pub mod sync;
pub mod unit_adjust;
pub mod writer;

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
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

/// The allocator the `ferry` binaries install (`#[global_allocator]`): mimalloc. Under
/// glibc's malloc, allocation was ≈ 20% of the server's CPU in a profile of 16 devices
/// pushing (arena contention and consolidation between the async workers, the blocking pool
/// and the writer thread), and freed memory was slow to go back to the system.
pub use mimalloc::MiMalloc as Allocator;

use crate::doc_cache::DocCache;
use crate::metrics::Metrics;
use crate::writer::Writer;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database through the storage seam ([`db::Store`]): the SQLite file (its readers
    /// serve pulls and reads) or the PostgreSQL database every node shares.
    pub store: db::Store,
    /// The group-commit writer: every sync exchange's writes go through it.
    pub writer: Writer,
    /// Loaded documents kept between exchanges.
    pub cache: Arc<DocCache>,
    /// Wakes the review detection worker after a commit that queued records.
    pub review_wake: Arc<tokio::sync::Notify>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Login rate limits, hashing slots and the console form key.
    pub login: Arc<login::LoginGuard>,
    /// Attachment blobs (`--blob-store`; files under the data directory by default).
    pub blobs: Arc<dyn blobs::BlobStore>,
    /// Chunk requests under way per blob (an upload's state waits for them).
    pub uploads: Arc<blobs::upload::InFlight>,
}

/// Reader connections the server opens.
const READERS: usize = 4;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    sync_core::time::now_ms()
}

/// Opens (creating and migrating) the database under the configured data directory, and
/// loads (creating on first use) and installs the audit key.
pub fn open_pool(config: &Config) -> anyhow::Result<Pool> {
    config.require_sqlite()?;
    create_private_dir(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let path = config.db_path();
    private_db_files(&path)
        .with_context(|| format!("cannot create the database {}", path.display()))?;
    let pool = Pool::open(&path, None, schema::SERVER_MIGRATIONS, READERS)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    // An acknowledged exchange must survive a power cut, not only a crash of the process:
    // the writer syncs the WAL on every commit. Group commit keeps that to one fsync per
    // batch of exchanges.
    pool.configure_writer(|c| c.pragma_update(None, "synchronous", "FULL"))?;
    let files = audit_key::load(config)?;
    if files.created {
        eprintln!(
            "ferry: created the audit key {} (0600); keep it outside the data directory and its backups",
            files.key_source
        );
    }
    audit_key::install(files);
    // The sync path alone runs a few dozen distinct statements (push checks, review
    // detection, the pull, audit); rusqlite's default cache of 16 would evict and re-parse
    // them on every exchange.
    pool.configure_writer(tune_connection)?;
    for _ in 0..READERS.max(1) {
        pool.read(tune_connection)?;
    }
    Ok(pool)
}

/// Page cache of each server connection, in KiB (SQLite's default is 2 MiB): the change log
/// and its indexes are read on every pull; with the default most reads were `pread`s.
const PAGE_CACHE_KIB: i64 = 16 * 1024;

/// Per-connection settings of the server's SQLite connections (the writer and each reader):
/// the statement cache; the page cache ([`PAGE_CACHE_KIB`]); and the query planner
/// stability guarantee, so that a cached statement keeps its plan whatever values are
/// bound. Without it, SQLite re-prepared statements such as the pull's `has_seen` query on
/// every step when a bound value differed (the plan may depend on it): ≈ 12% of the
/// server's CPU in a profile of 16 devices pushing.
fn tune_connection(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    c.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
    Ok(())
}

/// Creates the data directory `0700` (owner only) when it does not exist.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the database file `0600` before SQLite opens it (SQLite gives its `-wal` and
/// `-shm` files the database file's mode), and takes group and other access away from
/// database files left readable by older versions.
fn private_db_files(db: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !db.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(db)?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let file = std::path::PathBuf::from(name);
            if let Ok(meta) = std::fs::metadata(&file)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = db;
    Ok(())
}

/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 256;

/// Opens the configured database through the storage seam: the PostgreSQL database of
/// `--database` / `FERRY_DATABASE_URL` (migrated to the latest schema), else the SQLite file
/// under `--data-dir` ([`open_pool`]). Loads and installs the audit key either way.
pub fn open_store(config: &Config) -> anyhow::Result<db::Store> {
    let Some(url) = config.database.as_deref() else {
        return Ok(db::Store::Sqlite(Arc::new(open_pool(config)?)));
    };
    // The audit key first: a node without the deployment's key must not start at all.
    let files = audit_key::load(config)?;
    // The migration runner brings its own runtime; a plain thread keeps it out of any
    // runtime the caller runs in.
    std::thread::scope(|s| {
        s.spawn(|| migrate::postgres(url))
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the PostgreSQL migration panicked")))
    })?;
    let store = db::postgres::PgStore::connect(url, db::postgres::DEFAULT_CONNECTIONS)
        .context("cannot connect to the PostgreSQL database")?;
    let store = db::Store::Postgres(store);
    audit_key::check_against_chain(&store, &files)?;
    audit_key::install(files);
    Ok(store)
}

/// Opens the state; on first start creates the `admin` account and returns its password
/// when it was generated (to be printed once).
///
/// Records left in the detection queue by an earlier run (a crash between a commit and its
/// detection, a bulk import) and records never detected are detected by the review worker
/// once the server serves ([`review::detect::backfill`]).
///
/// On PostgreSQL the node keeps nothing that other nodes must agree with: tokens, users,
/// units, lockouts and review state are read from the database per request.
pub fn open_state(config: Config) -> anyhow::Result<(AppState, Option<String>)> {
    let store = open_store(&config)?;
    let generated = start_store(&store, &config)?;
    // Detection of what earlier runs left undetected happens in the background worker once
    // the server serves (`review::queue::spawn_worker`), not here: after a bulk import it is
    // every record.
    let queued = review::detect::backfill(&store, now_ms())?;
    if queued > 0 {
        tracing::info!(
            records = queued,
            "review queue: queued records never detected"
        );
    }
    let metrics = Arc::new(Metrics::default());
    let writer =
        Writer::for_store(&store, metrics.clone()).context("cannot start the writer thread")?;
    let cache = Arc::new(DocCache::new(config.doc_cache_bytes(), metrics.clone()));
    let login = Arc::new(login::LoginGuard::new(&config));
    let blobs = blobs::open(&config).context("cannot open the blob store")?;
    Ok((
        AppState {
            store,
            writer,
            cache,
            review_wake: Arc::new(tokio::sync::Notify::new()),
            config: Arc::new(config),
            metrics,
            login,
            blobs,
            uploads: Arc::default(),
        },
        generated,
    ))
}

/// What every node does on its database at start: checks the audit trail against the last
/// checkpoint (a warning on the banner), then creates the `admin` account on first start
/// (its generated password is returned, to be printed once).
fn start_store(store: &db::Store, config: &Config) -> anyhow::Result<Option<String>> {
    if let Some(files) = audit_key::current() {
        if let Some(warning) = audit_key::startup_warning(store, &files)? {
            tracing::error!(%warning, "audit trail check at start");
            println!("WARNING: {warning}; run `ferry audit verify`");
        } else {
            audit_key::checkpoint_quietly(store);
        }
    }
    bootstrap_admin(store, config.admin_password.as_deref())
}

/// Creates the `admin` user when no user exists. Returns the password if it was generated.
/// Several nodes starting at once on one PostgreSQL create it once: the first transaction
/// to insert wins, the others find the user (or fail on the unique name) and move on.
fn bootstrap_admin(store: &db::Store, password: Option<&str>) -> anyhow::Result<Option<String>> {
    if store.read(|c| accounts::any_user(c))? {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) if !p.is_empty() => (p.to_owned(), false),
        _ => (accounts::random_password(), true),
    };
    let hash = accounts::hash_password(&password)?;
    let created = store.write(|tx| -> anyhow::Result<bool> {
        // Another process may have won the race.
        if accounts::any_user(tx)? {
            return Ok(false);
        }
        match accounts::add_user(tx, "admin", &hash, Role::Admin, &[], now_ms()) {
            Err(accounts::AccountError::UserExists) => return Ok(false),
            other => other?,
        };
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
    let https = state.config.served_over_https();
    routes::router(state)
        .layer(axum::middleware::map_response(
            move |r: axum::response::Response| async move {
                routes::console::session::https_headers(https, r)
            },
        ))
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
    let database = match config.database.as_deref() {
        Some(url) => describe_url(url),
        None => config.db_path().display().to_string(),
    };
    let metrics_addr = config.metrics_addr()?;
    let (state, generated) = tokio::task::spawn_blocking(move || open_state(config)).await??;
    let addr = listener.local_addr()?;
    // None: disabled; Some(Err(a)): the default address was taken.
    let metrics: Option<Result<SocketAddr, SocketAddr>> = match metrics_addr {
        Some((a, explicit)) => Some(match tokio::net::TcpListener::bind(a).await {
            Ok(l) => {
                let bound = l.local_addr()?;
                let router = routes::ops::metrics_router(state.clone());
                tokio::spawn(async move { axum::serve(l, router).await });
                Ok(bound)
            }
            // An address the operator chose must work; the default may be taken (a second
            // server on the host): then run without metrics rather than not at all.
            Err(e) if explicit => {
                return Err(e).with_context(|| format!("cannot listen for metrics on {a}"));
            }
            Err(e) => {
                tracing::warn!(error = %e, %a, "metrics disabled: the default address is taken");
                Err(a)
            }
        }),
        None => None,
    };
    let checkpoints = tokio::spawn(audit_checkpoints(state.clone()));
    let retention = tokio::spawn(rights::retention::scheduled(state.clone()));
    let attachment_gc = tokio::spawn(blobs::gc::scheduled(state.clone()));
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "ferry {}: database {database}",
            env!("CARGO_PKG_VERSION"),
        )?;
        if let Some(password) = generated {
            writeln!(
                out,
                "created user `admin` with password: {password}\n  (shown once; change it with `ferry user passwd admin`)"
            )?;
        }
        if let Some(files) = audit_key::current() {
            writeln!(
                out,
                "audit key {} (fingerprint {}); checkpoints {}",
                files.key_source,
                files.key.fingerprint(),
                files.checkpoints.display()
            )?;
        }
        match metrics {
            Some(Ok(m)) => writeln!(out, "metrics on http://{m}/metrics")?,
            Some(Err(a)) => {
                writeln!(out, "metrics disabled: {a} is taken (set --metrics-listen)")?;
            }
            None => {}
        }
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    review::queue::spawn_worker(
        state.writer.clone(),
        state.store.clone(),
        state.cache.clone(),
        state.metrics.clone(),
        state.review_wake.clone(),
    );
    tracing::info!(%addr, "serving");
    let store = state.store.clone();
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    checkpoints.abort();
    retention.abort();
    attachment_gc.abort();
    tokio::task::spawn_blocking(move || audit_key::checkpoint_quietly(&store)).await?;
    tracing::info!("stopped");
    Ok(())
}

/// `PostgreSQL host:port/database` for the banner: never the user or password of the URL.
fn describe_url(url: &str) -> String {
    let Ok(c) = url.parse::<tokio_postgres::Config>() else {
        return "PostgreSQL".into();
    };
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!("PostgreSQL {host}:{port}/{}", c.get_dbname().unwrap_or(""))
}

/// Writes a signed audit checkpoint every `--audit-checkpoint-secs` while the chain grows.
async fn audit_checkpoints(state: AppState) {
    let every = Duration::from_secs(state.config.audit_checkpoint_secs.max(1));
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let store = state.store.clone();
        let _ = tokio::task::spawn_blocking(move || audit_key::checkpoint_quietly(&store)).await;
    }
}
