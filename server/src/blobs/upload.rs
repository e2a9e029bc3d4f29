//! Accepting attachment bytes: which attachment a request is about (and whether the caller
//! may touch it), storing chunks, and turning a complete set of chunks into a verified blob.

use bytes::{Bytes, BytesMut};
use sync_core::attachment::transfer::{UploadState, chunk_count, chunk_range};
use sync_core::attachment::{self, CHUNK_BYTES, Meta};
use sync_core::doc::RecordDoc;
use uuid::Uuid;

use super::BlobStore;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::feed;

/// The attachment a request names, once the caller may see it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The record referring to it.
    pub record: Uuid,
    /// The record's current unit.
    pub unit: String,
    /// Its reference in the record's document.
    pub meta: Meta,
}

fn unknown() -> ApiError {
    ApiError::client(
        axum::http::StatusCode::NOT_FOUND,
        "unknown_attachment",
        "no record of yours refers to this attachment (has the record synced?)",
    )
}

/// Finds attachment `hash` of record `record` for a caller with `units`: the record must be
/// stored, in one of those units, and refer to the hash. Anything else is the same `404
/// unknown_attachment`, so a caller learns nothing of records outside its units.
pub async fn resolve(
    state: &AppState,
    units: &[String],
    record: &str,
    hash: &str,
) -> ApiResult<Target> {
    let id = Uuid::try_parse(record)
        .map_err(|_| ApiError::bad_request("malformed_request", "the record id is not a UUID"))?;
    if !attachment::is_hash(hash) {
        return Err(ApiError::bad_request(
            "malformed_request",
            "an attachment is named by its SHA-256: 64 lowercase hex digits",
        ));
    }
    let store = state.store.clone();
    let stored = tokio::task::spawn_blocking(move || store.read(|c| feed::get_record(c, id)))
        .await??
        .ok_or_else(unknown)?;
    if !units.contains(&stored.unit) {
        return Err(unknown());
    }
    let hash = hash.to_owned();
    let unit = stored.unit.clone();
    let meta = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Meta>> {
        let record = RecordDoc::load(&stored.doc)?.read()?;
        Ok(attachment::of_fields(&record.fields)
            .into_iter()
            .find(|m| m.hash == hash))
    })
    .await??
    .ok_or_else(unknown)?;
    Ok(Target {
        record: id,
        unit,
        meta,
    })
}

/// What the server holds of an upload.
pub async fn state_of(blobs: &dyn BlobStore, meta: &Meta) -> ApiResult<UploadState> {
    if blobs.blob_size(&meta.hash).await? == Some(meta.size) {
        return Ok(UploadState {
            size: meta.size,
            received: meta.size,
            complete: true,
        });
    }
    let mut have = blobs.chunks(&meta.hash).await?;
    have.sort_unstable();
    let prefix = have
        .iter()
        .enumerate()
        .take_while(|(i, c)| *i as u64 == **c)
        .count() as u64;
    Ok(UploadState {
        size: meta.size,
        received: (prefix * CHUNK_BYTES as u64).min(meta.size),
        complete: false,
    })
}

/// Refuses an attachment larger than the server allows for its kind (before any byte of
/// it is stored).
pub fn check_limit(state: &AppState, meta: &Meta) -> ApiResult<()> {
    let max = state.config.attachment_limit(&meta.kind);
    if meta.size > max {
        return Err(ApiError::client(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a {} attachment is at most {max} bytes on this server",
                meta.kind
            ),
        ));
    }
    Ok(())
}

/// What a chunk upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunked {
    /// The upload's state after it.
    pub state: UploadState,
    /// This chunk completed the blob (verified and kept now, not before): for the metrics.
    pub assembled: bool,
}

/// Stores chunk `index` and, when every chunk is there, verifies and keeps the blob.
pub async fn put_chunk(
    blobs: &dyn BlobStore,
    meta: &Meta,
    index: u64,
    body: Bytes,
) -> ApiResult<Chunked> {
    let now = state_of(blobs, meta).await?;
    if now.complete {
        return Ok(Chunked {
            state: now,
            assembled: false,
        });
    }
    let range = chunk_range(meta.size, index);
    if index >= chunk_count(meta.size) || body.len() as u64 != range.end - range.start {
        return Err(ApiError::bad_request(
            "bad_chunk",
            format!(
                "chunk {index} of this attachment is {} bytes (chunks are {CHUNK_BYTES} bytes, the last one shorter)",
                range.end.saturating_sub(range.start)
            ),
        ));
    }
    blobs.put_chunk(&meta.hash, index, body).await?;
    let now = state_of(blobs, meta).await?;
    if now.received < meta.size {
        return Ok(Chunked {
            state: now,
            assembled: false,
        });
    }
    Ok(Chunked {
        state: assemble(blobs, meta).await?,
        assembled: true,
    })
}

/// Joins the chunks, checks hash and type, stores the blob and drops the chunks. A blob
/// that fails a check is dropped whole (`422 hash_mismatch`, `415 wrong_type`).
async fn assemble(blobs: &dyn BlobStore, meta: &Meta) -> ApiResult<UploadState> {
    let mut whole = BytesMut::with_capacity(meta.size as usize);
    for i in 0..chunk_count(meta.size) {
        whole.extend_from_slice(&blobs.get_chunk(&meta.hash, i).await?);
    }
    let whole = whole.freeze();
    let refuse = |status, code, message: &str| ApiError::client(status, code, message.to_owned());
    let problem = if attachment::sha256_hex(&whole) != meta.hash {
        Some(refuse(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "hash_mismatch",
            "the bytes received do not hash to the attachment's name; send it again",
        ))
    } else if attachment::sniff(&whole) != Some(meta.mime.as_str()) {
        Some(refuse(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong_type",
            "the bytes are not of the type the record says (the content is checked, not the name)",
        ))
    } else {
        None
    };
    if let Some(e) = problem {
        blobs.drop_chunks(&meta.hash).await?;
        return Err(e);
    }
    blobs.put_blob(&meta.hash, whole).await?;
    blobs.drop_chunks(&meta.hash).await?;
    Ok(UploadState {
        size: meta.size,
        received: meta.size,
        complete: true,
    })
}
