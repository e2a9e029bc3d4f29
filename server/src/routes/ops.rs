//! `GET /healthz` on the main listener and `GET /metrics` on its own listener.
//!
//! The metrics (request and login counters) are kept off the public address: they are served
//! only on `--metrics-listen` (default `127.0.0.1:9898`, `off` to disable), which should stay
//! on loopback or a private network.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The routes of this module on the main listener.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// The metrics listener's whole router.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(state)
}

/// `200 ok` when the database answers.
async fn healthz(State(state): State<AppState>) -> ApiResult<&'static str> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.read(|c| c.query_value::<i64>("SELECT 1", &[])))
        .await??;
    Ok("ok\n")
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::reports::devices::refresh_gauges(&state).await;
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
