//! The progress report: applications and declarations by unit × procedure, counted in the
//! period by `period_on` (the filing day, else the day the server first saw the dossier):
//! received, in progress, granted, refused, withdrawn, overdue against `due_on` (else the
//! legal time limit in working days from filing), the median
//! days from filing to decision, and the share processed fully digitally (decided dossiers
//! whose filing and decision days are both recorded in Ferry). From `report_dossiers` only.

use std::collections::BTreeMap;

use serde::Serialize;
use sync_core::model::Date;

use super::period::Period;
use crate::db::{DbError, Sql, ToValue, placeholders};

/// The figures of one unit and procedure (or a total).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProgressRow {
    /// Unit code (`""` in the total row).
    pub unit: String,
    /// Record kind (`cccd_application`, `residence_declaration`; `""` in the total row).
    pub kind: String,
    /// Procedure code (`""` in the total row).
    pub procedure: String,
    /// Dossiers counted in the period.
    pub received: i64,
    /// Not decided yet.
    pub in_progress: i64,
    /// Granted (card issued or returned; declaration accepted).
    pub granted: i64,
    /// Refused.
    pub refused: i64,
    /// Withdrawn.
    pub withdrawn: i64,
    /// Still open past `due_on`, or decided after it.
    pub overdue: i64,
    /// Median days from filing to decision (decided dossiers with both days).
    pub median_days: Option<f64>,
    /// Granted + refused.
    pub decided: i64,
    /// Decided dossiers whose filing and decision days are both recorded.
    pub digital: i64,
    /// `digital / decided` in percent.
    pub digital_share: Option<f64>,
}

/// The progress report.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// One row per unit × procedure with dossiers, ordered by unit, kind, procedure.
    pub rows: Vec<ProgressRow>,
    /// The sums over all rows (median over all decided dossiers).
    pub total: ProgressRow,
    /// Received per unit in this period and the ones before it (oldest first).
    pub trend: Vec<TrendPoint>,
}

/// Received dossiers of one unit in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The period.
    pub period: Period,
    /// Unit code.
    pub unit: String,
    /// Dossiers received.
    pub received: i64,
}

/// The median of a histogram of (value, count).
fn median(hist: &BTreeMap<i64, i64>) -> Option<f64> {
    let n: i64 = hist.values().sum();
    if n == 0 {
        return None;
    }
    let at = |k: i64| -> i64 {
        let mut seen = 0;
        for (v, c) in hist {
            seen += c;
            if seen > k {
                return *v;
            }
        }
        0
    };
    Some(if n % 2 == 1 {
        at(n / 2) as f64
    } else {
        (at(n / 2 - 1) + at(n / 2)) as f64 / 2.0
    })
}

fn finish(row: &mut ProgressRow, hist: &BTreeMap<i64, i64>) {
    row.decided = row.granted + row.refused;
    row.median_days = median(hist);
    row.digital_share = (row.decided > 0).then(|| row.digital as f64 * 100.0 / row.decided as f64);
}

/// One statement for the counts and the days-to-decision histograms (the medians come from
/// counts): grouped by unit × procedure × outcome × days, answered from the covering index
/// `report_dossiers_progress` (schema version 11) without reading a table row.
fn progress_sql(units: usize) -> String {
    format!(
        "SELECT unit, kind, procedure, outcome, decision_days, COUNT(*),
            CAST(SUM(CASE WHEN (outcome = 'in_progress' AND due_on IS NOT NULL AND due_on < ?3)
                           OR (decided_on IS NOT NULL AND due_on IS NOT NULL AND decided_on > due_on)
                      THEN 1 ELSE 0 END) AS BIGINT),
            CAST(SUM(CASE WHEN filed_on IS NOT NULL AND decided_on IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT)
         FROM report_dossiers
         WHERE period_on >= ?1 AND period_on <= ?2 AND unit IN ({})
         GROUP BY unit, kind, procedure, outcome, decision_days",
        placeholders(4, units)
    )
}

type Key = (String, String, String);

/// The progress report for `units` over `period`; `today` decides what is overdue;
/// `trend` periods (this one included) for the trend.
pub fn progress(
    sql: &dyn Sql,
    units: &[String],
    period: Period,
    today: Date,
    trend: usize,
) -> Result<Progress, DbError> {
    if units.is_empty() {
        return Ok(Progress {
            rows: Vec::new(),
            total: ProgressRow::default(),
            trend: Vec::new(),
        });
    }
    let (from, to, today) = (
        period.from.to_string(),
        period.to.to_string(),
        today.to_string(),
    );
    let mut params: Vec<&dyn ToValue> = vec![&from, &to, &today];
    params.extend(units.iter().map(|u| u as &dyn ToValue));
    let mut by: BTreeMap<Key, ProgressRow> = BTreeMap::new();
    let mut total = ProgressRow::default();
    let mut hists: BTreeMap<Key, BTreeMap<i64, i64>> = BTreeMap::new();
    let mut all = BTreeMap::new();
    for r in sql.query(&progress_sql(units.len()), &params)? {
        let (unit, kind, procedure, outcome): (String, String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let days: Option<i64> = r.get(4)?;
        let (n, overdue, both_days): (i64, i64, i64) = (r.get(5)?, r.get(6)?, r.get(7)?);
        let decided = matches!(outcome.as_str(), "granted" | "refused");
        let key = (unit.clone(), kind.clone(), procedure.clone());
        if let Some(days) = days.filter(|_| decided) {
            *hists
                .entry(key.clone())
                .or_default()
                .entry(days)
                .or_insert(0) += n;
            *all.entry(days).or_insert(0) += n;
        }
        let row = by.entry(key).or_insert_with(|| ProgressRow {
            unit,
            kind,
            procedure,
            ..ProgressRow::default()
        });
        for target in [&mut *row, &mut total] {
            target.received += n;
            target.overdue += overdue;
            match outcome.as_str() {
                "granted" => target.granted += n,
                "refused" => target.refused += n,
                "withdrawn" => target.withdrawn += n,
                _ => target.in_progress += n,
            }
            if decided {
                target.digital += both_days;
            }
        }
    }
    let mut out: Vec<ProgressRow> = by.into_values().collect();
    for row in &mut out {
        let key = (row.unit.clone(), row.kind.clone(), row.procedure.clone());
        finish(row, hists.get(&key).unwrap_or(&BTreeMap::new()));
    }
    finish(&mut total, &all);
    Ok(Progress {
        rows: out,
        total,
        trend: received_trend(sql, units, period, trend)?,
    })
}

/// Received dossiers per unit in `period` and the `n - 1` periods before it.
fn received_trend(
    sql: &dyn Sql,
    units: &[String],
    period: Period,
    n: usize,
) -> Result<Vec<TrendPoint>, DbError> {
    let periods = period.trend(n.max(1));
    let (from, to) = (periods[0].from.to_string(), period.to.to_string());
    let mut params: Vec<&dyn ToValue> = vec![&from, &to];
    params.extend(units.iter().map(|u| u as &dyn ToValue));
    let rows = sql.query(
        &format!(
            "SELECT unit, period_on, COUNT(*) FROM report_dossiers
             WHERE period_on >= ?1 AND period_on <= ?2 AND unit IN ({})
             GROUP BY unit, period_on",
            placeholders(3, units.len())
        ),
        &params,
    )?;
    let mut counts: BTreeMap<(usize, String), i64> = BTreeMap::new();
    for r in rows {
        let (unit, day, c): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let Some(d) = Date::parse(&day) else { continue };
        if let Some(i) = periods.iter().position(|p| p.from <= d && d <= p.to) {
            *counts.entry((i, unit)).or_insert(0) += c;
        }
    }
    let mut out = Vec::new();
    for (i, p) in periods.iter().enumerate() {
        for u in units {
            out.push(TrendPoint {
                period: *p,
                unit: u.clone(),
                received: counts.get(&(i, u.clone())).copied().unwrap_or(0),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_come_from_histograms() {
        let h: BTreeMap<i64, i64> = [(1, 1), (3, 1), (10, 1)].into_iter().collect();
        assert_eq!(median(&h), Some(3.0));
        let h: BTreeMap<i64, i64> = [(2, 2), (5, 2)].into_iter().collect();
        assert_eq!(median(&h), Some(3.5));
        assert_eq!(median(&BTreeMap::new()), None);
        assert_eq!(placeholders(4, 3), "?4, ?5, ?6");
    }
}
