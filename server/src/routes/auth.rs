//! `POST /v1/login` and `POST /v1/logout`.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sync_core::model::Role;
use uuid::Uuid;

use crate::accounts::{self, AccountError, LockoutPolicy};
use crate::auth::DeviceAuth;
use crate::error::{ApiError, ApiResult};
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
    /// The role: `officer`, `staff` or `admin`.
    pub role: Role,
    /// The units the user may see and write (every current unit for admins).
    pub units: Vec<String>,
}

enum Outcome {
    Ok(LoginReply),
    Locked,
    BadCredentials,
    Disabled,
    Device(AccountError),
}

async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> ApiResult<Json<LoginReply>> {
    let Json(req) = body.map_err(super::json_error)?;
    let actor = hex::decode(&req.actor_id)
        .ok()
        .filter(|a| a.len() == 16)
        .ok_or_else(|| {
            ApiError::bad_request("malformed_request", "`actor_id` must be 32 hex characters")
        })?;
    if req.username.len() > 64 || req.password.len() > 1024 {
        return Err(ApiError::unauthorized("wrong user name or password"));
    }
    let device_name: String = req
        .device_name
        .unwrap_or_default()
        .chars()
        .take(100)
        .collect();
    let config = state.config.clone();
    let pool = state.pool.clone();
    let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<Outcome> {
        let now = now_ms();
        let user = pool.read(|c| accounts::get_user(c, &req.username))?;
        let policy = LockoutPolicy {
            attempts: config.lockout_attempts,
            duration_ms: config.lockout().as_millis() as i64,
        };
        let fail =
            |action_user: &str, reason: &str, user_id: Option<i64>| -> anyhow::Result<bool> {
                pool.write(|tx| -> anyhow::Result<bool> {
                    let locked = match user_id {
                        Some(id) => accounts::record_failure(tx, id, now, policy)?,
                        None => false,
                    };
                    audit::append(
                        tx,
                        now,
                        &audit::Entry {
                            user: action_user,
                            device: &req.device_id.to_string(),
                            action: "login_failed",
                            details: serde_json::json!({"reason": reason, "locked": locked}),
                            ..audit::Entry::default()
                        },
                    )?;
                    Ok(locked)
                })
            };
        let Some(user) = user else {
            // Same work as for a real user, so names cannot be probed by timing.
            let _ = accounts::verify_password(accounts::dummy_hash(), &req.password);
            fail(&req.username, "unknown_user", None)?;
            return Ok(Outcome::BadCredentials);
        };
        if user.is_locked(now) {
            fail(&user.username, "locked", None)?;
            return Ok(Outcome::Locked);
        }
        if !accounts::verify_password(user.password_hash(), &req.password) {
            let locked = fail(&user.username, "wrong_password", Some(user.id))?;
            return Ok(if locked {
                Outcome::Locked
            } else {
                Outcome::BadCredentials
            });
        }
        if user.disabled {
            fail(&user.username, "disabled", None)?;
            return Ok(Outcome::Disabled);
        }
        let ttl = config.token_ttl().as_millis() as i64;
        let actor_hex = hex::encode(&actor);
        let result = pool.write(|tx| -> anyhow::Result<Result<(String, i64), AccountError>> {
            if let Err(e) =
                accounts::register_device(tx, user.id, req.device_id, &actor_hex, &device_name, now)
            {
                return Ok(Err(e));
            }
            accounts::record_success(tx, user.id)?;
            let issued = accounts::issue_token(tx, user.id, req.device_id, now, ttl)?;
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
            Ok(Ok(issued))
        })?;
        Ok(match result {
            Ok((token, expires_at)) => Outcome::Ok(LoginReply {
                token,
                expires_at,
                user: user.username.clone(),
                role: user.role,
                units: user.scopes(),
            }),
            Err(e) => {
                fail(&user.username, "device_refused", None)?;
                Outcome::Device(e)
            }
        })
    })
    .await??;
    state.metrics.login(matches!(outcome, Outcome::Ok(_)));
    match outcome {
        Outcome::Ok(reply) => Ok(Json(reply)),
        Outcome::BadCredentials => Err(ApiError::unauthorized("wrong user name or password")),
        Outcome::Locked => Err(ApiError::client(
            StatusCode::TOO_MANY_REQUESTS,
            "account_locked",
            "too many failed logins: the account is locked for a while",
        )),
        Outcome::Disabled => Err(ApiError::forbidden(
            "account_disabled",
            "the account is disabled",
        )),
        Outcome::Device(AccountError::DeviceRevoked) => Err(ApiError::forbidden(
            "device_revoked",
            "this device was revoked",
        )),
        Outcome::Device(AccountError::DeviceOfAnotherUser) => Err(ApiError::client(
            StatusCode::CONFLICT,
            "device_taken",
            "this device is registered to another user",
        )),
        Outcome::Device(AccountError::ActorTaken) => Err(ApiError::client(
            StatusCode::CONFLICT,
            "actor_taken",
            "this actor id is registered to another device",
        )),
        Outcome::Device(e) => Err(ApiError::Internal(e.into())),
    }
}

async fn logout(State(state): State<AppState>, auth: DeviceAuth) -> ApiResult<StatusCode> {
    let pool = state.pool.clone();
    tokio::task::spawn_blocking(move || {
        pool.write(|tx| -> anyhow::Result<()> {
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
