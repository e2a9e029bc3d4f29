//! The subject-access report: everything Ferry holds about one person, found by their ID
//! number, with each record's field history and every access the audit trail holds for it.
//!
//! Which records belong to the person: the records carrying the ID number (`records.id_number`,
//! written with each accepted push: the citizen record and applications that carry it); for
//! each citizen record found, the applications and declarations whose `citizen_id` names it,
//! the households that list it as a member, and the duplicates merged into it (from the review
//! index, kept by the detection worker moments after each push).
//!
//! Who accessed each record comes from the audit rows that list its id: a `sync` row is a
//! change pushed from a device (`changed`), a copy sent to one (`pulled`) or a refused push
//! (`refused`); `record_read`, `review_read` and `review_list` are reads; `record_export` and
//! `report_export` exports; review decisions are changes; earlier subject-access reports are
//! listed as such. Gathering and its own audit row (`subject_report`) run in one transaction,
//! so the report and the trail agree.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use sync_core::doc::RecordDoc;
use sync_core::model::{IdNumber, Value};
use uuid::Uuid;

use crate::db::{DbError, Sql};
use crate::review::store::{self, Who};
use crate::{audit, feed};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SubjectError {
    /// The ID number is not 12 digits (separators aside).
    #[error("the ID number must be 12 digits")]
    BadIdNumber,
    /// The store failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A stored document did not load (no detail: it could carry a value).
    #[error("a stored record could not be read")]
    Doc,
}

/// Who asks for the report, for its audit row.
#[derive(Debug, Clone)]
pub struct Requester<'a> {
    /// The user (`cli` for the command line).
    pub user: &'a str,
    /// The device (the console's or API session's), or empty.
    pub device: &'a str,
    /// `cli`, `api` or `console`.
    pub via: &'a str,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectReport {
    /// The ID number asked for (normalised).
    pub id_number: String,
    /// When the report was made (ms) and in Vietnam time.
    pub generated_ms: i64,
    /// `generated_ms` as `YYYY-MM-DDTHH:MM:SS+07:00`.
    pub generated_at: String,
    /// Who made it.
    pub generated_by: String,
    /// The audit row that records this report.
    pub audit_id: i64,
    /// When the oldest audit row still held was written, if the retention rule removed older
    /// ones (accesses before it are no longer known); `None` when the trail is whole.
    pub audit_from_ms: Option<i64>,
    /// Every record held about the person.
    pub records: Vec<HeldRecord>,
}

/// One record held about the person.
#[derive(Debug, Clone, Serialize)]
pub struct HeldRecord {
    /// Record id.
    pub id: Uuid,
    /// Record kind.
    pub kind: String,
    /// Why it belongs to the person: `id_number`, `citizen_id`, `member` or `merged_into`.
    pub found_by: &'static str,
    /// Current unit.
    pub unit: String,
    /// Last accepted write (ms).
    pub updated_ms: i64,
    /// The current values.
    pub fields: BTreeMap<String, Value>,
    /// Every change of every field, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Every access in the audit trail, oldest first.
    pub accesses: Vec<Access>,
}

/// One change of one field.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// When (the device's clock, ms).
    pub time_ms: i64,
    /// The field.
    pub field: String,
    /// The value before.
    pub from: Option<Value>,
    /// The value after.
    pub to: Option<Value>,
    /// The account that wrote it, when known.
    pub user: Option<String>,
    /// The device it came from, when known.
    pub device: Option<String>,
}

/// One access to a record, from the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct Access {
    /// The audit row.
    pub audit_id: i64,
    /// When (ms).
    pub time_ms: i64,
    /// Who.
    pub user: String,
    /// From which device (empty for the command line).
    pub device: String,
    /// The audited action (`sync`, `record_read`, …).
    pub action: String,
    /// What it did to this record: `read`, `exported`, `pulled`, `changed`, `refused`,
    /// `subject_report`, or the action itself for anything else.
    pub access: Vec<String>,
}

/// Strips the separators people type (spaces, dots, dashes) and checks the 12 digits.
pub fn normalise_id_number(s: &str) -> Result<String, SubjectError> {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    IdNumber::parse(&digits)
        .map(|n| n.as_str().to_owned())
        .map_err(|_| SubjectError::BadIdNumber)
}

/// Makes the report in `tx` and appends its audit row there (`subject_report`, listing every
/// record reported). Reports of an unknown number are audited too (with no records).
pub fn report(
    tx: &dyn Sql,
    id_number: &str,
    by: &Requester<'_>,
    now_ms: i64,
) -> Result<SubjectReport, SubjectError> {
    let id_number = normalise_id_number(id_number)?;
    let found = person_records(tx, &id_number)?;
    let audit_id = audit::append(
        tx,
        now_ms,
        &audit::Entry {
            user: by.user,
            device: by.device,
            action: "subject_report",
            records: found.keys().map(ToString::to_string).collect(),
            details: serde_json::json!({"via": by.via, "records": found.len()}),
        },
    )?;
    let mut who = HashMap::new();
    let mut records = Vec::with_capacity(found.len());
    for (id, found_by) in found {
        if let Some(r) = held_record(tx, id, found_by, &mut who)? {
            records.push(r);
        }
    }
    let audit_from_ms =
        match tx.query_opt("SELECT id, ts_ms FROM audit ORDER BY id LIMIT 1", &[])? {
            Some(r) if r.get::<i64>(0)? > 1 => Some(r.get::<i64>(1)?),
            _ => None,
        };
    Ok(SubjectReport {
        id_number,
        audit_from_ms,
        generated_ms: now_ms,
        generated_at: crate::cli::format_time(now_ms),
        generated_by: by.user.to_owned(),
        audit_id,
        records,
    })
}

/// The person's record ids, each with why it belongs to them.
fn person_records(
    conn: &dyn Sql,
    id_number: &str,
) -> Result<BTreeMap<Uuid, &'static str>, DbError> {
    let mut found = BTreeMap::new();
    let mut citizens = Vec::new();
    for r in conn.query(
        "SELECT id, kind FROM records WHERE id_number = ?1 ORDER BY id",
        &[&id_number],
    )? {
        let (id, kind): (String, String) = (r.get(0)?, r.get(1)?);
        let Ok(id) = Uuid::parse_str(&id) else {
            continue;
        };
        if kind == "citizen" {
            citizens.push(id);
        }
        found.insert(id, "id_number");
    }
    for c in citizens {
        let cid = c.to_string();
        for row in store::index_where(conn, "citizen_id = ?1", &[&cid])? {
            found.entry(row.record).or_insert("citizen_id");
        }
        for row in store::index_where(conn, "merged_into = ?1", &[&cid])? {
            found.entry(row.record).or_insert("merged_into");
        }
        for h in store::households_of(conn, c)? {
            found.entry(h).or_insert("member");
        }
    }
    Ok(found)
}

/// One record with its history and accesses; `None` if it disappeared meanwhile.
fn held_record(
    conn: &dyn Sql,
    id: Uuid,
    found_by: &'static str,
    who: &mut HashMap<String, Who>,
) -> Result<Option<HeldRecord>, SubjectError> {
    let Some(stored) = feed::get_record(conn, id)? else {
        return Ok(None);
    };
    let doc = RecordDoc::load(&stored.doc).map_err(|_| SubjectError::Doc)?;
    let record = doc.read().map_err(|_| SubjectError::Doc)?;
    let mut history = Vec::new();
    for h in doc.history() {
        if !who.contains_key(&h.change) {
            who.insert(h.change.clone(), store::who(conn, &h.change, &h.actor)?);
        }
        let w = &who[&h.change];
        history.push(HistoryEntry {
            time_ms: h.time_ms,
            field: h.field,
            from: h.from,
            to: h.to,
            user: w.user.clone(),
            device: w.device.clone(),
        });
    }
    // Sensitive values live apart from the document (protocol §12): their current values
    // and every write join the report's fields and history.
    let mut fields = record.fields;
    fields.extend(crate::sensitive::values_of(conn, id)?);
    let mut last: HashMap<String, Option<Value>> = HashMap::new();
    for w in crate::sensitive::history_of(conn, id)? {
        let from = last.insert(w.field.clone(), w.value.clone()).flatten();
        history.push(HistoryEntry {
            time_ms: w.written_ms,
            field: w.field,
            from,
            to: w.value,
            user: Some(w.user),
            device: Some(w.device),
        });
    }
    history.sort_by_key(|h| h.time_ms);
    let rows = audit::list(
        conn,
        &audit::Filter {
            record: Some(id.to_string()),
            ..audit::Filter::default()
        },
    )?;
    let accesses = rows
        .iter()
        .map(|row| access(row, &id.to_string()))
        .collect();
    Ok(Some(HeldRecord {
        id,
        kind: stored.kind,
        found_by,
        unit: stored.unit,
        updated_ms: stored.updated_ms,
        fields,
        history,
        accesses,
    }))
}

/// What an audit row that lists `record` did to it.
fn access(row: &audit::Row, record: &str) -> Access {
    let details: serde_json::Value = serde_json::from_str(&row.details).unwrap_or_default();
    let lists = |key: &str| {
        details[key].as_array().is_some_and(|a| {
            a.iter()
                .any(|v| v.as_str() == Some(record) || v["record"].as_str() == Some(record))
        })
    };
    let mut what = BTreeSet::new();
    match row.action.as_str() {
        "sync" => {
            for (key, label) in [
                ("pushed", "changed"),
                ("sent", "pulled"),
                ("rejected", "refused"),
                ("sensitive_written", "changed"),
            ] {
                if lists(key) {
                    what.insert(label);
                }
            }
        }
        "record_read" | "review_read" | "review_list" | "report_view" | "sensitive_read" => {
            what.insert("read");
        }
        "record_export" | "report_export" => {
            what.insert("exported");
        }
        "review_resolve" | "review_merge" | "review_dismiss" => {
            what.insert("changed");
        }
        _ => {}
    }
    let mut access: Vec<String> = what.into_iter().map(str::to_owned).collect();
    if access.is_empty() {
        access.push(row.action.clone());
    }
    Access {
        audit_id: row.id,
        time_ms: row.ts_ms,
        user: row.user.clone(),
        device: row.device.clone(),
        action: row.action.clone(),
        access,
    }
}
