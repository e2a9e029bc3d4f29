//! The console's report pages (`/console/reports…`): for admins and leaders, over their own
//! units. Aggregated figures only, no names or ID numbers; each view and download is audited
//! (through [`crate::routes::reports::load_progress`]).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::pages::Chrome;
use super::session::ConsoleUser;
use super::{internal, message, page};
use crate::AppState;
use crate::error::ApiError;
use crate::reports::chart::Chart;
use crate::reports::coverage_report;
use crate::reports::devices::STATES;
use crate::reports::export::Table;
use crate::reports::health_report;
use crate::reports::officers_report::Which;
use crate::reports::quality_report::{self, finding_vi};
use crate::reports::{OUTCOMES, ReportQuery, procedure_vi, report_units, unit_name};
use crate::routes::reports::{
    Asker, Format, coverage_download, download, download_named, load_activity, load_coverage,
    load_devices, load_progress, load_quality, quality_download,
};

/// The reports index.
#[derive(Debug, Template)]
#[template(path = "console/reports.html")]
pub struct ReportsPage {
    /// The frame.
    pub chrome: Chrome,
    ready: Vec<(&'static str, &'static str, &'static str)>,
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
    unit_options: Vec<(String, String, bool)>,
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
            ready: vec![
                (
                    "/console/reports/progress",
                    "Tiến độ giải quyết hồ sơ",
                    "hồ sơ cấp thẻ căn cước và cư trú theo đơn vị, thủ tục và kết quả; quá hạn; số ngày giải quyết; tỷ lệ xử lý số; biểu đồ; tải Excel/CSV",
                ),
                (
                    "/console/reports/coverage",
                    "Độ phủ căn cước và cư trú",
                    "công dân từ 14 tuổi chưa có hồ sơ cấp thẻ; thẻ đến hạn đổi (14, 25, 40, 60 tuổi) trong N tháng; thẻ đã cấp chưa trả; tạm trú hết hạn trong 15 ngày; công dân chưa có số định danh cá nhân hoặc chưa được thông báo số; tài khoản VNeID đã kích hoạt và công dân từ 14 tuổi chưa kích hoạt; biểu đồ; tải Excel/CSV",
                ),
                (
                    "/console/reports/quality",
                    "Chất lượng dữ liệu (đúng, đủ, sạch, sống)",
                    "phát hiện theo loại và đơn vị, xu hướng theo kỳ; độ đầy đủ hồ sơ; mục rà soát đang mở theo loại và thời gian chờ; người đã mất vẫn còn đăng ký thường trú; biểu đồ; tải Excel/CSV",
                ),
                (
                    "/console/reports/officers",
                    "Cán bộ",
                    "theo cán bộ: hồ sơ tạo mới, chỉnh sửa, bị máy chủ từ chối và lý do, mục rà soát phát sinh; tải Excel/CSV",
                ),
                (
                    "/console/reports/data-use",
                    "Kiểm tra sử dụng dữ liệu",
                    "theo tài khoản: hồ sơ đã xem, xem ngoài đơn vị phụ trách, xuất dữ liệu, tải về thiết bị, tải về bất thường; tải Excel/CSV",
                ),
                (
                    "/console/reports/devices",
                    "Tình trạng đồng bộ thiết bị",
                    "thiết bị bình thường, lâu không đồng bộ, tắc đồng bộ, đã thu hồi theo đơn vị; hàng đợi gửi, thay đổi chờ lâu nhất, sửa bị từ chối, phiên bản; tải Excel/CSV",
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
    q: ReportQ,
) -> Response {
    let q = q.0;
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
            unit_options: unit_choices(&allowed, &q),
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

/// The report pages added after progress: device sync health.
pub fn more_routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/console/reports/devices", get(devices))
        .route(
            "/console/reports/devices.csv",
            get(|s, u, uri, q| devices_download(s, u, uri, q, Format::Csv)),
        )
        .route(
            "/console/reports/devices.xlsx",
            get(|s, u, uri, q| devices_download(s, u, uri, q, Format::Xlsx)),
        )
        .merge(activity_routes())
        .route("/console/reports/coverage", get(coverage))
        .route(
            "/console/reports/coverage.csv",
            get(|s, u, uri, q| coverage_download_page(s, u, uri, q, Format::Csv)),
        )
        .route(
            "/console/reports/coverage.xlsx",
            get(|s, u, uri, q| coverage_download_page(s, u, uri, q, Format::Xlsx)),
        )
        .route("/console/reports/quality", get(quality))
        .route(
            "/console/reports/quality.csv",
            get(|s, u, uri, q| quality_download_page(s, u, uri, q, Format::Csv)),
        )
        .route(
            "/console/reports/quality.xlsx",
            get(|s, u, uri, q| quality_download_page(s, u, uri, q, Format::Xlsx)),
        )
}

/// The query of a console report page: the API's [`ReportQuery`], except that `units` may
/// come several times (the unit filter is a multiple select: `units=a&units=b`); they are
/// joined with commas as the API takes them. Malformed values are judged by the report.
#[derive(Debug)]
pub struct ReportQ(pub ReportQuery);

impl<S: Send + Sync> FromRequestParts<S> for ReportQ {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ReportQ(parse_query(parts.uri.query().unwrap_or(""))))
    }
}

/// A console report query string as a [`ReportQuery`]: the repeated `units` keys joined
/// into one, the last of any other repeated key kept, then read as the API reads its query
/// (so the fields are listed once, in `ReportQuery`); a query that does not read is empty.
pub fn parse_query(raw: &str) -> ReportQuery {
    let mut units: Vec<String> = Vec::new();
    let mut rest: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if k == "units" {
            units.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned),
            );
        } else {
            rest.insert(k.into_owned(), v.into_owned());
        }
    }
    let mut one = form_urlencoded::Serializer::new(String::new());
    one.extend_pairs(&rest);
    if !units.is_empty() {
        one.append_pair("units", &units.join(","));
    }
    format!("/?{}", one.finish())
        .parse::<Uri>()
        .ok()
        .and_then(|uri| Query::<ReportQuery>::try_from_uri(&uri).ok())
        .map(|Query(q)| q)
        .unwrap_or_default()
}

/// The unit filter's options: (code, name, selected).
fn unit_choices(allowed: &[String], q: &ReportQuery) -> Vec<(String, String, bool)> {
    let chosen: Vec<&str> = q.units.as_deref().unwrap_or("").split(',').collect();
    allowed
        .iter()
        .map(|u| (u.clone(), unit_name(u), chosen.contains(&u.as_str())))
        .collect()
}

/// The device sync health page.
#[derive(Debug, Template)]
#[template(path = "console/report_devices.html")]
pub struct DevicesPage {
    /// The frame.
    pub chrome: Chrome,
    table: Table,
    unit_options: Vec<(String, String, bool)>,
    query: String,
    states_chart: String,
    counts: Vec<(&'static str, &'static str, u64)>,
    rollup_headers: Vec<String>,
    rollup_rows: Vec<Vec<crate::reports::export::Cell>>,
    show_list: bool,
    list_rows: Vec<(&'static str, Vec<crate::reports::export::Cell>)>,
}

/// `/console/reports/devices`.
pub async fn devices(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQ,
) -> Response {
    let q = q.0;
    let (report, table) = match load_devices(&state, &asker(&user), &q, Format::Html).await {
        Ok(x) => x,
        Err(e) => return refused(&uri, &user, e),
    };
    let l = user.lang;
    let counts: Vec<(&'static str, &'static str, u64)> = STATES
        .iter()
        .map(|s| {
            let n = report.counts.get(s.as_str()).copied().unwrap_or(0);
            (s.as_str(), s.vi(), n)
        })
        .collect();
    let bars: Vec<(String, u64)> = counts
        .iter()
        .map(|(_, n, c)| ((*n).to_owned(), *c))
        .collect();
    let title = l.pick("Thiết bị theo trạng thái", "Devices by state");
    let states_chart = match Chart::horizontal("states", title, &bars).render() {
        Ok(svg) => svg,
        Err(e) => return internal(e),
    };
    let list_rows = match &report.devices {
        Some(list) => list
            .iter()
            .zip(table.rows.iter())
            .map(|(d, r)| (d.state.as_str(), r.clone()))
            .collect(),
        None => Vec::new(),
    };
    let allowed = report_units(user.user.role, &user.user.scopes());
    let page_title = l.pick("Đồng bộ thiết bị", "Device sync health").to_owned();
    page(
        StatusCode::OK,
        &uri,
        l,
        Some(&user),
        &page_title,
        |chrome| DevicesPage {
            chrome,
            unit_options: unit_choices(&allowed, &q),
            query: download_query(&uri),
            states_chart,
            counts,
            rollup_headers: health_report::rollup_headers(),
            rollup_rows: report
                .rollup
                .iter()
                .map(health_report::rollup_cells)
                .collect(),
            show_list: report.devices.is_some(),
            list_rows,
            table,
        },
    )
}

async fn devices_download(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQ,
    format: Format,
) -> Response {
    let q = q.0;
    match load_devices(&state, &asker(&user), &q, format).await {
        Ok((_, table)) => download_named(&table, format, "tinh-trang-dong-bo-thiet-bi"),
        Err(e) => refused(&uri, &user, e),
    }
}

/// The period and unit filters of a report page (`console/report_filters.html`).
#[derive(Debug)]
pub struct Filters {
    action: &'static str,
    periods: Vec<(&'static str, &'static str)>,
    period_kind: &'static str,
    on: String,
    to: String,
    unit_options: Vec<(String, String, bool)>,
}

impl Filters {
    fn new(action: &'static str, user: &ConsoleUser, q: &ReportQuery, kind: &'static str) -> Self {
        let l = user.lang;
        let allowed = report_units(user.user.role, &user.user.scopes());
        Filters {
            action,
            periods: vec![
                ("week", l.pick("Tuần", "Week")),
                ("month", l.pick("Tháng", "Month")),
                ("quarter", l.pick("Quý", "Quarter")),
                ("half", l.pick("6 tháng", "Half-year")),
                ("year", l.pick("Năm", "Year")),
                ("range", l.pick("Khoảng ngày", "Date range")),
            ],
            period_kind: kind,
            on: q.on.clone().unwrap_or_default(),
            to: q.to.clone().unwrap_or_default(),
            unit_options: unit_choices(&allowed, q),
        }
    }
}

/// The data-quality page.
#[derive(Debug, Template)]
#[template(path = "console/report_quality.html")]
pub struct QualityPage {
    /// The frame.
    pub chrome: Chrome,
    f: Filters,
    heading: Vec<(&'static str, String)>,
    query: String,
    findings_chart: String,
    by_type: Vec<(String, i64)>,
    trend_chart: String,
    sections: Vec<(Table, &'static str)>,
}

/// `/console/reports/quality`.
pub async fn quality(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQ,
) -> Response {
    let q = q.0;
    let report = match load_quality(&state, &asker(&user), &q, Format::Html).await {
        Ok(x) => x,
        Err(e) => return refused(&uri, &user, e),
    };
    let l = user.lang;
    let mut by_type: Vec<(String, i64)> = report
        .quality
        .by_code
        .iter()
        .map(|(c, n)| (finding_vi(c).to_owned(), *n))
        .collect();
    by_type.sort_by_key(|(name, n)| (std::cmp::Reverse(*n), name.clone()));
    let bars: Vec<(String, u64)> = by_type
        .iter()
        .take(15)
        .map(|(k, v)| (k.clone(), v.unsigned_abs()))
        .collect();
    let findings_chart = Chart::horizontal(
        "findings",
        l.pick("Phát hiện theo loại", "Findings by type"),
        &bars,
    );
    // New findings per unit over the trend periods.
    let xs: Vec<String> = report
        .quality
        .periods
        .iter()
        .map(|p| p.short_label())
        .collect();
    let mut per_unit: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for f in &report.quality.findings {
        let e = per_unit
            .entry(unit_name(&f.unit))
            .or_insert_with(|| vec![0; xs.len()]);
        for (t, n) in e.iter_mut().zip(&f.open_per_period) {
            *t += n.unsigned_abs();
        }
    }
    let mut series: Vec<(String, Vec<u64>)> = per_unit.into_iter().collect();
    series.sort_by_key(|(_, v)| std::cmp::Reverse(v.iter().sum::<u64>()));
    series.truncate(8);
    let trend_chart = Chart::lines(
        "findings-trend",
        l.pick(
            "Phát hiện còn tồn tại cuối mỗi kỳ",
            "Findings open at the end of each period",
        ),
        &xs,
        &series,
    );
    let (findings_chart, trend_chart) = match (findings_chart.render(), trend_chart.render()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let sections: Vec<(Table, &'static str)> = quality_report::tables(&report)
        .into_iter()
        .zip([
            "findings-table",
            "completeness-table",
            "review-table",
            "deceased-table",
        ])
        .map(|((t, _), id)| (t, id))
        .collect();
    let heading = sections[0].0.heading();
    let title = l.pick("Chất lượng dữ liệu", "Data quality").to_owned();
    let f = Filters::new(
        "/console/reports/quality",
        &user,
        &q,
        report.period.kind.as_str(),
    );
    page(StatusCode::OK, &uri, l, Some(&user), &title, |chrome| {
        QualityPage {
            chrome,
            f,
            heading,
            query: download_query(&uri),
            findings_chart,
            by_type,
            trend_chart,
            sections,
        }
    })
}

async fn quality_download_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQ,
    format: Format,
) -> Response {
    let q = q.0;
    match load_quality(&state, &asker(&user), &q, format).await {
        Ok(report) => quality_download(&report, format),
        Err(e) => refused(&uri, &user, e),
    }
}

/// The coverage page.
#[derive(Debug, Template)]
#[template(path = "console/report_coverage.html")]
pub struct CoveragePage {
    /// The frame.
    pub chrome: Chrome,
    months: u32,
    unit_options: Vec<(String, String, bool)>,
    heading: Vec<(&'static str, String)>,
    query: String,
    chart: String,
    totals: Vec<(String, i64)>,
    sections: Vec<(Table, &'static str)>,
}

/// `/console/reports/coverage`.
pub async fn coverage(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQ,
) -> Response {
    let q = q.0;
    let report = match load_coverage(&state, &asker(&user), &q, Format::Html).await {
        Ok(x) => x,
        Err(e) => return refused(&uri, &user, e),
    };
    let l = user.lang;
    let c = &report.coverage;
    let t = &c.total;
    let headers = coverage_report::headers(c.months);
    // The figures' totals over the units (the headers name them), for the bars and the table.
    let totals: Vec<(String, i64)> = headers
        .iter()
        .skip(1)
        .cloned()
        .zip([
            t.residents_14_plus,
            t.without_application,
            t.cards_due,
            t.cards_expired,
            t.issued_not_returned,
            t.registrations_expiring,
            t.extension_filed,
            t.without_id_number,
            t.id_number_not_told,
            t.vneid_activated,
            t.vneid_not_activated,
        ])
        .collect();
    let bars: Vec<(String, u64)> = totals
        .iter()
        .map(|(k, v)| (k.clone(), v.unsigned_abs()))
        .collect();
    let chart = match Chart::horizontal(
        "coverage",
        l.pick("Độ phủ: tổng các đơn vị", "Coverage: all units"),
        &bars,
    )
    .render()
    {
        Ok(svg) => svg,
        Err(e) => return internal(e),
    };
    let sections: Vec<(Table, &'static str)> = coverage_report::tables(&report)
        .into_iter()
        .zip(["coverage-table", "cards-due-table"])
        .map(|((t, _), id)| (t, id))
        .collect();
    let heading = sections[0].0.heading();
    let allowed = report_units(user.user.role, &user.user.scopes());
    let title = l.pick("Độ phủ", "Coverage").to_owned();
    let months = c.months;
    page(StatusCode::OK, &uri, l, Some(&user), &title, |chrome| {
        CoveragePage {
            chrome,
            months,
            unit_options: unit_choices(&allowed, &q),
            heading,
            query: download_query(&uri),
            chart,
            totals,
            sections,
        }
    })
}

async fn coverage_download_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQ,
    format: Format,
) -> Response {
    let q = q.0;
    match load_coverage(&state, &asker(&user), &q, format).await {
        Ok(report) => coverage_download(&report, format),
        Err(e) => refused(&uri, &user, e),
    }
}

/// A report page that is one table: the officers report, the data-use inspection.
#[derive(Debug, Template)]
#[template(path = "console/report_simple.html")]
pub struct SimplePage {
    /// The frame.
    pub chrome: Chrome,
    f: Filters,
    crumb: String,
    query: String,
    t: Table,
    tid: &'static str,
}

/// `/console/reports/officers` and `/console/reports/data-use`.
async fn activity_page(
    state: AppState,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQ,
    which: Which,
) -> Response {
    let q = q.0;
    let (report, t) = match load_activity(&state, &asker(&user), &q, Format::Html, which).await {
        Ok(x) => x,
        Err(e) => return refused(&uri, &user, e),
    };
    let l = user.lang;
    let (action, crumb, tid) = match which {
        Which::Officers => (
            "/console/reports/officers",
            l.pick("Cán bộ", "Officers"),
            "officers-table",
        ),
        Which::DataUse => (
            "/console/reports/data-use",
            l.pick("Sử dụng dữ liệu", "Data use"),
            "data-use-table",
        ),
    };
    let f = Filters::new(action, &user, &q, report.period.kind.as_str());
    page(StatusCode::OK, &uri, l, Some(&user), crumb, |chrome| {
        SimplePage {
            chrome,
            f,
            crumb: crumb.to_owned(),
            query: download_query(&uri),
            t,
            tid,
        }
    })
}

async fn activity_download(
    state: AppState,
    user: ConsoleUser,
    uri: Uri,
    q: ReportQ,
    which: Which,
    format: Format,
) -> Response {
    let q = q.0;
    match load_activity(&state, &asker(&user), &q, format, which).await {
        Ok((r, t)) => {
            let name = format!("{}-{}-{}", which.file(), r.period.from, r.period.to);
            download_named(&t, format, &name)
        }
        Err(e) => refused(&uri, &user, e),
    }
}

/// The routes of the officers and data-use pages and downloads.
fn activity_routes() -> axum::Router<AppState> {
    use axum::routing::get;
    let mut r = axum::Router::new();
    for (which, path) in [
        (Which::Officers, "/console/reports/officers"),
        (Which::DataUse, "/console/reports/data-use"),
    ] {
        r = r
            .route(
                path,
                get(move |State(s): State<AppState>, u, uri, q| activity_page(s, u, uri, q, which)),
            )
            .route(
                &format!("{path}.csv"),
                get(move |State(s): State<AppState>, u, uri, q| {
                    activity_download(s, u, uri, q, which, Format::Csv)
                }),
            )
            .route(
                &format!("{path}.xlsx"),
                get(move |State(s): State<AppState>, u, uri, q| {
                    activity_download(s, u, uri, q, which, Format::Xlsx)
                }),
            );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_units_of_a_multiple_select_add_up_and_other_keys_keep_their_last_value() {
        let q = parse_query(
            "period=month&period=year&units=07132&units=07135%2C07147&on=2026-06-01&x=1&units=",
        );
        assert_eq!(q.units.as_deref(), Some("07132,07135,07147"));
        assert_eq!(q.period.as_deref(), Some("year"));
        assert_eq!(q.on.as_deref(), Some("2026-06-01"));
        let none = parse_query("period=month&units=");
        assert_eq!(none.units, None, "no unit chosen: all the user's units");
        let allowed = vec!["07132".to_owned(), "07135".to_owned(), "07147".to_owned()];
        let chosen: Vec<bool> = unit_choices(&allowed, &parse_query("units=07132&units=07147"))
            .into_iter()
            .map(|(_, _, c)| c)
            .collect();
        assert_eq!(chosen, [true, false, true]);
    }
}
