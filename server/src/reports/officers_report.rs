//! The officers report and the data-use inspection ([`super::officers`]) as JSON and as a
//! table (page, CSV, XLSX).

use serde::Serialize;

use super::export::{Cell, Table};
use super::officers::{LargePull, UserActivity};
use super::period::{self, Period};
use super::{UnitName, generated, unit_name, unit_names};

/// Which of the two reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Per officer: created, edited, refused, review items caused.
    Officers,
    /// Per user: read, read outside, exported, pulled, large pulls.
    DataUse,
}

impl Which {
    /// The wire name (`report` in JSON and the audit trail).
    pub fn as_str(self) -> &'static str {
        match self {
            Which::Officers => "officers",
            Which::DataUse => "data_use",
        }
    }

    /// The download's file name stem.
    pub fn file(self) -> &'static str {
        match self {
            Which::Officers => "bao-cao-can-bo",
            Which::DataUse => "kiem-tra-su-dung-du-lieu",
        }
    }
}

/// The JSON answer of `/v1/reports/officers` and `/v1/reports/data-use`.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityReport {
    /// `officers` or `data_use`.
    pub report: &'static str,
    /// The period.
    pub period: Period,
    /// The period in Vietnamese.
    pub period_label: String,
    /// The units whose accounts are listed.
    pub units: Vec<UnitName>,
    /// When it was generated (ms).
    pub generated_ms: i64,
    /// Records pulled in one day from which a pull is unusually large.
    pub large_pull: i64,
    /// One row per account.
    pub users: Vec<UserActivity>,
}

impl ActivityReport {
    /// Wraps the figures.
    pub fn new(
        which: Which,
        users: Vec<UserActivity>,
        units: &[String],
        period: Period,
        large: LargePull,
        now_ms: i64,
    ) -> Self {
        ActivityReport {
            report: which.as_str(),
            period,
            period_label: period.label_vi(),
            units: unit_names(units),
            generated_ms: now_ms,
            large_pull: large.large_pull,
            users,
        }
    }
}

/// A role in Vietnamese, for the files and pages leaders read.
pub fn role_vi(role: &str) -> &str {
    match role {
        "leader" => "Lãnh đạo",
        "commune_staff" => "Cán bộ UBND xã, phường",
        "officer" => "Công an xã, phường",
        "staff" => "Cán bộ công an tiếp nhận, giải quyết",
        "admin" => "Quản trị",
        other => other,
    }
}

/// A rejection code (`docs/protocol.md` §9) in Vietnamese.
pub fn rejection_vi(code: &str) -> &str {
    match code {
        "out_of_scope" => "ngoài đơn vị phụ trách",
        "forbidden" => "không có quyền chuyển trạng thái",
        "frozen_field" => "sửa trường đã khóa",
        "invalid" => "dữ liệu không hợp lệ",
        "missing_deps" => "thiếu thay đổi trước",
        "wrong_actor" => "sai thiết bị tác giả",
        "malformed" => "dữ liệu hỏng",
        other => other,
    }
}

fn head(u: &UserActivity) -> Vec<Cell> {
    vec![
        Cell::Text(u.user.clone()),
        Cell::Text(role_vi(&u.role).to_owned()),
        Cell::Text(u.units.join(", ")),
    ]
}

fn rows(which: Which, users: &[UserActivity]) -> Vec<Vec<Cell>> {
    users
        .iter()
        .map(|u| {
            let mut row = head(u);
            match which {
                Which::Officers => row.extend([
                    Cell::Int(u.created),
                    Cell::Int(u.edited),
                    Cell::Int(u.rejected_total),
                    Cell::Text(
                        u.rejected
                            .iter()
                            .map(|(k, n)| format!("{}: {n}", rejection_vi(k)))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                    Cell::Int(u.review_items),
                ]),
                Which::DataUse => row.extend([
                    Cell::Int(u.read),
                    Cell::Int(u.read_outside),
                    Cell::Int(u.exported),
                    Cell::Int(u.pulled),
                    Cell::Int(u.max_pulled_day),
                    Cell::Text(if u.large_pull { "Có" } else { "Không" }.into()),
                ]),
            }
            row
        })
        .collect()
}

/// The report as a table.
pub fn table(which: Which, r: &ActivityReport) -> Table {
    let mut headers: Vec<String> = ["Tài khoản", "Vai trò", "Đơn vị phụ trách"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let (title, cols, notes): (&str, &[&str], Vec<String>) = match which {
        Which::Officers => (
            "Báo cáo kết quả cập nhật dữ liệu theo cán bộ",
            &[
                "Hồ sơ tạo mới",
                "Hồ sơ chỉnh sửa",
                "Sửa bị máy chủ từ chối",
                "Lý do từ chối",
                "Mục rà soát phát sinh",
            ],
            vec![
                "Tạo mới: hồ sơ do cán bộ gửi lên máy chủ lần đầu; chỉnh sửa: hồ sơ đã có được cán bộ gửi thay đổi (mỗi hồ sơ tính một lần mỗi lần đồng bộ).".into(),
                "Mục rà soát phát sinh: mục rà soát mở trong kỳ trên hồ sơ mà cán bộ là người chỉnh sửa gần nhất.".into(),
                "Số liệu tính từ khi máy chủ có phiên bản dữ liệu 7.".into(),
            ],
        ),
        Which::DataUse => (
            "Kiểm tra việc khai thác, sử dụng dữ liệu",
            &[
                "Hồ sơ đã xem",
                "Xem ngoài đơn vị phụ trách",
                "Lượt xuất dữ liệu",
                "Hồ sơ tải về thiết bị",
                "Tải về nhiều nhất trong một ngày",
                "Tải về bất thường",
            ],
            vec![
                "Xem ngoài đơn vị phụ trách: hồ sơ thuộc đơn vị không được giao cho tài khoản (phải bằng 0); tài khoản quản trị không được giao đơn vị nào thì không tính.".into(),
                format!(
                    "Tải về bất thường: từ {} hồ sơ trở lên trong một ngày.",
                    r.large_pull
                ),
                "Theo nhật ký kiểm tra (audit), tính từ khi máy chủ có phiên bản dữ liệu 7.".into(),
            ],
        ),
    };
    headers.extend(cols.iter().map(|s| (*s).to_owned()));
    Table {
        title: title.into(),
        units: r.units.iter().map(|u| unit_name(&u.code)).collect(),
        period: format!(
            "{} ({} – {})",
            r.period.label_vi(),
            period::dmy(r.period.from),
            period::dmy(r.period.to)
        ),
        generated: generated(r.generated_ms),
        headers,
        rows: rows(which, &r.users),
        notes,
    }
}
