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
    LARGE_BODY_BYTES, LARGE_BODY_PERMITS, MAX_BODY_BYTES, MAX_DECOMPRESSED_BYTES, MAX_PUSH_CHANGES,
    MAX_PUSH_RECORDS, MAX_RESYNC,
};
use crate::error::{ApiError, ApiResult};
use crate::exchange::{self, Engine, Syncer};
use crate::sync::Caller;
use crate::{AppState, compress, now_ms};
use http_body_util::BodyExt;
use sync_core::check::{self, limits::MAX_OPS_PER_PUSH};
use tokio::sync::{Semaphore, SemaphorePermit};

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
    // The permit (taken for large bodies only) is held until the reply is built.
    let (raw, _permit) = match read_body(&headers, body).await {
        Ok(raw) => raw,
        Err(e) => {
            state.metrics.sync_failed(0);
            return e.into_response();
        }
    };
    let bytes_in = raw.len();
    match exchange(&state, auth, &headers, raw).await {
        Ok((wire, pulled, encoding)) => {
            state
                .metrics
                .sync_done(bytes_in, wire.len(), started.elapsed());
            state.metrics.sent(pulled);
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

/// Large bodies in flight (see [`LARGE_BODY_BYTES`]).
static LARGE_BODIES: Semaphore = Semaphore::const_new(LARGE_BODY_PERMITS);

/// Reads the body, refusing more than [`MAX_BODY_BYTES`] with 413. A body declared or grown
/// past [`LARGE_BODY_BYTES`] waits for a large-body permit first, returned with the bytes.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<(Bytes, Option<SemaphorePermit<'static>>)> {
    let too_large = || {
        ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a sync body is at most {MAX_BODY_BYTES} bytes"),
        )
    };
    let unreadable =
        || ApiError::bad_request("body_unreadable", "the request body could not be read");
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let mut permit = None;
    if declared.is_some_and(|n| n > LARGE_BODY_BYTES as u64) {
        permit = LARGE_BODIES.acquire().await.ok();
    }
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| unreadable())?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let len = buf.len() + data.len();
        if len > MAX_BODY_BYTES {
            return Err(too_large());
        }
        if permit.is_none() && len > LARGE_BODY_BYTES {
            permit = LARGE_BODIES.acquire().await.ok();
        }
        buf.extend_from_slice(&data);
    }
    Ok((Bytes::from(buf), permit))
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

/// Decodes, checks and runs one exchange; returns the encoded (compressed) reply, the
/// number of pull entries and the content encoding.
async fn exchange(
    state: &AppState,
    auth: DeviceAuth,
    headers: &HeaderMap,
    raw: Bytes,
) -> ApiResult<(Vec<u8>, usize, Encoding)> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let reply_encoding = Encoding::negotiate(header(ACCEPT_ENCODING));
    let engine = Engine::of(state);
    // A revoked device is told to wipe whatever it sent.
    if auth.wipe {
        let reply = exchange::wipe(&engine, &auth.user, auth.device_id).await?;
        let wire = encode(reply, reply_encoding).await?;
        return Ok((wire.0, wire.1, reply_encoding));
    }
    let request_encoding = Encoding::parse(header(CONTENT_ENCODING)).map_err(protocol_error)?;
    // Decoding, and counting the pushed operations from each change's metadata, happen
    // here, before the writer is taken: an operation bomb is refused without holding it.
    let (req, ops): (SyncRequest, usize) = tokio::task::spawn_blocking(move || {
        protocol::decompress(&raw, request_encoding, MAX_DECOMPRESSED_BYTES)
            .and_then(|plain| decode_request(&plain))
            .map(|req| {
                let ops = check::count_push_ops(&req.push, MAX_OPS_PER_PUSH);
                (req, ops)
            })
    })
    .await?
    .map_err(protocol_error)?;
    check_limits(&req, &auth, ops)?;

    let max_reply = state.config.max_reply_bytes.max(MIN_MAX_BYTES);
    let max_bytes = req.max_bytes.clamp(MIN_MAX_BYTES, max_reply);
    let who = Syncer {
        user: auth.user.clone(),
        // Roles that read sensitive data also pull their units' restricted scopes (§12.1).
        units: sync_core::model::sensitivity::pull_scopes(auth.role, &auth.units),
        caller: Caller {
            role: auth.role,
            scopes: auth.units.iter().cloned().collect::<BTreeSet<_>>(),
            device_id: auth.device_id,
            actor: auth.actor.clone(),
        },
    };
    let (reply, epilogue) = exchange::exchange(&engine, &who, req, max_bytes).await?;
    tracing::info!(
        accepted = reply.accepted.len(),
        rejected = reply.rejected.len(),
        pulled = reply.pull.len(),
        more = reply.more,
        "sync"
    );
    // The audit row and the encoding of the reply proceed together; the reply leaves only
    // once the audit row is committed.
    let audited = engine.writer.run(move |tx| epilogue.write(tx, now_ms()));
    let (audited, wire) = tokio::join!(audited, encode(reply, reply_encoding));
    audited?;
    let (wire, pulled) = wire?;
    Ok((wire, pulled, reply_encoding))
}

/// Refuses requests over the per-request limits (`ops`: the pushed operations, counted from
/// the changes' metadata), and a device id other than the token's.
fn check_limits(req: &SyncRequest, auth: &DeviceAuth, ops: usize) -> ApiResult<()> {
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
    if ops > MAX_OPS_PER_PUSH {
        return Err(ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_operations",
            format!("the pushed changes hold at most {MAX_OPS_PER_PUSH} operations per request"),
        ));
    }
    if req.resync.len() > MAX_RESYNC || req.cursors.len() > 1_000 {
        return Err(ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_ids",
            format!("list at most {MAX_RESYNC} resync ids and 1000 cursors per request"),
        ));
    }
    Ok(())
}

/// Encodes the reply once and compresses it, on the blocking pool (not an async worker).
/// Returns the body and the number of pull entries.
async fn encode(reply: SyncReply, encoding: Encoding) -> ApiResult<(Vec<u8>, usize)> {
    Ok(tokio::task::spawn_blocking(move || {
        let plain = encode_reply(&reply);
        (compress::compress(&plain, encoding), reply.pull.len())
    })
    .await?)
}
