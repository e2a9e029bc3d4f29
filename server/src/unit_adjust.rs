//! The bulk adjustment of residence addresses after the 2025-07-01 reorganisation of
//! administrative units (Residence Law Art. 26(1)(c): when units merge or are renamed, the
//! police adjust the residence information themselves). `ferry units adjust` and
//! `POST /v1/admin/units/adjust` run [`adjust`].
//!
//! Every citizen's `permanent_unit` and `temporary_unit` is read as of its capture date
//! (`captured_on`; [`sync_core::model::Catalog::on`]). A code that names a unit from before
//! the reorganisation and maps to exactly one current unit of another code is **adjusted**: the citizen gets
//! the current code (and `captured_on` = today, so the new code is read with today's
//! meaning), and an accepted `residence_declaration` records the adjustment
//! (`procedure = adjustment`, `adjustment_type = address_renamed`, the old and new units in
//! `reason`). A code of a split unit (old Xã Liên Hòa 07180 may be partly in Hà An) or of a
//! dissolved unit with no current successor is **undecided**: code-level data cannot say
//! where the household went, so the citizen is left as it is (all its fields, so that no
//! code changes meaning under a new capture date) and listed for an officer to decide.
//! Declarations keep the codes they were filed with: they are the record of what was filed.
//!
//! Everything happens in the caller's one transaction, with one audit entry
//! (`units_adjust`); a dry run writes nothing but the audit entry and reports the same
//! lists. Running it again finds nothing more to adjust.

use serde::{Deserialize, Serialize};
use sync_core::doc::{self, Author, Edit, RecordDoc};
use sync_core::model::{self, Fields, Kind, Record, Role, ValidationContext, Value, catalog};
use sync_core::replica;
use uuid::Uuid;

use crate::db::Sql;
use crate::review::resolve::{ReviewError, admin_author, apply_admin_edits};
use crate::{accounts, audit, feed};

/// The citizen fields that hold a residence address unit, with their address text field.
const RESIDENCE_FIELDS: [(&str, &str); 2] = [
    ("permanent_unit", "permanent_address"),
    ("temporary_unit", "temporary_address"),
];

/// One address unit moved to its current unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjusted {
    /// The citizen.
    pub record: Uuid,
    /// `permanent_unit` or `temporary_unit`.
    pub field: String,
    /// The old code.
    pub from: String,
    /// The current code it was replaced with.
    pub to: String,
    /// The adjustment declaration written (`None` in a dry run).
    pub declaration: Option<Uuid>,
}

/// An address unit left as it is, for an officer to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undecided {
    /// The citizen.
    pub record: Uuid,
    /// The field.
    pub field: String,
    /// Its code.
    pub code: String,
    /// The current units it may now belong to (several for a split unit, none for a
    /// dissolved one).
    pub candidates: Vec<String>,
}

/// What [`adjust`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Nothing was written but the audit entry.
    pub dry_run: bool,
    /// Citizens read.
    pub citizens: usize,
    /// Fields adjusted.
    pub adjusted: Vec<Adjusted>,
    /// Fields left for a decision.
    pub undecided: Vec<Undecided>,
}

/// How one citizen's old address units are to be adjusted.
enum Plan {
    /// Nothing old.
    Nothing,
    /// Every old field has one successor: (field, address field, old, new).
    Adjust(Vec<(&'static str, &'static str, String, String)>),
    /// Some old field has several successors or none.
    Undecided(Vec<Undecided>),
}

/// The plan for one citizen: its unit fields read as of its capture date.
fn plan(record: &Record) -> Plan {
    let cat = catalog();
    let as_of = model::captured_on(record);
    let mut adjust = Vec::new();
    let mut undecided = Vec::new();
    for (field, address) in RESIDENCE_FIELDS {
        let Some(code) = record.text(field) else {
            continue;
        };
        let read = as_of.and_then(|d| cat.on(code, d));
        let current = read.map_or_else(|| cat.is_current(code), |u| u.is_current());
        if current || !cat.is_known(code) {
            continue;
        }
        match cat.normalise(code).as_slice() {
            // A reused code whose old unit lies wholly in the new one: nothing to adjust.
            [one] if one.code == code => {}
            [one] => adjust.push((field, address, code.to_owned(), one.code.clone())),
            many => undecided.push(Undecided {
                record: record.id,
                field: field.to_owned(),
                code: code.to_owned(),
                candidates: many.iter().map(|u| u.code.clone()).collect(),
            }),
        }
    }
    if !undecided.is_empty() {
        // Leave every field as captured: a new capture date would change what the others mean.
        undecided.extend(adjust.into_iter().map(|(field, _, from, to)| Undecided {
            record: record.id,
            field: field.to_owned(),
            code: from,
            candidates: vec![to],
        }));
        Plan::Undecided(undecided)
    } else if adjust.is_empty() {
        Plan::Nothing
    } else {
        Plan::Adjust(adjust)
    }
}

/// Adjusts every citizen's old address units as `admin` (an enabled admin) in `tx`; see the
/// module documentation. `via` names the channel in the audit entry (`cli`, `api`).
pub fn adjust(
    tx: &dyn Sql,
    admin: &str,
    via: &str,
    dry_run: bool,
    now_ms: i64,
) -> Result<Report, ReviewError> {
    let user = accounts::get_user(tx, admin)?.ok_or(ReviewError::NotAdmin)?;
    if user.role != Role::Admin || user.disabled {
        return Err(ReviewError::NotAdmin);
    }
    let ids: Vec<String> = tx
        .query(
            "SELECT id FROM records WHERE kind = 'citizen' ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| r.get::<String>(0))
        .collect::<Result<_, _>>()?;
    let mut report = Report {
        dry_run,
        citizens: ids.len(),
        ..Report::default()
    };
    let mut author = None;
    let today = sync_core::time::local_date(now_ms);
    for id in ids {
        let id = Uuid::parse_str(&id).map_err(anyhow::Error::from)?;
        let Some(stored) = feed::get_record(tx, id)? else {
            continue;
        };
        let record = RecordDoc::load(&stored.doc)
            .and_then(|d| d.read())
            .map_err(anyhow::Error::from)?;
        if matches!(record.status(), Some("withdrawn" | "merged_into")) {
            continue;
        }
        match plan(&record) {
            Plan::Nothing => {}
            Plan::Undecided(u) => report.undecided.extend(u),
            Plan::Adjust(fields) if dry_run => {
                report
                    .adjusted
                    .extend(fields.into_iter().map(|(field, _, from, to)| Adjusted {
                        record: id,
                        field: field.to_owned(),
                        from,
                        to,
                        declaration: None,
                    }));
            }
            Plan::Adjust(fields) => {
                // The admin's device and actor, registered on the first adjustment only.
                let (device, actor) = match author.clone() {
                    Some(a) => a,
                    None => {
                        let a = admin_author(tx, user.id, now_ms)?;
                        author = Some(a.clone());
                        a
                    }
                };
                let author = Author {
                    actor,
                    time_ms: now_ms,
                };
                let done = apply(tx, &record, &fields, &author, device, &today, now_ms)?;
                report.adjusted.extend(done);
            }
        }
    }
    audit_report(tx, admin, via, &report, now_ms)?;
    Ok(report)
}

/// Writes one citizen's adjustment: the new codes and capture date on the citizen, and one
/// accepted adjustment declaration per field.
fn apply(
    tx: &dyn Sql,
    citizen: &Record,
    fields: &[(&'static str, &'static str, String, String)],
    author: &Author,
    device: Uuid,
    today: &str,
    now_ms: i64,
) -> Result<Vec<Adjusted>, ReviewError> {
    let mut edits: Vec<Edit> = fields
        .iter()
        .map(|(field, _, _, to)| Edit::Set {
            field: (*field).into(),
            value: to.as_str().into(),
        })
        .collect();
    edits.push(Edit::Set {
        field: "captured_on".into(),
        value: today.into(),
    });
    apply_admin_edits(tx, citizen.id, &edits, author, device, now_ms)?;
    let mut done = Vec::new();
    for (field, address, from, to) in fields {
        let declaration = declaration(citizen, address, from, to, today);
        create(tx, &declaration, author, device, now_ms)?;
        done.push(Adjusted {
            record: citizen.id,
            field: (*field).to_owned(),
            from: from.clone(),
            to: to.clone(),
            declaration: Some(declaration.id),
        });
    }
    crate::review::queue::enqueue(tx, &[citizen.id], now_ms)?;
    Ok(done)
}

/// The accepted Art. 26(1)(c) adjustment declaration of one field (unit names only: no
/// personal data in `reason`).
fn declaration(citizen: &Record, address: &str, from: &str, to: &str, today: &str) -> Record {
    let cat = catalog();
    let name = |code: &str| {
        cat.current(code)
            .or_else(|| cat.units().iter().find(|u| u.code == code))
            .map_or_else(String::new, |u| u.name.clone())
    };
    let reason = format!(
        "Residence Law Art. 26(1)(c): administrative units reorganised on 2025-07-01; {from} ({}) is now {to} ({})",
        name(from),
        name(to)
    );
    let mut fields = Fields::from([
        ("citizen_id".to_owned(), Value::from(citizen.id.to_string())),
        ("procedure".to_owned(), "adjustment".into()),
        ("adjustment_type".to_owned(), "address_renamed".into()),
        ("address_unit".to_owned(), to.into()),
        ("from_date".to_owned(), "2025-07-01".into()),
        ("filed_on".to_owned(), today.into()),
        ("decided_on".to_owned(), today.into()),
        ("status".to_owned(), "accepted".into()),
        ("reason".to_owned(), reason.into()),
    ]);
    if let Some(text) = citizen.text(address) {
        fields.insert("address".to_owned(), text.into());
    }
    Record {
        id: Uuid::now_v7(),
        kind: Kind::ResidenceDeclaration,
        unit: citizen.unit.clone(),
        fields,
    }
}

/// Creates a record on the server as `author`: validated, logged, stored, queued for
/// detection.
fn create(
    tx: &dyn Sql,
    record: &Record,
    author: &Author,
    device: Uuid,
    now_ms: i64,
) -> Result<(), ReviewError> {
    let mut record = record.clone();
    model::normalise(&mut record);
    let ctx = ValidationContext::new(sync_core::time::local_date(now_ms));
    let findings = model::validate(&record, &ctx).map_err(|errors| {
        ReviewError::Invalid(format!(
            "the adjustment declaration would be invalid: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let (doc, mut change) = RecordDoc::create(&record, author).map_err(anyhow::Error::from)?;
    let hash = change.hash();
    let bytes = doc::encode_change(&mut change);
    feed::append_change(tx, record.id, &hash.0, &bytes, &record.unit, device, now_ms)?;
    feed::put_record(tx, &replica::row_for(&doc, &record, &findings, now_ms))?;
    crate::review::queue::enqueue(tx, &[record.id], now_ms)?;
    Ok(())
}

fn audit_report(
    tx: &dyn Sql,
    admin: &str,
    via: &str,
    report: &Report,
    now_ms: i64,
) -> Result<(), ReviewError> {
    let mut records: Vec<String> = Vec::new();
    for a in &report.adjusted {
        records.push(a.record.to_string());
        records.extend(a.declaration.map(|d| d.to_string()));
    }
    audit::append(
        tx,
        now_ms,
        &audit::Entry {
            user: admin,
            device: via,
            action: "units_adjust",
            records,
            details: serde_json::json!({
                "dry_run": report.dry_run,
                "citizens": report.citizens,
                "adjusted": report.adjusted.len(),
                "undecided": report.undecided.len(),
                "via": via,
            }),
        },
    )?;
    Ok(())
}
