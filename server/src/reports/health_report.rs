//! The device sync health report ([`super::devices`]) as JSON and as a table (page, CSV,
//! XLSX): the per-unit roll-up for every role, the list of devices (with user names) for
//! staff and admins only.

use std::collections::BTreeMap;

use serde::Serialize;

use super::devices::{DeviceHealth, HealthConfig, STATES, UnitRollup};
use super::export::{Cell, Table};
use super::{UnitName, generated, unit_name, unit_names};

/// The JSON answer of `/v1/reports/devices`.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// `devices`.
    pub report: &'static str,
    /// The units covered.
    pub units: Vec<UnitName>,
    /// When it was generated (ms).
    pub generated_ms: i64,
    /// The thresholds the states were decided with.
    pub thresholds: HealthConfig,
    /// Devices per state over the units.
    pub counts: BTreeMap<&'static str, u64>,
    /// Devices per state in each unit (`unit: ""` for admins' devices).
    pub rollup: Vec<UnitRollup>,
    /// Every device, for staff and admins; absent for leaders (aggregated figures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<DeviceHealth>>,
}

impl HealthReport {
    /// Wraps the figures.
    pub fn new(
        units: &[String],
        now_ms: i64,
        thresholds: HealthConfig,
        rollup: Vec<UnitRollup>,
        counts: BTreeMap<&'static str, u64>,
        devices: Option<Vec<DeviceHealth>>,
    ) -> Self {
        HealthReport {
            report: "devices",
            units: unit_names(units),
            generated_ms: now_ms,
            thresholds,
            counts,
            rollup,
            devices,
        }
    }
}

/// The roll-up's headers.
pub fn rollup_headers() -> Vec<String> {
    let mut h = vec!["Đơn vị".to_owned()];
    h.extend(STATES.iter().map(|s| s.vi().to_owned()));
    h.push("Tổng số thiết bị".into());
    h
}

/// One roll-up row (`""`: the admins' devices).
pub fn rollup_cells(r: &UnitRollup) -> Vec<Cell> {
    let name = if r.unit.is_empty() {
        "(Quản trị viên: mọi đơn vị)".to_owned()
    } else {
        unit_name(&r.unit)
    };
    let mut cells = vec![Cell::Text(name)];
    cells.extend(
        STATES
            .iter()
            .map(|s| Cell::Int(r.states.get(s.as_str()).copied().unwrap_or(0) as i64)),
    );
    cells.push(Cell::Int(r.total as i64));
    cells
}

/// The device list's headers.
pub const DEVICE_HEADERS: [&str; 13] = [
    "Thiết bị",
    "Người dùng",
    "Đơn vị",
    "Đồng bộ thành công gần nhất",
    "Hàng đợi gửi (thay đổi)",
    "Thay đổi chờ lâu nhất (giờ)",
    "Sửa bị từ chối còn giữ",
    "Tệp đính kèm bị từ chối",
    "Tệp đính kèm chờ tải lên",
    "Phiên bản ứng dụng",
    "Lần đồng bộ lỗi liên tiếp",
    "Trạng thái",
    "Mã trạng thái",
];

fn device_cells(d: &DeviceHealth) -> Vec<Cell> {
    let time = |ms: Option<i64>| match ms {
        Some(ms) => Cell::Text(generated(ms)),
        None => Cell::Text("chưa bao giờ".into()),
    };
    let name = if d.name.is_empty() {
        d.device.to_string()
    } else {
        format!("{} ({})", d.name, &d.device.to_string()[..8])
    };
    vec![
        Cell::Text(name),
        Cell::Text(d.user.clone()),
        Cell::Text(d.units.join(", ")),
        time(d.last_sync_ms),
        Cell::Int(d.outbox_len as i64),
        d.oldest_pending_age_ms
            .map(|a| Cell::Num(a as f64 / 3_600_000.0))
            .unwrap_or(Cell::Empty),
        Cell::Int(d.rejected_held as i64),
        Cell::Int(d.attachments_failed as i64),
        Cell::Int(d.attachments_pending as i64),
        Cell::Text(d.app_version.clone()),
        Cell::Int(d.failures),
        Cell::Text(d.state.vi().into()),
        Cell::Text(d.state.as_str().into()),
    ]
}

/// What the states mean (printed under the table and in the files).
pub fn notes(t: &HealthConfig) -> Vec<String> {
    vec![
        format!(
            "Tắc đồng bộ: {} lần đồng bộ lỗi liên tiếp, hoặc đồng bộ lỗi kéo dài {} giờ, hoặc thiết bị còn thay đổi chưa gửi mà {} giờ không đồng bộ thành công.",
            t.stall_failures, t.stall_hours, t.stall_hours
        ),
        format!(
            "Lâu không đồng bộ: {} ngày không đồng bộ thành công.",
            t.stale_days
        ),
        "Hàng đợi gửi, thay đổi chờ lâu nhất, sửa bị từ chối còn giữ, tệp đính kèm bị từ chối hoặc chờ tải lên và phiên bản: theo thiết bị báo ở lần đồng bộ thành công gần nhất.".into(),
    ]
}

/// The report as a table: the device list (`devices` given) or the roll-up (leaders).
pub fn table(r: &HealthReport, units: &[String], now_ms: i64) -> Table {
    let (headers, rows) = match &r.devices {
        Some(list) => (
            DEVICE_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
            list.iter().map(device_cells).collect(),
        ),
        None => (
            rollup_headers(),
            r.rollup.iter().map(rollup_cells).collect(),
        ),
    };
    Table {
        title: "Báo cáo tình trạng đồng bộ thiết bị".into(),
        units: units.iter().map(|u| unit_name(u)).collect(),
        period: format!("Tại thời điểm lập ({})", generated(now_ms)),
        generated: generated(now_ms),
        headers,
        rows,
        notes: notes(&r.thresholds),
    }
}
