//! `POST /v1/admin/units/adjust`: the Art. 26 bulk adjustment of residence addresses to the
//! current administrative units ([`crate::unit_adjust`]). Body `{"dry_run": bool}` (default
//! `false`); the answer is the [`Report`]: every field adjusted (old and new code, the
//! adjustment declaration written) and every field left for a decision (split or dissolved
//! units, with their candidates).

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::review::ReviewError;
use crate::routes::review_api::review_error;
use crate::unit_adjust::{self, Report};
use crate::{AppState, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/units/adjust", post(adjust))
}

/// Body of `POST /v1/admin/units/adjust`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    /// Report without writing (the audit entry is written).
    #[serde(default)]
    pub dry_run: bool,
}

async fn adjust(
    State(state): State<AppState>,
    AdminAuth(auth): AdminAuth,
    body: Result<Json<AdjustBody>, JsonRejection>,
) -> ApiResult<Json<Report>> {
    let Json(body) = body.map_err(super::json_error)?;
    let report = state
        .writer
        .run(move |tx| {
            unit_adjust::adjust(tx, &auth.user, "api", body.dry_run, now_ms()).map_err(
                |e| match e {
                    ReviewError::Internal(e) => e,
                    refused => anyhow::Error::new(refused),
                },
            )
        })
        .await
        .map_err(|e| match e.downcast::<ReviewError>() {
            Ok(refused) => review_error(refused),
            Err(e) => ApiError::from(e),
        })?;
    if report.adjusted.iter().any(|a| a.declaration.is_some()) {
        state.review_wake.notify_one();
    }
    Ok(Json(report))
}
