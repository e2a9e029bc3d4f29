//! `POST /v1/sync`: one exchange of sync protocol v1 (see `docs/protocol.md`).

use std::collections::BTreeSet;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sync_core::protocol::{
    self, Encoding, MIN_MAX_BYTES, ProtocolError, SyncReply, SyncRequest, decode_request,
    encode_reply,
};

use crate::auth::{DeviceAuth, SyncAuth};
use crate::config::{
    MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES, MAX_PUSH_CHANGES, MAX_PUSH_RECORDS, MAX_RESYNC,
};
use crate::error::{ApiError, ApiResult};
use crate::feed::{self, PullRequest};
use crate::sync::{self, Caller};
use crate::{AppState, accounts, audit, now_ms};

/// The media type of sync bodies.
pub const CBOR: &str = "application/cbor";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/sync", post(sync_handler))
}

async fn sync_handler(
    State(state): State<AppState>,
    SyncAuth(auth): SyncAuth,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let raw = match read_body(&headers, body).await {
        Ok(raw) => raw,
        Err(e) => {
            state.metrics.sync_failed(0);
            return e.into_response();
        }
    };
    let bytes_in = raw.len();
    match exchange(&state, auth, &headers, raw).await {
        Ok((reply, encoding)) => {
            let plain = encode_reply(&reply);
            let wire = protocol::compress(&plain, encoding);
            state
                .metrics
                .sync_done(bytes_in, wire.len(), started.elapsed());
            state.metrics.sent(reply.pull.len());
            let mut resp = (StatusCode::OK, wire).into_response();
            let h = resp.headers_mut();
            h.insert(CONTENT_TYPE, HeaderValue::from_static(CBOR));
            h.insert(VARY, HeaderValue::from_static("accept-encoding"));
            if let Some(enc) = encoding.header() {
                h.insert(CONTENT_ENCODING, HeaderValue::from_static(enc));
            }
            resp
        }
        Err(e) => {
            state.metrics.sync_failed(bytes_in);
            e.into_response()
        }
    }
}

/// Reads the body, refusing more than [`MAX_BODY_BYTES`] with 413.
async fn read_body(headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a sync body is at most {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if limit {
                too_large()
            } else {
                ApiError::bad_request("body_unreadable", "the request body could not be read")
            }
        })
}

fn protocol_error(e: ProtocolError) -> ApiError {
    match e {
        ProtocolError::Malformed(m) => ApiError::bad_request(
            "malformed_request",
            format!("the body is not a valid SyncRequest: {m}"),
        ),
        ProtocolError::UnsupportedVersion(v) => ApiError::bad_request(
            "unsupported_version",
            format!(
                "protocol version {v} is not supported; this server speaks {}",
                protocol::PROTOCOL_VERSION
            ),
        ),
        ProtocolError::TooLarge(n) => ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a sync body is at most {n} bytes once decompressed"),
        ),
        ProtocolError::BadCompression => {
            ApiError::bad_request("bad_compression", "the compressed body is corrupt")
        }
        ProtocolError::UnknownEncoding(enc) => ApiError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("content encoding `{enc}` is not supported (use gzip or zstd)"),
        ),
    }
}

/// Decodes, checks and runs one exchange; returns the reply and its content encoding.
async fn exchange(
    state: &AppState,
    auth: DeviceAuth,
    headers: &HeaderMap,
    raw: Bytes,
) -> ApiResult<(SyncReply, Encoding)> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let reply_encoding = Encoding::negotiate(header(ACCEPT_ENCODING));
    // A revoked device is told to wipe whatever it sent.
    if auth.wipe {
        let pool = state.pool.clone();
        let device = auth.device_id;
        tokio::task::spawn_blocking(move || {
            pool.write(|tx| -> anyhow::Result<()> {
                accounts::wiped(tx, device)?;
                audit::append(
                    tx,
                    now_ms(),
                    &audit::Entry {
                        user: &auth.user,
                        device: &device.to_string(),
                        action: "device_wiped",
                        ..audit::Entry::default()
                    },
                )?;
                Ok(())
            })
        })
        .await??;
        let mut reply = SyncReply::empty(now_ms());
        reply.wipe = true;
        return Ok((reply, reply_encoding));
    }
    let request_encoding = Encoding::parse(header(CONTENT_ENCODING)).map_err(protocol_error)?;
    let req: SyncRequest = tokio::task::spawn_blocking(move || {
        protocol::decompress(&raw, request_encoding, MAX_DECOMPRESSED_BYTES)
            .and_then(|plain| decode_request(&plain))
    })
    .await?
    .map_err(protocol_error)?;

    if req.device_id != auth.device_id {
        return Err(ApiError::forbidden(
            "device_mismatch",
            "the request's device_id is not the device this token was issued to",
        ));
    }
    let changes: usize = req.push.iter().map(|p| p.changes.len()).sum();
    if req.push.len() > MAX_PUSH_RECORDS || changes > MAX_PUSH_CHANGES {
        return Err(ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_changes",
            format!(
                "push at most {MAX_PUSH_RECORDS} records and {MAX_PUSH_CHANGES} changes per request"
            ),
        ));
    }
    if req.resync.len() > MAX_RESYNC || req.cursors.len() > 1_000 {
        return Err(ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_ids",
            format!("list at most {MAX_RESYNC} resync ids and 1000 cursors per request"),
        ));
    }

    let max_reply = state.config.max_reply_bytes.max(MIN_MAX_BYTES);
    let max_bytes = req.max_bytes.clamp(MIN_MAX_BYTES, max_reply);
    let pool = state.pool.clone();
    let metrics = state.metrics.clone();
    let reply = tokio::task::spawn_blocking(move || {
        pool.write(|tx| -> anyhow::Result<SyncReply> {
            let now = now_ms();
            let caller = Caller {
                role: auth.role,
                scopes: auth.units.iter().cloned().collect::<BTreeSet<_>>(),
                device_id: auth.device_id,
                actor: auth.actor.clone(),
            };
            let pushed = sync::push(tx, &caller, &req.push, now)?;
            let mut reply = SyncReply::empty(now);
            reply.accepted = pushed.accepted;
            reply.rejected = pushed.rejected;
            let stats = feed::build_pull(
                tx,
                &PullRequest {
                    device_id: auth.device_id,
                    scopes: &auth.units,
                    cursors: &req.cursors,
                    resync: &req.resync,
                    max_bytes,
                },
                &mut reply,
            )?;
            crate::directory::annotate(tx, &auth.units, &req.cursors, auth.device_id, &mut reply)?;
            accounts::touch_device(
                tx,
                auth.device_id,
                &serde_json::json!({
                    "outbox_len": req.status.outbox_len,
                    "oldest_pending_ms": req.status.oldest_pending_ms,
                    "app_version": req.status.app_version.chars().take(64).collect::<String>(),
                }),
                now,
            )?;
            let rejected: Vec<String> = reply
                .rejected
                .iter()
                .map(|r| r.record.to_string())
                .collect();
            let accepted: Vec<String> = pushed
                .accepted_records
                .iter()
                .map(ToString::to_string)
                .collect();
            let sent: Vec<String> = stats.sent.iter().map(ToString::to_string).collect();
            let mut records: Vec<String> = accepted
                .iter()
                .chain(&rejected)
                .chain(&sent)
                .cloned()
                .collect();
            records.sort();
            records.dedup();
            audit::append(
                tx,
                now,
                &audit::Entry {
                    user: &auth.user,
                    device: &auth.device_id.to_string(),
                    action: "sync",
                    records,
                    details: serde_json::json!({
                        "pushed": accepted,
                        "new_changes": pushed.new_changes,
                        "rejected": reply.rejected.iter().map(|r| serde_json::json!({
                            "record": r.record.to_string(), "code": r.code.as_str()
                        })).collect::<Vec<_>>(),
                        "sent": sent,
                        "purged": reply.purge.len(),
                        "more": reply.more,
                    }),
                },
            )?;
            metrics.accepted(pushed.new_changes);
            for r in &reply.rejected {
                metrics.rejected(r.code);
            }
            Ok(reply)
        })
    })
    .await??;
    tracing::info!(
        accepted = reply.accepted.len(),
        rejected = reply.rejected.len(),
        pulled = reply.pull.len(),
        more = reply.more,
        "sync"
    );
    Ok((reply, reply_encoding))
}
