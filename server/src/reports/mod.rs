//! Leadership reports, per unit (one ward, several, or all the user may see) and period
//! ([`period`]), each as a console page, as JSON under `/v1/reports/…` and as CSV and XLSX
//! downloads ([`export`]): the progress of dossiers ([`progress`]), coverage by cards and
//! registrations ([`coverage`], as of today), data quality ([`quality`]), the officers report and data-use inspection ([`officers`], from the
//! aggregates of [`activity`]) and device sync health ([`devices`]); the SVG charts
//! ([`chart`]); the index the figures come from ([`index`], kept as records change).
//!
//! Who sees what: every signed-in role sees the reports of its own units only (admins: all
//! units; a leader assigned a district also sees its wards). Reports are aggregated figures:
//! no citizen's name or ID number, no lists of people; the officers and data-use reports
//! name the accounts of the units (that is their purpose), and the device list (with user
//! names) is for staff and admins — leaders get its per-unit roll-up. Every view and
//! download is audited (`report_view`, `report_export`).

pub mod activity;
pub mod chart;
pub mod coverage;
pub mod coverage_report;
pub mod devices;
pub mod export;
pub mod health_report;
pub mod index;
pub mod officers;
pub mod officers_report;
pub mod period;
pub mod progress;
pub mod quality;
pub mod quality_report;

use serde::{Deserialize, Serialize};
use sync_core::model::{Date, Role, catalog};

use self::export::{Cell, Table};
use self::period::{Period, PeriodKind};
use self::progress::{Progress, ProgressRow};

/// How many periods the trend shows (this one included).
pub const TREND_PERIODS: usize = 6;

/// The query of every report (console and API).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportQuery {
    /// Unit codes, comma-separated; all the user's units when absent.
    pub units: Option<String>,
    /// `week`, `month` (default), `quarter`, `half`, `year`, `range`.
    pub period: Option<String>,
    /// A day in the period (`YYYY-MM-DD`, default today in Vietnam); the first day of a range.
    pub on: Option<String>,
    /// The last day of a range.
    pub to: Option<String>,
    /// `json` (default), `csv` or `xlsx` (API only; the console has its own links).
    pub format: Option<String>,
    /// Console language.
    pub lang: Option<String>,
    /// The coverage report's horizon for cards due: months ahead (1–60, default 6).
    pub months: Option<String>,
}

/// Why a report query is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// The period or a day is malformed.
    BadPeriod(String),
    /// A unit is not one of the user's.
    OutOfScope(String),
    /// The coverage report's `months` is not a whole number from 1 to 60.
    BadMonths(String),
}

/// The coverage report's `months` ([`coverage::DEFAULT_MONTHS`] when absent or empty).
pub fn months(q: &ReportQuery) -> Result<u32, QueryError> {
    match q.months.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(coverage::DEFAULT_MONTHS),
        Some(m) => m
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=coverage::MAX_MONTHS).contains(n))
            .ok_or_else(|| QueryError::BadMonths(m.to_owned())),
    }
}

/// The units a user's reports may cover: its scopes (admins: every unit of the served area,
/// including those ended by the 2025 reorganisation, whose records still exist — not the
/// national catalogue, where no records are kept), and for a
/// leader assigned a district (or province) every current unit under it.
pub fn report_units(role: Role, scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = scopes.to_vec();
    if role == Role::Admin {
        out.extend(
            catalog()
                .units()
                .iter()
                .filter(|u| u.served)
                .map(|u| u.code.clone()),
        );
    }
    if role == Role::Leader {
        for u in catalog().current_units() {
            if u.parent_code.as_ref().is_some_and(|p| scopes.contains(p)) {
                out.push(u.code.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The period and units a query asks for, checked against the units the user may see.
pub fn resolve(
    q: &ReportQuery,
    allowed: &[String],
    today: Date,
) -> Result<(Period, Vec<String>), QueryError> {
    let kind = match q.period.as_deref().filter(|p| !p.is_empty()) {
        None => PeriodKind::Month,
        Some(p) => PeriodKind::parse(p).ok_or_else(|| QueryError::BadPeriod(p.to_owned()))?,
    };
    let day = |s: &Option<String>| -> Result<Option<Date>, QueryError> {
        match s.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => Date::parse(s)
                .map(Some)
                .ok_or_else(|| QueryError::BadPeriod(s.to_owned())),
        }
    };
    let on = day(&q.on)?.unwrap_or(today);
    let to = day(&q.to)?;
    let period = Period::containing(kind, on, to)
        .ok_or_else(|| QueryError::BadPeriod(format!("{on}..{}", to.unwrap_or(on))))?;
    let units: Vec<String> = match q.units.as_deref().filter(|u| !u.trim().is_empty()) {
        None => allowed.to_vec(),
        Some(list) => {
            let mut units: Vec<String> = list
                .split(',')
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect();
            units.sort();
            units.dedup();
            if let Some(bad) = units.iter().find(|u| !allowed.contains(u)) {
                return Err(QueryError::OutOfScope(bad.clone()));
            }
            units
        }
    };
    Ok((period, units))
}

/// The name of a unit: the current one, else the last it had (units ended in 2025 keep
/// their records).
fn name_of(code: &str) -> Option<String> {
    catalog()
        .current(code)
        .or_else(|| catalog().units().iter().rev().find(|u| u.code == code))
        .map(|u| u.name.clone())
}

/// `07132 Phường Quảng Yên`.
pub fn unit_name(code: &str) -> String {
    match name_of(code) {
        Some(n) => format!("{code} {n}"),
        None => code.to_owned(),
    }
}

/// A record kind in Vietnamese.
pub fn kind_vi(kind: &str) -> &str {
    match kind {
        "cccd_application" => "Hồ sơ cấp thẻ căn cước",
        "residence_declaration" => "Hồ sơ cư trú",
        "citizen" => "Công dân",
        "household" => "Hộ gia đình",
        other => other,
    }
}

/// A procedure (request type or residence procedure) in Vietnamese.
pub fn procedure_vi(code: &str) -> &str {
    match code {
        "first_issue" => "Cấp thẻ lần đầu",
        "replacement" => "Cấp đổi thẻ",
        "reissue" => "Cấp lại thẻ",
        "cmnd_confirmation" => "Xác nhận số CMND",
        "permanent_registration" => "Đăng ký thường trú",
        "temporary_registration" => "Đăng ký tạm trú",
        "extension" => "Gia hạn tạm trú",
        "temporary_absence" => "Khai báo tạm vắng",
        "stay_notice" => "Thông báo lưu trú",
        "removal" | "permanent_removal" => "Xóa đăng ký thường trú",
        "temporary_removal" => "Xóa đăng ký tạm trú",
        "household_separation" => "Tách hộ",
        "adjustment" => "Điều chỉnh thông tin cư trú",
        "residence_information" => "Khai báo thông tin cư trú",
        "" => "(chưa rõ thủ tục)",
        other => other,
    }
}

/// The outcomes the progress report counts: (code, Vietnamese, English).
pub const OUTCOMES: [(&str, &str, &str); 4] = [
    ("in_progress", "Đang giải quyết", "In progress"),
    ("granted", "Đã giải quyết (cấp, chấp thuận)", "Granted"),
    ("refused", "Từ chối", "Refused"),
    ("withdrawn", "Rút hồ sơ", "Withdrawn"),
];

/// The progress report's column headers (Vietnamese), as the table, CSV and XLSX show them.
pub const PROGRESS_HEADERS: [&str; 11] = [
    "Đơn vị",
    "Loại hồ sơ",
    "Thủ tục",
    "Tiếp nhận",
    "Đang giải quyết",
    "Đã giải quyết (cấp, chấp thuận)",
    "Từ chối",
    "Rút hồ sơ",
    "Quá hạn",
    "Số ngày giải quyết (trung vị)",
    "Tỷ lệ xử lý số (%)",
];

/// What the progress report's figures mean (printed under the table and in the files).
pub const PROGRESS_NOTES: [&str; 3] = [
    "Hồ sơ được tính vào kỳ theo ngày tiếp nhận; hồ sơ chưa có ngày tiếp nhận được tính theo ngày máy chủ nhận hồ sơ lần đầu.",
    "Quá hạn: chưa giải quyết mà đã qua ngày hẹn trả kết quả (ngày ghi trên hồ sơ, hoặc thời hạn luật định tính theo ngày làm việc kể từ ngày tiếp nhận), hoặc giải quyết sau ngày đó.",
    "Tỷ lệ xử lý số: số hồ sơ đã giải quyết có cả ngày tiếp nhận và ngày giải quyết ghi trên hệ thống, trên tổng số hồ sơ đã giải quyết. Mô hình dữ liệu chưa ghi kênh nộp hồ sơ (trực tiếp hay trên Cổng dịch vụ công), nên tỷ lệ này không tách hồ sơ nộp trực tuyến.",
];

fn progress_cells(r: &ProgressRow, total: bool) -> Vec<Cell> {
    let opt = |x: Option<f64>| x.map(Cell::Num).unwrap_or(Cell::Empty);
    vec![
        Cell::Text(if total {
            "Tổng cộng".into()
        } else {
            unit_name(&r.unit)
        }),
        Cell::Text(if total {
            String::new()
        } else {
            kind_vi(&r.kind).into()
        }),
        Cell::Text(if total {
            String::new()
        } else {
            procedure_vi(&r.procedure).into()
        }),
        Cell::Int(r.received),
        Cell::Int(r.in_progress),
        Cell::Int(r.granted),
        Cell::Int(r.refused),
        Cell::Int(r.withdrawn),
        Cell::Int(r.overdue),
        opt(r.median_days),
        opt(r.digital_share),
    ]
}

/// The progress report as a table (page, CSV, XLSX).
pub fn progress_table(p: &Progress, units: &[String], period: &Period, now_ms: i64) -> Table {
    let mut rows: Vec<Vec<Cell>> = p.rows.iter().map(|r| progress_cells(r, false)).collect();
    rows.push(progress_cells(&p.total, true));
    Table {
        title: "Báo cáo tiến độ giải quyết hồ sơ căn cước và cư trú".into(),
        units: units.iter().map(|u| unit_name(u)).collect(),
        period: format!(
            "{} ({} – {})",
            period.label_vi(),
            period::dmy(period.from),
            period::dmy(period.to)
        ),
        generated: generated(now_ms),
        headers: PROGRESS_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
        rows,
        notes: PROGRESS_NOTES.iter().map(|n| (*n).to_owned()).collect(),
    }
}

/// `2026-12-01 09:30` in Vietnam time.
pub fn generated(now_ms: i64) -> String {
    let t = sync_core::time::local_date_time(now_ms);
    format!("{} {}", &t[..10], &t[11..16])
}

/// The JSON answer of `/v1/reports/progress`.
#[derive(Debug, Clone, Serialize)]
pub struct ProgressReport {
    /// `progress`.
    pub report: &'static str,
    /// The period.
    pub period: Period,
    /// The period in Vietnamese.
    pub period_label: String,
    /// The units covered, with names.
    pub units: Vec<UnitName>,
    /// When it was generated (ms since the Unix epoch).
    pub generated_ms: i64,
    /// The figures.
    #[serde(flatten)]
    pub progress: Progress,
}

/// The units with their names.
pub fn unit_names(units: &[String]) -> Vec<UnitName> {
    units
        .iter()
        .map(|u| UnitName {
            code: u.clone(),
            name: name_of(u).unwrap_or_default(),
        })
        .collect()
}

/// A unit code with its current name.
#[derive(Debug, Clone, Serialize)]
pub struct UnitName {
    /// Code.
    pub code: String,
    /// Name (`Phường Quảng Yên`), empty when unknown.
    pub name: String,
}

impl ProgressReport {
    /// Wraps the figures with what they cover.
    pub fn new(progress: Progress, units: &[String], period: Period, now_ms: i64) -> Self {
        ProgressReport {
            report: "progress",
            period,
            period_label: period.label_vi(),
            units: unit_names(units),
            generated_ms: now_ms,
            progress,
        }
    }
}

/// The audit details of a report view or download.
pub fn audit_details(
    report: &str,
    units: &[String],
    period: &Period,
    format: &str,
    via: &str,
) -> serde_json::Value {
    serde_json::json!({
        "report": report,
        "units": units,
        "period": {"kind": period.kind.as_str(), "from": period.from.to_string(), "to": period.to.to_string()},
        "format": format,
        "via": via,
    })
}
