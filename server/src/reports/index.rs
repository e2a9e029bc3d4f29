//! The report index (schema versions 6, 9 and 12): one `report_dossiers` row per CCCD application
//! and residence declaration, one `report_citizens` row per citizen (the coverage report) and
//! one `report_findings` row per finding a record carries, written
//! next to the review index whenever a stored record is indexed (`review::detect`), so the
//! reports count rows and never load documents. Portable SQL through the storage seam.

use std::sync::LazyLock;

use sync_core::model::rules::{card_valid_until, effective_procedure};
use sync_core::model::working_days;
use sync_core::model::{Date, Finding, Kind, PartialDate, Record};
use sync_core::time::local_date;

use crate::db::{DbError, Sql, update_if_changed};

/// What a dossier's status amounts to for the reports.
pub fn outcome(kind: Kind, status: &str) -> &'static str {
    match (kind, status) {
        (_, "rejected") => "refused",
        (_, "withdrawn") => "withdrawn",
        (Kind::CccdApplication, "card_issued" | "returned") => "granted",
        (Kind::ResidenceDeclaration, "accepted") => "granted",
        _ => "in_progress",
    }
}

/// The procedure a dossier is counted under: an application's request type, a
/// declaration's (effective) procedure.
pub fn procedure_of(record: &Record) -> String {
    match record.kind {
        Kind::CccdApplication => record.text("request_type").unwrap_or("").to_owned(),
        _ => effective_procedure(record).0.to_owned(),
    }
}

fn date(record: &Record, field: &str) -> Option<Date> {
    record.text(field).and_then(Date::parse)
}

/// The upsert of a dossier row. Rewritten only when a reported column changed
/// ([`crate::db::update_if_changed`]); `updated_ms` is then the time of the last change that
/// mattered to the reports.
static UPSERT_DOSSIER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO report_dossiers (record, kind, procedure, unit, status, outcome,
             period_on, filed_on, due_on, decided_on, decision_days, first_seen_ms, updated_ms,
             citizen, registration, expires_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15)
         ON CONFLICT (record) {}",
        update_if_changed(
            "report_dossiers",
            &[
                "kind",
                "procedure",
                "unit",
                "status",
                "outcome",
                "filed_on",
                "due_on",
                "decided_on",
                "decision_days",
                "citizen",
                "registration",
                "expires_on",
            ],
            &[
                // The day a dossier counts in is its filing day once it has one.
                "period_on = CASE WHEN excluded.filed_on IS NOT NULL THEN excluded.filed_on
                     ELSE report_dossiers.period_on END",
                "updated_ms = excluded.updated_ms",
            ],
        )
    )
});

/// The upsert of a citizen's coverage row, as [`UPSERT_DOSSIER`].
static UPSERT_CITIZEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO report_citizens (record, unit, status, turns_14_on, has_id_number,
             card_issued_on, card_expires_on, card_due_age, updated_ms, id_notified, vneid_active)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (record) {}",
        update_if_changed(
            "report_citizens",
            &[
                "unit",
                "status",
                "turns_14_on",
                "has_id_number",
                "card_issued_on",
                "card_expires_on",
                "card_due_age",
                "id_notified",
                "vneid_active",
            ],
            &["updated_ms = excluded.updated_ms"],
        )
    )
});

/// Writes the report rows of one record (as just stored in `tx`).
pub fn index_record(tx: &dyn Sql, record: &Record, now_ms: i64) -> Result<(), DbError> {
    let id = record.id.to_string();
    let kind = record.kind.as_str();
    let unit = record.unit.as_str();
    if matches!(
        record.kind,
        Kind::CccdApplication | Kind::ResidenceDeclaration
    ) {
        let status = record.text("status").unwrap_or("draft");
        let filed = date(record, "filed_on");
        let decided = date(record, "decided_on");
        let days = filed
            .zip(decided)
            .map(|(f, d)| f.days_until(d))
            .filter(|d| *d >= 0);
        let filed_s = filed.map(|d| d.to_string());
        // The recorded due day, else the procedure's legal time limit in working days.
        let procedure = procedure_of(record);
        let due = date(record, "due_on")
            .or_else(|| filed.and_then(|f| working_days::due_on(&procedure, f)));
        let period_on = filed_s.clone().unwrap_or_else(|| local_date(now_ms));
        let citizen = record.text("citizen_id").map(str::to_owned);
        let registration = record.text("registration_id").map(str::to_owned);
        // The last day of a temporary registration (or of the extension of one).
        let expires = matches!(procedure.as_str(), "temporary_registration" | "extension")
            .then(|| date(record, "to_date").map(|d| d.to_string()))
            .flatten();
        tx.execute(
            &UPSERT_DOSSIER,
            &[
                &id,
                &kind,
                &procedure,
                &unit,
                &status,
                &outcome(record.kind, status),
                &period_on,
                &filed_s,
                &due.map(|d| d.to_string()),
                &decided.map(|d| d.to_string()),
                &days,
                &now_ms,
                &citizen,
                &registration,
                &expires,
            ],
        )?;
    }
    if record.kind == Kind::Citizen {
        index_citizen(tx, record, &id, now_ms)?;
    }
    // The findings as stored with the record (`records.findings`, JSON).
    let stored: Option<String> = tx
        .query_opt("SELECT findings FROM records WHERE id = ?1", &[&id])?
        .map(|r| r.get(0))
        .transpose()?;
    let mut codes: Vec<String> = stored
        .and_then(|s| serde_json::from_str::<Vec<Finding>>(&s).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.code)
        .collect();
    codes.sort();
    codes.dedup();
    let open: Vec<String> = tx
        .query(
            "SELECT code FROM report_findings WHERE record = ?1 AND resolved_on IS NULL",
            &[&id],
        )?
        .into_iter()
        .map(|r| r.get(0))
        .collect::<Result<_, _>>()?;
    let today = local_date(now_ms);
    // A finding that went keeps its row with the day it went (schema version 15), so the
    // quality trend shows what was fixed.
    for gone in open.iter().filter(|c| !codes.contains(c)) {
        tx.execute(
            "UPDATE report_findings SET resolved_on = ?3 WHERE record = ?1 AND code = ?2",
            &[&id, gone, &today],
        )?;
    }
    for code in &codes {
        // New, or back after it was fixed (then it is open again from today).
        tx.execute(
            "INSERT INTO report_findings (record, code, kind, unit, first_seen_on)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (record, code) DO UPDATE SET kind = excluded.kind, unit = excluded.unit,
                 first_seen_on = CASE WHEN report_findings.resolved_on IS NULL
                     THEN report_findings.first_seen_on ELSE excluded.first_seen_on END,
                 resolved_on = NULL
             WHERE report_findings.resolved_on IS NOT NULL
                OR report_findings.kind IS DISTINCT FROM excluded.kind
                OR report_findings.unit IS DISTINCT FROM excluded.unit",
            &[&id, code, &kind, &unit, &today],
        )?;
    }
    Ok(())
}

/// What the coverage report needs of a citizen ([`super::coverage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenRow {
    /// `status`, `active` when absent.
    pub status: String,
    /// The day the citizen is 14 at the latest (from the latest day of a partial birth date).
    pub turns_14_on: Option<Date>,
    /// Whether the personal ID number is recorded.
    pub has_id_number: bool,
    /// The recorded card's issue day.
    pub card_issued_on: Option<Date>,
    /// Its last day: the recorded expiry, else the one Identification Law Art. 21 gives.
    pub card_expires_on: Option<Date>,
    /// The exchange age (14/25/40/60) the expiry falls on, with an exact date of birth.
    pub card_due_age: Option<i32>,
    /// Whether the citizen was told the ID number (`id_number_notified_on` recorded).
    pub id_notified: bool,
    /// Whether a VNeID account is activated (`vneid_level` is `level_1` or `level_2`).
    pub vneid_active: bool,
}

/// The coverage figures of one citizen.
pub fn citizen_row(record: &Record) -> CitizenRow {
    let born = record.text("date_of_birth").and_then(PartialDate::parse);
    let exact = born.and_then(PartialDate::exact);
    let issued = date(record, "previous_card_issued_on");
    let expires = date(record, "previous_card_expires_on")
        .or_else(|| exact.zip(issued).and_then(|(b, i)| card_valid_until(b, i)));
    let due_age = exact
        .zip(expires)
        .map(|(b, e)| b.age_on(e))
        .filter(|a| sync_core::model::rules::EXCHANGE_AGES.contains(a));
    CitizenRow {
        status: record.text("status").unwrap_or("active").to_owned(),
        turns_14_on: born.and_then(|b| b.latest().add_years(14)),
        has_id_number: record.text("id_number").is_some_and(|s| !s.is_empty()),
        card_issued_on: issued,
        card_expires_on: expires,
        card_due_age: due_age,
        id_notified: record
            .text("id_number_notified_on")
            .is_some_and(|s| !s.is_empty()),
        vneid_active: matches!(record.text("vneid_level"), Some("level_1" | "level_2")),
    }
}

fn index_citizen(tx: &dyn Sql, record: &Record, id: &str, now_ms: i64) -> Result<(), DbError> {
    let c = citizen_row(record);
    let day = |d: Option<Date>| d.map(|d| d.to_string());
    tx.execute(
        &UPSERT_CITIZEN,
        &[
            &id,
            &record.unit.as_str(),
            &c.status,
            &day(c.turns_14_on),
            &i64::from(c.has_id_number),
            &day(c.card_issued_on),
            &day(c.card_expires_on),
            &c.card_due_age.map(i64::from),
            &now_ms,
            &i64::from(c.id_notified),
            &i64::from(c.vneid_active),
        ],
    )?;
    Ok(())
}

/// Whether records exist that the report index has not seen (a database that predates
/// schema versions 6 and 9): then the caller re-indexes every record once.
pub fn needs_backfill(sql: &dyn Sql) -> Result<bool, DbError> {
    let missing: i64 = sql.query_value(
        "SELECT COUNT(*) FROM records r WHERE (r.kind IN ('cccd_application', 'residence_declaration')
           AND NOT EXISTS (SELECT 1 FROM report_dossiers d WHERE d.record = r.id))
            OR (r.kind = 'citizen'
           AND NOT EXISTS (SELECT 1 FROM report_citizens c WHERE c.record = r.id))",
        &[],
    )?;
    Ok(missing > 0)
}
