//! The SQLite engine of the seam: [`Sql`] over a rusqlite connection or transaction.
//!
//! Statements go through rusqlite's prepared-statement cache, so the seam costs a value copy
//! per column, not a re-parse.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Transaction};

use super::{DbError, Dialect, Params, Row, Sql, Value};

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn column(v: ValueRef<'_>) -> Result<Value, DbError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec())
                .map_err(|_| DbError::Conversion("a text column is not UTF-8".into()))?,
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

fn bind(params: Params<'_>) -> Result<Vec<Value>, DbError> {
    params.iter().map(|p| p.to_value()).collect()
}

fn execute(conn: &Connection, sql: &str, params: Params<'_>) -> Result<u64, DbError> {
    let values = bind(params)?;
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.execute(rusqlite::params_from_iter(values.iter()))?;
    Ok(n as u64)
}

fn query(conn: &Connection, sql: &str, params: Params<'_>) -> Result<Vec<Row>, DbError> {
    let values = bind(params)?;
    let mut stmt = conn.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(width);
        for i in 0..width {
            row.push(column(r.get_ref(i)?)?);
        }
        out.push(Row(row));
    }
    Ok(out)
}

/// One implementation for a plain connection (readers) and a transaction (the writer): both
/// are a `Connection` underneath.
macro_rules! sqlite_sql {
    ($($t:ty),*) => {$(
        impl Sql for $t {
            fn dialect(&self) -> Dialect {
                Dialect::Sqlite
            }

            fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, DbError> {
                execute(self, sql, params)
            }

            fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, DbError> {
                query(self, sql, params)
            }

            fn batch(&self, sql: &str) -> Result<(), DbError> {
                Ok(self.execute_batch(sql)?)
            }
        }
    )*};
}

sqlite_sql!(Connection, Transaction<'_>);
