//! HTTP routes, one module per area, each with its own `router()`.

pub mod admin;
pub mod attachments;
pub mod auth;
pub mod console;
pub mod ops;
pub mod redact_api;
pub mod reports;
pub mod review_api;
pub mod rights;
pub mod schema_api;
pub mod sensitive_api;
pub mod sync;
pub mod units_api;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;

use crate::AppState;
use crate::error::ApiError;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(attachments::router())
        .merge(sync::router().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::reports::devices::track_failures,
        )))
        .merge(admin::router())
        .merge(review_api::router())
        .merge(redact_api::router())
        .merge(console::router())
        .merge(ops::router())
        .merge(reports::router())
        .merge(rights::router())
        .merge(schema_api::router())
        .merge(sensitive_api::router())
        .merge(units_api::router())
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(state)
}

/// Maps a JSON body rejection to a 4xx with a JSON body.
pub(crate) fn json_error(e: JsonRejection) -> ApiError {
    match e {
        JsonRejection::MissingJsonContentType(_) => ApiError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(_) => ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large or could not be read",
        ),
        other => ApiError::bad_request(
            "malformed_request",
            format!("the JSON body is not valid: {}", short(&other.body_text())),
        ),
    }
}

fn short(s: &str) -> String {
    s.chars().take(160).collect()
}
