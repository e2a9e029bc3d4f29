//! The storage seam: everything the server keeps goes through [`Sql`], one narrow interface
//! with two engines — SQLite ([`sqlite`], the embedded default) and PostgreSQL
//! ([`postgres`], for several nodes on one database).
//!
//! The domain code writes **portable SQL** once and runs it on either engine:
//! - placeholders are `?1`, `?2`, … (or bare `?`); the PostgreSQL engine rewrites them to
//!   `$1`, `$2`, … ([`translate`]);
//! - integers are `i64` on both engines (PostgreSQL columns are `BIGINT`); flags are bound and
//!   read as integers 0/1 or `bool` (a PostgreSQL `BOOLEAN` column accepts both); JSON text
//!   binds to a `JSONB` column and reads back as text (normalised by PostgreSQL: never hash
//!   what you read back from `JSONB`);
//! - upserts are `INSERT … ON CONFLICT (…) DO NOTHING / DO UPDATE SET x = excluded.x` (both
//!   engines), never `INSERT OR IGNORE` / `OR REPLACE`; new identities come back with
//!   `RETURNING id`, never `last_insert_rowid()`;
//! - no engine-specific functions (`strftime`, scalar `max(a, b)`, `GREATEST`, `COLLATE
//!   NOCASE`, `ILIKE`): compute in Rust, or branch on [`Sql::dialect`] where it is unavoidable
//!   (row locks: [`Sql::for_update`]);
//! - `GROUP BY` lists every non-aggregated column (PostgreSQL is strict); `SUM` of integers is
//!   written `CAST(SUM(x) AS BIGINT)` (PostgreSQL returns `NUMERIC` otherwise);
//! - `LIKE` is case-sensitive on PostgreSQL and ASCII-case-insensitive on SQLite: match on
//!   keys already folded in Rust (`sync_core::text`).
//!
//! Values cross the seam as [`Value`]s; parameters are anything [`ToValue`], columns are read
//! with [`Row::get`] into anything [`FromValue`].

pub mod postgres;
pub mod sqlite;
pub mod translate;
mod value;

pub use value::{FromValue, Row, ToValue, Value};

/// Which engine a [`Sql`] handle runs on, for the rare statement that differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server (or a compatible distributed engine).
    Postgres,
}

/// An error from the storage seam. Its text never holds parameter values (they may be
/// personal data) nor a connection URL.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused or failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection could be had from the PostgreSQL pool.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// A query expected one row and found none.
    #[error("no row found")]
    NotFound,
    /// A value did not fit the column or the Rust type asked for.
    #[error("value conversion: {0}")]
    Conversion(String),
}

impl DbError {
    /// A unique or primary-key constraint refused the statement (on either engine).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            DbError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }

    /// The transaction lost a race with another one and may simply be run again
    /// (PostgreSQL serialization failure or deadlock; SQLite busy).
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            DbError::Postgres(e) => matches!(
                e.code(),
                Some(c) if *c == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
            ),
            _ => false,
        }
    }
}

/// Parameters of one statement: `&[&a, &b]`.
pub type Params<'a> = &'a [&'a dyn ToValue];

/// `?{first}, ?{first+1}, …` for `n` values: the list of an `IN (…)` bound value by value
/// (portable: no array parameters, which SQLite lacks).
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `DO UPDATE` part of an upsert into `table` that rewrites the row only when one of
/// `compared` changed: `SET c = excluded.c, …, <also> WHERE table.c IS DISTINCT FROM
/// excluded.c OR …` (both engines accept it). `also` are assignments made with such an
/// update but never a reason for one (a timestamp).
///
/// A column named in an UPDATE rewrites its index entries even with the same value, each a
/// page in the commit's WAL; most accepted changes (a phone number, a note) change none of
/// the columns an index row or a report row holds.
pub fn update_if_changed(table: &str, compared: &[&str], also: &[&str]) -> String {
    let set = compared
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .chain(also.iter().map(|a| (*a).to_owned()))
        .collect::<Vec<_>>()
        .join(", ");
    let changed = compared
        .iter()
        .map(|c| format!("{table}.{c} IS DISTINCT FROM excluded.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    format!("DO UPDATE SET {set} WHERE {changed}")
}

/// A connection or transaction of either engine: the one interface the domain code uses.
///
/// Methods take `&self` on both engines, so a function takes `tx: &dyn Sql` whether it runs
/// inside the writer's transaction or on a reader.
pub trait Sql {
    /// The engine.
    fn dialect(&self) -> Dialect;

    /// Runs one statement; the number of rows it changed.
    fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, DbError>;

    /// Runs one query; all its rows.
    fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, DbError>;

    /// Runs several statements without parameters (schema, savepoints).
    fn batch(&self, sql: &str) -> Result<(), DbError>;
}

impl dyn Sql + '_ {
    /// The first row of a query, if any.
    pub fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row of a query; [`DbError::NotFound`] without one.
    pub fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, DbError> {
        self.query_opt(sql, params)?.ok_or(DbError::NotFound)
    }

    /// The first column of the first row, converted.
    pub fn query_value<T: FromValue>(&self, sql: &str, params: Params<'_>) -> Result<T, DbError> {
        self.query_one(sql, params)?.get(0)
    }

    /// `" FOR UPDATE"` on PostgreSQL (lock the rows read, for the rest of the transaction),
    /// nothing on SQLite (its one writer already holds the whole database).
    pub fn for_update(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Runs `f` inside a savepoint: rolled back alone when `f` fails, the enclosing
    /// transaction goes on. `name` is a plain identifier.
    pub fn savepoint<T, E>(&self, name: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        self.batch(&format!("SAVEPOINT {name}"))?;
        match f() {
            Ok(v) => {
                self.batch(&format!("RELEASE SAVEPOINT {name}"))?;
                Ok(v)
            }
            Err(e) => {
                self.batch(&format!(
                    "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
                ))?;
                Err(e)
            }
        }
    }
}

/// The server's database, on either engine: the entry point of the seam.
#[derive(Debug, Clone)]
pub enum Store {
    /// The embedded SQLite file: one writer, a few readers.
    Sqlite(std::sync::Arc<sync_core::store::Pool>),
    /// A PostgreSQL database shared by every node.
    Postgres(postgres::PgStore),
}

impl From<sync_core::store::StoreError> for DbError {
    fn from(e: sync_core::store::StoreError) -> Self {
        match e {
            sync_core::store::StoreError::Sqlite(e) => DbError::Sqlite(e),
            other => DbError::Pool(other.to_string()),
        }
    }
}

/// Why a SQLite write transaction failed: the pool (begin/commit) or the caller's closure,
/// whose own error is handed back unchanged.
enum Failed<E> {
    Store(DbError),
    Job(E),
}

impl<E> From<sync_core::store::StoreError> for Failed<E> {
    fn from(e: sync_core::store::StoreError) -> Self {
        Failed::Store(e.into())
    }
}

impl Store {
    /// The engine.
    pub fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite(_) => Dialect::Sqlite,
            Store::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `f` in one read transaction: every statement of `f` sees the same snapshot (on
    /// SQLite a reader connection, so it never waits for the writer).
    pub fn read<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Store::Sqlite(pool) => pool.read(|conn| {
                conn.execute_batch("BEGIN DEFERRED")
                    .map_err(DbError::from)?;
                let out = f(conn);
                // A read transaction has nothing to keep: end it either way.
                conn.execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" })
                    .map_err(DbError::from)?;
                out
            }),
            Store::Postgres(pg) => pg.read(f),
        }
    }

    /// [`Store::write`] at SERIALIZABLE isolation on PostgreSQL (see
    /// [`postgres::PgStore::write_serializable`]); the same as [`Store::write`] on SQLite,
    /// whose one writer is serial already.
    pub fn write_serializable<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Store::Sqlite(_) => self.write(f),
            Store::Postgres(pg) => pg.write_serializable(f),
        }
    }

    /// Runs `f` in one write transaction, committed when `f` returns `Ok` (on SQLite the
    /// pool's single writer; the sync path batches its writes through
    /// [`crate::writer`] instead).
    pub fn write<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Store::Sqlite(pool) => {
                pool.write(|tx| f(tx).map_err(Failed::Job))
                    .map_err(|e| match e {
                        Failed::Store(e) => e.into(),
                        Failed::Job(e) => e,
                    })
            }
            Store::Postgres(pg) => pg.write(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::update_if_changed;

    #[test]
    fn an_update_if_changed_sets_every_column_and_its_extras_but_compares_only_the_columns() {
        assert_eq!(
            update_if_changed("t", &["a", "b"], &["ts = excluded.ts"]),
            "DO UPDATE SET a = excluded.a, b = excluded.b, ts = excluded.ts \
             WHERE t.a IS DISTINCT FROM excluded.a OR t.b IS DISTINCT FROM excluded.b"
        );
    }
}
