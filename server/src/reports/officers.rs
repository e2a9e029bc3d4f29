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

/// Milliseconds at 00:00 Vietnam time (UTC+7, no daylight saving) of `d`.
pub fn day_start_ms(d: Date) -> i64 {
    let epoch = Date::new(1970, 1, 1).unwrap_or(d);
    (epoch.days_until(d) * 86_400 - 7 * 3_600) * 1_000
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

/// Every account of `units` (all accounts when `all`) with its figures over `period`.
pub fn activity(
    sql: &dyn Sql,
    units: &[String],
    all: bool,
    period: Period,
    large: LargePull,
) -> Result<Vec<UserActivity>, DbError> {
    let mut by = accounts(sql, units, all)?;
    let (from, to) = (period.from.to_string(), period.to.to_string());
    for r in sql.query(
        "SELECT \"user\", metric, day, n FROM report_activity WHERE day >= ?1 AND day <= ?2",
        &[&from, &to],
    )? {
        let (user, metric, n): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(3)?);
        let Some(a) = by.get_mut(&user) else { continue };
        match metric.as_str() {
            "created" => a.created += n,
            "edited" => a.edited += n,
            "read" => a.read += n,
            "read_outside" => a.read_outside += n,
            "exported" => a.exported += n,
            "pulled" => {
                a.pulled += n;
                a.max_pulled_day = a.max_pulled_day.max(n);
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
