//! Attachment transfers from the tests and benchmarks: the [`Transport`] of
//! `sync_core::attachment::transfer` over the harness's HTTP [`Client`], counting what it
//! sends.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sync_core::attachment::transfer::{TransferError, Transport, UploadState};

use crate::{Client, HttpReply};

/// A [`Transport`] over a [`Client`]; counts how often each chunk of each blob was sent.
#[derive(Debug)]
pub struct HttpTransport {
    /// The client (its token authorises the calls).
    pub client: Client,
    /// (blob hash, chunk index) → times sent (whether or not the answer arrived).
    pub sends: Mutex<BTreeMap<(String, u64), u32>>,
}

impl HttpTransport {
    /// Over `client`.
    pub fn new(client: Client) -> HttpTransport {
        HttpTransport {
            client,
            sends: Mutex::new(BTreeMap::new()),
        }
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
        bytes: &[u8],
    ) -> Result<UploadState, TransferError> {
        *self
            .sends
            .lock()
            .unwrap()
            .entry((hash.to_owned(), index))
            .or_default() += 1;
        let path = format!("/v1/attachments/{record}/{hash}/chunks/{index}");
        let reply = self
            .client
            .send(
                "PUT",
                &path,
                &[("Content-Type", "application/octet-stream")],
                Some(bytes.to_vec()),
            )
            .map_err(TransferError::Link)?;
        state_of(reply)
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
