//! Attachments on the phone: attach a photo or scan (bytes or a file), list a record's
//! attachments with where their bytes are, upload the queue, fetch one on demand — each
//! transfer reporting its progress (`sync_core::attachment`, `docs/protocol.md` §11).
//!
//! The bytes stay inside the encrypted store; nothing is written to the phone's disk in
//! plaintext (`attach_file` only reads the file the camera wrote; the app deletes it).

use std::sync::Arc;
use std::time::Duration;

use sync_core::attachment::local::{self, AttachmentView, FetchError, TransferState};
use sync_core::attachment::transfer::{self, TransferError, Transport, UploadState};

use crate::error::{ApiError, Error};
use crate::store::{FerryStore, stored_session};

/// Where an attachment's bytes are, seen from this phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AttachmentState {
    /// Attached here; waiting in the upload queue (or being uploaded).
    Uploading,
    /// Attached here and held by the server.
    Uploaded,
    /// The server refused it for good; `error` says why (`too_large`, `wrong_type`,
    /// `hash_mismatch`).
    Failed,
    /// Attached on another device and not fetched yet: call `fetchAttachment`.
    Remote,
    /// The bytes are on this phone.
    Available,
}

/// One attachment of a record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AttachmentInfo {
    /// SHA-256 of the bytes (64 hex digits): the attachment's name.
    pub hash: String,
    /// `portrait`, `signature`, `document_scan`, `consent_letter` or `other`.
    pub kind: String,
    /// `image/jpeg`, `image/png`, `image/webp` or `application/pdf` (read from the bytes).
    pub mime_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Pixel width, for images.
    pub width: Option<u32>,
    /// Pixel height, for images.
    pub height: Option<u32>,
    /// The account that attached it.
    pub attached_by: String,
    /// The device it was attached on.
    pub device_id: String,
    /// When, ms since the Unix epoch.
    pub attached_at_ms: i64,
    /// Where its bytes are.
    pub state: AttachmentState,
    /// Bytes moved so far (uploaded and acknowledged, or fetched).
    pub transferred: u64,
    /// Why the server refused it (`Failed` only).
    pub error: Option<String>,
}

/// What one `uploadAttachments` call did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UploadSummary {
    /// Attachments now held by the server.
    pub done: u32,
    /// Attachments that stopped on the link (or whose record the server has not got yet):
    /// retried by a later call, after a backoff.
    pub deferred: u32,
    /// Attachments the server refused for good.
    pub refused: u32,
}

/// What is fetched ahead of need (`setAttachmentPrefetch`): attachments of these kinds
/// of at most `max_bytes` each. No kinds (or 0 bytes): off, the default.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AttachmentPrefetch {
    /// Kinds fetched ahead (`signature`, `portrait`, …), sorted.
    pub kinds: Vec<String>,
    /// Largest attachment fetched ahead, in bytes.
    pub max_bytes: u64,
}

/// What one `prefetchAttachments` call did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PrefetchSummary {
    /// Attachments fetched and kept (now `Available`).
    pub fetched: u32,
    /// Attachments whose bytes did not match their hash: not fetched ahead again (until
    /// the setting is set anew), still fetchable on demand with `fetchAttachment`.
    pub failed: u32,
    /// Attachments still waiting: the link failed (the call stops at the first failure),
    /// or the server has no bytes yet (their upload is not done). A later call goes on.
    pub left: u32,
}

/// Follows one transfer. Implement it in the app for a progress bar; called on the thread
/// that transfers, after every chunk. Return quickly and do not throw.
#[uniffi::export(foreign)]
pub trait TransferProgress: Send + Sync {
    /// `done` of `total` bytes of attachment `hash` have moved.
    fn on_progress(&self, hash: String, done: u64, total: u64);
}

impl From<AttachmentView> for AttachmentInfo {
    fn from(v: AttachmentView) -> Self {
        AttachmentInfo {
            hash: v.meta.hash,
            kind: v.meta.kind,
            mime_type: v.meta.mime,
            size: v.meta.size,
            width: v.meta.width,
            height: v.meta.height,
            attached_by: v.meta.by,
            device_id: v.meta.device,
            attached_at_ms: v.meta.at_ms,
            state: match v.state {
                TransferState::Uploading => AttachmentState::Uploading,
                TransferState::Uploaded => AttachmentState::Uploaded,
                TransferState::Failed => AttachmentState::Failed,
                TransferState::Remote => AttachmentState::Remote,
                TransferState::Available => AttachmentState::Available,
            },
            transferred: v.transferred,
            error: v.error,
        }
    }
}

/// Largest file `attachFile` reads (the hard limit of any attachment).
const MAX_FILE_BYTES: u64 = sync_core::attachment::HARD_MAX_BYTES;

#[uniffi::export]
impl FerryStore {
    /// Attaches `bytes` (a JPEG, PNG, WebP or PDF, checked by content) to record `id` as
    /// `kind`. Works offline: the reference is an ordinary edit that syncs with the record,
    /// the bytes wait in the upload queue inside the encrypted store.
    ///
    /// Throws `Validation` for a wrong type, an unknown kind or a size over the kind's limit,
    /// `NotFound` for an unknown record.
    pub fn attach(
        &self,
        id: String,
        kind: String,
        bytes: Vec<u8>,
    ) -> Result<AttachmentInfo, ApiError> {
        self.attach_inner(&id, &kind, &bytes)
    }

    /// Like `attach`, reading the bytes from the file at `path` (e.g. the camera's output;
    /// delete it afterwards, the store keeps its own encrypted copy).
    pub fn attach_file(
        &self,
        id: String,
        kind: String,
        path: String,
    ) -> Result<AttachmentInfo, ApiError> {
        let len = std::fs::metadata(&path).map_err(Error::from)?.len();
        if len > MAX_FILE_BYTES {
            return Err(ApiError::InvalidArgument {
                reason: "the file is larger than any attachment may be".into(),
            });
        }
        let bytes = std::fs::read(&path).map_err(Error::from)?;
        self.attach_inner(&id, &kind, &bytes)
    }

    /// The attachments of record `id`, with where their bytes are.
    pub fn attachments(&self, id: String) -> Result<Vec<AttachmentInfo>, ApiError> {
        let id = crate::store::parse_id(&id).map_err(ApiError::from)?;
        self.read(|r| Ok(local::list(r, id)?.into_iter().map(Into::into).collect()))
    }

    /// Uploads every attachment waiting in the queue whose backoff is over, one after the
    /// other, resuming each after its last acknowledged chunk. Call it after `sync` (the
    /// server accepts the bytes once it has the record). Never blocks records: a stalled
    /// upload is `deferred` and retried by a later call.
    ///
    /// Throws `NotLoggedIn` without a session.
    pub fn upload_attachments(
        &self,
        progress: Arc<dyn TransferProgress>,
    ) -> Result<UploadSummary, ApiError> {
        self.read(|r| {
            let transport = Http::of(r)?;
            let mut each = |hash: &str, done, total| progress.on_progress(hash.into(), done, total);
            let report = local::upload_due(r, &transport, crate::store::now_ms(), &mut each)?;
            Ok(UploadSummary {
                done: report.done as u32,
                deferred: report.deferred as u32,
                refused: report.refused as u32,
            })
        })
    }

    /// The bytes of attachment `hash` of record `id`: from the store when they are here,
    /// else fetched from the server (resuming after the pieces kept from a cut fetch) and
    /// checked against the hash before they are kept and returned.
    ///
    /// Throws `Network` (try again: what arrived is kept), `NotFound` (the record does not
    /// refer to it, or the server does not have its bytes yet).
    pub fn fetch_attachment(
        &self,
        id: String,
        hash: String,
        progress: Arc<dyn TransferProgress>,
    ) -> Result<Vec<u8>, ApiError> {
        let id = crate::store::parse_id(&id).map_err(ApiError::from)?;
        self.with_replica(|r| {
            let transport = Http::of(r)?;
            let mut each = |done, total| progress.on_progress(hash.clone(), done, total);
            Ok(local::fetch(r, &transport, id, &hash, &mut each))
        })
        .map_err(ApiError::from)?
        .map_err(fetch_error)
    }

    /// Fetches small attachments ahead of need: those of `kinds` (e.g. `["signature"]`) of
    /// at most `max_bytes` each, for every record on the phone. Kept in the store (survives
    /// a restart); empty `kinds` or 0 turns it off (the default). Queues the matching
    /// attachments of the records already here; records arriving later are queued as they
    /// sync. The bytes move on `prefetchAttachments`. Returns how many are queued.
    ///
    /// Throws `InvalidArgument` for an unknown kind (nothing is changed).
    pub fn set_attachment_prefetch(
        &self,
        kinds: Vec<String>,
        max_bytes: u64,
    ) -> Result<u32, ApiError> {
        self.read(|r| {
            if let Some(k) = kinds
                .iter()
                .find(|k| !sync_core::attachment::KINDS.contains(&k.as_str()))
            {
                return Err(Error::UnknownKind(k.clone()));
            }
            Ok(local::set_prefetch(r, &kinds, max_bytes)? as u32)
        })
    }

    /// The prefetch setting as last set (off: no kinds, 0 bytes).
    pub fn attachment_prefetch(&self) -> Result<AttachmentPrefetch, ApiError> {
        self.read(|r| {
            let p = local::prefetch(r)?;
            Ok(AttachmentPrefetch {
                kinds: p.kinds,
                max_bytes: p.max_bytes,
            })
        })
    }

    /// Fetches the attachments queued by `setAttachmentPrefetch`, smallest first, each
    /// checked against its hash (a cut fetch resumes on the next call). Call it after
    /// `sync` (and `uploadAttachments`) on a good link; it never blocks records.
    ///
    /// Throws `NotLoggedIn` without a session; link failures are not thrown (see `left`).
    pub fn prefetch_attachments(
        &self,
        progress: Arc<dyn TransferProgress>,
    ) -> Result<PrefetchSummary, ApiError> {
        self.read(|r| {
            let transport = Http::of(r)?;
            let mut each = |hash: &str, done, total| progress.on_progress(hash.into(), done, total);
            let report = local::prefetch_due(r, &transport, &mut each)?;
            Ok(PrefetchSummary {
                fetched: report.fetched as u32,
                failed: report.failed as u32,
                left: report.left as u32,
            })
        })
    }
}

impl FerryStore {
    fn attach_inner(&self, id: &str, kind: &str, bytes: &[u8]) -> Result<AttachmentInfo, ApiError> {
        let id = crate::store::parse_id(id).map_err(ApiError::from)?;
        self.read(|r| {
            let by = r.session()?.map(|s| s.user).unwrap_or_default();
            local::attach(r, id, bytes, kind, &by, crate::store::now_ms())?;
            let meta_hash = sync_core::attachment::sha256_hex(bytes);
            local::list(r, id)?
                .into_iter()
                .find(|a| a.meta.hash == meta_hash)
                .map(Into::into)
                .ok_or(Error::Argument("the attachment was not stored"))
        })
    }
}

fn fetch_error(e: FetchError) -> ApiError {
    match e {
        FetchError::NotReferenced | FetchError::Transfer(TransferError::Unknown) => {
            ApiError::NotFound
        }
        FetchError::HashMismatch => ApiError::Protocol {
            reason: "the fetched bytes do not match the attachment's hash".into(),
        },
        FetchError::Transfer(TransferError::Link(reason)) => ApiError::Network { reason },
        FetchError::Transfer(TransferError::Refused { code }) => ApiError::Protocol {
            reason: format!("the server refused the fetch ({code})"),
        },
        FetchError::Replica(e) => Error::from(e).into(),
    }
}

/// The attachment endpoints over HTTP (ureq, blocking) with the session's token.
struct Http {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Http {
    fn of(r: &sync_core::replica::Replica) -> Result<Http, Error> {
        let s = stored_session(r)?.ok_or(Error::NotLoggedIn)?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            // One chunk (64 KiB) crosses a 2G link in about 6 s; a stalled one is given up
            // well before the officer does.
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Ok(Http {
            base: s.server_url,
            token: s.token,
            agent,
        })
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        range: Option<String>,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), TransferError> {
        let link = |e: ureq::Error| TransferError::Link(e.to_string());
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token));
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        let mut resp = match body {
            Some(b) => {
                let req = req
                    .header("Content-Type", "application/octet-stream")
                    .body(b.to_vec())
                    .map_err(|e| TransferError::Link(e.to_string()))?;
                self.agent.run(req).map_err(link)?
            }
            None => {
                let req = req
                    .body(())
                    .map_err(|e| TransferError::Link(e.to_string()))?;
                self.agent.run(req).map_err(link)?
            }
        };
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(link)?;
        Ok((status, bytes))
    }
}

/// The refusal of a non-success answer.
fn refusal(status: u16, body: &[u8]) -> TransferError {
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    match status {
        404 => TransferError::Unknown,
        400 | 413 | 415 | 416 | 422 => TransferError::Refused { code },
        other => TransferError::Link(format!("HTTP {other}")),
    }
}

fn state(status: u16, body: &[u8]) -> Result<UploadState, TransferError> {
    if status != 200 {
        return Err(refusal(status, body));
    }
    serde_json::from_slice(body).map_err(|e| TransferError::Link(e.to_string()))
}

impl Transport for Http {
    fn upload_state(&self, record: &str, hash: &str) -> Result<UploadState, TransferError> {
        let (s, b) = self.call(
            "GET",
            &format!("/v1/attachments/{record}/{hash}/upload"),
            None,
            None,
        )?;
        state(s, &b)
    }

    fn put_chunk(
        &self,
        record: &str,
        hash: &str,
        index: u64,
        from: u64,
        bytes: &[u8],
    ) -> Result<UploadState, TransferError> {
        let path = transfer::chunk_path(record, hash, index, from);
        let (s, b) = self.call("PUT", &path, None, Some(bytes))?;
        state(s, &b)
    }

    fn get_range(
        &self,
        record: &str,
        hash: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<u8>, TransferError> {
        let range = format!("bytes={from}-{}", to - 1);
        let (s, b) = self.call(
            "GET",
            &format!("/v1/attachments/{record}/{hash}"),
            Some(range),
            None,
        )?;
        match s {
            200 | 206 => Ok(b),
            other => Err(refusal(other, &b)),
        }
    }
}
