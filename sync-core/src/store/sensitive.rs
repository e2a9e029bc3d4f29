//! The device's queue of sensitive values (`docs/protocol.md` §12): what its user entered
//! for a sensitive field (`model::sensitivity`), kept in the (encrypted) store only until the
//! server acknowledges it. It is never written into a record's document.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::StoreError;
use crate::model::Value;
use crate::protocol::SensitiveWrite;

/// Queues `value` (`None`: clear) for `field` of `record`, replacing a value still waiting
/// for the same field: only the last entry is sent. Returns the write's id.
pub fn queue(
    tx: &Transaction<'_>,
    record: Uuid,
    field: &str,
    value: Option<&Value>,
    at_ms: i64,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    let value = value.map(|v| serde_json::to_string(v).unwrap_or_default());
    tx.execute(
        "INSERT INTO sensitive_outbox (record, field, id, value, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (record, field) DO UPDATE SET id = excluded.id, value = excluded.value,
         at_ms = excluded.at_ms",
        params![record.to_string(), field, id.to_string(), value, at_ms],
    )?;
    Ok(id)
}

fn write_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SensitiveWrite> {
    let parse = |i: usize, s: String| {
        Uuid::parse_str(&s).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        })
    };
    let value: Option<String> = r.get(3)?;
    Ok(SensitiveWrite {
        record: parse(0, r.get(0)?)?,
        field: r.get(1)?,
        id: parse(2, r.get(2)?)?,
        value: value.and_then(|v| serde_json::from_str(&v).ok()),
        at_ms: r.get(4)?,
    })
}

/// Every value waiting, oldest first.
pub fn pending(conn: &Connection) -> Result<Vec<SensitiveWrite>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT record, field, id, value, at_ms FROM sensitive_outbox ORDER BY at_ms, id",
    )?;
    let rows = stmt
        .query_map([], write_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The values waiting for one record.
pub fn pending_for(conn: &Connection, record: Uuid) -> Result<Vec<SensitiveWrite>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT record, field, id, value, at_ms FROM sensitive_outbox WHERE record = ?1
         ORDER BY field",
    )?;
    let rows = stmt
        .query_map([record.to_string()], write_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Drops the write `id` (acknowledged or refused). Returns its record and field if it was
/// still waiting (a later entry for the same field has another id and stays).
pub fn forget(tx: &Transaction<'_>, id: Uuid) -> Result<Option<(Uuid, String)>, StoreError> {
    let row: Option<(String, String)> = tx
        .query_row(
            "DELETE FROM sensitive_outbox WHERE id = ?1 RETURNING record, field",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(r, f)| Uuid::parse_str(&r).ok().map(|r| (r, f))))
}
