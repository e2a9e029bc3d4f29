//! The console's report pages (`/console/reports…`): for admins and leaders, over their own
//! units. Aggregated figures only, no names or ID numbers; each view and download is audited
//! (through [`crate::routes::reports::load_progress`]).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::pages::Chrome;
use super::session::ConsoleUser;
use super::{internal, message, page};
use crate::AppState;
use crate::error::ApiError;
use crate::reports::chart::Chart;
use crate::reports::export::Table;
use crate::reports::{OUTCOMES, ReportQuery, procedure_vi, report_units, unit_name};
use crate::routes::reports::{Asker, Format, download, load_progress};

/// The reports index.
#[derive(Debug, Template)]
#[template(path = "console/reports.html")]
pub struct ReportsPage {
    /// The frame.
    pub chrome: Chrome,
    ready: Vec<(&'static str, &'static str, &'static str)>,
    missing: Vec<(&'static str, &'static str)>,
}

/// The progress report page.
#[derive(Debug, Template)]
#[template(path = "console/report_progress.html")]
pub struct ProgressPage {
    /// The frame.
    pub chrome: Chrome,
    table: Table,
    periods: Vec<(&'static str, &'static str)>,
    period_kind: &'static str,
    on: String,
    to: String,
    unit: String,
    unit_options: Vec<(String, String)>,
    query: String,
    status_chart: String,
    outcome_names: Vec<&'static str>,
    status_rows: Vec<(String, Vec<i64>)>,
    trend_chart: String,
    trend_periods: Vec<String>,
    trend_rows: Vec<(String, Vec<i64>)>,
    trend_cut: usize,
}

/// `/console/reports`.
pub async fn index(user: ConsoleUser, uri: Uri) -> Response {
    let l = user.lang;
    page(
        StatusCode::OK,
        &uri,
        l,
        Some(&user),
        l.pick("Báo cáo", "Reports"),
        |chrome| ReportsPage {
            chrome,
            ready: vec![(
                "/console/reports/progress",
                "Tiến độ giải quyết hồ sơ",
                "hồ sơ cấp thẻ căn cước và cư trú theo đơn vị, thủ tục và kết quả; quá hạn; số ngày giải quyết; tỷ lệ xử lý số; biểu đồ; tải Excel/CSV",
            )],
            missing: vec![
                (
                    "Chất lượng dữ liệu (đúng, đủ, sạch, sống)",
                    "các phát hiện đã được lập chỉ mục theo loại và đơn vị (bảng report_findings) nhưng chưa có trang báo cáo",
                ),
                (
                    "Cán bộ",
                    "số hồ sơ tạo, sửa, bị từ chối theo cán bộ: chưa có",
                ),
                (
                    "Kiểm tra sử dụng dữ liệu",
                    "đọc, xuất, tải về thiết bị theo người dùng từ nhật ký: chưa có",
                ),
                (
                    "Độ phủ",
                    "công dân từ 14 tuổi chưa có hồ sơ cấp thẻ, thẻ đến hạn đổi, tạm trú sắp hết hạn: chưa có; mô hình chưa có trường kích hoạt VNeID",
                ),
                (
                    "Tình trạng đồng bộ thiết bị",
                    "chưa có: thiết bị chưa báo độ dài hàng đợi gửi",
                ),
            ],
        },
    )
}

fn asker(user: &ConsoleUser) -> Asker {
    Asker {
        user: user.user.username.clone(),
        role: user.user.role,
        scopes: user.user.scopes(),
        device: user.audit_device(),
        via: "console",
    }
}

fn refused(uri: &Uri, user: &ConsoleUser, e: ApiError) -> Response {
    match e {
        ApiError::Client { status, .. } if status == StatusCode::FORBIDDEN => message(
            StatusCode::FORBIDDEN,
            uri,
            user,
            "403",
            ("Không có quyền", "Not allowed"),
            (
                "Đơn vị này không thuộc phạm vi của tài khoản.",
                "That unit is not one of this account's.",
            ),
        ),
        ApiError::Client { status, .. } => message(
            status,
            uri,
            user,
            "400",
            ("Kỳ báo cáo không hợp lệ", "Invalid period"),
            (
                "Hãy chọn kỳ và ngày hợp lệ (khoảng ngày: từ ngày không sau đến ngày).",
                "Choose a valid period and day (a range must not end before it starts).",
            ),
        ),
        ApiError::Internal(e) => internal(format!("{e:#}")),
    }
}

/// The query string of the downloads: the page's own query without `lang`.
fn download_query(uri: &Uri) -> String {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("lang="))
        .collect::<Vec<_>>()
        .join("&")
}

/// `/console/reports/progress`.
pub async fn progress(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let (report, table) = match load_progress(&state, &asker(&user), &q, Format::Html).await {
        Ok(x) => x,
        Err(e) => return refused(&uri, &user, e),
    };
    let l = user.lang;
    // Procedures × outcomes (all units together), for the stacked bars and their table.
    let mut by_procedure: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    for r in &report.progress.rows {
        let e = by_procedure
            .entry(procedure_vi(&r.procedure).to_owned())
            .or_default();
        e[0] += r.in_progress;
        e[1] += r.granted;
        e[2] += r.refused;
        e[3] += r.withdrawn;
    }
    let outcome_names: Vec<&'static str> =
        OUTCOMES.iter().map(|(_, vi, en)| l.pick(vi, en)).collect();
    let status_rows: Vec<(String, Vec<i64>)> = by_procedure
        .into_iter()
        .map(|(k, v)| (k, v.to_vec()))
        .collect();
    let bars: Vec<(String, Vec<u64>)> = status_rows
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|x| x.unsigned_abs()).collect()))
        .collect();
    let series: Vec<String> = outcome_names.iter().map(|s| (*s).to_owned()).collect();
    let status_chart = Chart::stacked(
        "status",
        l.pick(
            "Hồ sơ theo thủ tục và kết quả",
            "Dossiers by procedure and outcome",
        ),
        &series,
        &bars,
    );
    // Received per unit over the trend periods.
    let mut periods: Vec<crate::reports::period::Period> = Vec::new();
    let mut per_unit: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for t in &report.progress.trend {
        if !periods.contains(&t.period) {
            periods.push(t.period);
        }
        per_unit.entry(t.unit.clone()).or_default().push(t.received);
    }
    let trend_periods: Vec<String> = periods.iter().map(|p| p.short_label()).collect();
    let trend_rows: Vec<(String, Vec<i64>)> = per_unit
        .into_iter()
        .map(|(u, v)| (unit_name(&u), v))
        .collect();
    let mut drawn: Vec<&(String, Vec<i64>)> = trend_rows.iter().collect();
    drawn.sort_by_key(|(_, v)| std::cmp::Reverse(v.iter().sum::<i64>()));
    let trend_cut = drawn.len().saturating_sub(8);
    drawn.truncate(8);
    let series: Vec<(String, Vec<u64>)> = drawn
        .iter()
        .map(|(n, v)| (n.clone(), v.iter().map(|x| x.unsigned_abs()).collect()))
        .collect();
    let trend_chart = Chart::lines(
        "trend",
        l.pick(
            "Xu hướng tiếp nhận theo đơn vị",
            "Dossiers received per unit",
        ),
        &trend_periods,
        &series,
    );
    let (status_chart, trend_chart) = match (status_chart.render(), trend_chart.render()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let allowed = report_units(user.user.role, &user.user.scopes());
    let title = l.pick("Báo cáo tiến độ", "Progress report").to_owned();
    page(StatusCode::OK, &uri, l, Some(&user), &title, |chrome| {
        ProgressPage {
            chrome,
            periods: vec![
                ("week", l.pick("Tuần", "Week")),
                ("month", l.pick("Tháng", "Month")),
                ("quarter", l.pick("Quý", "Quarter")),
                ("half", l.pick("6 tháng", "Half-year")),
                ("year", l.pick("Năm", "Year")),
                ("range", l.pick("Khoảng ngày", "Date range")),
            ],
            period_kind: report.period.kind.as_str(),
            on: q.on.clone().unwrap_or_default(),
            to: q.to.clone().unwrap_or_default(),
            unit: q.units.clone().unwrap_or_default(),
            unit_options: allowed.iter().map(|u| (u.clone(), unit_name(u))).collect(),
            query: download_query(&uri),
            status_chart,
            outcome_names,
            status_rows,
            trend_chart,
            trend_periods,
            trend_rows,
            trend_cut,
            table,
        }
    })
}

/// `/console/reports/progress.csv` and `.xlsx`.
pub async fn progress_download(
    state: AppState,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQuery,
    format: Format,
) -> Response {
    match load_progress(&state, &asker(&user), &q, format).await {
        Ok((report, table)) => download(&table, format, "bao-cao-tien-do", &report.period),
        Err(e) => refused(&uri, &user, e).into_response(),
    }
}
