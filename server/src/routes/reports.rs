//! `/v1/reports/…`: the leadership reports as JSON, CSV or XLSX (`?format=`), for any signed-in
//! role over its own units (a bearer token from `/v1/login`). The console's report pages use
//! the same functions ([`load_progress`], [`download`]).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use sync_core::model::Role;

use crate::auth::DeviceAuth;
use crate::error::{ApiError, ApiResult};
use crate::reports::coverage::coverage;
use crate::reports::coverage_report::{self, CoverageReport};
use crate::reports::devices;
use crate::reports::export::{self, Table};
use crate::reports::health_report::{self, HealthReport};
use crate::reports::officers::activity;
use crate::reports::officers_report::{self, ActivityReport, Which};
use crate::reports::period::Period;
use crate::reports::progress::progress;
use crate::reports::quality::quality;
use crate::reports::quality_report::{self, QualityReport};
use crate::reports::{
    self, ProgressReport, QueryError, ReportQuery, TREND_PERIODS, audit_details, report_units,
};
use crate::{AppState, audit, now_ms};
use sync_core::model::Date;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/reports/progress", get(progress_api))
        .route("/v1/reports/devices", get(devices_api))
        .route("/v1/reports/quality", get(quality_api))
        .route("/v1/reports/coverage", get(coverage_api))
        .route(
            "/v1/reports/officers",
            get(|s, a, q| activity_api(s, a, q, Which::Officers)),
        )
        .route(
            "/v1/reports/data-use",
            get(|s, a, q| activity_api(s, a, q, Which::DataUse)),
        )
}

/// How a report is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (API).
    Json,
    /// A console page.
    Html,
    /// CSV download.
    Csv,
    /// XLSX download.
    Xlsx,
}

impl Format {
    /// The wire name (audit `format`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    fn is_download(self) -> bool {
        matches!(self, Format::Csv | Format::Xlsx)
    }
}

/// Who asks for a report, for the audit trail.
#[derive(Debug, Clone)]
pub struct Asker {
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// The units the user's role covers (`scopes`).
    pub scopes: Vec<String>,
    /// Audit `device` column.
    pub device: String,
    /// `api` or `console`.
    pub via: &'static str,
}

/// A report query turned down.
pub fn query_error(e: QueryError) -> ApiError {
    match e {
        QueryError::BadPeriod(p) => ApiError::bad_request(
            "bad_period",
            format!(
                "`{p}` is not a period (period=week|month|quarter|half|year|range, on=YYYY-MM-DD, to=YYYY-MM-DD)"
            ),
        ),
        QueryError::OutOfScope(u) => {
            ApiError::forbidden("unit_out_of_scope", format!("unit {u} is not one of yours"))
        }
        QueryError::BadMonths(m) => ApiError::bad_request(
            "bad_months",
            format!("`{m}` is not a number of months (months=1..60)"),
        ),
    }
}

/// Resolves the query against the asker's units, computes the progress report from the
/// report index, and writes the view (or export) to the audit trail.
pub async fn load_progress(
    state: &AppState,
    asker: &Asker,
    q: &ReportQuery,
    format: Format,
) -> ApiResult<(ProgressReport, Table)> {
    let now = now_ms();
    let (today, period, units) = scope(asker, q, now)?;
    let store = state.store.clone();
    let asker = asker.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<(ProgressReport, Table)> {
        let figures = store.read(|sql| progress(sql, &units, period, today, TREND_PERIODS))?;
        let table = reports::progress_table(&figures, &units, &period, now);
        let details = audit_details("progress", &units, &period, format.as_str(), asker.via);
        store.write(|tx| audit_report(tx, &asker, format, details, now))?;
        Ok((ProgressReport::new(figures, &units, period, now), table))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)
}

/// A CSV or XLSX download of `table`, named `<name>-<period>.<ext>`.
pub fn download(table: &Table, format: Format, name: &str, period: &Period) -> Response {
    download_named(
        table,
        format,
        &format!("{name}-{}-{}", period.from, period.to),
    )
}

/// Writes a report view (or, for a download, an export) of `asker` to the audit trail.
pub fn audit_report(
    tx: &dyn crate::db::Sql,
    asker: &Asker,
    format: Format,
    details: serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    audit::append(
        tx,
        now,
        &audit::Entry {
            user: &asker.user,
            device: &asker.device,
            action: if format.is_download() {
                "report_export"
            } else {
                "report_view"
            },
            records: Vec::new(),
            details,
        },
    )
    .map(drop)
    .map_err(anyhow::Error::from)
}

/// The device sync health report for the asker's units: the roll-up for every role, the
/// device list for staff and admins (leaders see aggregated figures only). Audited.
pub async fn load_devices(
    state: &AppState,
    asker: &Asker,
    q: &ReportQuery,
    format: Format,
) -> ApiResult<(HealthReport, Table)> {
    let now = now_ms();
    let allowed = report_units(asker.role, &asker.scopes);
    let (_, _, units) = scope(asker, q, now)?;
    let (store, asker, t) = (
        state.store.clone(),
        asker.clone(),
        state.config.device_health,
    );
    tokio::task::spawn_blocking(move || -> anyhow::Result<(HealthReport, Table)> {
        let all = store.read(|sql| devices::load(sql, &t, now))?;
        // Admins' devices (no unit) only for an admin asking for every unit.
        let admin_rows = asker.role == Role::Admin && q_all(&units, &allowed);
        let shown = devices::in_units(all, &units, admin_rows);
        let rollup = devices::rollup(&shown, &units, admin_rows);
        let counts = devices::counts(&shown);
        let list = (asker.role != Role::Leader).then_some(shown);
        let report = HealthReport::new(&units, now, t, rollup, counts, list);
        let table = health_report::table(&report, &units, now);
        let details = serde_json::json!({
            "report": "devices", "units": units, "format": format.as_str(), "via": asker.via,
        });
        store.write(|tx| audit_report(tx, &asker, format, details, now))?;
        Ok((report, table))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)
}

/// Today in Vietnam, the period and the units of `q`, checked against the asker's units.
fn scope(asker: &Asker, q: &ReportQuery, now: i64) -> ApiResult<(Date, Period, Vec<String>)> {
    let today = sync_core::time::local_day(now)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the clock is outside 0001–9999")))?;
    let allowed = report_units(asker.role, &asker.scopes);
    let (period, units) = reports::resolve(q, &allowed, today).map_err(query_error)?;
    Ok((today, period, units))
}

/// The data-quality report over the asker's units and the query's period, from the report
/// index and the review queue. Audited.
pub async fn load_quality(
    state: &AppState,
    asker: &Asker,
    q: &ReportQuery,
    format: Format,
) -> ApiResult<QualityReport> {
    let now = now_ms();
    let (_, period, units) = scope(asker, q, now)?;
    let (store, asker) = (state.store.clone(), asker.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<QualityReport> {
        let figures = store.read(|sql| quality(sql, &units, period, TREND_PERIODS, now))?;
        let details = audit_details("quality", &units, &period, format.as_str(), asker.via);
        store.write(|tx| audit_report(tx, &asker, format, details, now))?;
        Ok(QualityReport::new(figures, &units, period, now))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)
}

async fn quality_api(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = api_format(&q)?;
    let report = load_quality(&state, &api_asker(&auth), &q, format).await?;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        f => quality_download(&report, f),
    })
}

/// The data-quality report as CSV or XLSX (four sections or sheets).
pub fn quality_download(report: &QualityReport, format: Format) -> Response {
    let tables = quality_report::tables(report);
    let sheets: Vec<(&Table, &str)> = tables.iter().map(|(t, n)| (t, *n)).collect();
    let p = &report.period;
    let name = format!("bao-cao-chat-luong-du-lieu-{}-{}", p.from, p.to);
    download_sheets(&sheets, format, &name)
}

/// The coverage report over the asker's units as of today (Vietnam), cards due within the
/// query's `months`, from the report index. Audited (the audit's period is today).
pub async fn load_coverage(
    state: &AppState,
    asker: &Asker,
    q: &ReportQuery,
    format: Format,
) -> ApiResult<CoverageReport> {
    let now = now_ms();
    let (today, _, units) = scope(asker, q, now)?;
    let months = reports::months(q).map_err(query_error)?;
    let (store, asker) = (state.store.clone(), asker.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<CoverageReport> {
        let figures = store.read(|sql| coverage(sql, &units, today, months))?;
        let details = serde_json::json!({
            "report": "coverage", "units": units, "today": today.to_string(),
            "months": months, "format": format.as_str(), "via": asker.via,
        });
        store.write(|tx| audit_report(tx, &asker, format, details, now))?;
        Ok(CoverageReport::new(figures, &units, now))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)
}

async fn coverage_api(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = api_format(&q)?;
    let report = load_coverage(&state, &api_asker(&auth), &q, format).await?;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        f => coverage_download(&report, f),
    })
}

/// The coverage report as CSV or XLSX (two sections or sheets), named after its day.
pub fn coverage_download(report: &CoverageReport, format: Format) -> Response {
    let tables = coverage_report::tables(report);
    let sheets: Vec<(&Table, &str)> = tables.iter().map(|(t, n)| (t, *n)).collect();
    let name = format!("bao-cao-do-phu-{}", report.coverage.today);
    download_sheets(&sheets, format, &name)
}

/// The officers report or the data-use inspection over the accounts of the asker's units and
/// the query's period, from the daily activity aggregates. Audited.
pub async fn load_activity(
    state: &AppState,
    asker: &Asker,
    q: &ReportQuery,
    format: Format,
    which: Which,
) -> ApiResult<(ActivityReport, Table)> {
    let now = now_ms();
    let allowed = report_units(asker.role, &asker.scopes);
    let (_, period, units) = scope(asker, q, now)?;
    let all = asker.role == Role::Admin && q_all(&units, &allowed);
    let (store, asker, large) = (state.store.clone(), asker.clone(), state.config.large_pull);
    tokio::task::spawn_blocking(move || -> anyhow::Result<(ActivityReport, Table)> {
        let users = store.read(|sql| activity(sql, &units, all, period, large))?;
        let details = audit_details(which.as_str(), &units, &period, format.as_str(), asker.via);
        store.write(|tx| audit_report(tx, &asker, format, details, now))?;
        let report = ActivityReport::new(which, users, &units, period, large, now);
        let table = officers_report::table(which, &report);
        Ok((report, table))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)
}

async fn activity_api(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Query(q): Query<ReportQuery>,
    which: Which,
) -> ApiResult<Response> {
    let format = api_format(&q)?;
    let (report, table) = load_activity(&state, &api_asker(&auth), &q, format, which).await?;
    let p = report.period;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        f => download_named(&table, f, &format!("{}-{}-{}", which.file(), p.from, p.to)),
    })
}

/// Whether the query covers every unit the asker may see.
fn q_all(units: &[String], allowed: &[String]) -> bool {
    units.len() == allowed.len()
}

/// The `?format=` of an API report query.
fn api_format(q: &ReportQuery) -> ApiResult<Format> {
    match q.format.as_deref() {
        None | Some("" | "json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("xlsx") => Ok(Format::Xlsx),
        Some(other) => Err(ApiError::bad_request(
            "bad_format",
            format!("`{other}` is not a format (json, csv, xlsx)"),
        )),
    }
}

fn api_asker(auth: &DeviceAuth) -> Asker {
    Asker {
        user: auth.user.clone(),
        role: auth.role,
        scopes: auth.units.clone(),
        device: auth.device_id.to_string(),
        via: "api",
    }
}

async fn devices_api(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = api_format(&q)?;
    let (report, table) = load_devices(&state, &api_asker(&auth), &q, format).await?;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        f => download_named(&table, f, "tinh-trang-dong-bo-thiet-bi"),
    })
}

/// A CSV or XLSX download of `table`, named `<name>.<ext>`.
pub fn download_named(table: &Table, format: Format, name: &str) -> Response {
    download_sheets(&[(table, "Báo cáo")], format, name)
}

/// A CSV (the tables one after the other) or XLSX (one sheet each) download of a report
/// with several sections, named `<name>.<ext>`.
pub fn download_sheets(sheets: &[(&Table, &str)], format: Format, name: &str) -> Response {
    let (bytes, mime, ext) = match format {
        Format::Xlsx => match export::xlsx_many(sheets) {
            Ok(b) => (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ),
            Err(e) => return ApiError::Internal(e.into()).into_response(),
        },
        _ => {
            let tables: Vec<Table> = sheets.iter().map(|(t, _)| (*t).clone()).collect();
            (export::csv_many(&tables), "text/csv; charset=utf-8", "csv")
        }
    };
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    r
}

async fn progress_api(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = api_format(&q)?;
    let (report, table) = load_progress(&state, &api_asker(&auth), &q, format).await?;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        f => download(&table, f, "bao-cao-tien-do", &report.period),
    })
}
