//! Attachment bytes, on their own endpoints beside `POST /v1/sync` (`docs/protocol.md`
//! §11): upload state, chunk upload, and fetch with byte ranges.

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT_RANGES, CACHE_CONTROL, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use futures::StreamExt;
use sync_core::attachment::CHUNK_BYTES;
use sync_core::attachment::transfer::UploadState;
use sync_core::model::Role;

use crate::auth::RecordAuth;
use crate::blobs::upload::{self, Target};
use crate::error::{ApiError, ApiResult};
use crate::{AppState, audit, now_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/attachments/{record}/{hash}", get(fetch))
        .route("/v1/attachments/{record}/{hash}/upload", get(upload_state))
        .route(
            "/v1/attachments/{record}/{hash}/chunks/{index}",
            // No `DefaultBodyLimit`: the handler streams the body itself (`read_chunk` stops
            // past one chunk), which that layer does not govern.
            put(put_chunk),
        )
}

async fn upload_state(
    State(state): State<AppState>,
    RecordAuth(auth): RecordAuth,
    Path((record, hash)): Path<(String, String)>,
) -> ApiResult<Json<UploadState>> {
    let t = upload::resolve(&state, &auth.units, &record, &hash).await?;
    counted(&state, upload::check_limit(&state, &t.meta))?;
    // A chunk request still under way (its cut not yet noticed) is waited for, up to a bound
    // (a slow sender must not hold the answer).
    let lock = state.uploads.lock_of(&hash);
    let _held = tokio::time::timeout(STATE_WAIT, lock.lock()).await;
    Ok(Json(upload::state_of(state.blobs.as_ref(), &t.meta).await?))
}

/// The longest an upload's state waits for a chunk request of its blob under way.
const STATE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// `?from=N`: the chunk's bytes from byte N on (the server holds the first N from a request
/// that was cut).
#[derive(Debug, serde::Deserialize)]
struct ChunkQuery {
    #[serde(default)]
    from: u64,
}

/// Counts a refusal for good (`too_large`, `hash_mismatch`, `wrong_type`) in the metrics
/// before it is answered: the device files it as failed, the operators see it here.
fn counted<T>(state: &AppState, r: ApiResult<T>) -> ApiResult<T> {
    if let Err(ApiError::Client { code, .. }) = &r {
        tracing::warn!(code, "attachment upload refused");
        state.metrics.upload_refused(code);
    }
    r
}

async fn put_chunk(
    State(state): State<AppState>,
    RecordAuth(auth): RecordAuth,
    Path((record, hash, index)): Path<(String, String, u64)>,
    Query(q): Query<ChunkQuery>,
    body: Body,
) -> ApiResult<Json<UploadState>> {
    // All of it on a task of its own: when the link is cut mid-body, the connection's task
    // drops this handler, and what arrived must still be kept.
    let done = tokio::spawn(async move {
        let lock = state.uploads.lock_of(&hash);
        let _held = lock.lock().await;
        let t = upload::resolve(&state, &auth.units, &record, &hash).await?;
        counted(&state, upload::check_limit(&state, &t.meta))?;
        let blobs = state.blobs.as_ref();
        let done = match read_chunk(body).await {
            Read::Whole(got) => upload::put_chunk(blobs, &t.meta, index, q.from, got).await,
            Read::TooLong => Err(ApiError::client(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("a chunk is at most {CHUNK_BYTES} bytes"),
            )),
            Read::Cut(got) => {
                upload::keep_cut(blobs, &t.meta, index, q.from, got).await?;
                // 408: transient for any client (the answer rarely reaches it anyway).
                Err(ApiError::client(
                    StatusCode::REQUEST_TIMEOUT,
                    "incomplete_chunk",
                    "the chunk's request ended before its bytes did; what arrived is kept"
                        .to_owned(),
                ))
            }
        };
        let done = counted(&state, done)?;
        if done.assembled {
            state.metrics.blob_completed();
        }
        ApiResult::Ok(done.state)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("chunk task: {e}")))?;
    Ok(Json(done?))
}

/// A chunk's request body as it arrived.
enum Read {
    /// Whole (`upload::put_chunk` checks its length against the chunk's).
    Whole(Bytes),
    /// Ended early, the link cut: what arrived.
    Cut(Bytes),
    /// Longer than any chunk.
    TooLong,
}

/// The body, up to one chunk.
async fn read_chunk(body: Body) -> Read {
    let mut got = bytes::BytesMut::new();
    let mut stream = body.into_data_stream();
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(b) if got.len() + b.len() <= CHUNK_BYTES => got.extend_from_slice(&b),
            Ok(_) => return Read::TooLong,
            Err(_) => return Read::Cut(got.freeze()),
        }
    }
    Read::Whole(got.freeze())
}

/// `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` of a blob of `size` bytes, as `from..to`;
/// `None` for no (or an unusable) header: the whole blob.
fn parse_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(v) = headers.get(RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some((a, b)) = v
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
    else {
        return Ok(None);
    };
    let bad = || {
        ApiError::client(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "bad_range",
            format!("ask for one range within the attachment's {size} bytes"),
        )
    };
    let (from, to) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| bad())?;
            (size.saturating_sub(n), size)
        }
        (a, "") => (a.parse().map_err(|_| bad())?, size),
        (a, b) => {
            let b: u64 = b.parse().map_err(|_| bad())?;
            (a.parse().map_err(|_| bad())?, b.saturating_add(1).min(size))
        }
    };
    if from >= to || from >= size {
        return Err(bad());
    }
    Ok(Some((from, to)))
}

async fn fetch(
    State(state): State<AppState>,
    RecordAuth(auth): RecordAuth,
    Path((record, hash)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let t = upload::resolve(&state, &auth.units, &record, &hash).await?;
    if state.blobs.blob_size(&t.meta.hash).await? != Some(t.meta.size) {
        return Err(ApiError::client(
            StatusCode::NOT_FOUND,
            "not_uploaded",
            "the attachment's bytes have not reached the server yet",
        ));
    }
    let size = t.meta.size;
    let range = parse_range(&headers, size)?;
    let (from, to) = range.unwrap_or((0, size));
    if auth.role == Role::Admin {
        audit_read(
            &state,
            &auth.user,
            &auth.device_id.to_string(),
            &t,
            (from, to),
        )
        .await?;
    }
    let bytes = state.blobs.get_range(&t.meta.hash, from, to).await?;
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    Ok(blob_response(status, &t, bytes, range.map(|_| (from, to))))
}

/// The reply carrying blob bytes: its type, its hash as the entity tag, never cached.
pub(crate) fn blob_response(
    status: StatusCode,
    t: &Target,
    bytes: Bytes,
    range: Option<(u64, u64)>,
) -> Response {
    let mut resp = (status, bytes).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&t.meta.mime) {
        h.insert(CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", t.meta.hash)) {
        h.insert(ETAG, v);
    }
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Some((from, to)) = range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {from}-{}/{}", to - 1, t.meta.size))
    {
        h.insert(CONTENT_RANGE, v);
    }
    resp
}

/// Audits an admin's fetch as a read of personal data, committed before the bytes leave.
pub(crate) async fn audit_read(
    state: &AppState,
    user: &str,
    device: &str,
    t: &Target,
    (from, to): (u64, u64),
) -> ApiResult<()> {
    let (user, device) = (user.to_owned(), device.to_owned());
    let (record, unit, hash) = (t.record.to_string(), t.unit.clone(), t.meta.hash.clone());
    state
        .writer
        .run(move |tx| {
            let e = audit::Entry {
                user: &user,
                device: &device,
                action: "attachment_read",
                records: vec![record.clone()],
                details: serde_json::json!({"unit": unit, "hash": hash, "from": from, "to": to}),
            };
            audit::append(tx, now_ms(), &e)?;
            Ok(())
        })
        .await?;
    Ok(())
}
