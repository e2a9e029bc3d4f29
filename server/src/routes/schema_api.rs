//! `GET /v1/schema`: the record schema as JSON Schema (draft 2020-12), public.
//!
//! Generated from the same field tables that validate records
//! (`sync_core::model::schema::json_schema`); the normative text is `docs/schema.md`. It holds
//! no personal data, so it needs no token: an independent client may fetch it before login.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/schema", get(schema))
}

async fn schema() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/schema+json")],
        sync_core::model::schema::json_schema().to_string(),
    )
}
