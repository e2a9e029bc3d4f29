//! Request authentication as extractors.
//!
//! - [`DeviceAuth`]: a valid bearer token of an enabled user on a device that is not revoked.
//! - [`SyncAuth`]: like [`DeviceAuth`], but also lets through a revoked device that has a wipe
//!   order waiting, so that `POST /v1/sync` can answer it with `wipe: true` — with any token
//!   ever issued to the device (also one ended by a password change or disable, or expired
//!   less than [`accounts::WIPE_TOKEN_GRACE_MS`] ago) and whether or not its user is still
//!   enabled.
//! - [`AdminAuth`]: a [`DeviceAuth`] whose user is an admin (403 otherwise).

use automerge::ActorId;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sync_core::model::Role;
use uuid::Uuid;

use crate::AppState;
use crate::accounts::{self, TokenInfo};
use crate::error::ApiError;

/// An authenticated device.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    /// The user's name.
    pub user: String,
    /// The user's row id.
    pub user_id: i64,
    /// The user's role.
    pub role: Role,
    /// The units the user may see and write (every current unit for admins).
    pub units: Vec<String>,
    /// The device.
    pub device_id: Uuid,
    /// The actor id registered to the device.
    pub actor: ActorId,
    /// SHA-256 of the presented token.
    pub token_hash: [u8; 32],
    /// The device is revoked and must be told to wipe (only ever set through [`SyncAuth`]).
    pub wipe: bool,
}

/// [`DeviceAuth`] that also admits a revoked device with a pending wipe order, and refuses
/// leaders (`403 leader_cannot_sync`: a leader reads reports and holds no records).
#[derive(Debug, Clone)]
pub struct SyncAuth(pub DeviceAuth);

/// [`DeviceAuth`] of a role that holds records (not a leader: `403 leader_holds_no_records`),
/// for the routes that hand out or take a record's data outside the sync exchange
/// (attachments).
#[derive(Debug, Clone)]
pub struct RecordAuth(pub DeviceAuth);

/// [`DeviceAuth`] of an admin.
#[derive(Debug, Clone)]
pub struct AdminAuth(pub DeviceAuth);

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

async fn authenticate(
    parts: &Parts,
    state: &AppState,
    allow_wipe: bool,
) -> Result<DeviceAuth, ApiError> {
    let token =
        bearer(parts).ok_or_else(|| ApiError::unauthorized("a bearer token is required"))?;
    let hash = accounts::token_hash(token);
    let store = state.store.clone();
    let info: Option<TokenInfo> =
        tokio::task::spawn_blocking(move || store.read(|c| accounts::lookup_token(c, &hash)))
            .await??;
    let Some(info) = info else {
        return Err(ApiError::unauthorized("unknown or expired token"));
    };
    // A pending wipe order outlives everything else: a token ended by a password change or
    // a disable, an expired token, a disabled user. The device is told to wipe.
    let wipe = info.revoked && info.wipe_pending && allow_wipe;
    let now = crate::now_ms();
    if !wipe {
        if info.ended || info.expires_ms <= now {
            return Err(ApiError::unauthorized("unknown or expired token"));
        }
        if info.user.disabled {
            return Err(ApiError::unauthorized("the account is disabled"));
        }
        if info.revoked {
            return Err(ApiError::unauthorized("the device is revoked"));
        }
    }
    Ok(DeviceAuth {
        user: info.user.username.clone(),
        user_id: info.user.id,
        role: info.user.role,
        units: info.user.scopes(),
        device_id: info.device_id,
        actor: ActorId::from(info.actor.as_slice()),
        token_hash: hash,
        wipe,
    })
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state, false).await
    }
}

impl FromRequestParts<AppState> for SyncAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = authenticate(parts, state, true).await?;
        if auth.role == Role::Leader && !auth.wipe {
            return Err(ApiError::forbidden(
                "leader_cannot_sync",
                "the leader role reads aggregated reports (console, /v1/reports); it holds no records and cannot sync a device",
            ));
        }
        Ok(SyncAuth(auth))
    }
}

impl FromRequestParts<AppState> for RecordAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = authenticate(parts, state, false).await?;
        if auth.role == Role::Leader {
            return Err(ApiError::forbidden(
                "leader_holds_no_records",
                "the leader role reads aggregated reports; it holds no records, nor their attachments",
            ));
        }
        Ok(RecordAuth(auth))
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = authenticate(parts, state, false).await?;
        if auth.role != Role::Admin {
            return Err(ApiError::forbidden(
                "admin_only",
                "this needs the admin role",
            ));
        }
        Ok(AdminAuth(auth))
    }
}
