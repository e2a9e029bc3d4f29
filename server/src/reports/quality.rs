//! The data-quality report ("đúng, đủ, sạch, sống": correct, complete, clean, current), per
//! unit, from the report index and the review queue only:
//!
//! - **findings** by type × unit as they stand now, and per trend period (this one and the
//!   ones before it) the findings first seen in it, fixed in it, and carried at its end
//!   (schema version 15 keeps a fixed finding with the day it went), so a ward that cleans
//!   its data sees the line fall;
//! - **completeness** of the dossiers counted in the period: a dossier is complete when its
//!   filing day is recorded and it carries no finding of a missing required part
//!   (`…_missing`: representative, refusal reason, consents, vessel number, adjustment type);
//! - **open review items** by type and age (under 7 days, 7–30, over 30);
//! - **deceased persons still registered**: open review items of the cross-record rule
//!   `deceased_still_registered` (a deceased citizen with an accepted permanent registration
//!   not removed), one per person.
//!
//! The findings table counts the findings saved with each record (`records.findings`, indexed
//! in `report_findings`); findings of rules across records are review items and show in the
//! review-items table under "rule finding".

use std::collections::BTreeMap;

use serde::Serialize;
use sync_core::model::Date;

use super::period::Period;
use crate::db::placeholders;
use crate::db::{DbError, Sql, ToValue};

/// Records carrying one finding code in one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    /// Unit code.
    pub unit: String,
    /// Finding code.
    pub code: String,
    /// Records carrying it now.
    pub open: i64,
    /// First seen in each trend period (oldest first, this period last), fixed since or not.
    pub new_per_period: Vec<i64>,
    /// Fixed (gone from the record) in each trend period.
    pub fixed_per_period: Vec<i64>,
    /// Carried at the end of each trend period (the last: today, for the current period).
    pub open_per_period: Vec<i64>,
}

/// Completeness of one unit's dossiers in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompletenessRow {
    /// Unit code.
    pub unit: String,
    /// Dossiers counted in the period.
    pub dossiers: i64,
    /// Without a recorded filing day.
    pub no_filing_day: i64,
    /// With a finding of a missing required part.
    pub missing_part: i64,
    /// Neither.
    pub complete: i64,
    /// `complete / dossiers` in percent.
    pub complete_share: Option<f64>,
}

/// Open review items of one type in one unit, by age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewRow {
    /// Unit code.
    pub unit: String,
    /// Item type (`duplicate_id`, …).
    pub item_type: String,
    /// Opened less than 7 days ago.
    pub under_7_days: i64,
    /// 7 to 30 days ago.
    pub days_7_to_30: i64,
    /// More than 30 days ago.
    pub over_30_days: i64,
}

/// The data-quality report.
#[derive(Debug, Clone, Serialize)]
pub struct Quality {
    /// The trend periods (oldest first, this one last).
    pub periods: Vec<Period>,
    /// Findings by unit × code.
    pub findings: Vec<FindingRow>,
    /// Records per finding code over all units (for the chart).
    pub by_code: BTreeMap<String, i64>,
    /// Completeness per unit.
    pub completeness: Vec<CompletenessRow>,
    /// Open review items per unit × type.
    pub review: Vec<ReviewRow>,
    /// Deceased persons still registered, per unit.
    pub deceased_registered: BTreeMap<String, i64>,
}

/// The finding code of a deceased person with a live permanent registration.
pub const DECEASED_REGISTERED: &str = "deceased_still_registered";

fn unit_params<'a>(first: Vec<&'a dyn ToValue>, units: &'a [String]) -> Vec<&'a dyn ToValue> {
    let mut p = first;
    p.extend(units.iter().map(|u| u as &dyn ToValue));
    p
}

/// The data-quality report for `units`: the period `period`, `trend` periods back; `now_ms`
/// dates the review items.
pub fn quality(
    sql: &dyn Sql,
    units: &[String],
    period: Period,
    trend: usize,
    now_ms: i64,
) -> Result<Quality, DbError> {
    let periods = period.trend(trend.max(1));
    let mut q = Quality {
        periods: periods.clone(),
        findings: Vec::new(),
        by_code: BTreeMap::new(),
        completeness: Vec::new(),
        review: Vec::new(),
        deceased_registered: BTreeMap::new(),
    };
    if units.is_empty() {
        return Ok(q);
    }
    findings(sql, units, &periods, &mut q)?;
    q.completeness = completeness(sql, units, period)?;
    q.review = review(sql, units, now_ms)?;
    q.deceased_registered = deceased_registered(sql, units)?;
    Ok(q)
}

fn findings(
    sql: &dyn Sql,
    units: &[String],
    periods: &[Period],
    q: &mut Quality,
) -> Result<(), DbError> {
    // One row per unit × code × first-seen day × fixed day: small (days × codes), grouped
    // in Rust.
    let rows = sql.query(
        &format!(
            "SELECT unit, code, first_seen_on, resolved_on, COUNT(*) FROM report_findings
             WHERE unit IN ({}) GROUP BY unit, code, first_seen_on, resolved_on",
            placeholders(1, units.len())
        ),
        &unit_params(Vec::new(), units),
    )?;
    let in_period =
        |d: Option<Date>| d.and_then(|d| periods.iter().position(|p| p.from <= d && d <= p.to));
    let mut by: BTreeMap<(String, String), FindingRow> = BTreeMap::new();
    for r in rows {
        let (unit, code, seen, fixed, n): (String, String, String, Option<String>, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        let (seen, fixed) = (Date::parse(&seen), fixed.as_deref().and_then(Date::parse));
        let row = by
            .entry((unit.clone(), code.clone()))
            .or_insert_with(|| FindingRow {
                unit,
                code: code.clone(),
                open: 0,
                new_per_period: vec![0; periods.len()],
                fixed_per_period: vec![0; periods.len()],
                open_per_period: vec![0; periods.len()],
            });
        if fixed.is_none() {
            row.open += n;
            *q.by_code.entry(code).or_insert(0) += n;
        }
        if let Some(i) = in_period(seen) {
            row.new_per_period[i] += n;
        }
        if let Some(i) = in_period(fixed) {
            row.fixed_per_period[i] += n;
        }
        for (i, p) in periods.iter().enumerate() {
            let carried = seen.is_some_and(|s| s <= p.to) && fixed.is_none_or(|f| f > p.to);
            if carried {
                row.open_per_period[i] += n;
            }
        }
    }
    // A unit × code whose findings were all fixed before the trend began shows nothing.
    by.retain(|_, r| {
        r.open > 0
            || r.new_per_period
                .iter()
                .chain(&r.fixed_per_period)
                .any(|n| *n > 0)
    });
    q.findings = by.into_values().collect();
    Ok(())
}

/// The findings of a missing required part of a dossier (sync-core's rules).
pub const MISSING_PART: [&str; 8] = [
    "representative_missing",
    "cmnd_number_missing",
    "refusal_reason_missing",
    "head_consent_missing",
    "supervisor_consent_missing",
    "vessel_number_missing",
    "adjustment_type_missing",
    "guardian_consent_missing",
];

/// `'a', 'b', …` of [`MISSING_PART`] (constants, not user input).
fn missing_list() -> String {
    MISSING_PART
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn completeness(
    sql: &dyn Sql,
    units: &[String],
    period: Period,
) -> Result<Vec<CompletenessRow>, DbError> {
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let in_units = placeholders(3, units.len());
    let params = unit_params(vec![&from, &to], units);
    let mut by: BTreeMap<String, CompletenessRow> = BTreeMap::new();
    for r in sql.query(
        &format!(
            "SELECT unit, COUNT(*), CAST(SUM(CASE WHEN filed_on IS NULL THEN 1 ELSE 0 END) AS BIGINT)
             FROM report_dossiers
             WHERE period_on >= ?1 AND period_on <= ?2 AND unit IN ({in_units})
             GROUP BY unit"
        ),
        &params,
    )? {
        let unit: String = r.get(0)?;
        by.insert(
            unit.clone(),
            CompletenessRow {
                unit,
                dossiers: r.get(1)?,
                no_filing_day: r.get(2)?,
                ..CompletenessRow::default()
            },
        );
    }
    // The few dossiers with a missing part, from the findings side (indexed by unit, code),
    // and how many of them also lack a filing day (not to count them twice). CROSS JOIN keeps
    // SQLite's loop on the findings (one dossier seek each) instead of every dossier of the
    // period against a temporary index (a second for a district-year at 1 M); PostgreSQL
    // plans it as the inner join it is.
    let mut both: BTreeMap<String, i64> = BTreeMap::new();
    for r in sql.query(
        &format!(
            "SELECT d.unit, COUNT(*), CAST(SUM(CASE WHEN d.filed_on IS NULL THEN 1 ELSE 0 END) AS BIGINT)
             FROM (SELECT DISTINCT record FROM report_findings
                   WHERE code IN ({missing}) AND unit IN ({in_units}) AND resolved_on IS NULL) m
             CROSS JOIN report_dossiers d
             WHERE d.record = m.record AND d.period_on >= ?1 AND d.period_on <= ?2 AND d.unit IN ({in_units})
             GROUP BY d.unit",
            missing = missing_list(),
        ),
        &params,
    )? {
        let unit: String = r.get(0)?;
        if let Some(row) = by.get_mut(&unit) {
            row.missing_part = r.get(1)?;
            both.insert(unit, r.get(2)?);
        }
    }
    Ok(by
        .into_values()
        .map(|mut c| {
            let overlap = both.get(&c.unit).copied().unwrap_or(0);
            c.complete = c.dossiers - c.no_filing_day - c.missing_part + overlap;
            c.complete_share =
                (c.dossiers > 0).then(|| c.complete as f64 * 100.0 / c.dossiers as f64);
            c
        })
        .collect())
}

/// Open `deceased_still_registered` review items per unit (their key is
/// `rule:<record>:<code>:<field>`, one per person and field).
fn deceased_registered(sql: &dyn Sql, units: &[String]) -> Result<BTreeMap<String, i64>, DbError> {
    let pattern = format!("rule:%:{DECEASED_REGISTERED}:%");
    let rows = sql.query(
        &format!(
            "SELECT unit, COUNT(*) FROM review_items
             WHERE status = 'open' AND type = 'rule_finding' AND key LIKE ?1 AND unit IN ({})
             GROUP BY unit",
            placeholders(2, units.len())
        ),
        &unit_params(vec![&pattern], units),
    )?;
    rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

const DAY_MS: i64 = 24 * 3_600_000;

fn review(sql: &dyn Sql, units: &[String], now_ms: i64) -> Result<Vec<ReviewRow>, DbError> {
    let (week, month) = (now_ms - 7 * DAY_MS, now_ms - 30 * DAY_MS);
    let rows = sql.query(
        &format!(
            "SELECT unit, type,
                CAST(SUM(CASE WHEN created_ms > ?1 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN created_ms <= ?1 AND created_ms > ?2 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN created_ms <= ?2 THEN 1 ELSE 0 END) AS BIGINT)
             FROM review_items WHERE status = 'open' AND unit IN ({})
             GROUP BY unit, type ORDER BY unit, type",
            placeholders(3, units.len())
        ),
        &unit_params(vec![&week, &month], units),
    )?;
    rows.iter()
        .map(|r| {
            Ok(ReviewRow {
                unit: r.get(0)?,
                item_type: r.get(1)?,
                under_7_days: r.get(2)?,
                days_7_to_30: r.get(3)?,
                over_30_days: r.get(4)?,
            })
        })
        .collect()
}
