//! The phone's side of attachments: blob bytes kept inside the replica's (encrypted) store,
//! a durable upload queue with backoff, and fetched pieces kept until the blob is whole.
//!
//! Bytes never touch the phone's disk outside the store: with SQLCipher the `attachment_blobs`
//! and `attachment_pieces` tables are encrypted like the records. A trigger on `records`
//! deletes a record's blobs with it, so a purge (lost unit, record moved away), a rejected
//! new record and a wipe remove the pictures too (`store::schema`, replica version 4).
//!
//! Rows of `attachment_blobs` have an `origin`: `local` (attached here: the upload queue),
//! `remote` (fetched on demand) or `prefetch` (queued by the prefetch setting, bytes NULL
//! until fetched; see [`super::prefetch`]).

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::transfer::{self, Progress, TransferError, Transport, UploadState};
use super::{FIELD, Meta};
use crate::doc::Edit;
use crate::replica::{Replica, ReplicaError};
use crate::store::StoreError;

pub use super::prefetch::{Prefetch, PrefetchReport, prefetch, prefetch_due, set_prefetch};

/// Where an attachment's bytes are, seen from this phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// Attached here, waiting to be uploaded (or being uploaded).
    Uploading,
    /// Attached here and held by the server.
    Uploaded,
    /// The server refused it for good (wrong hash, type or size); see the error.
    Failed,
    /// Attached elsewhere; not fetched yet (or partly).
    Remote,
    /// The bytes are on this phone (fetched, or attached here).
    Available,
}

/// One attachment of a record with its transfer state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentView {
    /// The reference in the record's document.
    pub meta: Meta,
    /// Where its bytes are.
    pub state: TransferState,
    /// Bytes moved so far (uploaded and acknowledged, or fetched).
    pub transferred: u64,
    /// Why the server refused it, for [`TransferState::Failed`].
    pub error: Option<String>,
}

/// An upload waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedUpload {
    /// The record the attachment belongs to.
    pub record: Uuid,
    /// The blob's hash.
    pub hash: String,
    /// Its size.
    pub size: u64,
    /// Bytes the server acknowledged, when known.
    pub acked: Option<u64>,
}

/// Longest wait between two tries of one upload.
const MAX_BACKOFF_MS: i64 = 10 * 60 * 1000;

/// Attaches `bytes` to record `id` as `kind`: checks type and size ([`Meta::describe`]),
/// stores the bytes in the queue and writes the reference into the record (one change in
/// the outbox, like any edit). Works offline.
pub fn attach(
    replica: &Replica,
    id: Uuid,
    bytes: &[u8],
    kind: &str,
    by: &str,
    now_ms: i64,
) -> Result<Meta, ReplicaError> {
    let meta = Meta::describe(
        bytes,
        kind,
        super::default_max_bytes(kind),
        by,
        &replica.device_id().to_string(),
        now_ms,
    )
    .map_err(|e| ReplicaError::Invalid(vec![e.structural()]))?;
    if replica.get(id)?.is_none() {
        return Err(ReplicaError::NotFound);
    }
    // The bytes first: a crash after this leaves a blob no record refers to (dropped by
    // `sweep`), never a reference whose bytes are lost.
    replica.pool().write(|tx| -> Result<_, StoreError> {
        tx.execute(
            "INSERT INTO attachment_blobs (record, hash, size, bytes, origin, acked, next_try_ms)
             VALUES (?1, ?2, ?3, ?4, 'local', NULL, 0)
             ON CONFLICT (record, hash) DO NOTHING",
            params![id.to_string(), meta.hash, meta.size as i64, bytes],
        )?;
        Ok(())
    })?;
    let edit = Edit::PutEntry {
        field: FIELD.into(),
        key: meta.hash.clone(),
        value: meta.to_entry(),
    };
    if let Err(e) = replica.update(id, &[edit], now_ms) {
        replica.pool().write(|tx| -> Result<_, StoreError> {
            tx.execute(
                "DELETE FROM attachment_blobs WHERE record = ?1 AND hash = ?2",
                params![id.to_string(), meta.hash],
            )?;
            Ok(())
        })?;
        return Err(e);
    }
    Ok(meta)
}

/// The attachments record `id` refers to, with where their bytes are.
pub fn list(replica: &Replica, id: Uuid) -> Result<Vec<AttachmentView>, ReplicaError> {
    let Some(view) = replica.get(id)? else {
        return Err(ReplicaError::NotFound);
    };
    let metas = super::of_fields(&view.record.fields);
    replica.pool().read(|c| -> Result<_, ReplicaError> {
        metas
            .into_iter()
            .map(|meta| {
                let (state, transferred, error) = local_state(c, id, &meta)?;
                Ok(AttachmentView {
                    meta,
                    state,
                    transferred,
                    error,
                })
            })
            .collect()
    })
}

type LocalRow = (String, Option<i64>, Option<String>, bool);

fn local_state(
    c: &rusqlite::Connection,
    id: Uuid,
    meta: &Meta,
) -> Result<(TransferState, u64, Option<String>), StoreError> {
    let row: Option<LocalRow> = c
        .query_row(
            "SELECT origin, acked, error, bytes IS NOT NULL FROM attachment_blobs
             WHERE record = ?1 AND hash = ?2",
            params![id.to_string(), meta.hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let pieces: i64 = c.query_row(
        "SELECT COALESCE(SUM(length(bytes)), 0) FROM attachment_pieces
         WHERE record = ?1 AND hash = ?2",
        params![id.to_string(), meta.hash],
        |r| r.get(0),
    )?;
    Ok(match row {
        Some((origin, acked, error, _)) if origin == "local" => {
            let acked = acked.unwrap_or(0).max(0) as u64;
            match error {
                Some(e) => (TransferState::Failed, acked, Some(e)),
                None if acked >= meta.size => (TransferState::Uploaded, meta.size, None),
                None => (TransferState::Uploading, acked, None),
            }
        }
        Some((_, _, _, true)) => (TransferState::Available, meta.size, None),
        _ => (TransferState::Remote, pieces.max(0) as u64, None),
    })
}

/// The bytes of an attachment, when they are on this phone.
pub fn bytes(replica: &Replica, id: Uuid, hash: &str) -> Result<Option<Vec<u8>>, ReplicaError> {
    Ok(replica.pool().read(|c| {
        c.query_row(
            "SELECT bytes FROM attachment_blobs WHERE record = ?1 AND hash = ?2
             AND bytes IS NOT NULL",
            params![id.to_string(), hash],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()
        .map_err(StoreError::from)
    })?)
}

/// Uploads on this phone the server refused for good (held here with their error), and
/// uploads not done yet: the `attachments_failed` and `attachments_pending` of the device
/// status sent on every sync.
pub(crate) fn upload_counts(c: &rusqlite::Connection) -> Result<(u64, u64), StoreError> {
    Ok(c.query_row(
        "SELECT count(*) FILTER (WHERE error IS NOT NULL),
                count(*) FILTER (WHERE error IS NULL AND (acked IS NULL OR acked < size))
         FROM attachment_blobs WHERE origin = 'local'",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?.max(0) as u64,
                r.get::<_, i64>(1)?.max(0) as u64,
            ))
        },
    )?)
}

/// Uploads due at `now_ms` (not refused, not done, their backoff over), oldest first.
pub fn due_uploads(replica: &Replica, now_ms: i64) -> Result<Vec<QueuedUpload>, ReplicaError> {
    Ok(replica.pool().read(|c| -> Result<_, StoreError> {
        let mut st = c.prepare(
            "SELECT record, hash, size, acked FROM attachment_blobs
             WHERE origin = 'local' AND error IS NULL AND (acked IS NULL OR acked < size)
               AND next_try_ms <= ?1
             ORDER BY rowid",
        )?;
        let rows = st.query_map([now_ms], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (record, hash, size, acked) = row?;
            if let Ok(record) = Uuid::parse_str(&record) {
                out.push(QueuedUpload {
                    record,
                    hash,
                    size: size.max(0) as u64,
                    acked: acked.map(|a| a.max(0) as u64),
                });
            }
        }
        Ok(out)
    })?)
}

/// What one pass over the upload queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Uploads now held by the server.
    pub done: usize,
    /// Uploads that stopped on a link failure or an unknown record (retried after backoff).
    pub deferred: usize,
    /// Uploads the server refused for good.
    pub refused: usize,
}

/// Runs every due upload through `transport`, one after the other. A failure of one never
/// stops the others; a link failure or a not-yet-synced record backs that upload off
/// (1 s, 2 s, 4 s, … up to 10 minutes), a refusal files its code for the officer to see.
/// `progress` is called with (hash, bytes acknowledged, size).
pub fn upload_due(
    replica: &Replica,
    transport: &dyn Transport,
    now_ms: i64,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<UploadReport, ReplicaError> {
    let mut report = UploadReport::default();
    for job in due_uploads(replica, now_ms)? {
        let Some(blob) = bytes(replica, job.record, &job.hash)? else {
            continue;
        };
        let record = job.record.to_string();
        let mut on_ack = |s: UploadState| {
            let _ = set_acked(replica, job.record, &job.hash, s.received);
        };
        let mut each = |done: u64, size: u64| progress(&job.hash, done, size);
        match transfer::upload(
            transport,
            &record,
            &blob,
            &job.hash,
            job.acked,
            &mut on_ack,
            &mut each,
        ) {
            Ok(_) => {
                set_acked(replica, job.record, &job.hash, job.size)?;
                report.done += 1;
            }
            Err(TransferError::Refused { code }) => {
                set_error(replica, job.record, &job.hash, &code)?;
                report.refused += 1;
            }
            Err(TransferError::Link(_) | TransferError::Unknown) => {
                back_off(replica, job.record, &job.hash, now_ms)?;
                report.deferred += 1;
            }
        }
    }
    Ok(report)
}

fn set_acked(replica: &Replica, id: Uuid, hash: &str, acked: u64) -> Result<(), StoreError> {
    replica.pool().write(|tx| -> Result<_, StoreError> {
        tx.execute(
            "UPDATE attachment_blobs SET acked = ?3, attempts = 0
             WHERE record = ?1 AND hash = ?2",
            params![id.to_string(), hash, acked as i64],
        )?;
        Ok(())
    })
}

fn set_error(replica: &Replica, id: Uuid, hash: &str, code: &str) -> Result<(), StoreError> {
    replica.pool().write(|tx| -> Result<_, StoreError> {
        tx.execute(
            "UPDATE attachment_blobs SET error = ?3 WHERE record = ?1 AND hash = ?2",
            params![id.to_string(), hash, code],
        )?;
        Ok(())
    })
}

/// Pushes the next try of an upload back: the acknowledged position is forgotten (the next
/// try asks the server), the wait doubles with every failure in a row.
fn back_off(replica: &Replica, id: Uuid, hash: &str, now_ms: i64) -> Result<(), StoreError> {
    replica.pool().write(|tx| -> Result<_, StoreError> {
        let attempts: i64 = tx.query_row(
            "UPDATE attachment_blobs SET attempts = attempts + 1, acked = NULL
             WHERE record = ?1 AND hash = ?2 RETURNING attempts",
            params![id.to_string(), hash],
            |r| r.get(0),
        )?;
        let wait = (1000i64 << attempts.clamp(0, 20)).min(MAX_BACKOFF_MS);
        tx.execute(
            "UPDATE attachment_blobs SET next_try_ms = ?3 WHERE record = ?1 AND hash = ?2",
            params![id.to_string(), hash, now_ms + wait],
        )?;
        Ok(())
    })
}

/// Fetches one attachment of record `id` (on demand: the app asks for what it shows),
/// resuming after the pieces already stored; checks the whole against its hash before
/// keeping it. Returns the bytes.
pub fn fetch(
    replica: &Replica,
    transport: &dyn Transport,
    id: Uuid,
    hash: &str,
    progress: Progress<'_>,
) -> Result<Vec<u8>, FetchError> {
    if let Some(b) = bytes(replica, id, hash)? {
        progress(b.len() as u64, b.len() as u64);
        return Ok(b);
    }
    let meta = list(replica, id)?
        .into_iter()
        .find(|a| a.meta.hash == hash)
        .ok_or(FetchError::NotReferenced)?
        .meta;
    let have = pieces_len(replica, id, hash)?;
    let record = id.to_string();
    let mut store = |at: u64, piece: &[u8]| {
        put_piece(replica, id, hash, at, piece).map_err(|e| TransferError::Link(e.to_string()))
    };
    transfer::fetch(
        transport, &record, hash, meta.size, have, &mut store, progress,
    )?;
    finish_fetch(replica, id, &meta)
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The record does not refer to this attachment.
    #[error("the record has no such attachment")]
    NotReferenced,
    /// The fetched bytes do not hash to the attachment's name (the pieces are dropped; a
    /// new fetch starts over).
    #[error("the fetched bytes do not match the attachment's hash")]
    HashMismatch,
    /// The transfer stopped (what arrived is kept).
    #[error(transparent)]
    Transfer(#[from] TransferError),
    /// The local store failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

impl From<StoreError> for FetchError {
    fn from(e: StoreError) -> Self {
        FetchError::Replica(e.into())
    }
}

impl From<rusqlite::Error> for FetchError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::from(e).into()
    }
}

fn pieces_len(replica: &Replica, id: Uuid, hash: &str) -> Result<u64, StoreError> {
    replica.pool().read(|c| {
        let n: i64 = c.query_row(
            "SELECT COALESCE(SUM(length(bytes)), 0) FROM attachment_pieces
             WHERE record = ?1 AND hash = ?2",
            params![id.to_string(), hash],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    })
}

fn put_piece(
    replica: &Replica,
    id: Uuid,
    hash: &str,
    at: u64,
    piece: &[u8],
) -> Result<(), StoreError> {
    replica.pool().write(|tx| -> Result<_, StoreError> {
        tx.execute(
            "INSERT INTO attachment_pieces (record, hash, at, bytes) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (record, hash, at) DO UPDATE SET bytes = excluded.bytes",
            params![id.to_string(), hash, at as i64, piece],
        )?;
        Ok(())
    })
}

/// Joins the stored pieces, checks the hash, and keeps the blob (dropping the pieces).
fn finish_fetch(replica: &Replica, id: Uuid, meta: &Meta) -> Result<Vec<u8>, FetchError> {
    let whole = replica.pool().write(|tx| -> Result<_, FetchError> {
        let mut st = tx.prepare(
            "SELECT bytes FROM attachment_pieces WHERE record = ?1 AND hash = ?2 ORDER BY at",
        )?;
        let mut whole = Vec::with_capacity(meta.size as usize);
        let rows = st.query_map(params![id.to_string(), meta.hash], |r| {
            r.get::<_, Vec<u8>>(0)
        })?;
        for piece in rows {
            whole.extend_from_slice(&piece?);
        }
        drop(st);
        tx.execute(
            "DELETE FROM attachment_pieces WHERE record = ?1 AND hash = ?2",
            params![id.to_string(), meta.hash],
        )?;
        if super::sha256_hex(&whole) != meta.hash {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO attachment_blobs (record, hash, size, bytes, origin, acked, next_try_ms)
             VALUES (?1, ?2, ?3, ?4, 'remote', NULL, 0)
             ON CONFLICT (record, hash) DO UPDATE SET bytes = excluded.bytes, error = NULL",
            params![id.to_string(), meta.hash, meta.size as i64, whole],
        )?;
        Ok(Some(whole))
    })?;
    whole.ok_or(FetchError::HashMismatch)
}

/// Drops blobs and pieces no record refers to any more (an attachment removed by an edit,
/// or a record reset by a rejection). Returns how many blobs went.
pub fn sweep(replica: &Replica) -> Result<usize, ReplicaError> {
    let held: Vec<(String, String)> = replica.pool().read(|c| -> Result<_, StoreError> {
        let mut st = c.prepare("SELECT record, hash FROM attachment_blobs")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    })?;
    let mut dropped = 0;
    for (record, hash) in held {
        let referenced = match Uuid::parse_str(&record) {
            Ok(id) => match replica.get(id)? {
                Some(v) => super::of_fields(&v.record.fields)
                    .iter()
                    .any(|m| m.hash == hash),
                None => false,
            },
            Err(_) => false,
        };
        if !referenced {
            replica.pool().write(|tx| -> Result<_, StoreError> {
                tx.execute(
                    "DELETE FROM attachment_blobs WHERE record = ?1 AND hash = ?2",
                    params![record, hash],
                )?;
                tx.execute(
                    "DELETE FROM attachment_pieces WHERE record = ?1 AND hash = ?2",
                    params![record, hash],
                )?;
                Ok(())
            })?;
            dropped += 1;
        }
    }
    Ok(dropped)
}
