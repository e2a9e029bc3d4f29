//! The push side of a sync exchange: every pushed record is checked on a fork of the stored
//! document before anything is stored.
//!
//! Per record, all of its changes are evaluated together, in this order (the first failing
//! check decides the rejection code):
//!
//! 1. every change decodes (`malformed`);
//! 2. changes the server already holds are fine whoever wrote them (idempotent re-push); every
//!    other change must be authored by the actor registered to this device (`wrong_actor`);
//! 3. the changes apply to a fork of the stored document (or an empty one for a new record)
//!    (`malformed`), and no dependency is missing (`missing_deps`);
//! 4. the result reads as a record (`invalid`) with the pushed id and kind, and a kind that
//!    did not change (`malformed` / `invalid`);
//! 5. `model::validate` finds no structural error (`invalid`);
//! 6. the record's unit before (if it existed) and after is one of the user's units
//!    (`out_of_scope`);
//! 7. the role rules hold: status moves (`forbidden`) and frozen fields (`frozen_field`).
//!
//! An accepted record's new changes go to the change log (with a `moved` marker in the old
//! unit's feed when the unit changed) and its compacted document replaces the stored one, all
//! in the caller's transaction. Records that gained changes then go through review detection
//! ([`crate::review::detect`]) in the same transaction.

use std::collections::{BTreeSet, HashMap, HashSet};

use automerge::{ActorId, Change};
use rusqlite::Transaction;
use serde_bytes::ByteBuf;
use sync_core::doc::{self, RecordDoc};
use sync_core::model::{self, Record, Role, ValidationContext};
use sync_core::protocol::{PushRecord, RejectCode, Rejection};
use sync_core::replica;
use uuid::Uuid;

use crate::feed;

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
}

/// Most records of one push whose documents are kept for review detection.
const IN_HAND: usize = 64;

/// The verdict on one record.
enum Verdict {
    /// Accepted; `stored` is the document as stored and its reading when it gained changes.
    Accept {
        hashes: Vec<ByteBuf>,
        logged: usize,
        stored: Option<Box<(RecordDoc, Record)>>,
    },
    Reject(Rejection),
}

/// Checks and stores every pushed record in `tx`.
pub fn push(
    tx: &Transaction<'_>,
    caller: &Caller,
    records: &[PushRecord],
    now_ms: i64,
) -> anyhow::Result<PushOutcome> {
    let ctx = ValidationContext::new(sync_core::time::local_date(now_ms));
    let mut out = PushOutcome::default();
    // Records that gained changes. Up to `IN_HAND` of them, one entry per record (the latest
    // state), the documents stay in hand so that detection does not load them again; past
    // that (bulk pushes) they are dropped and detection loads them one by one, which keeps
    // memory bounded (a document built by applying changes holds far more memory than a
    // loaded one).
    let mut changed_ids: Vec<Uuid> = Vec::new();
    let mut changed: Option<Vec<(RecordDoc, Record)>> = Some(Vec::new());
    let mut changed_at: HashMap<Uuid, usize> = HashMap::new();
    for push in records {
        match evaluate(tx, caller, push, &ctx, now_ms)? {
            Verdict::Accept {
                hashes,
                logged,
                stored,
            } => {
                out.accepted.extend(hashes);
                out.accepted_records.push(push.record);
                out.new_changes += logged;
                if let Some(stored) = stored {
                    changed_ids.push(push.record);
                    if let Some(docs) = changed.as_mut() {
                        match changed_at.get(&push.record) {
                            Some(&i) => docs[i] = *stored,
                            None => {
                                changed_at.insert(push.record, docs.len());
                                docs.push(*stored);
                            }
                        }
                        if docs.len() > IN_HAND {
                            changed = None;
                        }
                    }
                }
            }
            Verdict::Reject(r) => out.rejected.push(r),
        }
    }
    // Review detection over the records that gained changes, in the same transaction.
    match &changed {
        Some(docs) => crate::review::detect::detect_loaded(tx, docs, now_ms)?,
        None => crate::review::detect(tx, &changed_ids, now_ms)?,
    };
    Ok(out)
}

fn evaluate(
    tx: &Transaction<'_>,
    caller: &Caller,
    push: &PushRecord,
    ctx: &ValidationContext,
    now_ms: i64,
) -> anyhow::Result<Verdict> {
    let stored = feed::get_record(tx, push.record)?;
    let base = match &stored {
        Some(s) => RecordDoc::load(&s.doc)?,
        None => RecordDoc::empty(),
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
        Ok(Verdict::Reject(Rejection {
            record: push.record,
            changes: hashes.clone(),
            code,
            message,
            reset,
        }))
    };
    if let Some(i) = malformed {
        return reject(
            RejectCode::Malformed,
            format!("change {i} of this record is not a valid Automerge change"),
        );
    }

    // 2. Known changes are fine; new ones must come from this device's actor.
    let mut fresh_hashes = HashSet::new();
    let fresh: Vec<Change> = changes
        .into_iter()
        .filter(|c| !base.has_change(&c.hash()) && fresh_hashes.insert(c.hash()))
        .collect();
    if fresh.is_empty() {
        return Ok(Verdict::Accept {
            hashes,
            logged: 0,
            stored: None,
        });
    }
    if fresh.iter().any(|c| c.actor_id() != &caller.actor) {
        return reject(
            RejectCode::WrongActor,
            "a change was not authored by the actor id registered to this device".into(),
        );
    }

    // 3. Apply on a fork.
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

    // 4. Read.
    let after = match fork.read() {
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
    let before: Option<Record> = match &stored {
        Some(_) => Some(base.read()?),
        None => None,
    };
    if let Some(b) = &before
        && b.kind != after.kind
    {
        return reject(RejectCode::Invalid, "a record's kind cannot change".into());
    }

    // 5. Structure.
    let findings = match model::validate(&after, ctx) {
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

    // 6. Scope.
    let unit_ok = |u: &str| caller.scopes.contains(u);
    if before.as_ref().is_some_and(|b| !unit_ok(&b.unit)) || !unit_ok(&after.unit) {
        return reject(
            RejectCode::OutOfScope,
            "the record's unit is not one of your units".into(),
        );
    }

    // 7. Role rules.
    if let Some((code, message)) = rule_violation(before.as_ref(), &after, caller.role) {
        return reject(code, message);
    }

    // Accept: log the new changes in causal order, then store the document.
    let mut logged = 0;
    for mut change in fork.changes_since(&base.heads()) {
        let hash = change.hash();
        let bytes = doc::encode_change(&mut change);
        if feed::append_change(
            tx,
            push.record,
            &hash.0,
            &bytes,
            &after.unit,
            caller.device_id,
            now_ms,
        )? {
            logged += 1;
        }
    }
    if let Some(b) = &before
        && b.unit != after.unit
    {
        feed::append_moved(tx, push.record, &b.unit, caller.device_id, now_ms)?;
    }
    feed::put_record(tx, &replica::row_for(&fork, &after, &findings, now_ms))?;
    let stored = (logged > 0).then(|| Box::new((fork, after)));
    Ok(Verdict::Accept {
        hashes,
        logged,
        stored,
    })
}

/// The role rules between the stored and the pushed state, as the phone applies them
/// (`replica::check_rules`), with the rejection code they map to.
pub fn rule_violation(
    before: Option<&Record>,
    after: &Record,
    role: Role,
) -> Option<(RejectCode, String)> {
    let Some(before) = before else {
        let status = after.status().unwrap_or("");
        return (!model::transition_allowed(after.kind, None, status, role)).then(|| {
            (
                RejectCode::Forbidden,
                format!(
                    "a {} may not create a {} in status `{status}`",
                    role.as_str(),
                    after.kind.as_str()
                ),
            )
        });
    };
    let err = replica::check_rules(before, after, role).err()?;
    let (from, to) = (before.status(), after.status().unwrap_or(""));
    let transition_ok = from == Some(to) || model::transition_allowed(after.kind, from, to, role);
    let frozen_changed = model::frozen_fields(before.kind, from)
        .iter()
        .any(|f| before.fields.get(*f) != after.fields.get(*f));
    let code = if transition_ok && frozen_changed {
        RejectCode::FrozenField
    } else {
        RejectCode::Forbidden
    };
    let message = match err {
        replica::ReplicaError::Forbidden(m) => m,
        other => other.to_string(),
    };
    Some((code, message))
}

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
