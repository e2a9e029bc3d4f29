//! Device sync health: every registered device with its user, the user's units, the last
//! successful exchange, what the device last reported about itself (outbox length, oldest
//! pending change, refused edits it still lists, app version: `DeviceStatus` in
//! `docs/protocol.md`), the failed exchanges since its last success, and a state:
//!
//! - `revoked`: revoked, the wipe order not delivered yet; `wiped`: revoked and wiped;
//! - `stalled`: edits are not reaching the server — [`HealthConfig::stall_failures`] failed
//!   exchanges in a row, or exchanges failing for [`HealthConfig::stall_hours`], or changes
//!   left on the device after its last successful exchange (more than that request carried)
//!   and no successful exchange for `stall_hours`;
//! - `stale`: no successful exchange (or, never synced, no registration) for
//!   [`HealthConfig::stale_days`];
//! - `ok`: none of these.
//!
//! The server's own review devices (`review_actors`: the author of an admin's decisions)
//! are not phones and are left out.
//!
//! A successful exchange is what `accounts::touch_device` stores (and it clears the failure
//! count, [`record_success`]); failures are counted by [`track_failures`], a layer around
//! `POST /v1/sync` that never touches the exchange itself.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::accounts;
use crate::db::{DbError, Row, Sql};

/// The thresholds of the device states (flags and environment variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::Args)]
pub struct HealthConfig {
    /// A device with no successful sync for this many days is `stale`.
    #[arg(
        long = "device-stale-days",
        env = "FERRY_DEVICE_STALE_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub stale_days: u32,
    /// A device whose exchanges fail for this many hours, or that left changes behind and has
    /// not synced successfully for this many hours, is `stalled`.
    #[arg(
        long = "device-stall-hours",
        env = "FERRY_DEVICE_STALL_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub stall_hours: u32,
    /// This many failed exchanges in a row make a device `stalled`.
    #[arg(
        long = "device-stall-failures",
        env = "FERRY_DEVICE_STALL_FAILURES",
        default_value_t = 3,
        global = true
    )]
    pub stall_failures: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            stale_days: 7,
            stall_hours: 24,
            stall_failures: 3,
        }
    }
}

/// A device's sync state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Syncing.
    Ok,
    /// Not seen for a while.
    Stale,
    /// Edits are not reaching the server.
    Stalled,
    /// Revoked, wipe order waiting.
    Revoked,
    /// Revoked and wiped.
    Wiped,
}

/// Every state, in the order pages and roll-ups show them.
pub const STATES: [DeviceState; 5] = [
    DeviceState::Ok,
    DeviceState::Stale,
    DeviceState::Stalled,
    DeviceState::Revoked,
    DeviceState::Wiped,
];

impl DeviceState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Ok => "ok",
            DeviceState::Stale => "stale",
            DeviceState::Stalled => "stalled",
            DeviceState::Revoked => "revoked",
            DeviceState::Wiped => "wiped",
        }
    }

    /// The state in Vietnamese.
    pub fn vi(self) -> &'static str {
        match self {
            DeviceState::Ok => "Bình thường",
            DeviceState::Stale => "Lâu không đồng bộ",
            DeviceState::Stalled => "Tắc đồng bộ",
            DeviceState::Revoked => "Đã thu hồi (chờ xóa dữ liệu)",
            DeviceState::Wiped => "Đã thu hồi và xóa dữ liệu",
        }
    }
}

/// One device and its health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceHealth {
    /// Device id.
    pub device: Uuid,
    /// Name given at login.
    pub name: String,
    /// The user's login name.
    pub user: String,
    /// The user's assigned units (empty for an admin: every unit).
    pub units: Vec<String>,
    /// Last successful exchange (ms since the Unix epoch), `None` if never.
    pub last_sync_ms: Option<i64>,
    /// Outbox length as last reported (the changes of that request included).
    pub outbox_len: u64,
    /// Changes that request did not carry (still on the device after it).
    pub left_behind: u64,
    /// The oldest pending change as last reported (ms), and its age now.
    pub oldest_pending_ms: Option<i64>,
    /// `now − oldest_pending_ms`.
    pub oldest_pending_age_ms: Option<i64>,
    /// Refused edits the device still lists.
    pub rejected_held: u64,
    /// Attachments the server refused for good that the device holds (as last reported).
    pub attachments_failed: u64,
    /// Attachments whose upload the device has not finished (as last reported).
    pub attachments_pending: u64,
    /// App version as last reported.
    pub app_version: String,
    /// Failed exchanges since the last successful one.
    pub failures: i64,
    /// The last failure (ms) and its HTTP status.
    pub last_failure_ms: Option<i64>,
    /// HTTP status of the last failure.
    pub last_failure_status: Option<i64>,
    /// The state.
    pub state: DeviceState,
    /// Why (`failures`, `failing_for`, `left_behind`, `outbox_not_draining`, `no_sync`,
    /// `revoked`, `wiped`).
    pub reasons: Vec<&'static str>,
}

/// What the database holds about a device, before classification.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Registered at (ms).
    pub created_ms: i64,
    /// Last successful exchange (0: never).
    pub last_seen_ms: i64,
    /// Revoked.
    pub revoked: bool,
    /// Wipe order waiting.
    pub wipe_pending: bool,
    /// Changes left on the device after its last successful exchange.
    pub left_behind: u64,
    /// Failed exchanges since then.
    pub failures: i64,
    /// The first of them (ms).
    pub first_failure_ms: Option<i64>,
    /// The oldest change the device reported pending at its last successful exchange (ms,
    /// the device's clock).
    pub oldest_pending_ms: Option<i64>,
}

const HOUR_MS: i64 = 3_600_000;

/// The state of a device at `now` under `t`, with the reasons.
pub fn classify(f: &Facts, t: &HealthConfig, now: i64) -> (DeviceState, Vec<&'static str>) {
    if f.revoked {
        return if f.wipe_pending {
            (DeviceState::Revoked, vec!["revoked"])
        } else {
            (DeviceState::Wiped, vec!["wiped"])
        };
    }
    let stall_ms = i64::from(t.stall_hours) * HOUR_MS;
    let since_ok = now - f.last_seen_ms.max(f.created_ms);
    let mut reasons = Vec::new();
    if f.failures > 0 && f.failures >= i64::from(t.stall_failures) {
        reasons.push("failures");
    }
    if f.failures > 0 && f.first_failure_ms.is_some_and(|t0| now - t0 >= stall_ms) {
        reasons.push("failing_for");
    }
    if f.left_behind > 0 && since_ok >= stall_ms {
        reasons.push("left_behind");
    }
    // The silent upload stall: the device connects, but a change it has held for the stall
    // time is still not sent (pulls succeeding reset `since_ok`, so they would hide it).
    if f.left_behind > 0
        && f.last_seen_ms > 0
        && f.oldest_pending_ms
            .is_some_and(|t0| f.last_seen_ms - t0 >= stall_ms)
    {
        reasons.push("outbox_not_draining");
    }
    if !reasons.is_empty() {
        return (DeviceState::Stalled, reasons);
    }
    if since_ok >= i64::from(t.stale_days) * 24 * HOUR_MS {
        return (DeviceState::Stale, vec!["no_sync"]);
    }
    (DeviceState::Ok, reasons)
}

const SELECT: &str = "SELECT d.id, d.name, u.username, u.units, d.revoked, d.wipe_pending,
    d.status, d.created_ms, d.last_seen_ms, h.failures, h.first_failure_ms, h.last_failure_ms,
    h.last_failure_status
    FROM devices d JOIN users u ON u.id = d.user_id
    LEFT JOIN device_health h ON h.device_id = d.id
    WHERE NOT EXISTS (SELECT 1 FROM review_actors a WHERE a.device_id = d.id)
      AND u.role <> 'leader'
    ORDER BY u.username, d.created_ms, d.id";

fn from_row(r: &Row, t: &HealthConfig, now: i64) -> Result<DeviceHealth, DbError> {
    let (id, status, units): (String, String, String) = (r.get(0)?, r.get(6)?, r.get(3)?);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap_or_default();
    let num = |k: &str| status.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let outbox_len = num("outbox_len");
    let oldest_pending_ms = status.get("oldest_pending_ms").and_then(|v| v.as_i64());
    let facts = Facts {
        created_ms: r.get(7)?,
        last_seen_ms: r.get(8)?,
        revoked: r.get(4)?,
        wipe_pending: r.get(5)?,
        left_behind: outbox_len.saturating_sub(num("pushed")),
        failures: r.get::<Option<i64>>(9)?.unwrap_or(0),
        first_failure_ms: r.get(10)?,
        oldest_pending_ms,
    };
    let (state, reasons) = classify(&facts, t, now);
    Ok(DeviceHealth {
        device: Uuid::parse_str(&id).unwrap_or(Uuid::nil()),
        name: r.get(1)?,
        user: r.get(2)?,
        units: serde_json::from_str(&units).unwrap_or_default(),
        last_sync_ms: (facts.last_seen_ms > 0).then_some(facts.last_seen_ms),
        outbox_len,
        left_behind: facts.left_behind,
        oldest_pending_ms,
        oldest_pending_age_ms: oldest_pending_ms.map(|o| (now - o).max(0)),
        rejected_held: num("rejected_held"),
        attachments_failed: num("attachments_failed"),
        attachments_pending: num("attachments_pending"),
        app_version: status
            .get("app_version")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned(),
        failures: facts.failures,
        last_failure_ms: r.get(11)?,
        last_failure_status: r.get(12)?,
        state,
        reasons,
    })
}

/// Every device with its health at `now`.
pub fn load(sql: &dyn Sql, t: &HealthConfig, now: i64) -> Result<Vec<DeviceHealth>, DbError> {
    sql.query(SELECT, &[])?
        .iter()
        .map(|r| from_row(r, t, now))
        .collect()
}

/// The devices whose user works in one of `units` (an admin's devices, which have no unit,
/// only when `all` is set: the viewer is an admin).
pub fn in_units(devices: Vec<DeviceHealth>, units: &[String], all: bool) -> Vec<DeviceHealth> {
    devices
        .into_iter()
        .filter(|d| {
            if d.units.is_empty() {
                all
            } else {
                d.units.iter().any(|u| units.contains(u))
            }
        })
        .collect()
}

/// Devices per state in one unit (`""`: the admins' devices, which cover every unit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitRollup {
    /// Unit code.
    pub unit: String,
    /// Devices in each state (`ok`, `stale`, …), every state present.
    pub states: BTreeMap<&'static str, u64>,
    /// All devices of the unit.
    pub total: u64,
}

/// Devices per state in each of `units` (a device counts in every unit of its user), plus a
/// `""` row for admins' devices when `all` is set.
pub fn rollup(devices: &[DeviceHealth], units: &[String], all: bool) -> Vec<UnitRollup> {
    let empty = || UnitRollup {
        states: STATES.iter().map(|s| (s.as_str(), 0)).collect(),
        ..UnitRollup::default()
    };
    let mut by: BTreeMap<String, UnitRollup> = BTreeMap::new();
    for d in devices {
        let mut add = |unit: &str| {
            let r = by.entry(unit.to_owned()).or_insert_with(|| UnitRollup {
                unit: unit.to_owned(),
                ..empty()
            });
            *r.states.entry(d.state.as_str()).or_insert(0) += 1;
            r.total += 1;
        };
        if d.units.is_empty() {
            if all {
                add("");
            }
        } else {
            for u in d.units.iter().filter(|u| units.contains(u)) {
                add(u);
            }
        }
    }
    by.into_values().collect()
}

/// Devices per state over `devices`.
pub fn counts(devices: &[DeviceHealth]) -> BTreeMap<&'static str, u64> {
    let mut out: BTreeMap<&'static str, u64> = STATES.iter().map(|s| (s.as_str(), 0)).collect();
    for d in devices {
        *out.entry(d.state.as_str()).or_insert(0) += 1;
    }
    out
}

/// A successful exchange of `device`: its failure count starts again.
pub fn record_success(tx: &dyn Sql, device: Uuid) -> Result<(), DbError> {
    tx.execute("DELETE FROM device_health WHERE device_id = ?1", &[&device])?;
    Ok(())
}

/// A failed exchange of `device`, answered with HTTP `status`.
pub fn record_failure(tx: &dyn Sql, device: Uuid, status: u16, now: i64) -> Result<(), DbError> {
    let status = i64::from(status);
    tx.execute(
        "INSERT INTO device_health (device_id, failures, first_failure_ms, last_failure_ms, last_failure_status)
         VALUES (?1, 1, ?2, ?2, ?3)
         ON CONFLICT (device_id) DO UPDATE SET failures = device_health.failures + 1,
             last_failure_ms = excluded.last_failure_ms,
             last_failure_status = excluded.last_failure_status",
        &[&device, &now, &status],
    )?;
    Ok(())
}

/// The device a bearer token belongs to, whatever the token's state (a device told to wipe
/// still counts).
fn device_of(sql: &dyn Sql, token: &str) -> Result<Option<Uuid>, DbError> {
    let id: Option<String> = sql
        .query_opt(
            "SELECT device_id FROM tokens WHERE hash = ?1",
            &[&accounts::token_hash(token)],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    Ok(id.and_then(|s| Uuid::parse_str(&s).ok()))
}

/// Layer around `POST /v1/sync`: an exchange of a known device answered with an error
/// (other than 401, where no device is known, and 403, a leader that may not sync) is
/// counted as a failure of that device. Success is recorded by the exchange itself.
pub async fn track_failures(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && t.len() <= 256)
        .map(|(_, t)| t.trim().to_owned());
    let resp = next.run(req).await;
    let status = resp.status();
    let counted = (status.is_client_error() || status.is_server_error())
        && !matches!(status.as_u16(), 401 | 403);
    if let (true, Some(token)) = (counted, token) {
        let store = state.store.clone();
        let now = crate::now_ms();
        let written = tokio::task::spawn_blocking(move || {
            store.write(|tx| -> Result<(), DbError> {
                match device_of(tx, &token)? {
                    Some(d) => record_failure(tx, d, status.as_u16(), now),
                    None => Ok(()),
                }
            })
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            tracing::warn!(
                status = status.as_u16(),
                "device health: a failed exchange was not recorded"
            );
        }
    }
    resp
}

/// Sets the `ferry_devices{state=…}` gauges from the database (on every `/metrics` scrape).
pub async fn refresh_gauges(state: &AppState) {
    let store = state.store.clone();
    let t = state.config.device_health;
    let now = crate::now_ms();
    match tokio::task::spawn_blocking(move || store.read(|c| load(c, &t, now))).await {
        Ok(Ok(devices)) => state.metrics.device_states(&counts(&devices)),
        _ => tracing::warn!("device health: the gauges could not be refreshed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;
    const DAY: i64 = 24 * HOUR_MS;

    fn synced(ago: i64) -> Facts {
        Facts {
            created_ms: NOW - 30 * DAY,
            last_seen_ms: NOW - ago,
            ..Facts::default()
        }
    }

    #[test]
    fn a_device_that_synced_an_hour_ago_is_ok_and_one_silent_for_a_week_is_stale() {
        let t = HealthConfig::default();
        assert_eq!(classify(&synced(HOUR_MS), &t, NOW).0, DeviceState::Ok);
        assert_eq!(classify(&synced(6 * DAY), &t, NOW).0, DeviceState::Ok);
        assert_eq!(
            classify(&synced(7 * DAY), &t, NOW),
            (DeviceState::Stale, vec!["no_sync"])
        );
    }

    #[test]
    fn three_failed_exchanges_in_a_row_or_a_day_of_failures_stall_a_device() {
        let t = HealthConfig::default();
        let mut f = synced(HOUR_MS);
        f.failures = 2;
        f.first_failure_ms = Some(NOW - HOUR_MS);
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Ok);
        f.failures = 3;
        assert_eq!(
            classify(&f, &t, NOW),
            (DeviceState::Stalled, vec!["failures"])
        );
        f.failures = 1;
        f.first_failure_ms = Some(NOW - 25 * HOUR_MS);
        assert_eq!(
            classify(&f, &t, NOW),
            (DeviceState::Stalled, vec!["failing_for"])
        );
    }

    #[test]
    fn changes_left_behind_without_a_sync_for_a_day_stall_a_device_before_it_goes_stale() {
        let t = HealthConfig::default();
        let mut f = synced(2 * DAY);
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Ok);
        f.left_behind = 4;
        assert_eq!(
            classify(&f, &t, NOW),
            (DeviceState::Stalled, vec!["left_behind"])
        );
        f.last_seen_ms = NOW - HOUR_MS;
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Ok);
    }

    #[test]
    fn a_device_that_syncs_but_never_sends_a_change_it_has_held_for_a_day_is_stalled() {
        let t = HealthConfig::default();
        // It synced an hour ago (pulls work), reporting 5 pending changes and sending none.
        let mut f = synced(HOUR_MS);
        f.left_behind = 5;
        f.oldest_pending_ms = Some(NOW - 3 * HOUR_MS);
        assert_eq!(
            classify(&f, &t, NOW).0,
            DeviceState::Ok,
            "held 2 h: not yet"
        );
        f.oldest_pending_ms = Some(NOW - 26 * HOUR_MS);
        assert_eq!(
            classify(&f, &t, NOW),
            (DeviceState::Stalled, vec!["outbox_not_draining"])
        );
        // Back from days offline, it sent everything: the old change is no stall.
        f.left_behind = 0;
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Ok);
        // A shorter stall time is honoured.
        let t = HealthConfig {
            stall_hours: 2,
            ..HealthConfig::default()
        };
        f.left_behind = 5;
        f.oldest_pending_ms = Some(NOW - 3 * HOUR_MS);
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Stalled);
    }

    #[test]
    fn revoked_devices_are_revoked_until_wiped_whatever_else_holds() {
        let t = HealthConfig::default();
        let mut f = synced(30 * DAY);
        f.failures = 10;
        f.revoked = true;
        f.wipe_pending = true;
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Revoked);
        f.wipe_pending = false;
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Wiped);
    }

    #[test]
    fn a_device_that_never_synced_is_stale_once_its_registration_is_old() {
        let t = HealthConfig::default();
        let f = Facts {
            created_ms: NOW - 8 * DAY,
            ..Facts::default()
        };
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Stale);
        let f = Facts {
            created_ms: NOW - DAY,
            ..Facts::default()
        };
        assert_eq!(classify(&f, &t, NOW).0, DeviceState::Ok);
    }
}
