//! `POST /v1/login` and `POST /v1/logout`.
//!
//! The password check runs under [`crate::login`]'s bounds: 429 `rate_limited` or
//! `account_locked` and 503 `busy`, each with `Retry-After`.

use std::time::Duration;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sync_core::model::Role;
use uuid::Uuid;

use crate::accounts::{self, AccountError};
use crate::auth::DeviceAuth;
use crate::error::{ApiError, ApiResult};
use crate::login::{ClientAddr, Credentials, Refusal, Verdict};
use crate::{AppState, audit, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/login", post(login))
        .route("/v1/logout", post(logout))
}

/// Body of `POST /v1/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The device's id (UUID, text form).
    pub device_id: Uuid,
    /// The device's Automerge actor id: 32 hex characters (16 bytes).
    pub actor_id: String,
    /// A name for the device, shown to admins.
    #[serde(default)]
    pub device_name: Option<String>,
}

/// Reply of `POST /v1/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginReply {
    /// Bearer token for every other call (64 hex characters).
    pub token: String,
    /// When the token expires, ms since the Unix epoch.
    pub expires_at: i64,
    /// The account name.
    pub user: String,
    /// The name to show for the account: its display name, or the account name when it has
    /// none (as in the sync reply's actor directory). Added after v1 shipped.
    #[serde(default)]
    pub display_name: String,
    /// The device's name as registered by this login (`device_name`, cut to 100
    /// characters; empty when none was given). Added after v1 shipped.
    #[serde(default)]
    pub device_name: String,
    /// The role: `commune_staff`, `officer`, `staff` or `admin`.
    pub role: Role,
    /// The units the user may see and write (every current unit for admins).
    pub units: Vec<String>,
}

/// Builds a refusal with `Retry-After`.
fn retry(status: StatusCode, code: &'static str, message: &str, wait: Duration) -> Response {
    let mut r = ApiError::client(status, code, message).into_response();
    r.headers_mut().insert(
        RETRY_AFTER,
        crate::routes::console::retry_after(wait.max(Duration::from_secs(1))),
    );
    r
}

async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginReply>, Response> {
    let Json(req) = body
        .map_err(super::json_error)
        .map_err(IntoResponse::into_response)?;
    let actor = hex::decode(&req.actor_id)
        .ok()
        .filter(|a| a.len() == 16)
        .ok_or_else(|| {
            ApiError::bad_request("malformed_request", "`actor_id` must be 32 hex characters")
                .into_response()
        })?;
    let wrong = || ApiError::unauthorized("wrong user name or password").into_response();
    if req.username.len() > 64 || req.password.len() > 1024 {
        return Err(wrong());
    }
    let device_name: String = req
        .device_name
        .clone()
        .unwrap_or_default()
        .chars()
        .take(100)
        .collect();
    let creds = Credentials {
        username: req.username.clone(),
        password: req.password.clone(),
        client,
        via: "api",
        device: req.device_id.to_string(),
    };
    let verdict = crate::login::check(&state, creds)
        .await
        .map_err(|e| ApiError::Internal(e).into_response())?;
    state.metrics.login(matches!(verdict, Ok(Verdict::Ok(_))));
    let user = match verdict {
        Ok(Verdict::Ok(user)) => user,
        Ok(Verdict::BadCredentials) => return Err(wrong()),
        Ok(Verdict::Disabled(_)) => {
            return Err(
                ApiError::forbidden("account_disabled", "the account is disabled").into_response(),
            );
        }
        Ok(Verdict::Locked(wait)) => {
            return Err(retry(
                StatusCode::TOO_MANY_REQUESTS,
                "account_locked",
                "too many failed logins from this address: the account is locked here for a while",
                wait,
            ));
        }
        Err(Refusal::RateLimited(wait)) => {
            return Err(retry(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many login attempts: try again later",
                wait,
            ));
        }
        Err(Refusal::Busy) => {
            return Err(retry(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is checking too many logins: try again shortly",
                Duration::from_secs(1),
            ));
        }
    };
    let ttl = state.config.token_ttl().as_millis() as i64;
    let store = state.store.clone();
    let reply = tokio::task::spawn_blocking(
        move || -> anyhow::Result<Result<LoginReply, AccountError>> {
            let now = now_ms();
            let actor_hex = hex::encode(&actor);
            store.write(|tx| -> anyhow::Result<Result<LoginReply, AccountError>> {
            if let Err(e) =
                accounts::register_device(tx, user.id, req.device_id, &actor_hex, &device_name, now)
            {
                audit::append(
                    tx,
                    now,
                    &audit::Entry {
                        user: &user.username,
                        device: &req.device_id.to_string(),
                        action: "login_failed",
                        details: serde_json::json!({"reason": "device_refused", "via": "api"}),
                        ..audit::Entry::default()
                    },
                )?;
                return Ok(Err(e));
            }
            let (token, expires_at) = accounts::issue_token(tx, user.id, req.device_id, now, ttl)?;
            audit::append(
                tx,
                now,
                &audit::Entry {
                    user: &user.username,
                    device: &req.device_id.to_string(),
                    action: "login",
                    details: serde_json::json!({"actor": actor_hex, "device_name": device_name}),
                    ..audit::Entry::default()
                },
            )?;
            Ok(Ok(LoginReply {
                token,
                expires_at,
                user: user.username.clone(),
                display_name: user.shown_name().to_owned(),
                device_name: device_name.clone(),
                role: user.role,
                units: user.scopes(),
            }))
        })
        },
    )
    .await
    .map_err(|e| ApiError::Internal(e.into()).into_response())?
    .map_err(|e| ApiError::Internal(e).into_response())?;
    match reply {
        Ok(reply) => Ok(Json(reply)),
        Err(AccountError::DeviceRevoked) => {
            Err(ApiError::forbidden("device_revoked", "this device was revoked").into_response())
        }
        Err(AccountError::DeviceOfAnotherUser) => Err(ApiError::client(
            StatusCode::CONFLICT,
            "device_taken",
            "this device is registered to another user",
        )
        .into_response()),
        Err(AccountError::ActorTaken) => Err(ApiError::client(
            StatusCode::CONFLICT,
            "actor_taken",
            "this actor id is or was registered to another device",
        )
        .into_response()),
        Err(e) => Err(ApiError::Internal(e.into()).into_response()),
    }
}

async fn logout(State(state): State<AppState>, auth: DeviceAuth) -> ApiResult<StatusCode> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        store.write(|tx| -> anyhow::Result<()> {
            accounts::delete_token(tx, &auth.token_hash)?;
            audit::append(
                tx,
                now_ms(),
                &audit::Entry {
                    user: &auth.user,
                    device: &auth.device_id.to_string(),
                    action: "logout",
                    ..audit::Entry::default()
                },
            )?;
            Ok(())
        })
    })
    .await??;
    Ok(StatusCode::NO_CONTENT)
}
