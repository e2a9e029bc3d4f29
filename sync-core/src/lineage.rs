//! Carrying a device's own edits over onto a record's new lineage (`docs/protocol.md` §13).
//!
//! When an admin redacts a value, the server replaces the record's document with a new one
//! (a new lineage) that shares no change with the old one. A device holding the old lineage
//! cannot merge it: Automerge would bring every old change, and the value, back. Instead it
//! takes its own unacknowledged edits as field-level edits (its copy at the acknowledged
//! state against its copy now), loads the new document and makes those edits again as new
//! changes by its own actor, except an edit that would write a redacted value back.
//!
//! The functions here are pure (no store); [`crate::replica`] calls them in the transaction
//! that applies a reply.

use std::collections::{BTreeSet, HashSet};

use automerge::{Change, ChangeHash};

use crate::doc::{Author, DocError, Edit, RecordDoc};
use crate::model::{Record, Value};
use crate::protocol::Redacted;

/// Whether `local` already holds the lineage of `incoming`: it has every change of
/// `incoming` that depends on nothing (the lineage's first change). Two lineages of one record
/// never share a change, so a device whose copy already is the new lineage (it carried its
/// edits over earlier in the same reply) merges the snapshot as usual.
pub fn same_lineage(local: &RecordDoc, incoming: &RecordDoc) -> bool {
    let roots: Vec<ChangeHash> = incoming
        .automerge()
        .get_changes_meta(&[])
        .into_iter()
        .filter(|m| m.deps.is_empty())
        .map(|m| m.hash)
        .collect();
    !roots.is_empty() && roots.iter().all(|h| local.has_change(h))
}

/// The heads of `local` without the changes in `pending` (the device's unacknowledged
/// changes): the state the server acknowledged. Empty when every change is pending.
fn acknowledged_heads(changes: &[Change], pending: &HashSet<ChangeHash>) -> Vec<ChangeHash> {
    let kept: Vec<&Change> = changes
        .iter()
        .filter(|c| !pending.contains(&c.hash()))
        .collect();
    let depended: HashSet<ChangeHash> = kept.iter().flat_map(|c| c.deps().to_vec()).collect();
    kept.iter()
        .map(|c| c.hash())
        .filter(|h| !depended.contains(h))
        .collect()
}

/// The device's unacknowledged edits of a record as field edits: what its copy now reads
/// differently from its copy without the `pending` changes.
pub fn unacknowledged_edits(
    local: &RecordDoc,
    pending: &HashSet<ChangeHash>,
) -> Result<Vec<Edit>, DocError> {
    let changes = local.changes_since(&[]);
    if !changes.iter().any(|c| pending.contains(&c.hash())) {
        return Ok(Vec::new());
    }
    let now = local.read()?;
    let heads = acknowledged_heads(&changes, pending);
    let before = if heads.is_empty() {
        None
    } else {
        Some(local.read_at(&heads)?)
    };
    Ok(diff(before.as_ref(), &now))
}

/// The edits that turn `before` (nothing: a record made here) into `now`.
fn diff(before: Option<&Record>, now: &Record) -> Vec<Edit> {
    let mut edits = Vec::new();
    if before.is_none_or(|b| b.unit != now.unit) {
        edits.push(Edit::SetUnit {
            unit: now.unit.clone(),
        });
    }
    let empty = Default::default();
    let old = before.map_or(&empty, |b| &b.fields);
    let keys: BTreeSet<&String> = old.keys().chain(now.fields.keys()).collect();
    for field in keys {
        match (old.get(field), now.fields.get(field)) {
            (a, b) if a == b => {}
            (Some(Value::Map(a)), Some(Value::Map(b))) => {
                for (key, value) in b.iter().filter(|(k, v)| a.get(*k) != Some(*v)) {
                    edits.push(Edit::PutEntry {
                        field: field.clone(),
                        key: key.clone(),
                        value: value.clone(),
                    });
                }
                for key in a.keys().filter(|k| !b.contains_key(*k)) {
                    edits.push(Edit::RemoveEntry {
                        field: field.clone(),
                        key: key.clone(),
                    });
                }
            }
            (_, Some(value)) => edits.push(Edit::Set {
                field: field.clone(),
                value: value.clone(),
            }),
            (Some(_), None) => edits.push(Edit::Clear {
                field: field.clone(),
            }),
            (None, None) => {}
        }
    }
    edits
}

/// Whether an edit writes a value that was redacted from its field.
fn writes_redacted(edit: &Edit, redacted: &[Redacted]) -> bool {
    match edit {
        Edit::Set { field, value } => redacted.iter().any(|r| r.matches(field, value)),
        _ => false,
    }
}

/// Whether an edit would change nothing on `record` (it already reads so).
fn already_so(edit: &Edit, record: &Record) -> bool {
    match edit {
        Edit::Set { field, value } => record.fields.get(field) == Some(value),
        Edit::Clear { field } => !record.fields.contains_key(field),
        Edit::SetUnit { unit } => &record.unit == unit,
        Edit::PutEntry { field, key, value } => {
            record
                .fields
                .get(field)
                .and_then(Value::as_map)
                .and_then(|m| m.get(key))
                == Some(value)
        }
        Edit::RemoveEntry { field, key } => record
            .fields
            .get(field)
            .and_then(Value::as_map)
            .is_none_or(|m| !m.contains_key(key)),
    }
}

/// The new lineage `incoming` with `edits` made again on it by `author`, skipping edits that
/// write a `redacted` value or change nothing; the change made, if any.
pub fn carry_over(
    mut incoming: RecordDoc,
    edits: &[Edit],
    redacted: &[Redacted],
    author: &Author,
) -> Result<(RecordDoc, Option<Change>), DocError> {
    let current = incoming.read()?;
    let kept: Vec<Edit> = edits
        .iter()
        .filter(|e| !writes_redacted(e, redacted) && !already_so(e, &current))
        .cloned()
        .collect();
    if kept.is_empty() {
        return Ok((incoming, None));
    }
    let change = incoming.edit(&kept, author)?;
    Ok((incoming, change))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Fields, Kind};
    use crate::protocol::redaction_hash;
    use serde_bytes::ByteBuf;
    use uuid::Uuid;

    fn citizen(name: &str) -> Record {
        let mut fields = Fields::new();
        fields.insert("full_name".into(), name.into());
        fields.insert("status".into(), "active".into());
        Record {
            id: Uuid::nil(),
            kind: Kind::Citizen,
            unit: "07132".into(),
            fields,
        }
    }

    fn set(field: &str, value: &str) -> Edit {
        Edit::Set {
            field: field.into(),
            value: value.into(),
        }
    }

    #[test]
    fn only_the_edits_made_after_the_acknowledged_state_are_carried_over() {
        let me = Author::new(&[1; 16], 1);
        let (mut doc, created) = RecordDoc::create(&citizen("A"), &me).unwrap();
        let mine = doc.edit(&[set("notes", "mine")], &me).unwrap().unwrap();
        let pending = HashSet::from([mine.hash()]);
        let edits = unacknowledged_edits(&doc, &pending).unwrap();
        assert_eq!(edits, vec![set("notes", "mine")]);
        assert!(!pending.contains(&created.hash()));
    }

    #[test]
    fn an_edit_writing_a_redacted_value_is_not_carried_over_and_others_are() {
        let admin = Author::new(&[9; 16], 1);
        let (incoming, _) = RecordDoc::create(&citizen("A"), &admin).unwrap();
        let salt = [7u8; 16];
        let hash = redaction_hash(&salt, &Value::from("WRONG")).unwrap();
        let redacted = vec![Redacted {
            field: "full_name".into(),
            salt: ByteBuf::from(salt.to_vec()),
            hash: ByteBuf::from(hash.to_vec()),
        }];
        let edits = vec![set("full_name", "WRONG"), set("notes", "kept")];
        let me = Author::new(&[1; 16], 2);
        let (doc, change) = carry_over(incoming, &edits, &redacted, &me).unwrap();
        assert!(change.is_some());
        let read = doc.read().unwrap();
        assert_eq!(read.text("full_name"), Some("A"));
        assert_eq!(read.text("notes"), Some("kept"));
    }

    /// A phone that saved `WRONG`, corrected it, synced, and then edited offline (`notes`,
    /// and the name back to the wrong value); its reply acknowledging everything before.
    fn phone_with_offline_edits(dir: &tempfile::TempDir) -> (crate::replica::Replica, Uuid) {
        use crate::protocol::SyncReply;
        use crate::replica::{Replica, SyncOptions};
        let r = Replica::open(&dir.path().join("phone.db"), None).unwrap();
        let ack = |r: &Replica| {
            let req = r.prepare_sync(&SyncOptions::default()).unwrap();
            let mut reply = SyncReply::empty(1);
            for p in &req.push {
                for c in &p.changes {
                    let hash = crate::doc::decode_change(c).unwrap().hash();
                    reply.accepted.push(ByteBuf::from(hash.0.to_vec()));
                }
            }
            r.apply_reply(&reply, 2).unwrap();
        };
        let mut fields = citizen("WRONG").fields;
        fields.insert("date_of_birth".into(), "1985-03-02".into());
        let id = r
            .create(Kind::Citizen, "07132", fields, 1)
            .unwrap()
            .record
            .id;
        r.update(id, &[set("full_name", "RIGHT")], 2).unwrap();
        ack(&r);
        r.update(id, &[set("notes", "offline"), set("full_name", "WRONG")], 3)
            .unwrap();
        (r, id)
    }

    #[test]
    fn a_replacing_snapshot_keeps_the_phones_offline_edit_but_no_redacted_value_anywhere() {
        use crate::protocol::{PullEntry, SyncReply};
        let dir = tempfile::tempdir().unwrap();
        let (phone, id) = phone_with_offline_edits(&dir);
        let mut record = phone.get(id).unwrap().unwrap().record;
        record.fields.insert("full_name".into(), "RIGHT".into());
        record.fields.remove("notes");
        let (server, _) = RecordDoc::create(&record, &Author::new(&[9; 16], 4)).unwrap();
        let salt = [3u8; 16];
        let hash = redaction_hash(&salt, &Value::from("WRONG")).unwrap();
        let mut reply = SyncReply::empty(5);
        reply.pull.push(PullEntry {
            record: id,
            kind: "citizen".into(),
            unit: "07132".into(),
            changes: vec![],
            snapshot: Some(ByteBuf::from(server.save_uncompressed())),
            lineage: 1,
            replace: true,
            redacted: vec![Redacted {
                field: "full_name".into(),
                salt: ByteBuf::from(salt.to_vec()),
                hash: ByteBuf::from(hash.to_vec()),
            }],
        });
        // An edit refused earlier, listed for the officer, names the value too.
        phone
            .pool()
            .write(|tx| {
                let edit = crate::doc::FieldChange {
                    field: "full_name".into(),
                    actor: String::new(),
                    time_ms: 1,
                    change: String::new(),
                    from: Some(Value::from("WRONG")),
                    to: Some(Value::from("X")),
                };
                crate::store::tables::add_rejected(
                    tx,
                    &crate::store::tables::RejectedEdit {
                        id: 0,
                        record: id,
                        kind: "citizen".into(),
                        code: "invalid".into(),
                        message: String::new(),
                        edits: vec![edit],
                        rejected_ms: 1,
                    },
                )
            })
            .unwrap();
        let report = phone.apply_reply(&reply, 6).unwrap();
        let listed = phone.rejected().unwrap();
        assert_eq!(listed[0].edits[0].from, Some(Value::from("[redacted]")));
        assert_eq!(listed[0].edits[0].to, Some(Value::from("X")));
        assert!(
            report.replaced && report.sync_again(),
            "the carried-over edit goes now"
        );
        let now = phone.get(id).unwrap().unwrap().record;
        assert_eq!(now.text("full_name"), Some("RIGHT"));
        assert_eq!(now.text("notes"), Some("offline"));
        assert_eq!(
            phone.outbox_status().unwrap().pending,
            1,
            "the carried-over edit"
        );
        let doc = phone.document(id).unwrap().unwrap();
        assert!(same_lineage(&doc, &server));
        let wrong = Some(Value::from("WRONG"));
        assert!(
            doc.history()
                .iter()
                .all(|h| h.from != wrong && h.to != wrong)
        );
        // The same snapshot again (a later reply) merges: nothing is carried twice.
        phone.apply_reply(&reply, 7).unwrap();
        assert_eq!(phone.outbox_status().unwrap().pending, 1);
    }

    #[test]
    fn a_copy_already_on_the_new_lineage_is_recognised_and_an_old_one_is_not() {
        let (old, _) = RecordDoc::create(&citizen("A"), &Author::new(&[1; 16], 1)).unwrap();
        let (new, _) = RecordDoc::create(&citizen("A"), &Author::new(&[9; 16], 2)).unwrap();
        assert!(!same_lineage(&old, &new));
        let mut later = new.fork();
        later
            .edit(&[set("notes", "x")], &Author::new(&[2; 16], 3))
            .unwrap();
        assert!(same_lineage(&new, &later));
    }
}
