//! Prefetch of small kinds (`docs/protocol.md` §11.7): download is on demand, but a phone
//! can ask to have the small attachments it will surely show (signatures, thumbnails) fetched
//! ahead, so they are there when the officer is offline.
//!
//! The setting (kinds and a size cap per blob) is kept in the store's `meta` table. Matching
//! references are queued as `attachment_blobs` rows with `origin = 'prefetch'` and no bytes:
//! when a pulled record is merged (its fields are read then anyway, so no record is scanned
//! for it), and once over the whole store when the setting changes. [`prefetch_due`] works
//! the queue through the on-demand [`fetch`](super::local::fetch).
//!
//! A queued row is an ordinary row of the table: its state reads `Remote` until its bytes
//! are here, it is never uploaded (`due_uploads` takes `origin = 'local'` only), and it
//! leaves with its record (the purge trigger, a wipe) or when no record refers to it
//! ([`sweep`](super::local::sweep)).

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::local::{FetchError, fetch};
use super::transfer::{TransferError, Transport};
use super::{AttachError, KINDS, Meta};
use crate::model::Value;
use crate::replica::{Replica, ReplicaError};
use crate::store::{StoreError, tables};

/// The `meta` key of the setting (JSON of [`Prefetch`]).
pub(crate) const META_PREFETCH: &str = "attachment_prefetch";

/// What to fetch ahead: references of these kinds of at most `max_bytes` each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefetch {
    /// Attachment kinds ([`KINDS`]).
    pub kinds: Vec<String>,
    /// Largest blob fetched ahead, in bytes.
    pub max_bytes: u64,
}

impl Prefetch {
    /// Whether anything is prefetched at all (no kind or a zero cap: off).
    pub fn is_on(&self) -> bool {
        !self.kinds.is_empty() && self.max_bytes > 0
    }

    /// Whether reference `meta` is to be fetched ahead.
    pub fn wants(&self, meta: &Meta) -> bool {
        meta.size <= self.max_bytes && self.kinds.contains(&meta.kind)
    }
}

/// The prefetch setting as last set (off when never set).
pub fn prefetch(replica: &Replica) -> Result<Prefetch, ReplicaError> {
    Ok(replica.pool().read(setting)?)
}

/// The setting as the store holds it; `None` when off (the merge path's cheap check).
pub(crate) fn active(c: &Connection) -> Result<Option<Prefetch>, StoreError> {
    Ok(Some(setting(c)?).filter(Prefetch::is_on))
}

fn setting(c: &Connection) -> Result<Prefetch, StoreError> {
    Ok(tables::get_meta(c, META_PREFETCH)?
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or_default())
}

/// Sets what is fetched ahead (`kinds` empty or `max_bytes` 0: off) and queues the
/// matching attachments of the records already on the phone (one pass over the store, now
/// only: later records are queued as they arrive). Entries queued under the old setting and
/// not fetched yet are forgotten first, so a narrower setting fetches less; a failed entry
/// gets a fresh try. Returns how many attachments are queued.
pub fn set_prefetch(
    replica: &Replica,
    kinds: &[String],
    max_bytes: u64,
) -> Result<usize, ReplicaError> {
    if kinds.iter().any(|k| !KINDS.contains(&k.as_str())) {
        return Err(ReplicaError::Invalid(vec![
            AttachError::UnknownKind.structural(),
        ]));
    }
    let mut kinds = kinds.to_vec();
    kinds.sort();
    kinds.dedup();
    let p = Prefetch { kinds, max_bytes };
    let json = serde_json::to_string(&p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    replica.pool().write(|tx| -> Result<_, StoreError> {
        tables::set_meta(tx, META_PREFETCH, &json)?;
        tx.execute(
            "DELETE FROM attachment_blobs WHERE origin = 'prefetch' AND bytes IS NULL",
            [],
        )?;
        Ok(())
    })?;
    if !p.is_on() {
        return Ok(0);
    }
    // Read every record first, then queue in one transaction (not one write per record).
    let mut wanted: Vec<(Uuid, Meta)> = Vec::new();
    for id in replica.all_heads()?.into_keys() {
        if let Some(view) = replica.get(id)? {
            let metas = super::of_fields(&view.record.fields);
            wanted.extend(metas.into_iter().filter(|m| p.wants(m)).map(|m| (id, m)));
        }
    }
    replica.pool().write(|tx| -> Result<_, StoreError> {
        for (id, m) in &wanted {
            insert(tx, *id, m)?;
        }
        Ok(())
    })?;
    Ok(queued(replica)?)
}

/// Queues the references of record `id` (its `fields`) that `p` wants and whose bytes are
/// not here; a reference already held or queued is left alone.
pub(crate) fn queue(
    c: &Connection,
    id: Uuid,
    fields: &BTreeMap<String, Value>,
    p: &Prefetch,
) -> Result<(), StoreError> {
    let metas = super::of_fields(fields);
    if metas.is_empty() {
        return Ok(());
    }
    for m in metas.iter().filter(|m| p.wants(m)) {
        insert(c, id, m)?;
    }
    Ok(())
}

/// Queues reference `m` of record `id` unless its row (held, queued or uploading) exists.
fn insert(c: &Connection, id: Uuid, m: &Meta) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO attachment_blobs (record, hash, size, bytes, origin, acked, next_try_ms)
         VALUES (?1, ?2, ?3, NULL, 'prefetch', NULL, 0)
         ON CONFLICT (record, hash) DO NOTHING",
    )?
    .execute(params![id.to_string(), m.hash, m.size as i64])?;
    Ok(())
}

/// What one [`prefetch_due`] run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefetchReport {
    /// Attachments fetched and kept.
    pub fetched: usize,
    /// Attachments whose bytes did not match their hash (or the server refused): marked
    /// failed and not tried again until the setting is set anew; still fetchable on demand.
    pub failed: usize,
    /// Attachments still queued (the link failed, or the server has no bytes yet).
    pub left: usize,
}

/// One queued prefetch.
struct Job {
    record: Uuid,
    hash: String,
}

fn due(replica: &Replica) -> Result<Vec<Job>, StoreError> {
    replica.pool().read(|c| {
        let mut st = c.prepare(
            "SELECT record, hash FROM attachment_blobs
             WHERE origin = 'prefetch' AND bytes IS NULL AND error IS NULL
             ORDER BY size, rowid",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (record, hash) = row?;
            if let Ok(record) = Uuid::parse_str(&record) {
                out.push(Job { record, hash });
            }
        }
        Ok(out)
    })
}

/// Attachments queued for prefetch and not fetched (nor failed) yet.
pub fn queued(replica: &Replica) -> Result<usize, StoreError> {
    replica.pool().read(|c| {
        let n: i64 = c.query_row(
            "SELECT count(*) FROM attachment_blobs
             WHERE origin = 'prefetch' AND bytes IS NULL AND error IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as usize)
    })
}

/// Fetches the queued prefetches, smallest first, through [`fetch`] (resumable, checked
/// against the hash). A link failure ends the run (the rest stays queued for the next one:
/// the link is gone for them too); a mismatch marks that entry failed and the run goes on;
/// one the server has no bytes for yet (its upload is not done) stays queued.
/// `progress` is called with (hash, bytes fetched, size).
pub fn prefetch_due(
    replica: &Replica,
    transport: &dyn Transport,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<PrefetchReport, ReplicaError> {
    let mut report = PrefetchReport::default();
    for job in due(replica)? {
        let mut each = |done, size| progress(&job.hash, done, size);
        match fetch(replica, transport, job.record, &job.hash, &mut each) {
            Ok(_) => report.fetched += 1,
            Err(FetchError::HashMismatch) => {
                mark_failed(replica, &job, "hash_mismatch")?;
                report.failed += 1;
            }
            Err(FetchError::Transfer(TransferError::Refused { code })) => {
                mark_failed(replica, &job, &code)?;
                report.failed += 1;
            }
            // An edit removed the reference since it was queued.
            Err(FetchError::NotReferenced) => drop_job(replica, &job)?,
            Err(FetchError::Transfer(TransferError::Unknown)) => {}
            Err(FetchError::Transfer(TransferError::Link(_))) => break,
            Err(FetchError::Replica(e)) => return Err(e),
        }
    }
    report.left = queued(replica)?;
    Ok(report)
}

fn mark_failed(replica: &Replica, job: &Job, code: &str) -> Result<(), StoreError> {
    replica.pool().write(|tx| {
        tx.execute(
            "UPDATE attachment_blobs SET error = ?3 WHERE record = ?1 AND hash = ?2",
            params![job.record.to_string(), job.hash, code],
        )?;
        Ok(())
    })
}

fn drop_job(replica: &Replica, job: &Job) -> Result<(), StoreError> {
    replica.pool().write(|tx| {
        tx.execute(
            "DELETE FROM attachment_blobs WHERE record = ?1 AND hash = ?2 AND bytes IS NULL",
            params![job.record.to_string(), job.hash],
        )?;
        Ok(())
    })
}
