//! Attachment transfers from the tests and benchmarks: the [`Transport`] of
//! `sync_core::attachment::transfer` over the harness's HTTP [`Client`], counting what it
//! sends.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sync_core::attachment::transfer::{self, TransferError, Transport, UploadState};

use crate::{Client, HttpReply};

/// A [`Transport`] over a [`Client`]; counts how often each chunk of each blob was sent.
pub struct HttpTransport {
    /// The client (its token authorises the calls).
    pub client: Client,
    /// (blob hash, chunk index) → times sent (whether or not the answer arrived).
    pub sends: Mutex<BTreeMap<(String, u64), u32>>,
    /// (blob hash, chunk index) → bytes of the chunk put on the wire over all its sends (a
    /// resumed send carries only the rest of the chunk).
    pub bytes_sent: Mutex<BTreeMap<(String, u64), u64>>,
    /// (blob hash, chunk index) → bytes that reached the server over all the chunk's
    /// requests (heads included), when measured ([`HttpTransport::measuring_upstream`]).
    pub crossed: Mutex<BTreeMap<(String, u64), u64>>,
    upstream: Option<Box<dyn Fn() -> u64 + Send + Sync>>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("sends", &self.sends)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// Over `client`.
    pub fn new(client: Client) -> HttpTransport {
        HttpTransport {
            client,
            sends: Mutex::new(BTreeMap::new()),
            bytes_sent: Mutex::new(BTreeMap::new()),
            crossed: Mutex::new(BTreeMap::new()),
            upstream: None,
        }
    }

    /// Also counts, per chunk, the bytes that reached the server, read from `upstream` (the
    /// link's delivered-upstream counter) around each chunk's request: exact only on a link
    /// that carries nothing else meanwhile.
    pub fn measuring_upstream(
        mut self,
        upstream: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Self {
        self.upstream = Some(Box::new(upstream));
        self
    }

    /// The most of any one chunk of blob `hash` (of `size` bytes) that reached the server,
    /// over all its requests, in copies of the chunk (request heads included): ≈ 1.0 when no
    /// byte of it crossed twice. `None` unless measured.
    pub fn most_crossings_of_a_chunk(&self, hash: &str, size: u64) -> Option<f64> {
        use sync_core::attachment::transfer::chunk_range;
        self.upstream.as_ref()?;
        Some(
            self.crossed
                .lock()
                .unwrap()
                .iter()
                .filter(|((h, _), _)| h == hash)
                .map(|((_, i), n)| {
                    let r = chunk_range(size, *i);
                    *n as f64 / (r.end - r.start).max(1) as f64
                })
                .fold(0.0, f64::max),
        )
    }

    /// Chunk index → times sent, of the blob `hash`.
    pub fn chunks_sent(&self, hash: &str) -> BTreeMap<u64, u32> {
        self.sends
            .lock()
            .unwrap()
            .iter()
            .filter(|((h, _), _)| h == hash)
            .map(|((_, i), n)| (*i, *n))
            .collect()
    }

    /// The most times any one chunk was sent.
    pub fn max_sends(&self) -> u32 {
        self.sends
            .lock()
            .unwrap()
            .values()
            .copied()
            .max()
            .unwrap_or(0)
    }
}

/// Reads an answer: `UploadState` on 200, the error code otherwise.
fn state_of(reply: HttpReply) -> Result<UploadState, TransferError> {
    match reply.status {
        200 => serde_json::from_slice(&reply.body)
            .map_err(|e| TransferError::Link(format!("bad answer: {e}"))),
        s => Err(refusal(s, &reply)),
    }
}

/// The error of a non-success answer, as the reference client classifies it.
pub fn refusal(status: u16, reply: &HttpReply) -> TransferError {
    let code = reply.json()["error"].as_str().unwrap_or("").to_owned();
    match status {
        404 if code == "unknown_attachment" || code == "not_uploaded" => TransferError::Unknown,
        400 | 413 | 415 | 416 | 422 => TransferError::Refused { code },
        _ => TransferError::Link(format!("status {status}")),
    }
}

impl Transport for HttpTransport {
    fn upload_state(&self, record: &str, hash: &str) -> Result<UploadState, TransferError> {
        let path = format!("/v1/attachments/{record}/{hash}/upload");
        state_of(self.client.get(&path).map_err(TransferError::Link)?)
    }

    fn put_chunk(
        &self,
        record: &str,
        hash: &str,
        index: u64,
        from: u64,
        bytes: &[u8],
    ) -> Result<UploadState, TransferError> {
        *self
            .sends
            .lock()
            .unwrap()
            .entry((hash.to_owned(), index))
            .or_default() += 1;
        *self
            .bytes_sent
            .lock()
            .unwrap()
            .entry((hash.to_owned(), index))
            .or_default() += bytes.len() as u64;
        let path = transfer::chunk_path(record, hash, index, from);
        let up_before = self.upstream.as_ref().map(|f| f());
        let reply = self.client.send(
            "PUT",
            &path,
            &[("Content-Type", "application/octet-stream")],
            Some(bytes.to_vec()),
        );
        if let (Some(f), Some(before)) = (&self.upstream, up_before) {
            *self
                .crossed
                .lock()
                .unwrap()
                .entry((hash.to_owned(), index))
                .or_default() += f().saturating_sub(before);
        }
        state_of(reply.map_err(TransferError::Link)?)
    }

    fn get_range(
        &self,
        record: &str,
        hash: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<u8>, TransferError> {
        let path = format!("/v1/attachments/{record}/{hash}");
        let range = format!("bytes={from}-{}", to - 1);
        let reply = self
            .client
            .send("GET", &path, &[("Range", &range)], None)
            .map_err(TransferError::Link)?;
        match reply.status {
            206 | 200 => Ok(reply.body),
            s => Err(refusal(s, &reply)),
        }
    }
}
