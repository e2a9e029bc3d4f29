//! Moving blob bytes, sans IO: the wire types of the attachment endpoints
//! (`docs/protocol.md` §11) and the loops that drive an upload or a fetch through a
//! [`Transport`] the caller implements over its HTTP client.
//!
//! An upload sends the chunks the server has not acknowledged, in order; after a cut it asks
//! the server what it holds and goes on from there. The server keeps what arrived of a chunk
//! whose request was cut, so the next request sends only the rest of it (`from`): a cut
//! costs the bytes in flight, not the chunk. A fetch asks for the byte range after what
//! it has stored, so a cut costs only the bytes in flight.

use serde::{Deserialize, Serialize};

use super::CHUNK_BYTES;

/// The server's view of an upload: the answer of the status call and of every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// The blob's size, from the record's reference.
    pub size: u64,
    /// Bytes held from the start without a gap: whole chunks, then what arrived of the next
    /// one before its request was cut (so any number up to `size`).
    pub received: u64,
    /// The blob was verified against its hash and stored.
    pub complete: bool,
}

/// Number of chunks of a blob of `size` bytes.
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_BYTES as u64)
}

/// The byte range of chunk `index` of a blob of `size` bytes.
pub fn chunk_range(size: u64, index: u64) -> std::ops::Range<u64> {
    let start = index * CHUNK_BYTES as u64;
    start.min(size)..(start + CHUNK_BYTES as u64).min(size)
}

/// The path of `PUT …/chunks/{index}`, with `?from={from}` when the chunk is resumed
/// (`from` > 0: the server holds the chunk's first `from` bytes from a request that was cut).
pub fn chunk_path(record: &str, hash: &str, index: u64, from: u64) -> String {
    match from {
        0 => format!("/v1/attachments/{record}/{hash}/chunks/{index}"),
        from => format!("/v1/attachments/{record}/{hash}/chunks/{index}?from={from}"),
    }
}

/// Why a transfer stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The link failed or timed out: try again later (nothing acknowledged is lost).
    #[error("the link failed: {0}")]
    Link(String),
    /// The server refused for good (`code` as in the protocol: `hash_mismatch`,
    /// `wrong_type`, `too_large`, …): retrying the same bytes will not help.
    #[error("the server refused the attachment: {code}")]
    Refused {
        /// The error code of the server's answer.
        code: String,
    },
    /// The server does not know the attachment (yet): its record has not synced, or it is
    /// outside the device's units. Try again after the next sync.
    #[error("the server does not know this attachment yet")]
    Unknown,
}

/// The HTTP calls of the attachment endpoints, implemented by each client.
pub trait Transport {
    /// `GET /v1/attachments/{record}/{hash}/upload`.
    fn upload_state(&self, record: &str, hash: &str) -> Result<UploadState, TransferError>;
    /// `PUT /v1/attachments/{record}/{hash}/chunks/{index}` with the chunk's bytes from byte
    /// `from` of the chunk on (`?from={from}` when it is not 0: the server holds the chunk's
    /// first `from` bytes from a request that was cut).
    fn put_chunk(
        &self,
        record: &str,
        hash: &str,
        index: u64,
        from: u64,
        bytes: &[u8],
    ) -> Result<UploadState, TransferError>;
    /// `GET /v1/attachments/{record}/{hash}` with `Range: bytes={from}-{to - 1}`: the bytes
    /// of that range.
    fn get_range(
        &self,
        record: &str,
        hash: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<u8>, TransferError>;
}

/// Progress of one transfer: bytes done of the total.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Where a fetch keeps each piece (offset, bytes) durably before asking for the next.
pub type Keep<'a> = &'a mut dyn FnMut(u64, &[u8]) -> Result<(), TransferError>;

/// Sends the chunks of `blob` the server does not hold yet, starting after `acked` (what the
/// device last knew the server held), reporting progress. Returns the final state.
///
/// The first call asks the server (`upload_state`) only when `acked` is unknown (`None`):
/// a fresh upload starts at 0 without a round trip, a resumed one learns what arrived.
pub fn upload(
    transport: &dyn Transport,
    record: &str,
    blob: &[u8],
    hash: &str,
    acked: Option<u64>,
    on_ack: &mut dyn FnMut(UploadState),
    progress: Progress<'_>,
) -> Result<UploadState, TransferError> {
    let size = blob.len() as u64;
    let mut state = match acked {
        Some(received) => UploadState {
            size,
            received,
            complete: false,
        },
        None => transport.upload_state(record, hash)?,
    };
    progress(state.received.min(size), size);
    while !state.complete {
        let index = state.received / CHUNK_BYTES as u64;
        if index >= chunk_count(size) {
            // Every chunk is there but the blob was not accepted: only a fresh status
            // call can say why (it was being assembled, or it is gone).
            state = transport.upload_state(record, hash)?;
            if state.complete || state.received < size {
                continue;
            }
            return Err(TransferError::Refused {
                code: "incomplete".into(),
            });
        }
        let range = chunk_range(size, index);
        let from = state.received - range.start;
        state = transport.put_chunk(
            record,
            hash,
            index,
            from,
            &blob[state.received as usize..range.end as usize],
        )?;
        on_ack(state);
        progress(state.received.min(size), size);
    }
    Ok(state)
}

/// Fetches the bytes of a blob of `size` after the `have` bytes already stored, one chunk
/// per request; `store` keeps each piece durably before the next is asked for.
pub fn fetch(
    transport: &dyn Transport,
    record: &str,
    hash: &str,
    size: u64,
    mut have: u64,
    store: Keep<'_>,
    progress: Progress<'_>,
) -> Result<(), TransferError> {
    progress(have, size);
    while have < size {
        let to = (have + CHUNK_BYTES as u64).min(size);
        let bytes = transport.get_range(record, hash, have, to)?;
        if bytes.is_empty() || bytes.len() as u64 > to - have {
            return Err(TransferError::Link("the server sent a wrong range".into()));
        }
        store(have, &bytes)?;
        have += bytes.len() as u64;
        progress(have, size);
    }
    Ok(())
}
