//! Per-user activity, counted as the audit trail is written (`audit::append` calls
//! [`count`] in the same transaction), so the officers and data-use reports read small
//! daily aggregates instead of the trail:
//!
//! - `report_activity (day, user, metric, n)`: Vietnam day × user × metric;
//! - `report_activity_month (month, user, metric, n, max_day)`: the same per Vietnam month
//!   with the month's largest daily count (version 11), so a year reads 12 rows per user and
//!   metric, not 365;
//! - `report_record_origin (record, creator, last_editor)`: who first pushed a record and
//!   who pushed it last, to tell creations from edits and to credit review items.
//!
//! Metrics: `created`, `edited` (records pushed and stored, or whose sensitive values were
//! written), `rejected:<code>` (pushed
//! records refused, by reason), `pulled` (records sent to the user's devices), `read`
//! (records opened in the console or the admin API), `read_outside` (of those, records of
//! a unit the user is not assigned — for an account with assigned units), `exported`
//! (report and data exports). Counted from schema version 7 on.

use std::collections::BTreeMap;

use crate::audit::Entry;
use crate::db::placeholders;
use crate::db::{DbError, Sql, ToValue};

/// Rows per multi-row statement (well under either engine's parameter limit).
const CHUNK: usize = 400;

fn add(tx: &dyn Sql, day: &str, user: &str, metric: &str, n: i64) -> Result<(), DbError> {
    if n == 0 {
        return Ok(());
    }
    // The day's new count comes back with the upsert: the month's row (schema version 11)
    // takes the sum, and that count as a candidate for the month's largest day (counts only
    // grow, so a maximum kept this way stays right).
    let day_n: i64 = tx.query_value(
        "INSERT INTO report_activity (day, \"user\", metric, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (day, \"user\", metric) DO UPDATE SET n = report_activity.n + excluded.n
         RETURNING n",
        &[&day, &user, &metric, &n],
    )?;
    let month = &day[..day.len().min(7)];
    tx.execute(
        "INSERT INTO report_activity_month (month, \"user\", metric, n, max_day)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (month, \"user\", metric) DO UPDATE SET
             n = report_activity_month.n + excluded.n,
             max_day = CASE WHEN excluded.max_day > report_activity_month.max_day
                            THEN excluded.max_day ELSE report_activity_month.max_day END",
        &[&month, &user, &metric, &n, &day_n],
    )?;
    Ok(())
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Counts what one audit entry says a user did (in the entry's transaction).
pub fn count(tx: &dyn Sql, ts_ms: i64, e: &Entry<'_>) -> Result<(), DbError> {
    if e.user.is_empty() {
        return Ok(());
    }
    let day = sync_core::time::local_date(ts_ms);
    match e.action {
        "sync" => {
            let pushed = strings(&e.details["pushed"]);
            let created = origins(tx, e.user, &pushed)?;
            add(tx, &day, e.user, "created", created)?;
            // A record whose sensitive values alone changed (they travel apart from the
            // document, protocol §12) was edited too.
            let apart: std::collections::BTreeSet<&str> = e.details["sensitive_written"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w["record"].as_str())
                .filter(|r| !pushed.iter().any(|p| p == r))
                .collect();
            add(
                tx,
                &day,
                e.user,
                "edited",
                pushed.len() as i64 - created + apart.len() as i64,
            )?;
            let mut rejected: BTreeMap<String, i64> = BTreeMap::new();
            for r in e.details["rejected"].as_array().into_iter().flatten() {
                let code = r["code"].as_str().unwrap_or("unknown");
                *rejected.entry(format!("rejected:{code}")).or_insert(0) += 1;
            }
            for (metric, n) in rejected {
                add(tx, &day, e.user, &metric, n)?;
            }
            add(
                tx,
                &day,
                e.user,
                "pulled",
                strings(&e.details["sent"]).len() as i64,
            )?;
        }
        "record_read" | "review_read" | "sensitive_read" => {
            add(tx, &day, e.user, "read", e.records.len() as i64)?;
            let outside = outside_units(tx, e.user, &e.records)?;
            add(tx, &day, e.user, "read_outside", outside)?;
        }
        a if a.contains("export") => add(tx, &day, e.user, "exported", 1)?,
        _ => {}
    }
    Ok(())
}

/// Records `pushed` by `user`: the new ones get `user` as creator; every one gets `user` as
/// last editor. Returns how many were new.
fn origins(tx: &dyn Sql, user: &str, pushed: &[String]) -> Result<i64, DbError> {
    let mut created = 0;
    for chunk in pushed.chunks(CHUNK) {
        let mut params: Vec<&dyn ToValue> = chunk.iter().map(|r| r as &dyn ToValue).collect();
        let known: i64 = tx.query_value(
            &format!(
                "SELECT COUNT(*) FROM report_record_origin WHERE record IN ({})",
                placeholders(1, chunk.len())
            ),
            &params,
        )?;
        created += chunk.len() as i64 - known;
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(?{}, ?{u}, ?{u})", i + 1, u = chunk.len() + 1))
            .collect();
        params.push(&user);
        tx.execute(
            &format!(
                "INSERT INTO report_record_origin (record, creator, last_editor) VALUES {}
                 ON CONFLICT (record) DO UPDATE SET last_editor = excluded.last_editor",
                values.join(", ")
            ),
            &params,
        )?;
    }
    Ok(created)
}

/// Of `records`, how many are in a unit `user` is not assigned (0 when the user has no
/// assigned unit: an admin without assignment reads everywhere by design).
fn outside_units(tx: &dyn Sql, user: &str, records: &[String]) -> Result<i64, DbError> {
    let units: Option<String> = tx
        .query_opt("SELECT units FROM users WHERE username = ?1", &[&user])?
        .map(|r| r.get(0))
        .transpose()?;
    let units: Vec<String> = units
        .and_then(|u| serde_json::from_str(&u).ok())
        .unwrap_or_default();
    if units.is_empty() || records.is_empty() {
        return Ok(0);
    }
    let mut outside = 0;
    for chunk in records.chunks(CHUNK) {
        let params: Vec<&dyn ToValue> = chunk.iter().map(|r| r as &dyn ToValue).collect();
        for r in tx.query(
            &format!(
                "SELECT unit FROM records WHERE id IN ({})",
                placeholders(1, chunk.len())
            ),
            &params,
        )? {
            let unit: String = r.get(0)?;
            if !units.contains(&unit) {
                outside += 1;
            }
        }
    }
    Ok(outside)
}
