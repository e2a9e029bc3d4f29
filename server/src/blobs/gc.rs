//! Garbage collection of attachment bytes: blobs no record refers to any more, and uploads
//! abandoned halfway, each deleted after a grace period (`--attachment-gc-grace-days`,
//! default 7). Run by `ferry serve` every `--attachment-gc-every-hours` (default 24) and by
//! `ferry attachments gc`; every run is audited (`attachment_gc`, with the report) and its
//! counts are printed or logged.
//!
//! | what | deleted when |
//! |---|---|
//! | a stored blob | no record's `attachments` set has referred to it for the grace period (an attachment removed by an edit); one referred to again in time is kept |
//! | an unfinished upload (its chunks) | its newest chunk is older than the grace period (a phone that comes back later starts that upload again from the first chunk) |
//!
//! "Referred to" means: a key of the `attachments` map of a stored record, in any of its
//! concurrent values ([`sync_core::doc::RecordDoc::attachment_hashes`]); every record is
//! read. A record that cannot be read stops the run before anything is deleted.
//!
//! When a blob is first found unreferenced it gets a mark in the blob store
//! (`unreferenced/<hash>`, holding the time), so the grace period counts from the first run
//! that saw it unreferenced, not from the upload: nothing about blobs is in the database.
//! A later run that finds it referenced again removes the mark. Before deleting, the run
//! reads again the records written while it was reading them, so a reference made during
//! the run keeps its blob. Runs on several nodes sharing an object store agree: the first
//! mark stands, deletes of what is already gone succeed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use sync_core::doc::RecordDoc;

use super::BlobStore;
use crate::audit;
use crate::db::Store;

const DAY_MS: i64 = 86_400_000;

/// Records read per statement.
const PAGE: i64 = 500;

/// How far before the start of a run the second read reaches (clock differences between
/// nodes, a push committed as the run started).
const RECHECK_MARGIN_MS: i64 = 10 * 60 * 1000;

/// The rules (flags and environment variables of `ferry` and `ferry attachments gc`).
#[derive(Debug, Clone, clap::Args)]
pub struct GcConfig {
    /// Days a blob no record refers to is kept before it is deleted, and days an unfinished
    /// upload is kept after its last chunk; 0 deletes them at the next run.
    #[arg(
        long,
        env = "FERRY_ATTACHMENT_GC_GRACE_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub attachment_gc_grace_days: u32,
    /// Hours between two garbage collections in `ferry serve`; 0 collects only through
    /// `ferry attachments gc`.
    #[arg(
        long,
        env = "FERRY_ATTACHMENT_GC_EVERY_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub attachment_gc_every_hours: u64,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig {
            attachment_gc_grace_days: 7,
            attachment_gc_every_hours: 24,
        }
    }
}

/// What one run found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The time the run judged by (ms).
    pub ran_ms: i64,
    /// The grace period, in days.
    pub grace_days: u32,
    /// Records read for their references (0 when the store held no blob).
    pub records_read: u64,
    /// Blobs in the store when the run began.
    pub blobs: u64,
    /// Blobs some record refers to (kept).
    pub referenced: u64,
    /// Blobs found unreferenced for the first time (marked; kept for the grace period).
    pub newly_unreferenced: u64,
    /// Unreferenced blobs still within their grace period (kept; the newly marked too).
    pub in_grace: u64,
    /// Blobs deleted.
    pub deleted: u64,
    /// Their bytes.
    pub deleted_bytes: u64,
    /// Marks removed: the blob is referred to again, or already gone.
    pub marks_cleared: u64,
    /// Unfinished uploads in the store when the run began.
    pub uploads: u64,
    /// Unfinished uploads dropped (their newest chunk older than the grace period).
    pub uploads_dropped: u64,
    /// Bytes of the chunks dropped.
    pub upload_bytes_dropped: u64,
}

/// Collects as of `now_ms` and audits the report as written by `by` (`server` for the
/// scheduled run, `cli` for `ferry attachments gc`). The database is read on blocking
/// threads; the blob store is asked from this task.
pub async fn run(
    store: &Store,
    blobs: &dyn BlobStore,
    rules: &GcConfig,
    now_ms: i64,
    by: &str,
) -> anyhow::Result<Report> {
    let cutoff = now_ms.saturating_sub(i64::from(rules.attachment_gc_grace_days) * DAY_MS);
    let mut report = Report {
        ran_ms: now_ms,
        grace_days: rules.attachment_gc_grace_days,
        ..Report::default()
    };
    for upload in blobs.list_uploads().await? {
        report.uploads += 1;
        if upload.written_ms <= cutoff {
            blobs.drop_chunks(&upload.hash).await?;
            report.uploads_dropped += 1;
            report.upload_bytes_dropped += upload.bytes;
        }
    }
    collect_blobs(store, blobs, now_ms, cutoff, &mut report).await?;
    let (store, by, details) = (store.clone(), by.to_owned(), serde_json::to_value(&report)?);
    tokio::task::spawn_blocking(move || {
        store.write(|tx| {
            audit::append(
                tx,
                crate::now_ms(),
                &audit::Entry {
                    user: &by,
                    action: "attachment_gc",
                    details,
                    ..audit::Entry::default()
                },
            )
        })
    })
    .await??;
    Ok(report)
}

/// The blob half of a run: marks, unmarks and deletes.
async fn collect_blobs(
    store: &Store,
    blobs: &dyn BlobStore,
    now_ms: i64,
    cutoff: i64,
    report: &mut Report,
) -> anyhow::Result<()> {
    let held = blobs.list_blobs().await?;
    let marks: HashMap<String, i64> = blobs.marks().await?.into_iter().collect();
    report.blobs = held.len() as u64;
    if held.is_empty() && marks.is_empty() {
        return Ok(());
    }
    let wanted: HashSet<String> = held.iter().map(|b| b.hash.clone()).collect();
    let started = crate::now_ms();
    let (referenced, read) = referenced_among(store, &wanted, None).await?;
    report.records_read = read;
    let mut doomed = Vec::new();
    for blob in &held {
        let mark = marks.get(&blob.hash).copied();
        if referenced.contains(&blob.hash) {
            report.referenced += 1;
            if mark.is_some() {
                blobs.unmark(&blob.hash).await?;
                report.marks_cleared += 1;
            }
            continue;
        }
        let since = match mark {
            Some(since) => since,
            None => {
                blobs.mark(&blob.hash, now_ms).await?;
                report.newly_unreferenced += 1;
                now_ms
            }
        };
        if since <= cutoff {
            doomed.push(blob);
        } else {
            report.in_grace += 1;
        }
    }
    for hash in marks.keys().filter(|h| !wanted.contains(*h)) {
        blobs.unmark(hash).await?;
        report.marks_cleared += 1;
    }
    if doomed.is_empty() {
        return Ok(());
    }
    // References written while the first read ran.
    let names: HashSet<String> = doomed.iter().map(|b| b.hash.clone()).collect();
    let since = started - RECHECK_MARGIN_MS;
    let (late, _) = referenced_among(store, &names, Some(since)).await?;
    for blob in doomed {
        if late.contains(&blob.hash) {
            report.referenced += 1;
            report.marks_cleared += 1;
        } else {
            blobs.delete_blob(&blob.hash).await?;
            report.deleted += 1;
            report.deleted_bytes += blob.bytes;
        }
        // After the delete: a crash in between leaves a mark without a blob, which the next
        // run clears.
        blobs.unmark(&blob.hash).await?;
    }
    Ok(())
}

/// Which of `wanted` the stored records refer to (only records written at or after `since`
/// when given), and how many records were read.
async fn referenced_among(
    store: &Store,
    wanted: &HashSet<String>,
    since: Option<i64>,
) -> anyhow::Result<(HashSet<String>, u64)> {
    let (store, wanted) = (store.clone(), Arc::new(wanted.clone()));
    tokio::task::spawn_blocking(move || {
        let since = since.unwrap_or(i64::MIN);
        let (mut found, mut read, mut after) = (HashSet::new(), 0u64, String::new());
        loop {
            let rows = store.read(|c| {
                c.query(
                    "SELECT id, doc FROM records WHERE id > ?1 AND updated_ms >= ?2
                     ORDER BY id LIMIT ?3",
                    &[&after, &since, &PAGE],
                )
            })?;
            if rows.is_empty() {
                return Ok((found, read));
            }
            for mut row in rows {
                let id: String = row.take(0)?;
                let doc: Vec<u8> = row.take(1)?;
                let hashes = RecordDoc::load(&doc)
                    .and_then(|d| d.attachment_hashes())
                    .with_context(|| {
                        format!("record {id} cannot be read: no attachment blob was collected")
                    })?;
                found.extend(hashes.into_iter().filter(|h| wanted.contains(h)));
                read += 1;
                after = id;
            }
        }
    })
    .await?
}

/// Collects every `--attachment-gc-every-hours` while the server runs (the first run an
/// interval after the start), logging each report.
pub async fn scheduled(state: crate::AppState) {
    let hours = state.config.attachment_gc.attachment_gc_every_hours;
    if hours == 0 {
        return;
    }
    every(
        state,
        std::time::Duration::from_secs(hours.saturating_mul(3600)),
    )
    .await;
}

/// The loop of [`scheduled`], every `interval`.
pub(crate) async fn every(state: crate::AppState, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        let rules = state.config.attachment_gc.clone();
        match run(
            &state.store,
            state.blobs.as_ref(),
            &rules,
            crate::now_ms(),
            "server",
        )
        .await
        {
            Ok(r) => {
                state.metrics.attachment_gc(&r);
                tracing::info!(
                    blobs = r.blobs,
                    deleted = r.deleted,
                    deleted_bytes = r.deleted_bytes,
                    in_grace = r.in_grace,
                    uploads_dropped = r.uploads_dropped,
                    "attachment garbage collection"
                );
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "attachment garbage collection failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use sync_core::doc::{Author, Edit};
    use sync_core::model::{Fields, Kind, Record, Value};
    use sync_core::replica::row_for;
    use uuid::Uuid;

    use super::*;
    use crate::blobs::fs::FsBlobs;
    use crate::blobs::object::ObjectBlobs;
    use crate::feed;

    const DAY: i64 = DAY_MS;

    fn sqlite(dir: &std::path::Path) -> Store {
        let pool = sync_core::store::Pool::open(
            &dir.join("ferry.db"),
            None,
            crate::schema::SERVER_MIGRATIONS,
            1,
        )
        .unwrap();
        Store::Sqlite(Arc::new(pool))
    }

    /// A citizen whose attachment set holds `hashes`, written as of `at`.
    fn record_referring_to(store: &Store, id: Uuid, hashes: &[&str], at: i64) {
        let mut fields = Fields::new();
        fields.insert("full_name".into(), "Trần Thị Lan".into());
        let record = Record {
            id,
            kind: Kind::Citizen,
            unit: "07132".into(),
            fields,
        };
        let author = Author::new(&[1; 16], at);
        let (mut doc, _) = RecordDoc::create(&record, &author).unwrap();
        let entries: Vec<Edit> = hashes
            .iter()
            .map(|h| Edit::PutEntry {
                field: sync_core::attachment::FIELD.into(),
                key: (*h).into(),
                value: Value::Map([("kind".to_owned(), Value::from("portrait"))].into()),
            })
            .collect();
        if !entries.is_empty() {
            doc.edit(&entries, &author).unwrap();
        }
        let read = doc.read().unwrap();
        store
            .write(|tx| feed::put_record(tx, &row_for(&doc, &read, &[], at)))
            .unwrap();
    }

    fn hash(n: u8) -> String {
        sync_core::attachment::sha256_hex(&[n])
    }

    async fn held(blobs: &dyn BlobStore, h: &str) -> bool {
        blobs.blob_size(h).await.unwrap().is_some()
    }

    /// The scenario of both stores: `kept` referred to throughout, `removed` unreferenced
    /// by an edit on day 5, `orphan` unreferenced from day 0, and an upload abandoned on
    /// day 0.
    async fn grace_scenario(blobs: &dyn BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(dir.path());
        let rules = GcConfig::default();
        let now = crate::now_ms();
        let (kept, removed, orphan, partial) = (hash(1), hash(2), hash(3), hash(4));
        for h in [&kept, &removed, &orphan] {
            blobs.put_blob(h, Bytes::from_static(b"x")).await.unwrap();
        }
        blobs
            .put_chunk(&partial, 0, Bytes::from_static(b"part"))
            .await
            .unwrap();
        let (r1, r2) = (Uuid::now_v7(), Uuid::now_v7());
        record_referring_to(&store, r1, &[&kept], now);
        record_referring_to(&store, r2, &[&removed], now);

        let day0 = run(&store, blobs, &rules, now, "cli").await.unwrap();
        assert_eq!(
            (
                day0.blobs,
                day0.referenced,
                day0.newly_unreferenced,
                day0.in_grace
            ),
            (3, 2, 1, 1)
        );
        assert_eq!(
            (day0.deleted, day0.uploads, day0.uploads_dropped),
            (0, 1, 0)
        );
        assert_eq!(day0.records_read, 2);

        // Day 5: the attachment is removed from its record.
        record_referring_to(&store, r2, &[], now);
        let day5 = run(&store, blobs, &rules, now + 5 * DAY, "cli")
            .await
            .unwrap();
        assert_eq!(
            (day5.newly_unreferenced, day5.in_grace, day5.deleted),
            (1, 2, 0)
        );
        assert_eq!(day5.uploads_dropped, 0, "the upload is 5 days old");

        // Day 8: the orphan of day 0 is past its grace, the one of day 5 is not.
        let day8 = run(&store, blobs, &rules, now + 8 * DAY, "cli")
            .await
            .unwrap();
        assert_eq!((day8.deleted, day8.deleted_bytes, day8.in_grace), (1, 1, 1));
        assert!(!held(blobs, &orphan).await);
        assert!(held(blobs, &removed).await && held(blobs, &kept).await);
        assert_eq!((day8.uploads_dropped, day8.upload_bytes_dropped), (1, 4));
        assert!(blobs.chunks(&partial).await.unwrap().is_empty());

        // Day 10: referred to again (the edit undone): the mark goes and the blob stays.
        record_referring_to(&store, r2, &[&removed], now);
        let day10 = run(&store, blobs, &rules, now + 10 * DAY, "cli")
            .await
            .unwrap();
        assert_eq!((day10.marks_cleared, day10.deleted), (1, 0));
        assert!(blobs.marks().await.unwrap().is_empty());
        let day30 = run(&store, blobs, &rules, now + 30 * DAY, "cli")
            .await
            .unwrap();
        assert_eq!((day30.referenced, day30.deleted), (2, 0));

        let audited: i64 = store
            .read(|c| {
                c.query_value(
                    "SELECT count(*) FROM audit WHERE action = 'attachment_gc'",
                    &[],
                )
            })
            .unwrap();
        assert_eq!(audited, 5, "every run is audited");
    }

    #[tokio::test]
    async fn the_file_store_deletes_blobs_unreferenced_past_the_grace_period_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        grace_scenario(&FsBlobs::open(&dir.path().join("blobs")).unwrap()).await;
    }

    #[tokio::test]
    async fn an_object_store_deletes_blobs_unreferenced_past_the_grace_period_and_keeps_the_rest() {
        grace_scenario(&ObjectBlobs::from_url("memory:").unwrap()).await;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}", dir.path().display());
        grace_scenario(&ObjectBlobs::from_url(&url).unwrap()).await;
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_read_stops_the_run_before_anything_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(dir.path());
        let blobs = FsBlobs::open(&dir.path().join("blobs")).unwrap();
        let orphan = hash(9);
        blobs
            .put_blob(&orphan, Bytes::from_static(b"x"))
            .await
            .unwrap();
        let id = Uuid::now_v7().to_string();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO records (id, kind, unit, doc, heads, updated_ms)
                     VALUES (?1, 'citizen', '07132', ?2, ?3, 0)",
                    &[&id, &b"not automerge".to_vec(), &Vec::<u8>::new()],
                )
            })
            .unwrap();
        let rules = GcConfig {
            attachment_gc_grace_days: 0,
            ..GcConfig::default()
        };
        let e = run(&store, &blobs, &rules, crate::now_ms(), "cli")
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains(&id), "{e:#}");
        assert!(held(&blobs, &orphan).await);
    }

    #[test]
    fn the_server_collects_on_its_schedule_and_counts_it_in_the_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config {
            data_dir: dir.path().join("data"),
            admin_password: Some("correct horse battery".into()),
            attachment_gc: GcConfig {
                attachment_gc_grace_days: 0,
                attachment_gc_every_hours: 24,
            },
            ..crate::Config::default()
        };
        let (state, _) = crate::open_state(config).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let orphan = hash(5);
            state
                .blobs
                .put_blob(&orphan, Bytes::from_static(b"xyz"))
                .await
                .unwrap();
            let task = tokio::spawn(every(state.clone(), std::time::Duration::from_millis(50)));
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            let counted = "ferry_attachment_gc_blobs_deleted_total 1";
            while !state.metrics.render().contains(counted) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "collected within 30 s"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            task.abort();
            assert!(!held(state.blobs.as_ref(), &orphan).await);
        });
        let audited: i64 = state
            .store
            .read(|c| {
                c.query_value(
                    "SELECT count(*) FROM audit WHERE action = 'attachment_gc' AND user = 'server'",
                    &[],
                )
            })
            .unwrap();
        assert!(audited >= 1);
    }
}
