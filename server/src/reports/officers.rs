//! The officers report and the data-use inspection, per user account over a period, from the
//! daily aggregates of [`super::activity`] (never the audit trail itself):
//!
//! - **officers**: records created and edited, pushed edits refused by the server by reason,
//!   and the review items opened in the period on records the officer edited last;
//! - **data use**: records read (console, admin API), read outside the user's assigned units
//!   (should be zero), exported, pulled to the user's devices, the most pulled in one day
//!   and whether that is unusually large ([`LargePull`]).
//!
//! Which accounts: those assigned to one of the report's units (admins asking for every
//! unit: all accounts). The accounts' own activity is counted whatever unit it touched.

use std::collections::BTreeMap;

use serde::Serialize;
use sync_core::model::Date;

use super::period::Period;
use crate::db::placeholders;
use crate::db::{DbError, Sql, ToValue};

/// The data-use threshold (flag and environment variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::Args)]
pub struct LargePull {
    /// Records pulled to one user's devices in one day from which the data-use inspection
    /// marks the pull as unusually large.
    #[arg(
        long = "report-large-pull",
        env = "FERRY_REPORT_LARGE_PULL",
        default_value_t = 5_000,
        global = true
    )]
    pub large_pull: i64,
}

impl Default for LargePull {
    fn default() -> Self {
        LargePull { large_pull: 5_000 }
    }
}

/// One account's figures in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserActivity {
    /// Login name.
    pub user: String,
    /// Role.
    pub role: String,
    /// Assigned units.
    pub units: Vec<String>,
    /// Records first pushed by this user.
    pub created: i64,
    /// Records pushed that existed already.
    pub edited: i64,
    /// Pushed records refused, by reason (`out_of_scope`, `frozen_field`, …).
    pub rejected: BTreeMap<String, i64>,
    /// Their sum.
    pub rejected_total: i64,
    /// Review items opened in the period on records this user edited last.
    pub review_items: i64,
    /// Records read.
    pub read: i64,
    /// Of those, outside the assigned units.
    pub read_outside: i64,
    /// Exports.
    pub exported: i64,
    /// Records pulled to the user's devices.
    pub pulled: i64,
    /// The most pulled in one day.
    pub max_pulled_day: i64,
    /// `max_pulled_day` reached the threshold.
    pub large_pull: bool,
}

/// Milliseconds at 00:00 Vietnam time of `d` (sync-core's time module owns the zone).
pub fn day_start_ms(d: Date) -> i64 {
    sync_core::time::start_of_local_day(d)
}

fn accounts(
    sql: &dyn Sql,
    units: &[String],
    all: bool,
) -> Result<BTreeMap<String, UserActivity>, DbError> {
    let mut out = BTreeMap::new();
    for r in sql.query(
        "SELECT username, role, units FROM users ORDER BY username",
        &[],
    )? {
        let (user, role, u): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let assigned: Vec<String> = serde_json::from_str(&u).unwrap_or_default();
        if all || assigned.iter().any(|a| units.contains(a)) {
            out.insert(
                user.clone(),
                UserActivity {
                    user,
                    role,
                    units: assigned,
                    ..UserActivity::default()
                },
            );
        }
    }
    Ok(out)
}

/// `period` as the days of its partial first and last months and the whole months between:
/// `(head, months, tail)`, each `(first, last)` inclusive as text (`YYYY-MM` for months); an
/// empty part is `("1", "0")`, a range nothing falls in.
fn month_split(period: Period) -> [(String, String); 3] {
    let none = || ("1".to_owned(), "0".to_owned());
    let first_full = if period.from.day() == 1 {
        Some(period.from)
    } else {
        month_after(period.from)
    };
    // The day after the last whole month: `to` + 1 when `to` ends a month, else `to`'s 1st.
    let after = period.to.add_days(1);
    let end_full = match after {
        Some(a) if a.day() == 1 => Some(a),
        _ => Date::new(period.to.year(), period.to.month(), 1),
    };
    let (Some(first), Some(end)) = (first_full, end_full) else {
        return [days(period.from, Some(period.to)), none(), none()];
    };
    let Some(last) = end.add_days(-1).filter(|l| first <= *l) else {
        return [days(period.from, Some(period.to)), none(), none()];
    };
    let month = |d: Date| d.to_string()[..7].to_owned();
    let head = if period.from < first {
        days(period.from, first.add_days(-1))
    } else {
        none()
    };
    let tail = if last < period.to {
        days(end, Some(period.to))
    } else {
        none()
    };
    [head, (month(first), month(last)), tail]
}

fn days(from: Date, to: Option<Date>) -> (String, String) {
    match to {
        Some(to) if from <= to => (from.to_string(), to.to_string()),
        _ => ("1".to_owned(), "0".to_owned()),
    }
}

/// The first day of the month after `d`'s.
fn month_after(d: Date) -> Option<Date> {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    Date::new(y, m, 1)
}

/// Per user and metric over `period`: the sum and the largest daily count, from the monthly
/// rollup for whole months and the daily rows for the rest (schema version 11).
const ACTIVITY_SQL: &str = "SELECT \"user\", metric, CAST(SUM(n) AS BIGINT), MAX(max_day) FROM (
        SELECT \"user\", metric, n, n AS max_day FROM report_activity
         WHERE (day >= ?1 AND day <= ?2) OR (day >= ?5 AND day <= ?6)
        UNION ALL
        SELECT \"user\", metric, n, max_day FROM report_activity_month
         WHERE month >= ?3 AND month <= ?4) a
    GROUP BY \"user\", metric";

/// Every account of `units` (all accounts when `all`) with its figures over `period`.
pub fn activity(
    sql: &dyn Sql,
    units: &[String],
    all: bool,
    period: Period,
    large: LargePull,
) -> Result<Vec<UserActivity>, DbError> {
    let mut by = accounts(sql, units, all)?;
    let [(h1, h2), (m1, m2), (t1, t2)] = month_split(period);
    for r in sql.query(ACTIVITY_SQL, &[&h1, &h2, &m1, &m2, &t1, &t2])? {
        let (user, metric): (String, String) = (r.get(0)?, r.get(1)?);
        let (n, max_day): (i64, i64) = (r.get(2)?, r.get(3)?);
        let Some(a) = by.get_mut(&user) else { continue };
        match metric.as_str() {
            "created" => a.created += n,
            "edited" => a.edited += n,
            "read" => a.read += n,
            "read_outside" => a.read_outside += n,
            "exported" => a.exported += n,
            "pulled" => {
                a.pulled += n;
                a.max_pulled_day = a.max_pulled_day.max(max_day);
            }
            m => {
                if let Some(code) = m.strip_prefix("rejected:") {
                    *a.rejected.entry(code.to_owned()).or_insert(0) += n;
                    a.rejected_total += n;
                }
            }
        }
    }
    for (user, n) in review_items_caused(sql, units, period)? {
        if let Some(a) = by.get_mut(&user) {
            a.review_items += n;
        }
    }
    let mut out: Vec<UserActivity> = by.into_values().collect();
    for a in &mut out {
        a.large_pull = a.max_pulled_day >= large.large_pull;
    }
    Ok(out)
}

/// Review items of `units` opened in `period`, per user who last edited one of their
/// records (an item on records edited by two users counts for both).
fn review_items_caused(
    sql: &dyn Sql,
    units: &[String],
    period: Period,
) -> Result<Vec<(String, i64)>, DbError> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let from = day_start_ms(period.from);
    let to = day_start_ms(period.to) + 86_400_000;
    let mut params: Vec<&dyn ToValue> = vec![&from, &to];
    params.extend(units.iter().map(|u| u as &dyn ToValue));
    let rows = sql.query(
        &format!(
            "SELECT o.last_editor, COUNT(DISTINCT i.id) FROM review_items i
             JOIN review_links l ON l.item = i.id
             JOIN report_record_origin o ON o.record = l.record
             WHERE i.created_ms >= ?1 AND i.created_ms < ?2 AND i.unit IN ({})
             GROUP BY o.last_editor",
            placeholders(3, units.len())
        ),
        &params,
    )?;
    rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(from: &str, to: &str) -> Period {
        Period {
            kind: super::super::period::PeriodKind::Range,
            from: Date::parse(from).unwrap(),
            to: Date::parse(to).unwrap(),
        }
    }

    fn s(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    #[test]
    fn a_period_splits_into_partial_months_as_days_and_whole_months() {
        let none = s("1", "0");
        let year = month_split(p("2026-01-01", "2026-12-31"));
        assert_eq!(year, [none.clone(), s("2026-01", "2026-12"), none.clone()]);
        let week = month_split(p("2026-11-30", "2026-12-06"));
        assert_eq!(
            week,
            [s("2026-11-30", "2026-12-06"), none.clone(), none.clone()]
        );
        let range = month_split(p("2026-01-15", "2026-04-10"));
        assert_eq!(
            range,
            [
                s("2026-01-15", "2026-01-31"),
                s("2026-02", "2026-03"),
                s("2026-04-01", "2026-04-10")
            ]
        );
        let dec = month_split(p("2025-12-02", "2026-02-28"));
        assert_eq!(
            dec,
            [
                s("2025-12-02", "2025-12-31"),
                s("2026-01", "2026-02"),
                none.clone()
            ]
        );
        let feb = month_split(p("2026-02-01", "2026-02-27"));
        assert_eq!(feb, [s("2026-02-01", "2026-02-27"), none.clone(), none]);
    }

    #[test]
    fn a_vietnam_day_starts_at_17_utc_the_day_before() {
        let d = Date::parse("2026-12-01").unwrap();
        // 2026-11-30T17:00:00Z
        assert_eq!(day_start_ms(d), 1_796_058_000_000);
        assert_eq!(sync_core::time::local_date(day_start_ms(d)), "2026-12-01");
        assert_eq!(
            sync_core::time::local_date(day_start_ms(d) - 1),
            "2026-11-30"
        );
    }
}
