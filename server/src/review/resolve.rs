//! Resolution: an admin's decision on a review item, applied as Automerge changes authored by
//! the admin's own server-side actor.
//!
//! [`resolve`] runs in the caller's write transaction, so the "is it still open?" check and
//! the changes it writes are one atomic step: of two admins resolving the same item, the
//! second gets [`ReviewError::AlreadyClosed`] and nothing is applied twice. On SQLite the one
//! writer orders them; on PostgreSQL (several nodes) the item's row is locked by the check
//! (`FOR UPDATE`) and each record's row by the read of its document before the edit.
//!
//! Each written change goes through the same path as an accepted push: the edited document
//! is validated structurally, the change is appended to the change log (origin device: the
//! admin's review device) and the compacted document replaces the stored one. Role rules
//! (status workflow, frozen fields) are deliberately not applied: the admin's decision is
//! the authority that settles what the workflow could not.

use std::collections::BTreeMap;

use automerge::ActorId;
use serde::{Deserialize, Serialize};
use sync_core::doc::{self, Author, Edit, RecordDoc};
use sync_core::model::{self, Kind, Record, Role, ValidationContext, Value};
use sync_core::replica;
use sync_core::store::StoreError;
use sync_core::time::local_date;
use uuid::Uuid;

use super::store::{self, IndexRow};
use super::{Item, ItemStatus, ItemType};
use crate::db::{DbError, Sql};
use crate::{accounts, audit, feed};

/// What an admin decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Keep one of the competing values: the index into the item's candidates.
    Choose {
        /// Index of the chosen candidate.
        choice: usize,
    },
    /// Write a value the admin entered (field and status items).
    NewValue {
        /// The value.
        value: Value,
    },
    /// Merge two duplicate records into `survivor`.
    Merge {
        /// The record that stays.
        survivor: Uuid,
    },
    /// Close without changing data.
    Dismiss {
        /// Why (required).
        reason: String,
    },
}

impl Action {
    /// The action's name: `choose`, `new_value`, `merge` or `dismiss`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Choose { .. } => "choose",
            Action::NewValue { .. } => "new_value",
            Action::Merge { .. } => "merge",
            Action::Dismiss { .. } => "dismiss",
        }
    }
}

/// Why a resolution was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No item with this id.
    #[error("no such review item")]
    NotFound,
    /// Someone resolved or dismissed it first (or it closed itself).
    #[error("this item is already {status}{}", by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default())]
    AlreadyClosed {
        /// Its status now.
        status: ItemStatus,
        /// Who closed it.
        by: Option<String>,
        /// When (ms).
        at: Option<i64>,
    },
    /// The decision does not fit the item (wrong action, bad value, invalid result).
    #[error("{0}")]
    Invalid(String),
    /// The acting user is not an enabled admin.
    #[error("only an enabled admin may resolve review items")]
    NotAdmin,
    /// Storage or document failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for ReviewError {
    fn from(e: DbError) -> Self {
        ReviewError::Internal(e.into())
    }
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        ReviewError::Internal(e.into())
    }
}

impl From<accounts::AccountError> for ReviewError {
    fn from(e: accounts::AccountError) -> Self {
        ReviewError::Internal(e.into())
    }
}

/// Who is resolving, and through which interface (for the audit trail).
#[derive(Debug, Clone)]
pub struct Resolver<'a> {
    /// The admin's user name.
    pub admin: &'a str,
    /// `api`, `console` or `cli`.
    pub via: &'a str,
    /// The device or session the request came from (audit `device` column).
    pub device: &'a str,
}

/// One record's edits in a plan.
type Plan = Vec<(Uuid, Vec<Edit>)>;

struct Decision {
    plan: Plan,
    chosen: serde_json::Value,
    lost: serde_json::Value,
}

/// Applies `action` to item `id` as `who`. See the module documentation.
pub fn resolve(
    tx: &dyn Sql,
    id: i64,
    action: &Action,
    who: &Resolver<'_>,
    now_ms: i64,
) -> Result<Item, ReviewError> {
    // Locked on PostgreSQL: an admin deciding the same item on another node waits here and
    // then reads it closed (409), instead of both applying their decision.
    let item = store::get_item_for_update(tx, id)?.ok_or(ReviewError::NotFound)?;
    if item.status != ItemStatus::Open {
        return Err(ReviewError::AlreadyClosed {
            status: item.status,
            by: item.resolved_by.clone(),
            at: item.resolved_ms,
        });
    }
    let user = accounts::get_user(tx, who.admin)?.ok_or(ReviewError::NotAdmin)?;
    if user.role != Role::Admin || user.disabled {
        return Err(ReviewError::NotAdmin);
    }
    let decision = decide(tx, &item, action, now_ms)?;
    let mut written: Vec<(Uuid, String)> = Vec::new();
    let mut review_device = None;
    if !decision.plan.is_empty() {
        let (device, actor) = admin_author(tx, user.id, now_ms)?;
        review_device = Some(device);
        let author = Author {
            actor,
            time_ms: now_ms,
        };
        for (record, edits) in &decision.plan {
            if let Some(hash) = apply_admin_edits(tx, *record, edits, &author, device, now_ms)? {
                written.push((*record, hash));
            }
        }
    }
    let mut resolution = serde_json::json!({
        "action": action.name(),
        "chosen": decision.chosen,
        "lost": decision.lost,
        "changes": written.iter().map(|(r, h)| serde_json::json!({"record": r, "change": h})).collect::<Vec<_>>(),
        "via": who.via,
    });
    if let Some(d) = review_device {
        resolution["device"] = serde_json::json!(d);
    }
    if let Action::Choose { choice } = action {
        resolution["choice"] = serde_json::json!(choice);
    }
    if let Action::Dismiss { reason } = action {
        resolution["reason"] = serde_json::json!(reason.trim());
    }
    let status = match action {
        Action::Dismiss { .. } => ItemStatus::Dismissed,
        _ => ItemStatus::Resolved,
    };
    if !store::close_item(tx, id, status, who.admin, &resolution, now_ms)? {
        return Err(ReviewError::AlreadyClosed {
            status,
            by: None,
            at: None,
        });
    }
    let mut touched: Vec<Uuid> = item.records.clone();
    touched.extend(written.iter().map(|(r, _)| *r));
    touched.sort();
    touched.dedup();
    super::detect(tx, &touched, now_ms)?;
    audit::append(
        tx,
        now_ms,
        &audit::Entry {
            user: who.admin,
            device: who.device,
            action: match action {
                Action::Merge { .. } => "review_merge",
                Action::Dismiss { .. } => "review_dismiss",
                _ => "review_resolve",
            },
            records: touched.iter().map(ToString::to_string).collect(),
            details: serde_json::json!({
                "item": id,
                "type": item.item_type,
                "action": action.name(),
                "field": item.field,
                "changes": written.iter().map(|(r, h)| serde_json::json!({"record": r, "change": h})).collect::<Vec<_>>(),
                "via": who.via,
            }),
        },
    )
    .map_err(anyhow::Error::from)?;
    store::get_item(tx, id)?.ok_or(ReviewError::NotFound)
}

fn invalid(msg: impl Into<String>) -> ReviewError {
    ReviewError::Invalid(msg.into())
}

fn load(tx: &dyn Sql, id: Uuid) -> Result<Record, ReviewError> {
    let stored = feed::get_record(tx, id)?
        .ok_or_else(|| invalid(format!("record {id} is not on the server")))?;
    let doc = RecordDoc::load(&stored.doc).map_err(anyhow::Error::from)?;
    Ok(doc.read().map_err(anyhow::Error::from)?)
}

fn normalise(value: &Value) -> Value {
    match value {
        Value::Text(s) => Value::Text(model::nfc(s.trim())),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), normalise(v))).collect()),
        other => other.clone(),
    }
}

/// The edits that write `value` at a field path (`field`, `set.key` or `set.key.sub`).
pub fn edits_for_path(path: &str, value: &Value) -> Result<Vec<Edit>, ReviewError> {
    let parts: Vec<&str> = path.split('.').collect();
    Ok(match parts.as_slice() {
        [field] => vec![Edit::Set {
            field: (*field).to_owned(),
            value: value.clone(),
        }],
        [field, key] => {
            let put = Edit::PutEntry {
                field: (*field).to_owned(),
                key: (*key).to_owned(),
                value: value.clone(),
            };
            if matches!(value, Value::Map(_)) {
                // Concurrent entries are distinct map objects: replace them with one.
                vec![
                    Edit::RemoveEntry {
                        field: (*field).to_owned(),
                        key: (*key).to_owned(),
                    },
                    put,
                ]
            } else {
                vec![put]
            }
        }
        [field, key, sub] => vec![Edit::PutEntry {
            field: (*field).to_owned(),
            key: (*key).to_owned(),
            value: Value::Map(BTreeMap::from([((*sub).to_owned(), value.clone())])),
        }],
        _ => return Err(invalid("this field path cannot be written")),
    })
}

fn candidate_value(item: &Item, choice: usize) -> Result<Value, ReviewError> {
    item.candidates
        .get(choice)
        .map(|c| c.value.clone())
        .ok_or_else(|| {
            invalid(format!(
                "choice {choice} is not one of the {} values",
                item.candidates.len()
            ))
        })
}

fn lost_values(item: &Item, keep: Option<usize>) -> serde_json::Value {
    serde_json::json!(
        item.candidates
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != keep)
            .map(|(_, c)| serde_json::json!({
                "value": c.value,
                "user": c.user,
                "device": c.device,
                "time_ms": c.time_ms,
                "change": c.change,
            }))
            .collect::<Vec<_>>()
    )
}

fn decide(
    tx: &dyn Sql,
    item: &Item,
    action: &Action,
    now_ms: i64,
) -> Result<Decision, ReviewError> {
    if let Action::Dismiss { reason } = action {
        if reason.trim().is_empty() {
            return Err(invalid("a dismissal needs a reason"));
        }
        if reason.chars().count() > 1000 {
            return Err(invalid("a reason has at most 1000 characters"));
        }
        return Ok(Decision {
            plan: Vec::new(),
            chosen: serde_json::Value::Null,
            lost: serde_json::Value::Null,
        });
    }
    let primary = *item
        .records
        .first()
        .ok_or_else(|| invalid("the item has no record"))?;
    match item.item_type {
        ItemType::FieldConflict | ItemType::StatusConflict | ItemType::EditDuringWithdrawal => {
            let field = item.field.clone().unwrap_or_else(|| "status".into());
            let (value, keep) = match action {
                Action::Choose { choice } => (candidate_value(item, *choice)?, Some(*choice)),
                Action::NewValue { value } => (normalise(value), None),
                _ => {
                    return Err(invalid(
                        "a conflict is resolved by choosing a value, entering a new one, or dismissing",
                    ));
                }
            };
            Ok(Decision {
                plan: vec![(primary, edits_for_path(&field, &value)?)],
                chosen: serde_json::json!(value),
                lost: lost_values(item, keep),
            })
        }
        ItemType::RuleFinding => Err(invalid(
            "a rule finding is settled by correcting the records concerned (it then closes itself), or dismissed",
        )),
        ItemType::HouseholdHead => {
            let (head, keep) = match action {
                Action::Choose { choice } => (candidate_value(item, *choice)?, Some(*choice)),
                Action::NewValue { value } => (normalise(value), None),
                _ => return Err(invalid("choose the member who is the head, or dismiss")),
            };
            let head = head
                .as_text()
                .map(str::to_owned)
                .ok_or_else(|| invalid("the head is a citizen id"))?;
            let household = load(tx, primary)?;
            let members = household
                .fields
                .get("members")
                .and_then(Value::as_map)
                .cloned()
                .unwrap_or_default();
            if !members.contains_key(&head) {
                return Err(invalid("the head must be a member of the household"));
            }
            let entry = |rel: &str| {
                Value::Map(BTreeMap::from([(
                    "relationship".to_owned(),
                    Value::Text(rel.into()),
                )]))
            };
            let mut edits = vec![Edit::PutEntry {
                field: "members".into(),
                key: head.clone(),
                value: entry("head"),
            }];
            let mut demoted = Vec::new();
            for (cid, e) in &members {
                let rel = e
                    .as_map()
                    .and_then(|m| m.get("relationship"))
                    .and_then(Value::as_text);
                if *cid != head && rel == Some("head") {
                    edits.push(Edit::PutEntry {
                        field: "members".into(),
                        key: cid.clone(),
                        value: entry("other"),
                    });
                    demoted.push(cid.clone());
                }
            }
            edits.push(Edit::Set {
                field: "head_id".into(),
                value: Value::Text(head.clone()),
            });
            Ok(Decision {
                plan: vec![(primary, edits)],
                chosen: serde_json::json!(head),
                lost: serde_json::json!({"former_heads": demoted, "values": lost_values(item, keep)}),
            })
        }
        ItemType::TwoPermanentResidences => {
            let Action::Choose { choice } = action else {
                return Err(invalid(
                    "choose the permanent residence that stays, or dismiss",
                ));
            };
            let chosen = item
                .candidates
                .get(*choice)
                .and_then(|c| c.record)
                .ok_or_else(|| invalid(format!("choice {choice} is not one of the residences")))?;
            let today = local_date(now_ms);
            let citizen = primary;
            let mut plan: Plan = Vec::new();
            for c in &item.candidates {
                let Some(r) = c.record else { continue };
                if r == chosen || r == citizen {
                    continue;
                }
                plan.push((
                    r,
                    vec![Edit::Set {
                        field: "to_date".into(),
                        value: Value::Text(today.clone()),
                    }],
                ));
            }
            if chosen != citizen
                && let Some(decl) = store::index_row(tx, chosen)?
                && feed::get_record(tx, citizen)?.is_some()
            {
                let mut edits = Vec::new();
                if let Some(a) = &decl.address {
                    edits.push(Edit::Set {
                        field: "permanent_address".into(),
                        value: Value::Text(a.clone()),
                    });
                }
                if let Some(u) = &decl.address_unit {
                    edits.push(Edit::Set {
                        field: "permanent_unit".into(),
                        value: Value::Text(u.clone()),
                    });
                }
                if !edits.is_empty() {
                    plan.push((citizen, edits));
                }
            }
            Ok(Decision {
                plan,
                chosen: serde_json::json!(chosen),
                lost: lost_values(item, Some(*choice)),
            })
        }
        ItemType::DuplicateIdNumber | ItemType::DuplicateNameDob => {
            let Action::Merge { survivor } = action else {
                return Err(invalid(
                    "a duplicate is resolved by merging the two records, or dismissed",
                ));
            };
            let loser = item
                .records
                .iter()
                .copied()
                .find(|r| r != survivor)
                .filter(|_| item.records.contains(survivor))
                .ok_or_else(|| invalid("the survivor must be one of the item's two records"))?;
            merge_plan(tx, *survivor, loser)
        }
    }
}

/// The survivor takes every field it lacks from the other record; the other becomes
/// `merged_into` the survivor; household memberships and declarations/applications that
/// point at the other record move to the survivor.
fn merge_plan(tx: &dyn Sql, survivor: Uuid, loser: Uuid) -> Result<Decision, ReviewError> {
    let keep = load(tx, survivor)?;
    let gone = load(tx, loser)?;
    if keep.kind != Kind::Citizen || gone.kind != Kind::Citizen {
        return Err(invalid("only citizen records are merged"));
    }
    for r in [&keep, &gone] {
        if r.status() == Some("merged_into") {
            return Err(invalid(format!("record {} is already merged", r.id)));
        }
    }
    let mut plan: Plan = Vec::new();
    let mut survivor_edits = Vec::new();
    let mut differing = BTreeMap::new();
    for (field, value) in &gone.fields {
        if matches!(field.as_str(), "status" | "merged_into") {
            continue;
        }
        match keep.fields.get(field) {
            None => survivor_edits.push(Edit::Set {
                field: field.clone(),
                value: value.clone(),
            }),
            Some(v) if v != value => {
                differing.insert(field.clone(), value.clone());
            }
            Some(_) => {}
        }
    }
    if !survivor_edits.is_empty() {
        plan.push((survivor, survivor_edits));
    }
    plan.push((
        loser,
        vec![
            Edit::Set {
                field: "status".into(),
                value: Value::Text("merged_into".into()),
            },
            Edit::Set {
                field: "merged_into".into(),
                value: Value::Text(survivor.to_string()),
            },
        ],
    ));
    let (s, l) = (survivor.to_string(), loser.to_string());
    let mut moved_households = Vec::new();
    for h in store::households_of(tx, loser)? {
        let household = load(tx, h)?;
        let members = household
            .fields
            .get("members")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        let Some(entry) = members.get(&l) else {
            continue;
        };
        let rel = |e: &Value| {
            e.as_map()
                .and_then(|m| m.get("relationship"))
                .and_then(Value::as_text)
                .map(str::to_owned)
        };
        let mut edits = vec![Edit::RemoveEntry {
            field: "members".into(),
            key: l.clone(),
        }];
        match members.get(&s) {
            None => edits.push(Edit::PutEntry {
                field: "members".into(),
                key: s.clone(),
                value: entry.clone(),
            }),
            Some(existing)
                if rel(entry).as_deref() == Some("head")
                    && rel(existing).as_deref() != Some("head") =>
            {
                edits.push(Edit::PutEntry {
                    field: "members".into(),
                    key: s.clone(),
                    value: Value::Map(BTreeMap::from([(
                        "relationship".to_owned(),
                        Value::Text("head".into()),
                    )])),
                });
            }
            Some(_) => {}
        }
        if household.text("head_id") == Some(l.as_str()) {
            edits.push(Edit::Set {
                field: "head_id".into(),
                value: Value::Text(s.clone()),
            });
        }
        moved_households.push(h);
        plan.push((h, edits));
    }
    let referring: Vec<IndexRow> = store::index_where(tx, "citizen_id = ?1", &[&l])?;
    for r in &referring {
        plan.push((
            r.record,
            vec![Edit::Set {
                field: "citizen_id".into(),
                value: Value::Text(s.clone()),
            }],
        ));
    }
    Ok(Decision {
        plan,
        chosen: serde_json::json!({"survivor": survivor}),
        lost: serde_json::json!({
            "merged": loser,
            "differing_values": differing,
            "households_moved": moved_households,
            "references_moved": referring.iter().map(|r| r.record).collect::<Vec<_>>(),
        }),
    })
}

/// The admin's server-side review device and actor, created on first use: a row in
/// `devices` (named `review (server)`) owned by the admin, remembered in `review_actors`.
pub fn admin_author(
    tx: &dyn Sql,
    user_id: i64,
    now_ms: i64,
) -> Result<(Uuid, ActorId), ReviewError> {
    let existing: Option<(String, String)> = tx
        .query_opt(
            "SELECT d.id, d.actor FROM review_actors r JOIN devices d ON d.id = r.device_id
             WHERE r.user_id = ?1",
            &[&user_id],
        )?
        .map(|r| -> Result<_, DbError> { Ok((r.get(0)?, r.get(1)?)) })
        .transpose()?;
    if let Some((device, actor)) = existing
        && let (Ok(device), Ok(actor)) = (Uuid::parse_str(&device), hex::decode(&actor))
    {
        return Ok((device, ActorId::from(actor.as_slice())));
    }
    let device = Uuid::now_v7();
    let actor = *Uuid::new_v4().as_bytes();
    accounts::register_device(
        tx,
        user_id,
        device,
        &hex::encode(actor),
        "review (server)",
        now_ms,
    )?;
    tx.execute(
        "INSERT INTO review_actors (user_id, device_id) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET device_id = excluded.device_id",
        &[&user_id, &device],
    )?;
    Ok((device, ActorId::from(&actor[..])))
}

/// Applies `edits` to a stored record as one change by `author`, validates the result, logs
/// the change (origin: `device`) and stores the document. `None` when nothing changed.
pub fn apply_admin_edits(
    tx: &dyn Sql,
    record: Uuid,
    edits: &[Edit],
    author: &Author,
    device: Uuid,
    now_ms: i64,
) -> Result<Option<String>, ReviewError> {
    // A read-modify-write of the document: locked on PostgreSQL against a push on another
    // node.
    let stored = feed::get_record_for_update(tx, record)?
        .ok_or_else(|| invalid(format!("record {record} is not on the server")))?;
    let mut doc = RecordDoc::load(&stored.doc).map_err(anyhow::Error::from)?;
    let before = doc.read().map_err(anyhow::Error::from)?;
    let edits: Vec<Edit> = edits
        .iter()
        .map(|e| match e {
            Edit::Set { field, value } => Edit::Set {
                field: field.clone(),
                value: normalise(value),
            },
            Edit::PutEntry { field, key, value } => Edit::PutEntry {
                field: field.clone(),
                key: key.clone(),
                value: normalise(value),
            },
            other => other.clone(),
        })
        .collect();
    let Some(mut change) = doc.edit(&edits, author).map_err(anyhow::Error::from)? else {
        return Ok(None);
    };
    let after = doc.read().map_err(anyhow::Error::from)?;
    let ctx = ValidationContext::new(local_date(now_ms));
    let findings = model::validate(&after, &ctx).map_err(|errors| {
        invalid(format!(
            "the result would be invalid: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let hash = change.hash();
    let bytes = doc::encode_change(&mut change);
    // The feed scope before and after: the unit, or its restricted scope (protocol §12.1).
    let old_scope = match feed::get_record(tx, record)? {
        Some(stored) => stored.scope(),
        None => before.unit.clone(),
    };
    let restricted = model::sensitivity::is_restricted(&after);
    let scope = model::sensitivity::feed_scope(&after.unit, restricted);
    feed::append_change(tx, record, &hash.0, &bytes, &scope, device, now_ms)?;
    if old_scope != scope {
        feed::append_moved(tx, record, &old_scope, device, now_ms)?;
    }
    feed::put_record(tx, &replica::row_for(&doc, &after, &findings, now_ms))?;
    feed::set_restricted(tx, record, restricted)?;
    Ok(Some(hash.to_string()))
}
