//! Sensitive values (`docs/protocol.md` §12; `docs/adr/rights-sensitive-fields-and-redaction.md`,
//! Decision 1): religion, ethnicity, blood type and the biometrics flags
//! ([`sync_core::model::sensitivity`]) never enter a record's Automerge document, so no device
//! receives one in a snapshot or a history. A device sends each value once, as a
//! [`SensitiveWrite`] beside its changes; [`apply`] checks it and keeps it in
//! `sensitive_values` (the current value) and `sensitive_writes` (every write, who and when),
//! in the exchange's transaction. Only roles that
//! [`reads_sensitive`](sync_core::model::sensitivity::reads_sensitive) see them: through the
//! admin API, the console, the subject-access report and `GET /v1/records/{id}/sensitive`,
//! each read audited by its caller.

use std::collections::BTreeMap;

use sync_core::model::{self, Kind, Role, Value, sensitivity};
use sync_core::protocol::{RejectCode, SensitiveRejection, SensitiveWrite};
use uuid::Uuid;

use crate::db::{DbError, Sql};
use crate::sync::Caller;

/// Most sensitive writes taken from one request; the rest are left unanswered (the device
/// sends them again next time).
pub const MAX_WRITES_PER_REQUEST: usize = 1_000;

/// What [`apply`] did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Writes now stored (or stored before: a re-sent write).
    pub accepted: Vec<Uuid>,
    /// Writes refused.
    pub rejected: Vec<SensitiveRejection>,
    /// (record, field) of each write newly stored, for the audit entry (never the value).
    pub written: Vec<(Uuid, String)>,
}

fn refuse(w: &SensitiveWrite, code: RejectCode, message: impl Into<String>) -> SensitiveRejection {
    SensitiveRejection {
        id: w.id,
        record: w.record,
        field: w.field.chars().take(64).collect(),
        code,
        message: message.into(),
    }
}

/// Checks and stores `writes` by `caller` (account `user`) in `tx`. A write is refused when
/// its record is not one of the caller's (`out_of_scope`), when the field is not a sensitive
/// field of the record's kind or the value does not fit it (`invalid`), when the role writes
/// nothing or the record's status freezes the field (`forbidden`, `frozen_field`). A write
/// whose id is stored already is acknowledged again and changes nothing.
pub fn apply(
    tx: &dyn Sql,
    caller: &Caller,
    user: &str,
    writes: &[SensitiveWrite],
    now_ms: i64,
) -> Result<Applied, DbError> {
    let mut out = Applied::default();
    // Records whose rules read the values written: their findings are judged again.
    let mut judged: Vec<Uuid> = Vec::new();
    for w in writes.iter().take(MAX_WRITES_PER_REQUEST) {
        match check_and_store(tx, caller, user, w, now_ms)? {
            Ok(Some(kind)) => {
                out.accepted.push(w.id);
                out.written.push((w.record, w.field.clone()));
                if sensitivity::read_by_rules(kind) && !judged.contains(&w.record) {
                    judged.push(w.record);
                }
            }
            Ok(None) => out.accepted.push(w.id),
            Err(r) => out.rejected.push(r),
        }
    }
    refresh_findings(tx, &judged, now_ms)?;
    Ok(out)
}

/// One write: `Ok(Some(kind))` stored (the record's kind), `Ok(None)` stored before, `Err`
/// refused.
fn check_and_store(
    tx: &dyn Sql,
    caller: &Caller,
    user: &str,
    w: &SensitiveWrite,
    now_ms: i64,
) -> Result<Result<Option<Kind>, SensitiveRejection>, DbError> {
    if let Some(mut seen) = tx.query_opt(
        "SELECT record, field FROM sensitive_writes WHERE id = ?1",
        &[&w.id],
    )? {
        let (record, field): (String, String) = (seen.take(0)?, seen.take(1)?);
        if record != w.record.to_string() || field != w.field {
            return Ok(Err(refuse(
                w,
                RejectCode::Invalid,
                "this write id was used for another field",
            )));
        }
        return Ok(Ok(None));
    }
    let Some(mut row) = tx.query_opt(
        "SELECT kind, unit, status FROM records WHERE id = ?1",
        &[&w.record],
    )?
    else {
        return Ok(Err(refuse(
            w,
            RejectCode::OutOfScope,
            "no such record in your units",
        )));
    };
    let (kind, unit, status): (String, String, Option<String>) =
        (row.take(0)?, row.take(1)?, row.take(2)?);
    if caller.role != Role::Admin && !caller.scopes.contains(&unit) {
        return Ok(Err(refuse(
            w,
            RejectCode::OutOfScope,
            "no such record in your units",
        )));
    }
    if !caller.role.writes() {
        return Ok(Err(refuse(
            w,
            RejectCode::Forbidden,
            "this role writes nothing",
        )));
    }
    let Some(kind) = Kind::parse(&kind) else {
        return Ok(Err(refuse(w, RejectCode::Invalid, "unknown record kind")));
    };
    if !sensitivity::is_sensitive(kind, &w.field) {
        return Ok(Err(refuse(
            w,
            RejectCode::Invalid,
            format!("not a sensitive field of a {kind}"),
        )));
    }
    if model::frozen_fields(kind, status.as_deref()).contains(&w.field.as_str()) {
        return Ok(Err(refuse(
            w,
            RejectCode::FrozenField,
            "the record's status freezes this field",
        )));
    }
    let value = match &w.value {
        Some(v) => {
            let v = model::normalise_value(kind, &w.field, v);
            if let Err(errors) = model::check_value(kind, &w.field, &v) {
                let why = errors.iter().map(ToString::to_string).collect::<Vec<_>>();
                return Ok(Err(refuse(w, RejectCode::Invalid, why.join("; "))));
            }
            Some(v)
        }
        None => None,
    };
    store(tx, w, value.as_ref(), user, &caller.device_id, now_ms)?;
    Ok(Ok(Some(kind)))
}

pub(crate) fn store(
    tx: &dyn Sql,
    w: &SensitiveWrite,
    value: Option<&Value>,
    user: &str,
    device: &Uuid,
    now_ms: i64,
) -> Result<(), DbError> {
    let json = value.map(|v| serde_json::to_string(v).unwrap_or_default());
    tx.execute(
        "INSERT INTO sensitive_writes
             (id, record, field, value, written_by, device, written_ms, applied_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            &w.id, &w.record, &w.field, &json, &user, device, &w.at_ms, &now_ms,
        ],
    )?;
    match &json {
        Some(json) => tx.execute(
            "INSERT INTO sensitive_values (record, field, value, written_by, device, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (record, field) DO UPDATE SET value = excluded.value,
             written_by = excluded.written_by, device = excluded.device,
             updated_ms = excluded.updated_ms",
            &[&w.record, &w.field, json, &user, device, &now_ms],
        )?,
        None => tx.execute(
            "DELETE FROM sensitive_values WHERE record = ?1 AND field = ?2",
            &[&w.record, &w.field],
        )?,
    };
    Ok(())
}

/// `record` with its sensitive values put back in (for rules that read them; never stored
/// or sent).
pub fn with_values(conn: &dyn Sql, record: &model::Record) -> Result<model::Record, DbError> {
    let mut out = record.clone();
    out.fields.extend(values_of(conn, record.id)?);
    Ok(out)
}

/// Recomputes and stores the findings of `records` (of kinds whose rules read sensitive
/// fields) after their values changed, and queues them for review detection (which
/// re-indexes the report tables from the stored findings).
fn refresh_findings(tx: &dyn Sql, records: &[Uuid], now_ms: i64) -> Result<(), DbError> {
    let ctx = model::ValidationContext::new(sync_core::time::local_date(now_ms));
    let mut queued = Vec::new();
    for id in records {
        let Some(stored) = crate::feed::get_record(tx, *id)? else {
            continue;
        };
        let Ok(record) = sync_core::doc::RecordDoc::load(&stored.doc).and_then(|d| d.read()) else {
            continue;
        };
        let Ok(findings) = model::validate(&with_values(tx, &record)?, &ctx) else {
            continue;
        };
        let json = serde_json::to_string(&findings).unwrap_or_else(|_| "[]".into());
        if json != stored.findings {
            tx.execute(
                "UPDATE records SET findings = ?2 WHERE id = ?1",
                &[id, &json],
            )?;
            queued.push(*id);
        }
    }
    crate::review::queue::enqueue(tx, &queued, now_ms)
}

/// The current sensitive values of `record`, by field.
pub fn values_of(conn: &dyn Sql, record: Uuid) -> Result<BTreeMap<String, Value>, DbError> {
    let mut out = BTreeMap::new();
    for mut r in conn.query(
        "SELECT field, value FROM sensitive_values WHERE record = ?1 ORDER BY field",
        &[&record],
    )? {
        let (field, json): (String, String) = (r.take(0)?, r.take(1)?);
        if let Ok(v) = serde_json::from_str(&json) {
            out.insert(field, v);
        }
    }
    Ok(out)
}

/// One stored write, for the subject-access report (the value only for roles that read
/// sensitive data: the caller decides).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WriteEntry {
    /// The field.
    pub field: String,
    /// The value written; `None` when the write cleared the field or a redaction removed it.
    pub value: Option<Value>,
    /// A redaction removed the value.
    pub redacted: bool,
    /// The account that wrote it.
    pub user: String,
    /// The device it came from.
    pub device: String,
    /// When it was entered on the device (ms).
    pub written_ms: i64,
    /// When the server stored it (ms).
    pub applied_ms: i64,
}

/// Every write of `record`, oldest first.
pub fn history_of(conn: &dyn Sql, record: Uuid) -> Result<Vec<WriteEntry>, DbError> {
    conn.query(
        "SELECT field, value, redacted, written_by, device, written_ms, applied_ms
         FROM sensitive_writes WHERE record = ?1 ORDER BY applied_ms, id",
        &[&record],
    )?
    .into_iter()
    .map(|mut r| {
        let value: Option<String> = r.take(1)?;
        Ok(WriteEntry {
            field: r.take(0)?,
            value: value.and_then(|v| serde_json::from_str(&v).ok()),
            redacted: r.get::<i64>(2)? != 0,
            user: r.take(3)?,
            device: r.take(4)?,
            written_ms: r.get(5)?,
            applied_ms: r.get(6)?,
        })
    })
    .collect()
}

/// Removes from `record`'s stored writes of `field` every value other than `keep` (the
/// write rows stay, with their author and time, marked `redacted` and without the value),
/// and sets the current value to `keep` (`None`: cleared). Returns how many distinct values
/// were removed. Part of a redaction ([`crate::redact`]), in its transaction.
pub fn redact(
    tx: &dyn Sql,
    record: Uuid,
    field: &str,
    keep: Option<&Value>,
    now_ms: i64,
) -> Result<usize, DbError> {
    let keep_json = keep.map(|v| serde_json::to_string(v).unwrap_or_default());
    let mut removed: Vec<String> = Vec::new();
    for mut r in tx.query(
        "SELECT value FROM sensitive_writes WHERE record = ?1 AND field = ?2 AND value IS NOT NULL",
        &[&record, &field],
    )? {
        let v: String = r.take(0)?;
        if Some(&v) != keep_json.as_ref() && !removed.contains(&v) {
            removed.push(v);
        }
    }
    for v in &removed {
        tx.execute(
            "UPDATE sensitive_writes SET value = NULL, redacted = 1
             WHERE record = ?1 AND field = ?2 AND value = ?3",
            &[&record, &field, v],
        )?;
    }
    let current: Option<String> = tx
        .query_opt(
            "SELECT value FROM sensitive_values WHERE record = ?1 AND field = ?2",
            &[&record, &field],
        )?
        .map(|mut r| r.take(0))
        .transpose()?;
    if current != keep_json {
        match &keep_json {
            Some(json) => tx.execute(
                "INSERT INTO sensitive_values (record, field, value, written_by, device, updated_ms)
                 VALUES (?1, ?2, ?3, 'redaction', '', ?4)
                 ON CONFLICT (record, field) DO UPDATE SET value = excluded.value,
                 written_by = excluded.written_by, device = excluded.device,
                 updated_ms = excluded.updated_ms",
                &[&record, &field, json, &now_ms],
            )?,
            None => tx.execute(
                "DELETE FROM sensitive_values WHERE record = ?1 AND field = ?2",
                &[&record, &field],
            )?,
        };
    }
    Ok(removed.len())
}
