//! The coverage report: how far the ward's people are covered by cards and registrations,
//! as of today (Vietnam), per unit, from the report index only (`report_citizens` and
//! `report_dossiers`, schema version 9):
//!
//! - **residents aged 14+ without a card application**: active citizens who are 14 whatever
//!   the missing part of a partial birth date, with no card recorded on the citizen and no
//!   card application for them (by `citizen_id`) that is in progress or granted;
//! - **cards due for exchange** within `months` months: active citizens whose recorded card
//!   ends (recorded expiry, else Identification Law Art. 21's: ages 14/25/40/60) between today
//!   and the horizon, by the exchange age, and the cards already past their end; a citizen
//!   with an application in progress or granted filed after the card was issued is not due;
//! - **cards issued but not handed back**: card applications in status `card_issued`;
//! - **temporary registrations expiring within 15 days** (Residence Law Art. 28(3)): granted
//!   temporary registrations and extensions whose last day is between today and 15 days on,
//!   not superseded by a granted extension or removal acting on them, and of those the ones
//!   with an extension filed and not yet decided;
//! - **citizens without a personal ID number**: active citizens with none recorded;
//! - **not yet told their ID number** (seed plan 4.6): active citizens with an ID number and
//!   no `id_number_notified_on` (schema version 12);
//! - **VNeID accounts** (seed plan 2.3): active citizens whose `vneid_level` is `level_1` or
//!   `level_2`, and the residents aged 14+ without one.

use std::collections::BTreeMap;

use serde::Serialize;
use sync_core::model::Date;

use crate::db::placeholders;
use crate::db::{DbError, Sql, ToValue};

/// Months ahead the cards-due figure looks when the query does not say.
pub const DEFAULT_MONTHS: u32 = 6;
/// The most months ahead a query may ask for.
pub const MAX_MONTHS: u32 = 60;
/// Days ahead the expiring-registrations figure looks (Residence Law Art. 28(3)).
pub const EXPIRY_DAYS: i64 = 15;
/// The exchange ages of Identification Law Art. 21, in the order of `cards_due_by_age`.
pub const AGES: [i64; 4] = [14, 25, 40, 60];

/// The coverage figures of one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoverageRow {
    /// Unit code (empty for the total).
    pub unit: String,
    /// Active citizens aged 14 or more.
    pub residents_14_plus: i64,
    /// Of those, without a card and without a card application.
    pub without_application: i64,
    /// Cards whose end falls between today and the horizon.
    pub cards_due: i64,
    /// Of those, by exchange age (14, 25, 40, 60), then the ones whose age is not known
    /// (partial date of birth, or a recorded end on no exchange age).
    pub cards_due_by_age: [i64; 5],
    /// Cards already past their end, with no application since.
    pub cards_expired: i64,
    /// Cards issued and not yet handed back to the citizen.
    pub issued_not_returned: i64,
    /// Temporary registrations whose last day is within [`EXPIRY_DAYS`] days.
    pub registrations_expiring: i64,
    /// Of those, with an extension filed and not yet decided.
    pub extension_filed: i64,
    /// Active citizens without a personal ID number.
    pub without_id_number: i64,
    /// Active citizens with an ID number who have not been told it.
    pub id_number_not_told: i64,
    /// Active citizens with an activated VNeID account (level 1 or 2).
    pub vneid_activated: i64,
    /// Active residents aged 14 or more without an activated VNeID account.
    pub vneid_not_activated: i64,
}

impl CoverageRow {
    fn add(&mut self, o: &CoverageRow) {
        self.residents_14_plus += o.residents_14_plus;
        self.without_application += o.without_application;
        self.cards_due += o.cards_due;
        for (a, b) in self.cards_due_by_age.iter_mut().zip(o.cards_due_by_age) {
            *a += b;
        }
        self.cards_expired += o.cards_expired;
        self.issued_not_returned += o.issued_not_returned;
        self.registrations_expiring += o.registrations_expiring;
        self.extension_filed += o.extension_filed;
        self.without_id_number += o.without_id_number;
        self.id_number_not_told += o.id_number_not_told;
        self.vneid_activated += o.vneid_activated;
        self.vneid_not_activated += o.vneid_not_activated;
    }
}

/// The coverage report's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// The day counted from (today in Vietnam).
    #[serde(serialize_with = "ser_date")]
    pub today: Date,
    /// How many months ahead cards due are counted.
    pub months: u32,
    /// The last day a card due may end on (`today` + `months` months).
    #[serde(serialize_with = "ser_date")]
    pub cards_due_until: Date,
    /// The last day an expiring registration may end on (`today` + 15 days).
    #[serde(serialize_with = "ser_date")]
    pub registrations_expiring_until: Date,
    /// One row per unit covered (every unit, zeros included).
    pub rows: Vec<CoverageRow>,
    /// The sum over the units.
    pub total: CoverageRow,
}

fn ser_date<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// `day` plus `months` calendar months, on the month's last day when it is shorter
/// (31 August + 6 months = 28 or 29 February).
pub fn add_months(day: Date, months: u32) -> Option<Date> {
    let idx = day.year() * 12 + i32::from(day.month()) - 1 + i32::try_from(months).ok()?;
    let (y, m) = (
        idx.div_euclid(12),
        u8::try_from(idx.rem_euclid(12) + 1).ok()?,
    );
    (28..=day.day().max(28))
        .rev()
        .find_map(|d| Date::new(y, m, d.min(day.day())))
}

fn unit_params<'a>(first: Vec<&'a dyn ToValue>, units: &'a [String]) -> Vec<&'a dyn ToValue> {
    let mut p = first;
    p.extend(units.iter().map(|u| u as &dyn ToValue));
    p
}

/// An application in progress or granted for citizen `c` (the card applied for or issued).
const APPLIED: &str = "SELECT 1 FROM report_dossiers d WHERE d.citizen = c.record
    AND d.kind = 'cccd_application' AND d.outcome IN ('in_progress', 'granted')";

/// The coverage report for `units` as of `today`, cards due within `months` months.
pub fn coverage(
    sql: &dyn Sql,
    units: &[String],
    today: Date,
    months: u32,
) -> Result<Coverage, DbError> {
    let bad = |what: &str| DbError::Conversion(format!("coverage: {what} is outside 0001–9999"));
    let until = add_months(today, months).ok_or_else(|| bad("the horizon"))?;
    let expiring = today
        .add_days(EXPIRY_DAYS)
        .ok_or_else(|| bad("the expiry window"))?;
    let mut by: BTreeMap<String, CoverageRow> = units
        .iter()
        .map(|u| {
            (
                u.clone(),
                CoverageRow {
                    unit: u.clone(),
                    ..CoverageRow::default()
                },
            )
        })
        .collect();
    if !units.is_empty() {
        let (t, h, e) = (today.to_string(), until.to_string(), expiring.to_string());
        citizens(sql, units, &t, &mut by)?;
        cards(sql, units, &t, &h, &mut by)?;
        dossiers(sql, units, &t, &e, &mut by)?;
    }
    let rows: Vec<CoverageRow> = by.into_values().collect();
    let mut total = CoverageRow::default();
    for r in &rows {
        total.add(r);
    }
    Ok(Coverage {
        today,
        months,
        cards_due_until: until,
        registrations_expiring_until: expiring,
        rows,
        total,
    })
}

fn citizens(
    sql: &dyn Sql,
    units: &[String],
    today: &str,
    by: &mut BTreeMap<String, CoverageRow>,
) -> Result<(), DbError> {
    let rows = sql.query(
        &format!(
            "SELECT c.unit,
                CAST(SUM(CASE WHEN c.turns_14_on <= ?1 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN c.turns_14_on <= ?1 AND c.card_issued_on IS NULL
                              AND c.card_expires_on IS NULL AND NOT EXISTS ({APPLIED})
                         THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN c.has_id_number = 0 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN c.has_id_number = 1 AND c.id_notified = 0
                         THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN c.vneid_active = 1 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN c.turns_14_on <= ?1 AND c.vneid_active = 0
                         THEN 1 ELSE 0 END) AS BIGINT)
             FROM report_citizens c
             WHERE c.status = 'active' AND c.unit IN ({})
             GROUP BY c.unit",
            placeholders(2, units.len())
        ),
        &unit_params(vec![&today], units),
    )?;
    for r in rows {
        if let Some(row) = by.get_mut(&r.get::<String>(0)?) {
            row.residents_14_plus = r.get(1)?;
            row.without_application = r.get(2)?;
            row.without_id_number = r.get(3)?;
            row.id_number_not_told = r.get(4)?;
            row.vneid_activated = r.get(5)?;
            row.vneid_not_activated = r.get(6)?;
        }
    }
    Ok(())
}

fn cards(
    sql: &dyn Sql,
    units: &[String],
    today: &str,
    until: &str,
    by: &mut BTreeMap<String, CoverageRow>,
) -> Result<(), DbError> {
    let rows = sql.query(
        &format!(
            "SELECT c.unit, c.card_due_age,
                CAST(SUM(CASE WHEN c.card_expires_on >= ?1 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN c.card_expires_on < ?1 THEN 1 ELSE 0 END) AS BIGINT)
             FROM report_citizens c
             WHERE c.status = 'active' AND c.unit IN ({})
               AND c.card_expires_on IS NOT NULL AND c.card_expires_on <= ?2
               AND NOT EXISTS ({APPLIED}
                   AND (c.card_issued_on IS NULL OR d.period_on > c.card_issued_on))
             GROUP BY c.unit, c.card_due_age",
            placeholders(3, units.len())
        ),
        &unit_params(vec![&today, &until], units),
    )?;
    for r in rows {
        let Some(row) = by.get_mut(&r.get::<String>(0)?) else {
            continue;
        };
        let age: Option<i64> = r.get(1)?;
        let (due, expired): (i64, i64) = (r.get(2)?, r.get(3)?);
        row.cards_due += due;
        row.cards_expired += expired;
        let i = age
            .and_then(|a| AGES.iter().position(|x| *x == a))
            .unwrap_or(AGES.len());
        row.cards_due_by_age[i] += due;
    }
    Ok(())
}

fn dossiers(
    sql: &dyn Sql,
    units: &[String],
    today: &str,
    expiring: &str,
    by: &mut BTreeMap<String, CoverageRow>,
) -> Result<(), DbError> {
    for r in sql.query(
        &format!(
            "SELECT unit, COUNT(*) FROM report_dossiers
             WHERE kind = 'cccd_application' AND status = 'card_issued' AND unit IN ({})
             GROUP BY unit",
            placeholders(1, units.len())
        ),
        &unit_params(Vec::new(), units),
    )? {
        if let Some(row) = by.get_mut(&r.get::<String>(0)?) {
            row.issued_not_returned = r.get(1)?;
        }
    }
    for r in sql.query(
        &format!(
            "SELECT d.unit, COUNT(*),
                CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM report_dossiers x
                        WHERE x.registration = d.record AND x.procedure = 'extension'
                          AND x.outcome = 'in_progress') THEN 1 ELSE 0 END) AS BIGINT)
             FROM report_dossiers d
             WHERE d.expires_on >= ?1 AND d.expires_on <= ?2
               AND d.kind = 'residence_declaration' AND d.outcome = 'granted'
               AND d.unit IN ({})
               AND NOT EXISTS (SELECT 1 FROM report_dossiers x
                   WHERE x.registration = d.record AND x.outcome = 'granted')
             GROUP BY d.unit",
            placeholders(3, units.len())
        ),
        &unit_params(vec![&today, &expiring], units),
    )? {
        if let Some(row) = by.get_mut(&r.get::<String>(0)?) {
            row.registrations_expiring = r.get(1)?;
            row.extension_filed = r.get(2)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn months_are_added_on_the_calendar_keeping_the_day_or_the_months_last_day() {
        assert_eq!(add_months(d("2026-12-01"), 6), Some(d("2027-06-01")));
        assert_eq!(add_months(d("2026-08-31"), 6), Some(d("2027-02-28")));
        assert_eq!(add_months(d("2027-08-31"), 6), Some(d("2028-02-29")));
        assert_eq!(add_months(d("2026-01-15"), 0), Some(d("2026-01-15")));
        assert_eq!(add_months(d("2026-11-30"), 13), Some(d("2027-12-30")));
    }
}
