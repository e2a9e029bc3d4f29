//! `ferry record split-sensitive`: moves the sensitive values out of record documents written
//! before schema version 17 (`docs/protocol.md` §12). Until then a citizen's religion,
//! ethnicity and blood type and an application's biometrics flags were document fields,
//! and every phone of the unit held them with their history.
//!
//! For each record whose document holds a sensitive field anywhere in its history, in one
//! transaction: the field's current value is stored apart (unless a device has sent one
//! since), and the document is replaced by a new lineage without the field, exactly as a
//! redaction does it ([`crate::redact`]; phones replace their copy on their next sync). The
//! command is idempotent and prints what it moved; the audit trail has one `record_redact`
//! row per field and record, with the reason below.
//!
//! It also files the restricted records stored before schema version 18 (temporary
//! absences on grounds Art. 31(1)(a)(b), `docs/protocol.md` §12.1) in their unit's
//! restricted scope: the record is marked, a `moved` marker in the unit's feed tells the
//! devices that may not hold it to drop it, and its document is logged in the restricted
//! scope for the devices that may.

use std::collections::BTreeMap;

use serde::Serialize;
use sync_core::doc::RecordDoc;
use sync_core::model::{Kind, Value, sensitivity};
use sync_core::protocol::SensitiveWrite;
use uuid::Uuid;

use crate::db::{Sql, Store};
use crate::redact::{self, Admin, Keep, RedactError, Redaction};

/// The reason written in the audit trail for each field moved.
pub const REASON: &str = "sensitive field moved out of the record document (schema version 17)";

/// Records looked at per read.
const PAGE: usize = 500;

/// What a split did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Split {
    /// Records looked at.
    pub scanned: u64,
    /// Records whose document was rebuilt.
    pub records: u64,
    /// Fields moved out (one record may have several).
    pub fields: u64,
    /// Restricted records filed in their unit's restricted scope.
    pub restricted: u64,
}

/// The sensitive fields `doc` holds now or held at any time.
fn fields_in(doc: &RecordDoc, kind: Kind) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in doc.history() {
        if sensitivity::is_sensitive(kind, &h.field) && !out.contains(&h.field) {
            out.push(h.field);
        }
    }
    out
}

/// Splits every record that needs it, as admin `admin`. `progress` is called after each
/// page of records.
pub fn split_all(
    store: &Store,
    admin: &str,
    mut progress: impl FnMut(&Split),
) -> anyhow::Result<Split> {
    let mut done = Split::default();
    let mut after = String::new();
    loop {
        let (rows, page) = store.read(|c| -> anyhow::Result<_> {
            let rows = c.query(
                &format!(
                    "SELECT id, kind, doc, restricted FROM records WHERE id > ?1
                     AND kind IN ('citizen', 'cccd_application', 'residence_declaration')
                     ORDER BY id LIMIT {PAGE}"
                ),
                &[&after],
            )?;
            let n = rows.len();
            let mut out: Vec<(Uuid, Vec<String>, bool)> = Vec::new();
            for mut r in rows {
                let (id, kind, doc): (String, String, Vec<u8>) =
                    (r.take(0)?, r.take(1)?, r.take(2)?);
                let marked = r.get::<i64>(3)? != 0;
                after = id.clone();
                let (Ok(id), Some(kind)) = (Uuid::parse_str(&id), Kind::parse(&kind)) else {
                    continue;
                };
                let Ok(doc) = RecordDoc::load(&doc) else {
                    continue;
                };
                let fields = fields_in(&doc, kind);
                let restrict = !marked && doc.read().is_ok_and(|r| sensitivity::is_restricted(&r));
                if !fields.is_empty() || restrict {
                    out.push((id, fields, restrict));
                }
            }
            Ok((n, out))
        })?;
        done.scanned += rows as u64;
        for (id, fields, restrict) in &page {
            if !fields.is_empty() {
                crate::writer::retrying(|| store.write(|tx| split_one(tx, *id, fields, admin)))?;
                done.records += 1;
                done.fields += fields.len() as u64;
            }
            if *restrict {
                crate::writer::retrying(|| store.write(|tx| restrict_one(tx, *id)))?;
                done.restricted += 1;
            }
        }
        progress(&done);
        if rows < PAGE {
            break;
        }
    }
    if done.records > 0 {
        redact::scrub(store)?;
    }
    Ok(done)
}

/// Files a restricted record stored before version 18 in its restricted scope, in `tx`.
fn restrict_one(tx: &dyn Sql, id: Uuid) -> anyhow::Result<()> {
    let Some(stored) = crate::feed::get_record_for_update(tx, id)? else {
        return Ok(());
    };
    if stored.restricted {
        return Ok(());
    }
    let now = crate::now_ms();
    let doc = RecordDoc::load(&stored.doc)?;
    let scope = sensitivity::feed_scope(&stored.unit, true);
    crate::feed::append_moved(tx, id, &stored.unit, Uuid::nil(), now)?;
    crate::feed::append_lineage(tx, id, &doc.save_uncompressed(), &scope, Uuid::nil(), now)?;
    crate::feed::set_restricted(tx, id, true)?;
    Ok(())
}

/// One record, in `tx`.
fn split_one(tx: &dyn Sql, id: Uuid, fields: &[String], admin: &str) -> anyhow::Result<()> {
    let now = crate::now_ms();
    let Some(stored) = crate::feed::get_record_for_update(tx, id)? else {
        return Ok(());
    };
    let current = RecordDoc::load(&stored.doc)?.read()?;
    let apart: BTreeMap<String, Value> = crate::sensitive::values_of(tx, id)?;
    let who = Admin {
        user: admin,
        via: "cli",
        device: "",
    };
    for field in fields {
        let req = Redaction {
            field: field.clone(),
            reason: REASON.into(),
            keep: Keep::Clear,
        };
        redact::redact_with(tx, id, &req, who, now, false).map_err(|e| match e {
            RedactError::Internal(e) => e,
            refused => anyhow::Error::new(refused),
        })?;
        // A value a device sent since the upgrade is newer than the document's.
        if apart.contains_key(field) {
            continue;
        }
        if let Some(value) = current.fields.get(field) {
            let write = SensitiveWrite {
                id: Uuid::new_v5(&id, format!("split:{field}").as_bytes()),
                record: id,
                field: field.clone(),
                value: Some(value.clone()),
                at_ms: stored.updated_ms,
            };
            crate::sensitive::store(tx, &write, Some(value), admin, &Uuid::nil(), now)?;
        }
    }
    Ok(())
}
