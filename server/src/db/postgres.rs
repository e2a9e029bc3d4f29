//! The PostgreSQL engine of the seam: [`Sql`] over a pooled `tokio-postgres` connection
//! (deadpool-postgres).
//!
//! The domain code is synchronous (it runs on the blocking pool, in the SQLite writer's
//! thread, or in the CLI). The engine owns a small tokio runtime that drives the driver's
//! connections; each statement is sent to it and the calling thread waits for the answer on a
//! channel. That works from any thread — a blocking-pool thread, a plain thread, the CLI —
//! unlike `Handle::block_on`, which panics on an async worker.

use std::error::Error as StdError;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::{DbError, Dialect, Params, Row, Sql, Value, translate};

/// Connections a node keeps open by default.
pub const DEFAULT_CONNECTIONS: usize = 16;

/// A PostgreSQL database: a connection pool and the runtime that drives it. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    runtime: Arc<DriverRuntime>,
}

/// The driver's runtime; dropped without waiting, so that the last handle may go away on an
/// async worker (where dropping a runtime normally panics).
struct DriverRuntime(Option<tokio::runtime::Runtime>);

impl Drop for DriverRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl DriverRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("the runtime lives until drop")
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("PgStore")
            .field("connections", &self.pool.status().size)
            .finish()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`), keeping up to `connections` open.
    /// The first connection is opened here, so a wrong URL or a server that is down fails now.
    pub fn connect(url: &str, connections: usize) -> Result<PgStore, DbError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(DbError::Pool(
                "the database URL must start with postgres:// or postgresql://".into(),
            ));
        }
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|_| DbError::Pool("the database URL cannot be parsed".into()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ferry-pg")
            .enable_all()
            .build()
            .map_err(|e| DbError::Pool(format!("cannot start the driver's runtime: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _guard = runtime.enter();
            Pool::builder(manager)
                .max_size(connections.max(1))
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(30)))
                .create_timeout(Some(Duration::from_secs(10)))
                .build()
                .map_err(|e| DbError::Pool(e.to_string()))?
        };
        let store = PgStore {
            pool,
            runtime: Arc::new(DriverRuntime(Some(runtime))),
        };
        drop(store.connection()?);
        Ok(store)
    }

    /// Runs `fut` on the driver's runtime and waits for it.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, DbError> {
        let (send, recv) = std::sync::mpsc::sync_channel(1);
        self.runtime.get().spawn(async move {
            let _ = send.send(fut.await);
        });
        recv.recv()
            .map_err(|_| DbError::Pool("the driver's runtime stopped".into()))
    }

    /// A pooled connection outside any transaction.
    pub fn connection(&self) -> Result<PgConn, DbError> {
        let pool = self.pool.clone();
        let object = self
            .run(async move { pool.get().await })?
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(PgConn {
            client: Some(Arc::new(object)),
            store: self.clone(),
            open_tx: false,
        })
    }

    /// Runs `f` in one read-only transaction with one snapshot for all its statements.
    pub fn read<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        self.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", f)
    }

    /// Runs `f` in one read-write transaction (READ COMMITTED), committed when `f` returns
    /// `Ok`, rolled back otherwise. Concurrent writers are not serialised: lock what you
    /// read-modify-write ([`Sql::for_update`](super::Sql)); a transaction that fails with a
    /// retryable error ([`DbError::is_retryable`]) may be run again by the caller.
    pub fn write<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        self.transaction("BEGIN ISOLATION LEVEL READ COMMITTED", f)
    }

    fn transaction<T, E: From<DbError>>(
        &self,
        begin: &str,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.connection()?;
        conn.batch(begin)?;
        conn.open_tx = true;
        match f(&conn) {
            Ok(v) => {
                conn.batch("COMMIT")?;
                conn.open_tx = false;
                Ok(v)
            }
            Err(e) => {
                conn.batch("ROLLBACK")?;
                conn.open_tx = false;
                Err(e)
            }
        }
    }
}

/// One pooled connection. A connection dropped inside a transaction (a panic, a failed
/// COMMIT) is closed, not returned to the pool half-done.
pub struct PgConn {
    client: Option<Arc<Object>>,
    store: PgStore,
    open_tx: bool,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("open_tx", &self.open_tx)
            .finish()
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if self.open_tx
            && let Some(client) = self.client.take()
            && let Ok(object) = Arc::try_unwrap(client)
        {
            drop(Object::take(object));
        }
    }
}

impl PgConn {
    fn client(&self) -> Arc<Object> {
        self.client.clone().expect("a live connection")
    }

    fn statement<T: Send + 'static>(
        &self,
        sql: &str,
        params: Params<'_>,
        f: fn(&[tokio_postgres::Row], u64) -> Result<T, DbError>,
        returns_rows: bool,
    ) -> Result<T, DbError> {
        let values = params
            .iter()
            .map(|p| p.to_value())
            .collect::<Result<Vec<_>, _>>()?;
        let sql = translate::to_postgres(sql);
        let client = self.client();
        self.store.run(async move {
            let stmt = client.prepare_cached(&sql).await?;
            let refs: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            if returns_rows {
                let rows = client.query(&stmt, &refs).await?;
                f(&rows, 0)
            } else {
                let n = client.execute(&stmt, &refs).await?;
                f(&[], n)
            }
        })?
    }
}

impl Sql for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, DbError> {
        self.statement(sql, params, |_, n| Ok(n), false)
    }

    fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, DbError> {
        self.statement(sql, params, |rows, _| rows.iter().map(row).collect(), true)
    }

    fn batch(&self, sql: &str) -> Result<(), DbError> {
        let sql = sql.to_owned();
        let client = self.client();
        self.store
            .run(async move { client.batch_execute(&sql).await })?
            .map_err(DbError::from)
    }
}

fn row(r: &tokio_postgres::Row) -> Result<Row, DbError> {
    (0..r.len())
        .map(|i| column(r, i))
        .collect::<Result<_, _>>()
        .map(Row)
}

fn column(r: &tokio_postgres::Row, i: usize) -> Result<Value, DbError> {
    let ty = r.columns()[i].type_();
    fn get<'a, T: FromSql<'a>>(
        r: &'a tokio_postgres::Row,
        i: usize,
        f: impl FnOnce(T) -> Value,
    ) -> Result<Value, DbError> {
        Ok(r.try_get::<_, Option<T>>(i)?.map_or(Value::Null, f))
    }
    if *ty == Type::INT8 {
        get(r, i, Value::Int)
    } else if *ty == Type::INT4 {
        get(r, i, |v: i32| Value::Int(v.into()))
    } else if *ty == Type::INT2 {
        get(r, i, |v: i16| Value::Int(v.into()))
    } else if *ty == Type::BOOL {
        get(r, i, |v: bool| Value::Int(v.into()))
    } else if *ty == Type::FLOAT8 {
        get(r, i, Value::Real)
    } else if *ty == Type::FLOAT4 {
        get(r, i, |v: f32| Value::Real(v.into()))
    } else if *ty == Type::BYTEA {
        get(r, i, Value::Blob)
    } else if *ty == Type::JSONB || *ty == Type::JSON {
        get(r, i, |v: JsonText| Value::Text(v.0))
    } else if <&str as FromSql<'_>>::accepts(ty) {
        get(r, i, Value::Text)
    } else {
        Err(DbError::Conversion(format!(
            "column {i} has type {ty}, which the seam does not read (cast it: integers to \
             BIGINT, text to TEXT)"
        )))
    }
}

/// A JSON or JSONB column as its text.
struct JsonText(String);

impl<'a> FromSql<'a> for JsonText {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let text = if *ty == Type::JSONB {
            raw.strip_prefix(&[1u8])
                .ok_or("unknown JSONB format version")?
        } else {
            raw
        };
        Ok(JsonText(std::str::from_utf8(text)?.to_owned()))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => {
                if *ty == Type::INT8 {
                    i.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::BOOL {
                    (*i != 0).to_sql(ty, out)
                } else if *ty == Type::FLOAT8 {
                    (*i as f64).to_sql(ty, out)
                } else {
                    Err(format!("an integer cannot bind to a {ty} parameter").into())
                }
            }
            Value::Real(f) => {
                if *ty == Type::FLOAT4 {
                    (*f as f32).to_sql(ty, out)
                } else {
                    f.to_sql(ty, out)
                }
            }
            Value::Text(s) => {
                if *ty == Type::JSONB {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                } else if *ty == Type::JSON {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                } else {
                    s.as_str().to_sql(ty, out)
                }
            }
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
