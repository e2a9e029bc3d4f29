//! `GET /v1/records/{id}/sensitive`: a record's sensitive values (`docs/protocol.md` §12) for
//! a device of a role that reads them (police office staff, admins). Devices never receive
//! them through sync; this online read is the only way, and every read is audited
//! (`sensitive_read`, naming the fields, never their values).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sync_core::model::{Role, Value, sensitivity};
use uuid::Uuid;

use crate::auth::RecordAuth;
use crate::error::{ApiError, ApiResult};
use crate::{AppState, audit, feed, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/records/{id}/sensitive", get(read))
}

/// The answer: the record's current sensitive values by field (a field without a value is
/// absent).
#[derive(Debug, Serialize)]
pub struct SensitiveView {
    /// The record.
    pub record: Uuid,
    /// Field → value.
    pub fields: BTreeMap<String, Value>,
}

async fn read(
    State(state): State<AppState>,
    RecordAuth(auth): RecordAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<SensitiveView>> {
    if !sensitivity::reads_sensitive(auth.role) {
        return Err(ApiError::forbidden(
            "sensitive_not_readable",
            "this role does not read sensitive fields (religion, ethnicity, blood type, biometrics flags)",
        ));
    }
    let id = Uuid::parse_str(id.trim())
        .map_err(|_| ApiError::bad_request("malformed_request", "the id is not a UUID"))?;
    let store = state.store.clone();
    let units = auth.units.clone();
    let admin = auth.role == Role::Admin;
    let fields = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        store.read(|c| -> ApiResult<_> {
            // A record outside the caller's units is answered as if it did not exist.
            match feed::get_record(c, id)? {
                Some(r) if admin || units.contains(&r.unit) => {
                    Ok(crate::sensitive::values_of(c, id)?)
                }
                _ => Err(ApiError::not_found("no such record in your units")),
            }
        })
    })
    .await??;
    let names: Vec<String> = fields.keys().cloned().collect();
    state
        .writer
        .run(move |tx| {
            let device = auth.device_id.to_string();
            audit::append(
                tx,
                now_ms(),
                &audit::Entry {
                    user: &auth.user,
                    device: &device,
                    action: "sensitive_read",
                    records: vec![id.to_string()],
                    details: serde_json::json!({ "fields": names }),
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(Json(SensitiveView { record: id, fields }))
}
