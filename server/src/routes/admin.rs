//! The admin JSON API under `/v1/admin/` (admin role only). Every account and device change
//! and every read of a record is written to the audit trail.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sync_core::doc::{FieldConflict, RecordDoc};
use sync_core::model::{Finding, Role, Value};
use uuid::Uuid;

use crate::accounts::{self, AccountError, Device, User};
use crate::auth::AdminAuth;
use crate::db::Sql;
use crate::error::{ApiError, ApiResult};
use crate::{AppState, audit, feed, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/users", get(list_users).post(add_user))
        .route("/v1/admin/users/{name}/password", post(set_password))
        .route("/v1/admin/users/{name}/units", put(set_units))
        .route("/v1/admin/users/{name}/display-name", put(set_display_name))
        .route("/v1/admin/users/{name}/disable", post(disable))
        .route("/v1/admin/users/{name}/enable", post(enable))
        .route("/v1/admin/devices", get(list_devices))
        .route("/v1/admin/devices/{id}/revoke", post(revoke))
        .route("/v1/admin/records/{id}", get(record))
        .route("/v1/admin/records/{id}/doc", get(record_doc))
}

/// Runs a blocking write that may fail with an [`AccountError`] or a store error.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await?
}

fn entry<'a>(auth: &'a AdminAuth, device: &'a str, action: &'a str) -> audit::Entry<'a> {
    audit::Entry {
        user: &auth.0.user,
        device,
        action,
        ..audit::Entry::default()
    }
}

async fn list_users(State(state): State<AppState>, _auth: AdminAuth) -> ApiResult<Json<Vec<User>>> {
    let store = state.store.clone();
    Ok(Json(
        blocking(move || Ok(store.read(|c| accounts::list_users(c))?)).await?,
    ))
}

/// Body of `POST /v1/admin/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Account name.
    pub username: String,
    /// Password; generated and returned when absent.
    #[serde(default)]
    pub password: Option<String>,
    /// Role.
    pub role: Role,
    /// Assigned units.
    #[serde(default)]
    pub units: Vec<String>,
    /// The name people read for the user ("Nguyễn Thị Lan"); stored in NFC, at most 100
    /// characters, no control characters.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Reply of user creation and password changes.
#[derive(Debug, Serialize)]
pub struct UserReply {
    /// The account.
    pub user: User,
    /// The generated password, when one was generated (shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

async fn add_user(
    State(state): State<AppState>,
    auth: AdminAuth,
    body: Result<Json<NewUser>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<UserReply>)> {
    let Json(req) = body.map_err(super::json_error)?;
    let store = state.store.clone();
    let reply = blocking(move || {
        let (password, generated) = match req.password {
            Some(p) => (p, None),
            None => {
                let p = accounts::random_password();
                (p.clone(), Some(p))
            }
        };
        accounts::check_password(&password)?;
        let hash = accounts::hash_password(&password)?;
        let device = auth.0.device_id.to_string();
        let user = store.write(|tx| -> Result<User, ApiError> {
            let mut user =
                accounts::add_user(tx, &req.username, &hash, req.role, &req.units, now_ms())?;
            if req.display_name.is_some() {
                user = accounts::set_display_name(tx, &req.username, req.display_name.as_deref())?;
            }
            let mut e = entry(&auth, &device, "user_add");
            e.details = serde_json::json!({"username": user.username, "role": user.role,
                                           "units": user.units, "display_name": user.display_name});
            audit::append(tx, now_ms(), &e)?;
            Ok(user)
        })?;
        Ok(UserReply {
            user,
            password: generated,
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(reply)))
}

/// Body of `POST /v1/admin/users/{name}/password`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// The new password; generated and returned when absent.
    #[serde(default)]
    pub password: Option<String>,
}

async fn set_password(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(name): Path<String>,
    body: Result<Json<NewPassword>, JsonRejection>,
) -> ApiResult<Json<UserReply>> {
    let Json(req) = body.map_err(super::json_error)?;
    let store = state.store.clone();
    let reply = blocking(move || {
        let (password, generated) = match req.password {
            Some(p) => (p, None),
            None => {
                let p = accounts::random_password();
                (p.clone(), Some(p))
            }
        };
        accounts::check_password(&password)?;
        let hash = accounts::hash_password(&password)?;
        let device = auth.0.device_id.to_string();
        let user = store.write(|tx| -> Result<User, ApiError> {
            accounts::set_password(tx, &name, &hash)?;
            let mut e = entry(&auth, &device, "user_passwd");
            e.details = serde_json::json!({"username": name});
            audit::append(tx, now_ms(), &e)?;
            Ok(accounts::get_user(tx, &name)?.ok_or(AccountError::NoSuchUser)?)
        })?;
        Ok(UserReply {
            user,
            password: generated,
        })
    })
    .await?;
    Ok(Json(reply))
}

/// Body of `PUT /v1/admin/users/{name}/units`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The user's units from now on (replaces the old list).
    pub units: Vec<String>,
    /// A new role, if it changes.
    #[serde(default)]
    pub role: Option<Role>,
}

async fn set_units(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(name): Path<String>,
    body: Result<Json<Assignment>, JsonRejection>,
) -> ApiResult<Json<User>> {
    let Json(req) = body.map_err(super::json_error)?;
    change_user(state, auth, "user_assign", move |tx| {
        let user = accounts::set_units(tx, &name, &req.units, req.role)?;
        let details = serde_json::json!({"username": name, "units": user.units, "role": user.role});
        Ok((user, details))
    })
    .await
}

/// Body of `PUT /v1/admin/users/{name}/display-name`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplayName {
    /// The new display name; `null` removes it (the account name shows again).
    pub display_name: Option<String>,
}

async fn set_display_name(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(name): Path<String>,
    body: Result<Json<DisplayName>, JsonRejection>,
) -> ApiResult<Json<User>> {
    let Json(req) = body.map_err(super::json_error)?;
    change_user(state, auth, "user_set", move |tx| {
        let user = accounts::set_display_name(tx, &name, req.display_name.as_deref())?;
        let details = serde_json::json!({"username": name, "display_name": user.display_name});
        Ok((user, details))
    })
    .await
}

/// Runs one change of an account in a write transaction with its audit row (`action`, with
/// the details `change` returns) and answers the account as it is afterwards.
async fn change_user(
    state: AppState,
    auth: AdminAuth,
    action: &'static str,
    change: impl FnOnce(&dyn Sql) -> Result<(User, serde_json::Value), ApiError> + Send + 'static,
) -> ApiResult<Json<User>> {
    let store = state.store.clone();
    let user = blocking(move || {
        let device = auth.0.device_id.to_string();
        store.write(|tx| -> Result<User, ApiError> {
            let (user, details) = change(tx)?;
            let mut e = entry(&auth, &device, action);
            e.details = details;
            audit::append(tx, now_ms(), &e)?;
            Ok(user)
        })
    })
    .await?;
    Ok(Json(user))
}

async fn set_disabled(
    state: AppState,
    auth: AdminAuth,
    name: String,
    disabled: bool,
) -> ApiResult<StatusCode> {
    let store = state.store.clone();
    blocking(move || {
        let device = auth.0.device_id.to_string();
        store.write(|tx| -> Result<(), ApiError> {
            accounts::set_disabled(tx, &name, disabled)?;
            let action = if disabled {
                "user_disable"
            } else {
                "user_enable"
            };
            let mut e = entry(&auth, &device, action);
            e.details = serde_json::json!({"username": name});
            audit::append(tx, now_ms(), &e)?;
            Ok(())
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disable(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    set_disabled(state, auth, name, true).await
}

async fn enable(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    set_disabled(state, auth, name, false).await
}

/// Query of `GET /v1/admin/devices`.
#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    /// Only this user's devices.
    pub user: Option<String>,
}

async fn list_devices(
    State(state): State<AppState>,
    _auth: AdminAuth,
    Query(q): Query<DeviceQuery>,
) -> ApiResult<Json<Vec<Device>>> {
    let store = state.store.clone();
    Ok(Json(
        blocking(move || Ok(store.read(|c| accounts::list_devices(c, q.user.as_deref()))?)).await?,
    ))
}

fn parse_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id)
        .map_err(|_| ApiError::bad_request("malformed_request", "the id is not a UUID"))
}

async fn revoke(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Device>> {
    let id = parse_id(&id)?;
    let store = state.store.clone();
    let device = blocking(move || {
        let me = auth.0.device_id.to_string();
        store.write(|tx| -> Result<Device, ApiError> {
            let device = accounts::revoke_device(tx, id)?;
            let mut e = entry(&auth, &me, "device_revoke");
            e.details = serde_json::json!({"device": id.to_string(), "user": device.user});
            audit::append(tx, now_ms(), &e)?;
            Ok(device)
        })
    })
    .await?;
    Ok(Json(device))
}

/// `GET /v1/admin/records/{id}`.
#[derive(Debug, Serialize)]
pub struct RecordView {
    /// Record id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// Current unit.
    pub unit: String,
    /// The kind fields (winning values).
    pub fields: std::collections::BTreeMap<String, Value>,
    /// Current heads, hex.
    pub heads: Vec<String>,
    /// Data-quality findings.
    pub findings: Vec<Finding>,
    /// Fields holding concurrent values.
    pub conflicts: Vec<FieldConflict>,
    /// Last accepted write (ms).
    pub updated_ms: i64,
    /// The record's sensitive values (`docs/protocol.md` §12), kept apart from its document;
    /// admins read them (the read is the audited `record_read`).
    pub sensitive: std::collections::BTreeMap<String, Value>,
}

/// Loads a record on a reader connection, then audits the read through the group-commit
/// writer; the record is handed out only once the audit row is committed.
async fn read_audited(
    state: &AppState,
    auth: AdminAuth,
    id: &str,
    action: &'static str,
) -> ApiResult<feed::StoredRecord> {
    let id = parse_id(id)?;
    let store = state.store.clone();
    let record = blocking(move || {
        store
            .read(|c| feed::get_record(c, id))?
            .ok_or_else(|| ApiError::not_found("no such record"))
    })
    .await?;
    let unit = record.unit.clone();
    state
        .writer
        .run(move |tx| {
            let me = auth.0.device_id.to_string();
            let mut e = entry(&auth, &me, action);
            e.records = vec![id.to_string()];
            e.details = serde_json::json!({"unit": unit});
            audit::append(tx, now_ms(), &e)?;
            Ok(())
        })
        .await?;
    Ok(record)
}

async fn record(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordView>> {
    let stored = read_audited(&state, auth, &id, "record_read").await?;
    let store = state.store.clone();
    let view = blocking(move || {
        let doc = RecordDoc::load(&stored.doc).map_err(anyhow::Error::from)?;
        let record = doc.read().map_err(anyhow::Error::from)?;
        let sensitive = store.read(|c| crate::sensitive::values_of(c, stored.id))?;
        Ok(RecordView {
            sensitive,
            id: stored.id,
            kind: stored.kind,
            unit: stored.unit,
            fields: record.fields,
            heads: doc.heads().iter().map(|h| h.to_string()).collect(),
            findings: serde_json::from_str(&stored.findings).unwrap_or_default(),
            conflicts: doc.conflicts(),
            updated_ms: stored.updated_ms,
        })
    })
    .await?;
    Ok(Json(view))
}

async fn record_doc(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let stored = read_audited(&state, auth, &id, "record_export").await?;
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.automerge\"", stored.id),
            ),
        ],
        stored.doc,
    ))
}
