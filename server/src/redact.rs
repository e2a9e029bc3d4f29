//! Redaction: an admin removes a wrongly entered value from a record's history by replacing
//! the record's document with a new **lineage** (`docs/protocol.md` §13;
//! `docs/adr/rights-sensitive-fields-and-redaction.md`, Decision 2).
//!
//! An Automerge document keeps every value it ever held, so a value cannot be deleted from
//! it: [`redact`] builds a new document from the record as it reads now (the redacted field
//! set to the value to keep, or cleared) in one change by the admin's server-side actor, and
//! in the caller's transaction
//!
//! - counts `records.lineage` one up and stores the new document;
//! - deletes every logged change (and earlier lineage snapshot) of the record, keeping their
//!   hashes in `redacted_changes` so that no push ever stores them again
//!   ([`crate::sync`], `lineage_replaced`), and logs the new document as one `lineage` row
//!   in the record's unit, so that every device's next pull replaces its copy;
//! - keeps each removed value as a salted SHA-256 in `record_redactions` (sent to devices so
//!   that they recognise it without being sent it);
//! - runs review detection on the record (which re-indexes the review and report tables, as
//!   after a push) and writes the audit row `record_redact` (field, reason, lineages, counts
//!   — never the value).
//!
//! After the commit, [`scrub`] makes sure the removed bytes are gone from the database files
//! too (SQLite: zeroed on delete, WAL truncated; PostgreSQL: the tables vacuumed).

use std::collections::BTreeSet;

use rand::RngCore;
use serde::Serialize;
use sync_core::doc::{Author, RecordDoc};
use sync_core::model::{self, FieldType, Record, Role, ValidationContext, Value};
use sync_core::protocol::redaction_hash;
use sync_core::time::local_date;
use uuid::Uuid;

use crate::db::{DbError, Sql, Store};
use crate::{accounts, audit, feed};

/// Most characters of a redaction's reason.
pub const MAX_REASON_CHARS: usize = 1000;

/// What the redacted field holds afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Its value as it reads now (the wrong value was corrected, and only history holds it).
    Current,
    /// This value (the current one is wrong too).
    Value(Value),
    /// Nothing: the field is cleared.
    Clear,
}

/// One redaction request.
#[derive(Debug, Clone)]
pub struct Redaction {
    /// The field whose other values are removed.
    pub field: String,
    /// Why (required; audited).
    pub reason: String,
    /// What the field keeps.
    pub keep: Keep,
}

/// Who redacts, and through which interface (audit).
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    /// The admin's account name.
    pub user: &'a str,
    /// `api` or `cli`.
    pub via: &'a str,
    /// The device or session the request came from (audit `device` column).
    pub device: &'a str,
}

/// What a redaction did (no value in it: it is printed and audited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The record.
    pub record: Uuid,
    /// The redacted field.
    pub field: String,
    /// The lineage before.
    pub lineage_from: u64,
    /// The lineage now.
    pub lineage_to: u64,
    /// Changes of the old lineage dropped from the log.
    pub dropped_changes: usize,
    /// Distinct values removed from the field's history.
    pub values_removed: usize,
    /// The database files were scrubbed after the commit ([`scrub`]); `false` when that
    /// failed (the redaction itself is committed; the next checkpoint or vacuum finishes it).
    pub scrubbed: bool,
}

/// Why a redaction was refused.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// No record with this id.
    #[error("no such record")]
    NotFound,
    /// The request does not fit the record (unknown field, empty reason, nothing to remove,
    /// an invalid result).
    #[error("{0}")]
    Invalid(String),
    /// The acting user is not an enabled admin.
    #[error("only an enabled admin may redact a value")]
    NotAdmin,
    /// Storage or document failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for RedactError {
    fn from(e: DbError) -> Self {
        RedactError::Internal(e.into())
    }
}

fn invalid(msg: impl Into<String>) -> RedactError {
    RedactError::Invalid(msg.into())
}

/// Checks the request against the record's kind: a scalar field of the kind, a reason.
fn check_request(record: &Record, req: &Redaction) -> Result<(), RedactError> {
    let reason = req.reason.trim();
    if reason.is_empty() {
        return Err(invalid("a redaction needs a reason"));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(invalid(format!(
            "a reason has at most {MAX_REASON_CHARS} characters"
        )));
    }
    let spec = model::field_spec(record.kind, &req.field).ok_or_else(|| {
        invalid(format!(
            "{} records have no field {:?}",
            record.kind.as_str(),
            req.field
        ))
    })?;
    if matches!(
        spec.ty,
        FieldType::Members | FieldType::PreviousIdNumbers | FieldType::Attachments
    ) {
        return Err(invalid("only a field holding one value can be redacted"));
    }
    Ok(())
}

/// The value the field keeps, normalised as an admin's edit is; text given for a number or
/// flag field (the command line's `--keep`) is read as one.
fn kept_value(record: &Record, req: &Redaction) -> Option<Value> {
    let ty = model::field_spec(record.kind, &req.field).map(|s| s.ty);
    match &req.keep {
        Keep::Current => record.fields.get(&req.field).cloned(),
        Keep::Value(Value::Text(s)) => Some(match (ty, s.trim()) {
            (Some(FieldType::Int), t) => t
                .parse::<i64>()
                .map_or_else(|_| Value::Text(model::nfc(t)), Value::Int),
            (Some(FieldType::Bool), "true") => Value::Bool(true),
            (Some(FieldType::Bool), "false") => Value::Bool(false),
            (_, t) => Value::Text(model::nfc(t)),
        }),
        Keep::Value(v) => Some(v.clone()),
        Keep::Clear => None,
    }
}

/// Every value `field` ever held in `doc` (winning or not), other than `keep`.
fn removed_values(doc: &RecordDoc, field: &str, keep: Option<&Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for change in doc.history().into_iter().filter(|c| c.field == field) {
        for v in [change.from, change.to].into_iter().flatten() {
            if Some(&v) != keep && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// Redacts `req.field` of `id` as `admin`, in `tx`. See the module documentation; call
/// [`scrub`] after the commit.
pub fn redact(
    tx: &dyn Sql,
    id: Uuid,
    req: &Redaction,
    admin: Admin<'_>,
    now_ms: i64,
) -> Result<Outcome, RedactError> {
    redact_with(tx, id, req, admin, now_ms, true)
}

/// [`redact`]; with `touch_apart` false a sensitive field's values stored apart from the document
/// are left alone and only the document is rebuilt without the field (moving values out of
/// a document from before schema version 17: [`crate::sensitive_split`]).
pub(crate) fn redact_with(
    tx: &dyn Sql,
    id: Uuid,
    req: &Redaction,
    admin: Admin<'_>,
    now_ms: i64,
    touch_apart: bool,
) -> Result<Outcome, RedactError> {
    let user = accounts::get_user(tx, admin.user)
        .map_err(anyhow::Error::from)?
        .ok_or(RedactError::NotAdmin)?;
    if user.role != Role::Admin || user.disabled {
        return Err(RedactError::NotAdmin);
    }
    // A read-modify-write of the document: locked on PostgreSQL against a push elsewhere.
    let stored = feed::get_record_for_update(tx, id)?.ok_or(RedactError::NotFound)?;
    let old = RecordDoc::load(&stored.doc).map_err(anyhow::Error::from)?;
    let current = old.read().map_err(anyhow::Error::from)?;
    check_request(&current, req)?;
    // A sensitive field's values live apart from the document (protocol §12): they are
    // redacted there. A document from before that split may still hold some in its history;
    // it then gets a new lineage without the field.
    let sensitive = model::sensitivity::is_sensitive(current.kind, &req.field);
    let apart = if sensitive && touch_apart {
        match redact_apart(tx, &stored, &old, &current, req, admin, now_ms)? {
            Apart::Done(outcome) => return Ok(outcome),
            Apart::AlsoInDocument(n) => n,
        }
    } else {
        0
    };
    let keep = if sensitive {
        None
    } else {
        kept_value(&current, req)
    };
    let removed = removed_values(&old, &req.field, keep.as_ref());
    if removed.is_empty() {
        return Err(invalid(format!(
            "the field {:?} never held another value: nothing to redact",
            req.field
        )));
    }
    let mut next = current.clone();
    match &keep {
        Some(v) => next.fields.insert(req.field.clone(), v.clone()),
        None => next.fields.remove(&req.field),
    };
    let findings =
        model::validate(&next, &ValidationContext::new(local_date(now_ms))).map_err(|errors| {
            invalid(format!(
                "the record would be invalid: {}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
    let (device, actor) =
        crate::review::resolve::admin_author(tx, user.id, now_ms).map_err(|e| match e {
            crate::review::ReviewError::Internal(e) => RedactError::Internal(e),
            other => RedactError::Internal(anyhow::Error::new(other)),
        })?;
    let author = Author {
        actor,
        time_ms: now_ms,
    };
    let (doc, _) = RecordDoc::create(&next, &author).map_err(anyhow::Error::from)?;
    // Saved once: the `lineage` row's snapshot and the stored document (uncompressed, as
    // every accepted push stores it).
    let saved = doc.save_uncompressed();
    let (from, dropped) = replace_lineage(tx, &stored, &old, &saved, device, now_ms)?;
    let outcome = Outcome {
        record: id,
        field: req.field.clone(),
        lineage_from: from,
        lineage_to: from + 1,
        dropped_changes: dropped,
        values_removed: removed.len() + apart,
        scrubbed: false,
    };
    store_hashes(tx, id, outcome.lineage_to, &req.field, &removed)?;
    feed::put_record(
        tx,
        &crate::sync::stored_row(&doc, saved, &next, &findings, now_ms),
    )?;
    // Detected now, in this transaction, not queued: the review and report indexes of the
    // old state (search keys of the removed value) are rewritten before the commit, so the
    // scrub after it covers them too.
    crate::review::detect(tx, &[id], now_ms)?;
    scrub_review_items(tx, id, &removed)?;
    audit_redaction(tx, &outcome, req, admin, now_ms)?;
    Ok(outcome)
}

/// What redacting a sensitive field's stored values left to do.
enum Apart {
    /// Nothing: the document never held the field (written after schema version 17).
    Done(Outcome),
    /// The document still holds the field in its history (these many values were removed
    /// apart): it gets a new lineage too.
    AlsoInDocument(usize),
}

/// Redacts a sensitive field's values kept apart from the document (protocol §12).
fn redact_apart(
    tx: &dyn Sql,
    stored: &feed::StoredRecord,
    old: &RecordDoc,
    current: &Record,
    req: &Redaction,
    admin: Admin<'_>,
    now_ms: i64,
) -> Result<Apart, RedactError> {
    let keep = match &req.keep {
        Keep::Current => crate::sensitive::values_of(tx, stored.id)?.remove(&req.field),
        _ => kept_value(current, req),
    };
    let apart = crate::sensitive::redact(tx, stored.id, &req.field, keep.as_ref(), now_ms)?;
    if !removed_values(old, &req.field, None).is_empty() {
        return Ok(Apart::AlsoInDocument(apart));
    }
    if apart == 0 {
        return Err(invalid(format!(
            "the field {:?} never held another value: nothing to redact",
            req.field
        )));
    }
    let outcome = Outcome {
        record: stored.id,
        field: req.field.clone(),
        lineage_from: stored.lineage,
        lineage_to: stored.lineage,
        dropped_changes: 0,
        values_removed: apart,
        scrubbed: false,
    };
    audit_redaction(tx, &outcome, req, admin, now_ms)?;
    Ok(Apart::Done(outcome))
}

/// Swaps the record's log for the new lineage: old change hashes to `redacted_changes`, old
/// rows deleted (`moved` markers stay: they hold nothing and tell other units' devices to
/// drop the record), the new document (`snapshot`) logged as a `lineage` row, the lineage
/// counted up. Returns the lineage before and the number of changes dropped.
fn replace_lineage(
    tx: &dyn Sql,
    stored: &feed::StoredRecord,
    old: &RecordDoc,
    snapshot: &[u8],
    device: Uuid,
    now_ms: i64,
) -> Result<(u64, usize), RedactError> {
    let id = stored.id;
    let from = stored.lineage as i64;
    let hashes: BTreeSet<[u8; 32]> = old.change_actors().into_iter().map(|(h, _)| h.0).collect();
    for hash in &hashes {
        tx.execute(
            "INSERT INTO redacted_changes (record, hash, lineage) VALUES (?1, ?2, ?3)
             ON CONFLICT (record, hash) DO NOTHING",
            &[&id, &hash.to_vec(), &from],
        )?;
    }
    tx.execute(
        "DELETE FROM changes WHERE record = ?1 AND kind <> 'moved'",
        &[&id],
    )?;
    feed::append_lineage(tx, id, snapshot, &stored.scope(), device, now_ms)?;
    tx.execute(
        "UPDATE records SET lineage = ?2 WHERE id = ?1",
        &[&id, &(from + 1)],
    )?;
    Ok((stored.lineage, hashes.len()))
}

/// Keeps each removed value as SHA-256(salt ‖ value) with its own random salt: devices can
/// recognise the value in an edit they carry over, and nobody can list values from it.
fn store_hashes(
    tx: &dyn Sql,
    id: Uuid,
    lineage: u64,
    field: &str,
    removed: &[Value],
) -> Result<(), RedactError> {
    let mut rng = rand::thread_rng();
    for value in removed {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let Some(hash) = redaction_hash(&salt, value) else {
            continue;
        };
        tx.execute(
            "INSERT INTO record_redactions (record, lineage, field, salt, hash)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (record, lineage, hash) DO NOTHING",
            &[
                &id,
                &(lineage as i64),
                &field,
                &salt.to_vec(),
                &hash.to_vec(),
            ],
        )?;
    }
    Ok(())
}

/// Replaces the removed values in the review items of the record (a conflict lists every
/// competing value; a resolution keeps the values that lost) with `"[redacted]"`.
fn scrub_review_items(tx: &dyn Sql, id: Uuid, removed: &[Value]) -> Result<(), RedactError> {
    let removed: Vec<serde_json::Value> = removed
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    let rows = tx.query(
        "SELECT i.id, i.candidates, i.details, i.resolution FROM review_items i
           JOIN review_links l ON l.item = i.id WHERE l.record = ?1",
        &[&id],
    )?;
    for mut row in rows {
        let item: i64 = row.get(0)?;
        let mut changed = false;
        let mut texts: Vec<Option<String>> = Vec::with_capacity(3);
        for col in 1..=3 {
            let text: Option<String> = row.take(col)?;
            let scrubbed = text.map(|t| match serde_json::from_str::<serde_json::Value>(&t) {
                Ok(mut json) => {
                    if replace_values(&mut json, &removed) {
                        changed = true;
                        json.to_string()
                    } else {
                        t
                    }
                }
                Err(_) => t,
            });
            texts.push(scrubbed);
        }
        if changed {
            tx.execute(
                "UPDATE review_items SET candidates = ?2, details = ?3, resolution = ?4
                 WHERE id = ?1",
                &[&item, &texts[0], &texts[1], &texts[2]],
            )?;
        }
    }
    Ok(())
}

/// Replaces every JSON value equal to one of `removed` inside `json`; whether any was.
fn replace_values(json: &mut serde_json::Value, removed: &[serde_json::Value]) -> bool {
    if removed.contains(json) {
        *json = serde_json::Value::String("[redacted]".into());
        return true;
    }
    let mut any = false;
    match json {
        serde_json::Value::Array(items) => {
            for v in items {
                any |= replace_values(v, removed);
            }
        }
        serde_json::Value::Object(map) => {
            for v in map.values_mut() {
                any |= replace_values(v, removed);
            }
        }
        _ => {}
    }
    any
}

fn audit_redaction(
    tx: &dyn Sql,
    outcome: &Outcome,
    req: &Redaction,
    admin: Admin<'_>,
    now_ms: i64,
) -> Result<(), RedactError> {
    let keep = match req.keep {
        Keep::Current => "current",
        Keep::Value(_) => "given",
        Keep::Clear => "cleared",
    };
    audit::append(
        tx,
        now_ms,
        &audit::Entry {
            user: admin.user,
            device: admin.device,
            action: "record_redact",
            records: vec![outcome.record.to_string()],
            details: serde_json::json!({
                "field": outcome.field,
                "reason": req.reason.trim(),
                "keep": keep,
                "lineage_from": outcome.lineage_from,
                "lineage_to": outcome.lineage_to,
                "dropped_changes": outcome.dropped_changes,
                "values_removed": outcome.values_removed,
                "via": admin.via,
            }),
        },
    )
    .map_err(anyhow::Error::from)?;
    Ok(())
}

/// After a redaction's commit: no copy of the removed bytes may stay in the database files.
///
/// - SQLite: every writer deletes with `secure_delete` (freed pages and cells are zeroed, see
///   `sync_core::store::pool`), but the WAL still holds the pages as they were before; a
///   truncating checkpoint copies what is live into the file and empties the WAL. A reader
///   in the middle of a pull can make it fail: it is tried again for a few seconds.
/// - PostgreSQL: deleted and updated rows stay in the table files as dead tuples until a
///   vacuum; `changes`, `records`, `review_items`, `review_index`, `report_citizens` and
///   `report_dossiers`, `sensitive_values` and `sensitive_writes` are vacuumed (outside any transaction, as PostgreSQL
///   requires). The server's WAL segments and backups keep the bytes until they are
///   recycled or rotate (`docs/protocol.md` §13).
pub fn scrub(store: &Store) -> anyhow::Result<()> {
    match store {
        Store::Sqlite(pool) => {
            for _ in 0..50 {
                let busy: i64 = pool.configure_writer(|c| {
                    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
                })?;
                if busy == 0 {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            anyhow::bail!("the WAL could not be truncated after the redaction: readers kept it")
        }
        Store::Postgres(pg) => {
            use crate::db::Sql as _;
            // The tables the redaction deleted or rewrote rows of that can hold the value:
            // the log, the document, review items quoting it, the review index's search keys
            // and the report rows' dates (a redacted date field).
            pg.connection()?.batch(&format!("VACUUM {RECORD_TABLES}"))?;
            Ok(())
        }
    }
}

/// The tables that can hold a record's values: documents, the log, review and report rows,
/// sensitive values.
const RECORD_TABLES: &str = "changes, records, review_items, review_index, report_citizens, \
                             report_dossiers, sensitive_values, sensitive_writes";

/// [`scrub`], and then the rewrite that leaves no old byte in the database files at all:
/// SQLite `VACUUM` (the file rebuilt without its free pages), PostgreSQL `VACUUM FULL` of the
/// tables that hold record data (a plain vacuum makes dead tuples' space reusable, but a
/// large document stored out of line in TOAST pages can keep its bytes there until the space
/// is reused) and a `CHECKPOINT`. Both lock the database for the rewrite: syncs wait
/// meanwhile, so run it in a quiet hour (`ferry record scrub --full`).
pub fn scrub_full(store: &Store) -> anyhow::Result<()> {
    scrub(store)?;
    match store {
        Store::Sqlite(pool) => {
            pool.configure_writer(|c| {
                c.execute_batch("VACUUM")?;
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    r.get::<_, i64>(0)
                })
            })?;
            Ok(())
        }
        Store::Postgres(pg) => {
            use crate::db::Sql as _;
            let conn = pg.connection()?;
            conn.batch(&format!("VACUUM FULL {RECORD_TABLES}"))?;
            conn.batch("CHECKPOINT")?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use automerge::ActorId;
    use rusqlite::Connection;
    use serde_bytes::ByteBuf;
    use sync_core::doc::{Edit, encode_change};
    use sync_core::model::{Fields, Kind};
    use sync_core::protocol::{PushRecord, RejectCode, SyncReply};
    use sync_core::store::schema::migrate;

    use super::*;
    use crate::sync::{self, Caller};

    const WRONG: &str = "Nguyễn Văn Sai";
    const RIGHT: &str = "Nguyễn Văn Đúng";

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, crate::schema::SERVER_MIGRATIONS).unwrap();
        accounts::add_user(&conn, "admin", "x", Role::Admin, &[], 1).unwrap();
        accounts::add_user(&conn, "lan", "x", Role::Staff, &["07132".into()], 1).unwrap();
        conn
    }

    fn caller(actor: u8) -> Caller {
        Caller {
            role: Role::Staff,
            scopes: ["07132".to_owned()].into(),
            device_id: Uuid::from_bytes([actor; 16]),
            actor: ActorId::from(&[actor; 16][..]),
        }
    }

    fn push(
        conn: &Connection,
        actor: u8,
        id: Uuid,
        changes: Vec<automerge::Change>,
    ) -> sync::PushOutcome {
        let changes = changes
            .into_iter()
            .map(|mut c| ByteBuf::from(encode_change(&mut c)))
            .collect();
        let rec = PushRecord {
            record: id,
            kind: "citizen".into(),
            unit: "07132".into(),
            changes,
        };
        sync::push(conn, &caller(actor), &[rec], 1_000, None).unwrap()
    }

    /// A citizen first saved with the wrong name, then corrected; returns the phone's copy.
    fn corrected_citizen(conn: &Connection) -> RecordDoc {
        let mut fields = Fields::new();
        fields.insert("full_name".into(), WRONG.into());
        fields.insert("status".into(), "active".into());
        let record = Record {
            id: Uuid::now_v7(),
            kind: Kind::Citizen,
            unit: "07132".into(),
            fields,
        };
        let me = Author::new(&[1; 16], 1);
        let (mut doc, created) = RecordDoc::create(&record, &me).unwrap();
        let fix = doc
            .edit(
                &[Edit::Set {
                    field: "full_name".into(),
                    value: RIGHT.into(),
                }],
                &me,
            )
            .unwrap()
            .unwrap();
        assert!(
            push(conn, 1, record.id, vec![created, fix])
                .rejected
                .is_empty()
        );
        doc
    }

    fn name_redaction() -> Redaction {
        Redaction {
            field: "full_name".into(),
            reason: "typed into the wrong record".into(),
            keep: Keep::Current,
        }
    }

    const ADMIN: Admin<'static> = Admin {
        user: "admin",
        via: "cli",
        device: "",
    };

    fn holds(bytes: &[u8], needle: &str) -> bool {
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn a_redaction_leaves_no_copy_of_the_value_in_the_log_the_record_or_the_audit_trail() {
        let conn = db();
        let phone = corrected_citizen(&conn);
        let id = phone.read().unwrap().id;
        let out = redact(&conn, id, &name_redaction(), ADMIN, 2_000).unwrap();
        assert_eq!((out.lineage_from, out.lineage_to), (0, 1));
        assert_eq!((out.dropped_changes, out.values_removed), (2, 1));
        let stored = feed::get_record(&conn, id).unwrap().unwrap();
        assert_eq!(stored.lineage, 1);
        let doc = RecordDoc::load(&stored.doc).unwrap();
        assert_eq!(doc.read().unwrap().text("full_name"), Some(RIGHT));
        assert!(doc.history().iter().all(|h| h.from != Some(WRONG.into())));
        let mut blobs: Vec<Vec<u8>> = vec![stored.doc.clone()];
        let mut stmt = conn.prepare("SELECT kind, bytes FROM changes").unwrap();
        let rows: Vec<(String, Vec<u8>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["lineage"]
        );
        blobs.extend(rows.into_iter().map(|r| r.1));
        let audit: String = conn
            .query_row(
                "SELECT details FROM audit WHERE action = 'record_redact'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(audit.contains("typed into the wrong record") && audit.contains("full_name"));
        blobs.push(audit.into_bytes());
        assert!(blobs.iter().all(|b| !holds(b, WRONG)));
        let dropped: i64 = conn
            .query_row("SELECT count(*) FROM redacted_changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(dropped, 2);
    }

    #[test]
    fn a_push_built_on_the_old_lineage_is_refused_lineage_replaced_with_the_new_one() {
        let conn = db();
        let mut phone = corrected_citizen(&conn);
        let id = phone.read().unwrap().id;
        redact(&conn, id, &name_redaction(), ADMIN, 2_000).unwrap();
        let offline = phone
            .edit(
                &[Edit::Set {
                    field: "notes".into(),
                    value: "gặp tại nhà".into(),
                }],
                &Author::new(&[1; 16], 3),
            )
            .unwrap()
            .unwrap();
        let out = push(&conn, 1, id, vec![offline]);
        let r = &out.rejected[0];
        assert_eq!(r.code, RejectCode::LineageReplaced);
        let reset = RecordDoc::load(r.reset.as_ref().unwrap()).unwrap();
        assert_eq!(reset.read().unwrap().text("notes"), None);
        assert!(r.redacted[0].matches("full_name", &WRONG.into()));
        assert!(!r.redacted[0].matches("full_name", &RIGHT.into()));
        let logged: i64 = conn
            .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(logged, 1, "only the lineage row");
    }

    #[test]
    fn a_device_that_held_the_old_lineage_pulls_the_new_snapshot_marked_replace() {
        let conn = db();
        let phone = corrected_citizen(&conn);
        let id = phone.read().unwrap().id;
        let seen: i64 = conn
            .query_row("SELECT max(seq) FROM changes", [], |r| r.get(0))
            .unwrap();
        redact(&conn, id, &name_redaction(), ADMIN, 2_000).unwrap();
        let scopes = vec!["07132".to_owned()];
        let cursors = BTreeMap::from([("07132".to_owned(), seen as u64)]);
        let mut reply = SyncReply::empty(0);
        feed::build_pull(
            &conn,
            &feed::PullRequest {
                device_id: Uuid::from_bytes([2; 16]),
                scopes: &scopes,
                cursors: &cursors,
                resync: &[],
                max_bytes: 1 << 20,
            },
            &mut reply,
        )
        .unwrap();
        let entry = &reply.pull[0];
        assert!(entry.replace && entry.lineage == 1 && entry.snapshot.is_some());
        assert!(entry.redacted[0].matches("full_name", &WRONG.into()));
    }

    #[test]
    fn a_conflict_over_the_value_is_settled_and_its_review_item_no_longer_quotes_it() {
        let conn = db();
        let phone = corrected_citizen(&conn);
        let id = phone.read().unwrap().id;
        // Two devices write the name at once: a review item lists both values.
        let mut other = phone.fork();
        let mine = phone
            .fork()
            .edit(
                &[Edit::Set {
                    field: "full_name".into(),
                    value: "Nguyễn Văn Nhầm".into(),
                }],
                &Author::new(&[1; 16], 5),
            )
            .unwrap()
            .unwrap();
        let theirs = other
            .edit(
                &[Edit::Set {
                    field: "full_name".into(),
                    value: "Nguyễn Thị Lan Anh".into(),
                }],
                &Author::new(&[2; 16], 5),
            )
            .unwrap()
            .unwrap();
        assert!(push(&conn, 1, id, vec![mine]).rejected.is_empty());
        assert!(push(&conn, 2, id, vec![theirs]).rejected.is_empty());
        crate::review::detect(&conn, &[id], 3_000).unwrap();
        let items = |conn: &Connection| -> String {
            conn.query_row("SELECT group_concat(candidates || details || coalesce(resolution, '')) FROM review_items", [], |r| r.get(0))
                .unwrap()
        };
        assert!(items(&conn).contains("Nguyễn Văn Nhầm"));
        let req = Redaction {
            keep: Keep::Value("Nguyễn Thị Lan Anh".into()),
            ..name_redaction()
        };
        let out = redact(&conn, id, &req, ADMIN, 4_000).unwrap();
        assert_eq!(
            out.values_removed, 3,
            "the first, the corrected and the competing name"
        );
        let after = items(&conn);
        assert!(
            !after.contains("Nguyễn Văn Nhầm") && !after.contains(WRONG),
            "{after}"
        );
    }

    #[test]
    fn a_redaction_without_a_reason_or_of_an_unknown_field_or_record_is_refused() {
        let conn = db();
        let id = corrected_citizen(&conn).read().unwrap().id;
        let mut req = name_redaction();
        req.reason = "  ".into();
        assert!(matches!(
            redact(&conn, id, &req, ADMIN, 2),
            Err(RedactError::Invalid(_))
        ));
        let mut req = name_redaction();
        req.field = "favourite_colour".into();
        assert!(matches!(
            redact(&conn, id, &req, ADMIN, 2),
            Err(RedactError::Invalid(_))
        ));
        let r = redact(&conn, Uuid::now_v7(), &name_redaction(), ADMIN, 2);
        assert!(matches!(r, Err(RedactError::NotFound)));
        let staff = Admin {
            user: "lan",
            ..ADMIN
        };
        assert!(matches!(
            redact(&conn, id, &name_redaction(), staff, 2),
            Err(RedactError::NotAdmin)
        ));
    }
}
