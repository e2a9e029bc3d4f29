//! `POST /v1/admin/records/{id}/redact`: an admin removes a wrongly entered value from a
//! record's history ([`crate::redact`], `docs/protocol.md` §13). Admin role only.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Deserializer};
use sync_core::model::Value;

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::redact::{self, Admin, Keep, Outcome, RedactError, Redaction};
use crate::{AppState, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/records/{id}/redact", post(redact_record))
}

/// Body of `POST /v1/admin/records/{id}/redact`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactBody {
    /// The field whose other values are removed.
    pub field: String,
    /// Why (required, at most 1000 characters; audited).
    pub reason: String,
    /// What the field keeps: absent = its current value, `null` = nothing (cleared), else
    /// this value.
    #[serde(default, deserialize_with = "present")]
    pub keep: Option<Option<Value>>,
}

/// Tells a `null` `keep` (clear) from an absent one (keep the current value).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Value>>, D::Error> {
    Option::<Value>::deserialize(d).map(Some)
}

/// The HTTP answer of a refused redaction.
pub fn redact_error(e: RedactError) -> ApiError {
    match e {
        RedactError::NotFound => ApiError::not_found("no such record"),
        RedactError::Invalid(m) => ApiError::bad_request("invalid_redaction", m),
        RedactError::NotAdmin => ApiError::forbidden("admin_only", "this needs the admin role"),
        RedactError::Internal(e) => ApiError::Internal(e),
    }
}

async fn redact_record(
    State(state): State<AppState>,
    AdminAuth(auth): AdminAuth,
    Path(id): Path<String>,
    body: Result<Json<RedactBody>, JsonRejection>,
) -> ApiResult<Json<Outcome>> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiError::bad_request("malformed_request", "the id is not a UUID"))?;
    let Json(body) = body.map_err(super::json_error)?;
    let req = Redaction {
        field: body.field,
        reason: body.reason,
        keep: match body.keep {
            None => Keep::Current,
            Some(None) => Keep::Clear,
            Some(Some(v)) => Keep::Value(v),
        },
    };
    let device = auth.device_id.to_string();
    let outcome = state
        .writer
        .run(move |tx| {
            let admin = Admin {
                user: &auth.user,
                via: "api",
                device: &device,
            };
            redact::redact(tx, id, &req, admin, now_ms()).map_err(|e| match e {
                RedactError::Internal(e) => e,
                refused => anyhow::Error::new(refused),
            })
        })
        .await
        .map_err(|e| match e.downcast::<RedactError>() {
            Ok(refused) => redact_error(refused),
            Err(e) => ApiError::from(e),
        })?;
    // The old document must not be served from memory either.
    state.cache.remove(id);
    let store = state.store.clone();
    let mut outcome = outcome;
    outcome.scrubbed = match tokio::task::spawn_blocking(move || redact::scrub(&store)).await? {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(record = %id, error = %e, "a redaction's bytes may stay in the database files until the next checkpoint or vacuum");
            false
        }
    };
    Ok(Json(outcome))
}
