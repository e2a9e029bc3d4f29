//! The push side of a sync exchange: every pushed record is checked on a fork of the stored
//! document before anything is stored.
//!
//! Per record, all of its changes are evaluated together, in this order (the first failing
//! check decides the rejection code):
//!
//! 1. every change decodes (`malformed`);
//! 2. a stored record is in one of the user's units (`out_of_scope`), checked before the
//!    idempotent shortcut so a re-push never confirms another unit's record;
//! 3. changes the server already holds are fine whoever wrote them (idempotent re-push); every
//!    other change must be authored by the actor registered to this device (`wrong_actor`);
//! 4. every operation of the new changes fits the schema and the limits
//!    ([`sync_core::check::check_changes`]: operation count, objects, depth, value types and
//!    sizes; `invalid`), before anything is applied;
//! 5. the changes apply to a fork of the stored document (or an empty one for a new record)
//!    (`malformed`), no dependency is missing (`missing_deps`), and the result is at most
//!    [`limits::MAX_RECORD_BYTES`] (`invalid`);
//! 6. the result reads as a record (`invalid`) with the pushed id and kind, and a kind that
//!    did not change (`malformed` / `invalid`);
//! 7. `model::validate` finds no structural error (`invalid`);
//! 8. [`sync_core::check::judge`]: the record's unit before and after, and every unit value
//!    written, is one of the user's units (`out_of_scope`); the role rules hold on the winners
//!    and on every value the new changes wrote, winning or not: status moves (`forbidden`)
//!    and frozen fields (`frozen_field`).
//!
//! An accepted record's new changes go to the change log (with a `moved` marker in the old
//! unit's feed when the unit changed) and its merged document replaces the stored one, all
//! in the caller's transaction. Records that gained changes are queued for review detection
//! in the same transaction; detection runs after the commit ([`crate::review::queue`]).
//!
//! The checks ([`check_all`]) write nothing, so the server runs them on a reader snapshot
//! before the write transaction, in parallel across exchanges; inside the transaction
//! [`push_checked`] stores each verdict whose record still has the heads it was checked
//! against, and checks the others again there. The outcome is the same as checking
//! everything inside the transaction: a verdict depends only on the pushed changes, the
//! caller and the stored document, which the heads identify.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use automerge::{ActorId, Change};
use serde_bytes::ByteBuf;
use sync_core::check::{self, limits};
use sync_core::doc::{self, RecordDoc};
use sync_core::model::{self, Finding, Kind, Record, Role, ValidationContext};
use sync_core::protocol::{PushRecord, RejectCode, Rejection};
use sync_core::replica;
use sync_core::store::tables::RecordRow;
use uuid::Uuid;

use crate::db::Sql;
use crate::doc_cache::DocCache;
use crate::feed::{self, StoredRecord};

/// Who is pushing.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's role.
    pub role: Role,
    /// The units the user may write (every current unit for admins).
    pub scopes: BTreeSet<String>,
    /// The device.
    pub device_id: Uuid,
    /// The actor id registered to the device.
    pub actor: ActorId,
}

/// What the push did.
#[derive(Debug, Clone, Default)]
pub struct PushOutcome {
    /// Hashes of every change of every accepted record.
    pub accepted: Vec<ByteBuf>,
    /// Refused records.
    pub rejected: Vec<Rejection>,
    /// Ids of accepted records.
    pub accepted_records: Vec<Uuid>,
    /// Changes newly written to the log.
    pub new_changes: usize,
    /// Accepted records that are restricted (`docs/protocol.md` §12.1): a device whose role
    /// does not read sensitive data is told to drop its copy.
    pub restricted: Vec<Uuid>,
    /// The push wrote feed rows meant for the pushing device too: a `moved` marker (a record
    /// changed scope) or the server's own changes to other records (residence follow-ups,
    /// protocol §5.2). Its reply's pull must then be read after its commit.
    pub pull_after: bool,
}

/// The verdict of the checks on one record, against the stored state whose heads are
/// `base_heads` (`None`: the record did not exist). Nothing is written yet.
pub struct Checked {
    base_heads: Option<Vec<u8>>,
    verdict: Verdict,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked").finish_non_exhaustive()
    }
}

impl Checked {
    /// The checks refused the record.
    pub fn is_rejection(&self) -> bool {
        matches!(self.verdict, Verdict::Reject(_))
    }
}

/// What the checks decided.
enum Verdict {
    /// Every change was already stored.
    Known {
        hashes: Vec<ByteBuf>,
        /// The record is restricted (protocol §12.1), as stored.
        restricted: bool,
    },
    /// Accepted with new changes: the changes to log (hash, bytes) in causal order, the old
    /// unit when it changed, the row to store and the merged document.
    Accept(Box<Accept>),
    Reject(Rejection),
}

/// An accepted record's verdict: what [`store`] writes.
struct Accept {
    hashes: Vec<ByteBuf>,
    log: Vec<([u8; 32], Vec<u8>)>,
    /// The feed scope the new changes are logged in (the unit, or its restricted scope).
    scope: String,
    /// A residence declaration this push moved to `accepted` (its citizen's residence
    /// follows it: [`crate::residence`]).
    newly_accepted: bool,
    /// The scope the record's earlier changes were logged in, when it differs (and then
    /// the record's `restricted` column is rewritten).
    moved_from: Option<String>,
    row: RecordRow,
    doc: RecordDoc,
    read: Arc<Record>,
}

/// Checks and stores every pushed record in `tx`; records that gained changes are queued
/// for review detection ([`crate::review::queue`]) in the same transaction.
///
/// `cache` (when given) supplies loaded documents and receives the new ones.
pub fn push(
    tx: &dyn Sql,
    caller: &Caller,
    records: &[PushRecord],
    now_ms: i64,
    cache: Option<&DocCache>,
) -> anyhow::Result<PushOutcome> {
    push_checked(tx, caller, records, Vec::new(), now_ms, cache)
}

/// Runs the checks of every pushed record on `conn` (a reader snapshot), outside the write
/// transaction, so that concurrent exchanges' checks use every core; [`push_checked`] then
/// stores the verdicts whose record did not change in between.
pub fn check_all(
    conn: &dyn Sql,
    caller: &Caller,
    records: &[PushRecord],
    now_ms: i64,
    cache: Option<&DocCache>,
) -> anyhow::Result<Vec<Checked>> {
    let ctx = ValidationContext::new(sync_core::time::local_date(now_ms));
    records
        .iter()
        .map(|push| evaluate(conn, caller, push, &ctx, now_ms, cache))
        .collect()
}

/// [`push`] with verdicts computed beforehand by [`check_all`] (one per record, in order;
/// fewer or none is fine). A verdict is used only when the record's stored heads are still
/// the ones it was checked against; otherwise the record is checked again here, in `tx`.
pub fn push_checked(
    tx: &dyn Sql,
    caller: &Caller,
    records: &[PushRecord],
    checked: Vec<Checked>,
    now_ms: i64,
    cache: Option<&DocCache>,
) -> anyhow::Result<PushOutcome> {
    let ctx = ValidationContext::new(sync_core::time::local_date(now_ms));
    let mut out = PushOutcome::default();
    let mut declarations: Vec<Arc<Record>> = Vec::new();
    // The log rows are written at the end, after every check and merge: on PostgreSQL a
    // feed's `unit_seq` row stays locked from its first row to the commit, so each unit's
    // pushes wait for one another only for the inserts and the commit, not for the checks.
    let mut log = PendingLog::default();
    // On PostgreSQL each record's row lock holds it still until this transaction ends
    // (taken before a re-check too, so that the re-check reads what is then stored).
    let mut locked = feed::lock_heads_in_order(tx, records.iter().map(|p| p.record).collect())?;
    let mut checked = checked.into_iter();
    for (slot, push) in records.iter().enumerate() {
        // A record named twice in one request: its second time reads what its first stored.
        let heads = match locked.remove(&push.record) {
            Some(heads) => heads,
            None => feed::get_heads(tx, push.record)?,
        };
        let current = match checked.next() {
            Some(c) if c.base_heads == heads => c,
            _ => evaluate(tx, caller, push, &ctx, now_ms, cache)?,
        };
        match store(tx, push.record, current, cache, (&mut log, slot))? {
            Stored::Accepted {
                hashes,
                restricted,
                accepted_declaration,
            } => {
                declarations.extend(accepted_declaration);
                out.accepted.extend(hashes);
                out.accepted_records.push(push.record);
                if restricted {
                    out.restricted.push(push.record);
                }
            }
            Stored::Rejected(r) => out.rejected.push(r),
        }
    }
    // Queued before the log rows are written, so that waiting for a review worker's lock on
    // a queue row (it holds its chunk's rows while it detects) does not happen while this
    // transaction holds its feeds. A record whose every change another transaction logged
    // first is queued all the same: detecting a record twice finds nothing new.
    let with_changes = log.slots_with_changes(records.len());
    let mut changed: Vec<Uuid> = records
        .iter()
        .zip(with_changes)
        .filter_map(|(p, has)| has.then_some(p.record))
        .collect();
    // A citizen the accepting device did not hold (and so did not update) follows its
    // accepted registrations here.
    let followed = crate::residence::follow_acceptances(tx, &declarations, now_ms)?;
    out.pull_after = !followed.is_empty() || log.has_markers();
    changed.extend(followed);
    crate::review::queue::enqueue(tx, &changed, now_ms)?;
    let logged = log.write(tx, records.len(), caller.device_id, now_ms)?;
    out.new_changes = logged.iter().sum();
    Ok(out)
}

/// The feed rows of a push, kept until every record is checked and merged.
#[derive(Default)]
struct PendingLog {
    rows: Vec<PendingRow>,
}

/// One feed row: a change (with its hash) or a `moved` marker, for the pushed record at
/// `slot` of the request.
struct PendingRow {
    slot: usize,
    record: Uuid,
    scope: String,
    change: Option<([u8; 32], Vec<u8>)>,
}

impl PendingLog {
    /// For each of the request's `slots` records, whether it has changes to log.
    fn slots_with_changes(&self, slots: usize) -> Vec<bool> {
        let mut has = vec![false; slots];
        for r in self.rows.iter().filter(|r| r.change.is_some()) {
            has[r.slot] = true;
        }
        has
    }

    /// Whether a `moved` marker is among the rows (a record changed scope).
    fn has_markers(&self) -> bool {
        self.rows.iter().any(|r| r.change.is_none())
    }

    /// Writes the rows in the order they were added, after locking their feeds in one
    /// order ([`feed::lock_feeds_in_order`]); returns how many changes were newly logged
    /// for each of the request's `slots` records (a change another transaction logged first
    /// is not counted).
    fn write(
        self,
        tx: &dyn Sql,
        slots: usize,
        device: Uuid,
        now_ms: i64,
    ) -> Result<Vec<usize>, crate::db::DbError> {
        let mut logged = vec![0; slots];
        let scopes: BTreeSet<&str> = self.rows.iter().map(|r| r.scope.as_str()).collect();
        feed::lock_feeds_in_order(tx, &scopes)?;
        for row in &self.rows {
            match &row.change {
                Some((hash, bytes)) => {
                    if feed::append_change(tx, row.record, hash, bytes, &row.scope, device, now_ms)?
                    {
                        logged[row.slot] += 1;
                    }
                }
                None => feed::append_moved(tx, row.record, &row.scope, device, now_ms)?,
            }
        }
        Ok(logged)
    }
}

/// What [`store`] did with a verdict.
enum Stored {
    Accepted {
        hashes: Vec<ByteBuf>,
        restricted: bool,
        /// The record, when the push accepted a residence declaration.
        accepted_declaration: Option<Arc<Record>>,
    },
    Rejected(Rejection),
}

/// Writes an accepted verdict: the record row; its new changes (in causal order) and, when
/// the unit changed, a `moved` marker in the old unit's feed go to `log` at `slot`, written
/// after the last record; the merged document goes to the cache.
fn store(
    tx: &dyn Sql,
    record: Uuid,
    current: Checked,
    cache: Option<&DocCache>,
    (log, slot): (&mut PendingLog, usize),
) -> anyhow::Result<Stored> {
    let new_record = current.base_heads.is_none();
    let accepted = match current.verdict {
        Verdict::Reject(r) => return Ok(Stored::Rejected(r)),
        // A re-push (its reply was lost): the record may be restricted all the same.
        Verdict::Known { hashes, restricted } => {
            return Ok(Stored::Accepted {
                hashes,
                restricted,
                accepted_declaration: None,
            });
        }
        Verdict::Accept(accept) => *accept,
    };
    let Accept {
        hashes,
        log: changes,
        scope,
        newly_accepted,
        moved_from,
        row,
        doc,
        read,
    } = accepted;
    for change in changes {
        log.rows.push(PendingRow {
            slot,
            record,
            scope: scope.clone(),
            change: Some(change),
        });
    }
    if let Some(old_scope) = &moved_from {
        log.rows.push(PendingRow {
            slot,
            record,
            scope: old_scope.clone(),
            change: None,
        });
    }
    let restricted = sync_core::model::sensitivity::scope_unit(&scope).1;
    if new_record {
        // Checked as a new record; on PostgreSQL another node may have created it since
        // (nothing to lock before it exists): then the whole push runs again and checks the
        // record against what that node stored.
        if !feed::insert_new_record(tx, &row)? {
            return Err(
                crate::writer::Contended("a pushed new record was created meanwhile").into(),
            );
        }
    } else {
        feed::put_record(tx, &row)?;
    }
    // Written only when the scope changed (or a new record is restricted): the hot path of
    // an ordinary edit runs no extra statement.
    if moved_from.is_some() || (new_record && restricted) {
        feed::set_restricted(tx, record, restricted)?;
    }
    let accepted_declaration = newly_accepted.then(|| read.clone());
    if let Some(c) = cache {
        c.put_read(
            record,
            row.heads.clone(),
            Arc::from(doc),
            read,
            row.doc.len(),
        );
    }
    Ok(Stored::Accepted {
        hashes,
        restricted,
        accepted_declaration,
    })
}

/// The stored document of a record: from the cache when it holds these heads, else loaded.
fn load_base(stored: &StoredRecord, cache: Option<&DocCache>) -> anyhow::Result<Arc<RecordDoc>> {
    Ok(match cache {
        Some(c) => c.load(stored.id, &stored.heads, &stored.doc)?,
        None => Arc::new(RecordDoc::load(&stored.doc)?),
    })
}

/// The checks of one record against its stored state (nothing is written).
fn evaluate(
    conn: &dyn Sql,
    caller: &Caller,
    push: &PushRecord,
    ctx: &ValidationContext,
    now_ms: i64,
    cache: Option<&DocCache>,
) -> anyhow::Result<Checked> {
    let stored = feed::get_record(conn, push.record)?;
    let base_heads = stored.as_ref().map(|s| s.heads.clone());
    let checked = |verdict: Verdict| -> anyhow::Result<Checked> {
        Ok(Checked {
            base_heads: base_heads.clone(),
            verdict,
        })
    };
    let base = match &stored {
        Some(s) => load_base(s, cache)?,
        None => Arc::new(RecordDoc::empty()),
    };
    let visible = stored
        .as_ref()
        .is_some_and(|s| caller.scopes.contains(&s.unit));

    // 1. Decode.
    let mut changes: Vec<Change> = Vec::with_capacity(push.changes.len());
    let mut malformed = None;
    for (i, bytes) in push.changes.iter().enumerate() {
        match doc::decode_change(bytes) {
            Ok(c) => changes.push(c),
            Err(_) => {
                malformed.get_or_insert(i);
            }
        }
    }
    let hashes: Vec<ByteBuf> = changes
        .iter()
        .map(|c| ByteBuf::from(c.hash().0.to_vec()))
        .collect();
    let reject = |code: RejectCode, message: String| {
        let reset = match code {
            RejectCode::MissingDeps => None,
            _ if visible => Some(ByteBuf::from(base.save_uncompressed())),
            _ => None,
        };
        checked(Verdict::Reject(Rejection {
            record: push.record,
            changes: hashes.clone(),
            code,
            message,
            reset,
            redacted: Vec::new(),
        }))
    };
    if let Some(i) = malformed {
        return reject(
            RejectCode::Malformed,
            format!("change {i} of this record is not a valid Automerge change"),
        );
    }

    // 2. A stored record outside the caller's units is refused before anything else, so
    // that a re-push of its stored changes does not confirm it exists.
    if stored.is_some() && !visible {
        return reject(
            RejectCode::OutOfScope,
            "the record's unit is not one of your units".into(),
        );
    }

    // 2b. A change of a replaced lineage (redaction), or one built on it, is refused with
    // the new lineage and the removed values' hashes, before the idempotent shortcut and the
    // actor check: a device re-pushing the old history carries its edits over, it does not
    // lose them to `wrong_actor`. The old lineage is never stored again.
    if let Some(r) = lineage_refusal(conn, stored.as_ref(), push.record, &base, &changes, &hashes)?
    {
        return checked(Verdict::Reject(r));
    }

    // 3. Known changes are fine; new ones must come from this device's actor.
    let mut fresh_hashes = HashSet::new();
    let fresh: Vec<Change> = changes
        .into_iter()
        .filter(|c| !base.has_change(&c.hash()) && fresh_hashes.insert(c.hash()))
        .collect();
    if fresh.is_empty() {
        let restricted = stored.as_ref().is_some_and(|s| s.restricted);
        return checked(Verdict::Known { hashes, restricted });
    }
    if fresh.iter().any(|c| c.actor_id() != &caller.actor) {
        return reject(
            RejectCode::WrongActor,
            "a change was not authored by the actor id registered to this device".into(),
        );
    }

    // 4. Operation by operation, before anything is applied: counts, shape, value sizes.
    let kind = match &stored {
        Some(s) => Kind::parse(&s.kind),
        None => Kind::parse(&push.kind),
    };
    let Some(kind) = kind else {
        return reject(RejectCode::Malformed, "unknown record kind".into());
    };
    let written = match check::check_changes(kind, &base, &fresh) {
        Ok(w) => w,
        Err(v) => return reject(v.code, v.message),
    };
    // The stored record, read without the shape walk: every stored document passed it
    // when it was stored (here, below, or in `ferry import`, which runs these checks), so
    // when the changes create no object the merged document passes too.
    // (From the cache when the push that stored this version left its reading there.)
    let before: Option<Result<Record, doc::DocError>> =
        stored
            .as_ref()
            .map(|s| match cache.and_then(|c| c.record(s.id, &s.heads)) {
                Some(r) => Ok((*r).clone()),
                None => base.read_known_shape(),
            });
    let known_shape = written.objects_made == 0;

    // 5. Apply on a fork.
    let mut fork = base.fork();
    if fork.apply_changes(fresh).is_err() {
        return reject(
            RejectCode::Malformed,
            "the changes do not apply to the record's document".into(),
        );
    }
    if !fork.missing_deps().is_empty() {
        return reject(
            RejectCode::MissingDeps,
            "some changes depend on changes the server does not have: send the record's whole history".into(),
        );
    }
    // Saved once: the size check and the stored row use the same bytes.
    let saved = fork.save_uncompressed();
    if saved.len() > limits::MAX_RECORD_BYTES {
        return reject(
            RejectCode::Invalid,
            format!("the record would exceed {} bytes", limits::MAX_RECORD_BYTES),
        );
    }

    // 6. Read (the shape is checked first, iteratively, unless known to pass). Changes
    // that only wrote root keys are read from the stored reading plus those keys.
    let quick = match &before {
        Some(Ok(b)) if known_shape && written.root_only => fork
            .read_after_root_writes(b, &written.root_keys)
            .transpose(),
        _ => None,
    };
    let read = match quick {
        Some(r) => r,
        None if known_shape => fork.read_known_shape(),
        None => fork.read(),
    };
    let after = match read {
        Ok(r) => r,
        Err(e) => {
            return reject(
                RejectCode::Invalid,
                format!("the document is not a valid record: {e}"),
            );
        }
    };
    if after.id != push.record || after.kind.as_str() != push.kind {
        return reject(
            RejectCode::Malformed,
            "the document's id or kind does not match the pushed record".into(),
        );
    }
    let before: Option<Record> = before.transpose()?;
    if let Some(b) = &before
        && b.kind != after.kind
    {
        return reject(RejectCode::Invalid, "a record's kind cannot change".into());
    }

    // 7. Structure. A kind whose rules read a sensitive field is judged with its values,
    // kept apart from the document (protocol §12).
    let overlaid = match &stored {
        Some(_) if model::sensitivity::read_by_rules(after.kind) => {
            Some(crate::sensitive::with_values(conn, &after)?)
        }
        _ => None,
    };
    let findings = match model::validate(overlaid.as_ref().unwrap_or(&after), ctx) {
        Ok(f) => f,
        Err(errors) => {
            let msg = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return reject(RejectCode::Invalid, format!("invalid record: {msg}"));
        }
    };

    // 8. Scope, role and frozen fields, on the winners and on every value written.
    if let Err(v) = check::judge_written(
        before.as_ref().map(|b| (&*base, b)),
        &fork,
        &after,
        caller.role,
        &caller.scopes,
        ctx,
        Some(&written.root_keys),
    ) {
        return reject(v.code, v.message);
    }

    // Accept: the new changes in causal order, then the document to store.
    let log = fork
        .changes_since(&base.heads())
        .into_iter()
        .map(|mut change| (change.hash().0, doc::encode_change(&mut change)))
        .collect();
    // The scope the record's changes go to: its unit, or the unit's restricted scope
    // (protocol §12.1); when that changed, a `moved` marker tells the old scope's devices.
    let scope =
        model::sensitivity::feed_scope(&after.unit, model::sensitivity::is_restricted(&after));
    let moved_from = stored
        .as_ref()
        .map(StoredRecord::scope)
        .filter(|old| *old != scope);
    let newly_accepted = after.kind == Kind::ResidenceDeclaration
        && after.status() == Some("accepted")
        && before.as_ref().and_then(Record::status) != Some("accepted");
    let row = stored_row(&fork, saved, &after, &findings, now_ms);
    checked(Verdict::Accept(Box::new(Accept {
        hashes,
        log,
        scope,
        newly_accepted,
        moved_from,
        row,
        doc: fork,
        read: Arc::new(after),
    })))
}

/// The `lineage_replaced` refusal of a push into a redacted record (lineage above 0) that
/// holds a change of a replaced lineage, with the current document and the removed values.
fn lineage_refusal(
    conn: &dyn Sql,
    stored: Option<&StoredRecord>,
    record: Uuid,
    base: &RecordDoc,
    changes: &[Change],
    hashes: &[ByteBuf],
) -> anyhow::Result<Option<Rejection>> {
    if stored.is_none_or(|s| s.lineage == 0) || !of_replaced_lineage(conn, record, base, changes)? {
        return Ok(None);
    }
    Ok(Some(Rejection {
        record,
        changes: hashes.to_vec(),
        code: RejectCode::LineageReplaced,
        message: "an admin replaced this record's history (redaction): carry the edits over and push again".into(),
        reset: Some(ByteBuf::from(base.save_uncompressed())),
        redacted: feed::redactions(conn, record)?,
    }))
}

/// Whether a pushed change the stored document lacks is, or depends on, a change a
/// redaction dropped (`redacted_changes`).
fn of_replaced_lineage(
    conn: &dyn Sql,
    record: Uuid,
    base: &RecordDoc,
    changes: &[Change],
) -> anyhow::Result<bool> {
    let mut asked: BTreeSet<[u8; 32]> = BTreeSet::new();
    for c in changes.iter().filter(|c| !base.has_change(&c.hash())) {
        asked.insert(c.hash().0);
        asked.extend(c.deps().iter().filter(|d| !base.has_change(d)).map(|d| d.0));
    }
    let asked: Vec<Vec<u8>> = asked.into_iter().map(|h| h.to_vec()).collect();
    for chunk in asked.chunks(200) {
        let sql = format!(
            "SELECT 1 FROM redacted_changes WHERE record = ?1 AND hash IN ({}) LIMIT 1",
            crate::db::placeholders(2, chunk.len())
        );
        let mut params: Vec<&dyn crate::db::ToValue> = vec![&record];
        params.extend(chunk.iter().map(|h| h as &dyn crate::db::ToValue));
        if conn.query_opt(&sql, &params)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The stored row of an accepted record, as the phone's (`replica::row_for`) but with the
/// document saved uncompressed: no deflate on every accepted change and no inflate on every
/// load (measured in `BENCHMARKS.md`; `RecordDoc::load` reads both forms). `saved` is
/// `doc.save_uncompressed()`, already made for the size check (or for a redaction's
/// lineage row).
pub(crate) fn stored_row(
    doc: &RecordDoc,
    saved: Vec<u8>,
    record: &Record,
    findings: &[Finding],
    now_ms: i64,
) -> RecordRow {
    RecordRow {
        id: record.id,
        kind: record.kind.as_str().to_owned(),
        unit: record.unit.clone(),
        status: record.status().map(str::to_owned),
        doc: saved,
        heads: doc.heads().iter().flat_map(|h| h.0).collect(),
        name_key: model::search_key(replica::display_name(record)),
        id_number: record.text("id_number").map(str::to_owned),
        other_numbers: Vec::new(),
        person: None,
        findings: findings.to_vec(),
        updated_ms: now_ms,
    }
}

/// The role rules between two states of a record (shared with the phone and the convergence
/// test's hub through sync-core).
pub use sync_core::check::rule_violation;

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::model::{Fields, Kind};

    fn application(status: &str, name: &str) -> Record {
        let mut fields = Fields::new();
        fields.insert("status".into(), status.into());
        fields.insert("full_name".into(), name.into());
        Record {
            id: Uuid::nil(),
            kind: Kind::CccdApplication,
            unit: "07132".into(),
            fields,
        }
    }

    #[test]
    fn an_officer_accepting_an_application_is_forbidden_and_staff_may() {
        let before = application("submitted", "A");
        let after = application("accepted", "A");
        let (code, _) = rule_violation(Some(&before), &after, Role::Officer).unwrap();
        assert_eq!(code, RejectCode::Forbidden);
        assert!(rule_violation(Some(&before), &after, Role::Staff).is_none());
    }

    #[test]
    fn editing_an_identity_field_of_an_accepted_application_is_a_frozen_field() {
        let before = application("accepted", "A");
        let after = application("accepted", "B");
        let (code, _) = rule_violation(Some(&before), &after, Role::Staff).unwrap();
        assert_eq!(code, RejectCode::FrozenField);
    }

    #[test]
    fn an_officer_may_not_create_an_accepted_application() {
        let after = application("accepted", "A");
        assert!(rule_violation(None, &after, Role::Officer).is_some());
        assert!(rule_violation(None, &application("draft", "A"), Role::Officer).is_none());
    }
}
