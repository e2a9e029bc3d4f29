//! Data-rights endpoints under `/v1/admin/` (admin role only): `POST
//! /v1/admin/subject-report` answers the subject-access report ([`crate::rights::subject`])
//! as JSON. The ID number travels in the body, never in the URL (which proxies log).

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::rights::subject::{self, Requester, SubjectError, SubjectReport};
use crate::{AppState, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/subject-report", post(subject_report))
}

/// Body of `POST /v1/admin/subject-report`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectQuery {
    /// The person's 12-digit ID number (spaces, dots and dashes are ignored).
    pub id_number: String,
}

/// A report error as answered: a malformed number is the client's; the rest are internal.
pub fn api_error(e: SubjectError) -> ApiError {
    match e {
        SubjectError::BadIdNumber => ApiError::bad_request("invalid_id_number", e.to_string()),
        SubjectError::Db(e) => ApiError::from(e),
        SubjectError::Doc => ApiError::Internal(anyhow::Error::new(e)),
    }
}

async fn subject_report(
    State(state): State<AppState>,
    auth: AdminAuth,
    body: Result<Json<SubjectQuery>, JsonRejection>,
) -> ApiResult<Json<SubjectReport>> {
    let Json(q) = body.map_err(super::json_error)?;
    let store = state.store.clone();
    let report = tokio::task::spawn_blocking(move || {
        let device = auth.0.device_id.to_string();
        let by = Requester {
            user: &auth.0.user,
            device: &device,
            via: "api",
        };
        store.write(|tx| subject::report(tx, &q.id_number, &by, now_ms()))
    })
    .await?
    .map_err(api_error)?;
    Ok(Json(report))
}
