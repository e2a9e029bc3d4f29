//! `GET /healthz` and `GET /metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;
use crate::error::ApiResult;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// `200 ok` when the database answers.
async fn healthz(State(state): State<AppState>) -> ApiResult<&'static str> {
    let pool = state.pool.clone();
    tokio::task::spawn_blocking(move || {
        pool.read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
    })
    .await??;
    Ok("ok\n")
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
