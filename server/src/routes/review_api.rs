//! The review queue's JSON API under `/v1/admin/review` (admin role only).
//!
//! - `GET /v1/admin/review?status=open&unit=&kind=&type=&older_than_days=&newer_than_days=&record=&limit=&offset=`
//!   → `{"items": [Item…], "counts": Counts}` (`status=all` lists every status). The list
//!   carries no whole records, but its items' competing values (a date of birth, a name), so
//!   it is audited as `review_list` with the records and items shown.
//! - `GET /v1/admin/review/{id}` → `{"item": Item, "records": [RecordSnapshot…]}`: the item
//!   with the current state of every record it concerns (audited as `review_read`).
//! - `POST /v1/admin/review/{id}/resolve` with `{"choice": 0}` (keep a competing value) or
//!   `{"value": …}` (write a new one).
//! - `POST /v1/admin/review/{id}/merge` with `{"survivor": "<record id>"}`.
//! - `POST /v1/admin/review/{id}/dismiss` with `{"reason": "…"}`.
//!
//! A resolution answers the updated item. An item that is no longer open answers
//! `409 {"error": "already_resolved"}` and nothing is written; a decision that does not fit
//! the item answers `400 {"error": "invalid_resolution"}`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sync_core::doc::{FieldConflict, RecordDoc};
use sync_core::model::Value;
use uuid::Uuid;

use crate::auth::AdminAuth;
use crate::db::{DbError, Sql};
use crate::error::{ApiError, ApiResult};
use crate::review::resolve::Resolver;
use crate::review::{self, Action, Counts, Filter, Item, ItemStatus, ItemType, ReviewError};
use crate::{AppState, audit, feed, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/review", get(list))
        .route("/v1/admin/review/{id}", get(show))
        .route("/v1/admin/review/{id}/resolve", post(resolve_item))
        .route("/v1/admin/review/{id}/merge", post(merge))
        .route("/v1/admin/review/{id}/dismiss", post(dismiss))
}

/// The API answer of a refused resolution.
pub fn review_error(e: ReviewError) -> ApiError {
    match e {
        ReviewError::NotFound => ApiError::not_found("no such review item"),
        e @ ReviewError::AlreadyClosed { .. } => {
            ApiError::client(StatusCode::CONFLICT, "already_resolved", e.to_string())
        }
        ReviewError::Invalid(m) => ApiError::bad_request("invalid_resolution", m),
        ReviewError::NotAdmin => ApiError::forbidden("admin_only", "this needs the admin role"),
        ReviewError::Internal(e) => ApiError::Internal(e),
    }
}

/// Query of `GET /v1/admin/review`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `open` (default), `resolved`, `dismissed` or `all`.
    pub status: Option<String>,
    /// Only this unit.
    pub unit: Option<String>,
    /// Only this record kind.
    pub kind: Option<String>,
    /// Only this item type.
    #[serde(rename = "type")]
    pub item_type: Option<String>,
    /// Only items opened at least this many days ago.
    pub older_than_days: Option<u32>,
    /// Only items opened less than this many days ago.
    pub newer_than_days: Option<u32>,
    /// Only items about this record.
    pub record: Option<Uuid>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Skip this many.
    pub offset: Option<u32>,
}

impl ListQuery {
    /// The store filter; 400 for unknown statuses and types.
    pub fn filter(&self) -> ApiResult<Filter> {
        let empty = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
        let status = match self.status.as_deref().unwrap_or("open") {
            "all" | "" => None,
            s => Some(ItemStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "malformed_request",
                    "status is open, resolved, dismissed or all",
                )
            })?),
        };
        let item_type = match empty(&self.item_type) {
            None => None,
            Some(t) => Some(ItemType::parse(&t).ok_or_else(|| {
                ApiError::bad_request("malformed_request", "unknown review item type")
            })?),
        };
        Ok(Filter {
            status,
            unit: empty(&self.unit),
            kind: empty(&self.kind),
            item_type,
            older_than_days: self.older_than_days,
            newer_than_days: self.newer_than_days,
            record: self.record,
            limit: self.limit,
            offset: self.offset,
        })
    }
}

/// Reply of `GET /v1/admin/review`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ListReply {
    /// Matching items, oldest first.
    pub items: Vec<Item>,
    /// Counts for the filter.
    pub counts: Counts,
}

/// The list carries competing values (dates of birth, names): it is audited as
/// `review_list` with the records it showed.
async fn list(
    State(state): State<AppState>,
    AdminAuth(auth): AdminAuth,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<ListReply>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("malformed_request", e.body_text()))?;
    let filter = q.filter()?;
    let now = now_ms();
    let reply = state
        .writer
        .run(move |tx| -> anyhow::Result<ListReply> {
            let reply = ListReply {
                items: review::list_items(tx, &filter, now)?,
                counts: review::count_items(tx, &filter, now)?,
            };
            audit_list(
                tx,
                &auth.user,
                &auth.device_id.to_string(),
                "api",
                &reply.items,
            )?;
            Ok(reply)
        })
        .await?;
    Ok(Json(reply))
}

/// Audits a listing of review items (`review_list`): the records concerned and item ids.
pub fn audit_list(
    tx: &dyn Sql,
    user: &str,
    device: &str,
    via: &str,
    items: &[Item],
) -> Result<(), DbError> {
    let mut records: Vec<String> = items
        .iter()
        .flat_map(|i| i.records.iter().map(Uuid::to_string))
        .collect();
    records.sort();
    records.dedup();
    audit::append(
        tx,
        now_ms(),
        &audit::Entry {
            user,
            device,
            action: "review_list",
            records,
            details: serde_json::json!({
                "items": items.iter().map(|i| i.id).collect::<Vec<_>>(),
                "via": via,
            }),
        },
    )?;
    Ok(())
}

/// A record as it stands now, shown with an item.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordSnapshot {
    /// Record id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// Unit.
    pub unit: String,
    /// Fields (winning values).
    pub fields: std::collections::BTreeMap<String, Value>,
    /// Fields with concurrent values.
    pub conflicts: Vec<FieldConflict>,
}

/// The current snapshots of `ids` (records the server does not have are left out).
pub fn snapshots(conn: &dyn Sql, ids: &[Uuid]) -> anyhow::Result<Vec<RecordSnapshot>> {
    let mut out = Vec::new();
    for id in ids {
        let Some(stored) = feed::get_record(conn, *id)? else {
            continue;
        };
        let doc = RecordDoc::load(&stored.doc)?;
        let record = doc.read()?;
        out.push(RecordSnapshot {
            id: *id,
            kind: stored.kind,
            unit: stored.unit,
            fields: record.fields,
            conflicts: doc.conflicts(),
        });
    }
    Ok(out)
}

/// Reply of `GET /v1/admin/review/{id}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ItemReply {
    /// The item.
    pub item: Item,
    /// The records it concerns, as they are now.
    pub records: Vec<RecordSnapshot>,
}

async fn show(
    State(state): State<AppState>,
    AdminAuth(auth): AdminAuth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ItemReply>> {
    // Read on a reader snapshot, then audit through the group-commit writer; the item is
    // answered only once the audit row is committed.
    let store = state.store.clone();
    let reply = tokio::task::spawn_blocking(move || {
        store.read(|snapshot| -> Result<ItemReply, ApiError> {
            let item = review::get_item(snapshot, id)?
                .ok_or_else(|| ApiError::not_found("no such review item"))?;
            let records = snapshots(snapshot, &item.records)?;
            Ok(ItemReply { item, records })
        })
    })
    .await??;
    let read: Vec<String> = reply.records.iter().map(|r| r.id.to_string()).collect();
    state
        .writer
        .run(move |tx| {
            audit::append(
                tx,
                now_ms(),
                &audit::Entry {
                    user: &auth.user,
                    device: &auth.device_id.to_string(),
                    action: "review_read",
                    records: read.clone(),
                    details: serde_json::json!({"item": id, "via": "api"}),
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(Json(reply))
}

/// Body of `POST /v1/admin/review/{id}/resolve`: exactly one of `choice` and `value`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// Index of the competing value to keep.
    #[serde(default)]
    pub choice: Option<usize>,
    /// A new value to write.
    #[serde(default)]
    pub value: Option<Value>,
}

/// Body of `POST /v1/admin/review/{id}/merge`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The record that stays.
    pub survivor: Uuid,
}

/// Body of `POST /v1/admin/review/{id}/dismiss`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DismissBody {
    /// Why.
    pub reason: String,
}

async fn apply(state: AppState, auth: AdminAuth, id: i64, action: Action) -> ApiResult<Json<Item>> {
    let device = auth.0.device_id.to_string();
    // Through the writer, so that on PostgreSQL a decision that lost a race on a key (the
    // audit chain's next row) runs again. A refusal rolls the transaction back like any error
    // and is answered as itself (409, 400…).
    let item = state
        .writer
        .run(move |tx| {
            review::resolve(
                tx,
                id,
                &action,
                &Resolver {
                    admin: &auth.0.user,
                    via: "api",
                    device: &device,
                },
                now_ms(),
            )
            .map_err(|e| match e {
                ReviewError::Internal(e) => e,
                refused => anyhow::Error::new(refused),
            })
        })
        .await
        .map_err(|e| match e.downcast::<ReviewError>() {
            Ok(refused) => review_error(refused),
            Err(e) => ApiError::from(e),
        })?;
    Ok(Json(item))
}

async fn resolve_item(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<i64>,
    body: Result<Json<ResolveBody>, JsonRejection>,
) -> ApiResult<Json<Item>> {
    let Json(body) = body.map_err(super::json_error)?;
    let action = match (body.choice, body.value) {
        (Some(choice), None) => Action::Choose { choice },
        (None, Some(value)) => Action::NewValue { value },
        _ => {
            return Err(ApiError::bad_request(
                "malformed_request",
                "send exactly one of `choice` and `value`",
            ));
        }
    };
    apply(state, auth, id, action).await
}

async fn merge(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<i64>,
    body: Result<Json<MergeBody>, JsonRejection>,
) -> ApiResult<Json<Item>> {
    let Json(body) = body.map_err(super::json_error)?;
    apply(
        state,
        auth,
        id,
        Action::Merge {
            survivor: body.survivor,
        },
    )
    .await
}

async fn dismiss(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<i64>,
    body: Result<Json<DismissBody>, JsonRejection>,
) -> ApiResult<Json<Item>> {
    let Json(body) = body.map_err(super::json_error)?;
    apply(
        state,
        auth,
        id,
        Action::Dismiss {
            reason: body.reason,
        },
    )
    .await
}
