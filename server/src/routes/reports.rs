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
use crate::reports::export::{self, Table};
use crate::reports::period::Period;
use crate::reports::progress::progress;
use crate::reports::{
    self, ProgressReport, QueryError, ReportQuery, TREND_PERIODS, audit_details, report_units,
};
use crate::{AppState, audit, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/reports/progress", get(progress_api))
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
    let today = sync_core::time::local_day(now)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the clock is outside 0001–9999")))?;
    let allowed = report_units(asker.role, &asker.scopes);
    let (period, units) = reports::resolve(q, &allowed, today).map_err(query_error)?;
    let store = state.store.clone();
    let asker = asker.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<(ProgressReport, Table)> {
        let figures = store.read(|sql| progress(sql, &units, period, today, TREND_PERIODS))?;
        let table = reports::progress_table(&figures, &units, &period, now);
        store.write(|tx| {
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
                    details: audit_details("progress", &units, &period, format.as_str(), asker.via),
                },
            )
            .map_err(anyhow::Error::from)
        })?;
        Ok((ProgressReport::new(figures, &units, period, now), table))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)
}

/// A CSV or XLSX download of `table`, named `<name>-<period>.<ext>`.
pub fn download(table: &Table, format: Format, name: &str, period: &Period) -> Response {
    let file = format!("{name}-{}-{}", period.from, period.to);
    let (bytes, mime, ext) = match format {
        Format::Xlsx => match export::xlsx(table, "Báo cáo") {
            Ok(b) => (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ),
            Err(e) => return ApiError::Internal(e.into()).into_response(),
        },
        _ => (export::csv(table), "text/csv; charset=utf-8", "csv"),
    };
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}.{ext}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    r
}

async fn progress_api(
    State(state): State<AppState>,
    auth: DeviceAuth,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref() {
        None | Some("" | "json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_format",
                format!("`{other}` is not a format (json, csv, xlsx)"),
            ));
        }
    };
    let asker = Asker {
        user: auth.user.clone(),
        role: auth.role,
        scopes: auth.units.clone(),
        device: auth.device_id.to_string(),
        via: "api",
    };
    let (report, table) = load_progress(&state, &asker, &q, format).await?;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        f => download(&table, f, "bao-cao-tien-do", &report.period),
    })
}
