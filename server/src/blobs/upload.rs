//! Accepting attachment bytes: which attachment a request is about (and whether the caller
//! may touch it), storing chunks, and turning a complete set of chunks into a verified blob.

use bytes::{Bytes, BytesMut};
use sync_core::attachment::transfer::{UploadState, chunk_count, chunk_range};
use sync_core::attachment::{self, CHUNK_BYTES, Meta};
use sync_core::doc::RecordDoc;
use uuid::Uuid;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    let whole = (prefix * CHUNK_BYTES as u64).min(meta.size);
    // What arrived of the next chunk before its request was cut counts as received: the
    // device sends only the rest of it.
    let part = match prefix < chunk_count(meta.size) {
        true => blobs
            .get_part(&meta.hash, prefix)
            .await?
            .map_or(0, |p| p.len() as u64),
        false => 0,
    };
    let room = chunk_range(meta.size, prefix);
    Ok(UploadState {
        size: meta.size,
        received: whole + part.min((room.end - room.start).saturating_sub(1)),
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

/// Stores chunk `index` from its byte `from` on (0: the whole chunk; more: the rest after
/// the part a cut request left) and, when every chunk is there, verifies and keeps the blob.
pub async fn put_chunk(
    blobs: &dyn BlobStore,
    meta: &Meta,
    index: u64,
    from: u64,
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
    let len = range.end - range.start;
    if index >= chunk_count(meta.size) || from >= len || body.len() as u64 != len - from {
        return Err(ApiError::bad_request(
            "bad_chunk",
            format!(
                "chunk {index} of this attachment is {} bytes (chunks are {CHUNK_BYTES} bytes, the last one shorter); from byte {from} on, send the rest of it",
                len
            ),
        ));
    }
    let held = part_held(&now, index);
    if from > held {
        return Err(ApiError::client(
            axum::http::StatusCode::CONFLICT,
            "bad_offset",
            format!(
                "the server holds {held} bytes of chunk {index}; ask the upload state and send from there"
            ),
        ));
    }
    let whole = match from {
        0 => body,
        from => {
            let part = blobs.get_part(&meta.hash, index).await?.unwrap_or_default();
            joined(&part[..(from as usize).min(part.len())], &body)
        }
    };
    blobs.put_chunk(&meta.hash, index, whole).await?;
    if held > 0 {
        blobs.drop_part(&meta.hash, index).await?;
    }
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

/// Keeps what arrived of chunk `index` (its bytes from `from` on) before the request was cut,
/// when it is the next chunk the upload lacks and the bytes take it further than the part
/// already kept. Only that chunk's part counts in `received`, so only it is kept.
pub async fn keep_cut(
    blobs: &dyn BlobStore,
    meta: &Meta,
    index: u64,
    from: u64,
    got: Bytes,
) -> ApiResult<()> {
    let now = state_of(blobs, meta).await?;
    let range = chunk_range(meta.size, index);
    let reach = from + got.len() as u64;
    let held = part_held(&now, index);
    let next = !now.complete && index == now.received / CHUNK_BYTES as u64;
    if !next || from > held || reach <= held || reach >= range.end - range.start {
        return Ok(());
    }
    let part = match from {
        0 => got,
        from => {
            let part = blobs.get_part(&meta.hash, index).await?.unwrap_or_default();
            joined(&part[..(from as usize).min(part.len())], &got)
        }
    };
    blobs.put_part(&meta.hash, index, part).await?;
    Ok(())
}

/// Bytes of chunk `index` the server holds as a part, as `state` tells: only the next chunk
/// the upload lacks can have one.
fn part_held(state: &UploadState, index: u64) -> u64 {
    let start = index * CHUNK_BYTES as u64;
    match !state.complete && state.received / CHUNK_BYTES as u64 == index {
        true => state.received - start,
        false => 0,
    }
}

/// `head` then `tail`, as one buffer.
fn joined(head: &[u8], tail: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(head.len() + tail.len());
    out.extend_from_slice(head);
    out.extend_from_slice(tail);
    out.freeze()
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::blobs::fs::FsBlobs;
    use crate::blobs::object::ObjectBlobs;

    /// A PNG-looking blob of two and a half chunks.
    fn blob() -> (Vec<u8>, Meta) {
        let mut b = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        b.extend((0..(2 * CHUNK_BYTES + CHUNK_BYTES / 2)).map(|i| (i * 7 % 251) as u8));
        let meta = Meta::describe(&b, "document_scan", u64::MAX, "lan", "dev", 1).unwrap();
        (b, meta)
    }

    fn stores() -> (tempfile::TempDir, Vec<Arc<dyn BlobStore>>) {
        let dir = tempfile::tempdir().unwrap();
        let fs: Arc<dyn BlobStore> = Arc::new(FsBlobs::open(&dir.path().join("b")).unwrap());
        let mem: Arc<dyn BlobStore> = Arc::new(ObjectBlobs::from_url("memory:").unwrap());
        (dir, vec![fs, mem])
    }

    #[tokio::test]
    async fn what_arrived_of_a_cut_chunk_counts_as_received_and_the_rest_completes_it() {
        let (_dir, stores) = stores();
        let (b, meta) = blob();
        let c = CHUNK_BYTES;
        for blobs in stores {
            let blobs = blobs.as_ref();
            put_chunk(blobs, &meta, 0, 0, Bytes::copy_from_slice(&b[..c]))
                .await
                .unwrap();
            // Chunk 1's request is cut after 1000 bytes, then again 5000 bytes further on.
            keep_cut(blobs, &meta, 1, 0, Bytes::copy_from_slice(&b[c..c + 1000]))
                .await
                .unwrap();
            assert_eq!(
                state_of(blobs, &meta).await.unwrap().received,
                c as u64 + 1000
            );
            let more = Bytes::copy_from_slice(&b[c + 1000..c + 6000]);
            keep_cut(blobs, &meta, 1, 1000, more).await.unwrap();
            assert_eq!(
                state_of(blobs, &meta).await.unwrap().received,
                c as u64 + 6000
            );
            // A shorter cut part never replaces a longer one.
            keep_cut(blobs, &meta, 1, 0, Bytes::copy_from_slice(&b[c..c + 10]))
                .await
                .unwrap();
            assert_eq!(
                state_of(blobs, &meta).await.unwrap().received,
                c as u64 + 6000
            );
            // Sending from further than what is held is refused with what to do.
            let e = put_chunk(
                blobs,
                &meta,
                1,
                7000,
                Bytes::copy_from_slice(&b[c + 7000..2 * c]),
            )
            .await
            .unwrap_err();
            assert!(
                matches!(
                    e,
                    ApiError::Client {
                        code: "bad_offset",
                        ..
                    }
                ),
                "{e:?}"
            );
            let s = put_chunk(
                blobs,
                &meta,
                1,
                6000,
                Bytes::copy_from_slice(&b[c + 6000..2 * c]),
            )
            .await
            .unwrap();
            assert_eq!(s.state.received, 2 * c as u64);
            let done = put_chunk(blobs, &meta, 2, 0, Bytes::copy_from_slice(&b[2 * c..]))
                .await
                .unwrap();
            assert!(done.state.complete);
            let whole = blobs.get_range(&meta.hash, 0, meta.size).await.unwrap();
            assert!(whole == b, "the joined blob is the one attached");
        }
    }

    #[tokio::test]
    async fn a_whole_chunk_sent_again_replaces_the_part_of_a_cut() {
        let (_dir, stores) = stores();
        let (b, meta) = blob();
        let c = CHUNK_BYTES;
        for blobs in stores {
            let blobs = blobs.as_ref();
            keep_cut(blobs, &meta, 0, 0, Bytes::copy_from_slice(&b[..500]))
                .await
                .unwrap();
            // An older client ignores `received` within a chunk and sends it whole.
            let s = put_chunk(blobs, &meta, 0, 0, Bytes::copy_from_slice(&b[..c]))
                .await
                .unwrap();
            assert_eq!(s.state.received, c as u64);
            assert_eq!(blobs.get_part(&meta.hash, 0).await.unwrap(), None);
            // A cut re-send of a chunk already whole keeps nothing.
            keep_cut(blobs, &meta, 0, 0, Bytes::copy_from_slice(&b[..500]))
                .await
                .unwrap();
            assert_eq!(blobs.get_part(&meta.hash, 0).await.unwrap(), None);
        }
    }
}

/// The chunk requests under way, per blob. A chunk request holds its blob's lock from its
/// head to its answer, and a state request waits for it (a bounded time), so the state a
/// phone asks for after a cut counts what that cut request kept: without it, a retry that
/// came before the server had noticed the cut re-sent the whole chunk.
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl InFlight {
    /// The lock of blob `hash`.
    pub fn lock_of(&self, hash: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Entries nobody holds go, so the map is as small as the uploads under way.
        m.retain(|_, l| Arc::strong_count(l) > 1);
        m.entry(hash.to_owned()).or_default().clone()
    }
}
