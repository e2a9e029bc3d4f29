//! The durable detection queue: review detection runs after the push is committed, not
//! inside the exchange's transaction.
//!
//! A push that stores new changes of a record adds the record's id to `review_queue` in the
//! same transaction ([`enqueue`]), so a crash between the commit and detection loses
//! nothing: the id is still queued when the server starts again. A background worker
//! ([`spawn_worker`]) drains the queue in small chunks through the group-commit writer;
//! each chunk runs detection and deletes its ids in one transaction, so an id leaves the
//! queue exactly when its detection is committed; it runs from the server's start, so what an
//! earlier run left queued is detected while the server serves. `ferry review scan` drains it
//! with [`drain_all`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use uuid::Uuid;

use super::detect::{self, DetectStats};
use crate::db::{DbError, Sql, Store};
use crate::doc_cache::DocCache;
use crate::metrics::Metrics;
use crate::writer::Writer;

/// The queue's table (server migration 4).
pub const SCHEMA_SQL: &str =
    include_str!("../../migrations/sqlite/0004_review_detection_queue.sql");

/// Records detected per transaction (keeps each detection job short beside the exchanges
/// sharing its batch).
pub const CHUNK: usize = 32;

/// How long the worker sleeps when nobody wakes it (a safety net; pushes wake it).
const IDLE: Duration = Duration::from_millis(250);

/// Queues `records` for detection, in the caller's transaction.
pub fn enqueue(tx: &dyn Sql, records: &[Uuid], now_ms: i64) -> Result<(), DbError> {
    for id in records {
        // DO UPDATE (keeping the row's place), not DO NOTHING: on PostgreSQL a worker may
        // hold this record's queue row (detecting an older state, on a snapshot without this
        // push) and delete it when it commits. Updating the row waits for that worker's lock
        // and then inserts afresh, so the newer state is detected too; DO NOTHING would see
        // the old row, skip, and lose the detection when the worker deletes it.
        tx.execute(
            "INSERT INTO review_queue (record, queued_ms) VALUES (?1, ?2)
             ON CONFLICT (record) DO UPDATE SET queued_ms = review_queue.queued_ms",
            &[id, &now_ms],
        )?;
    }
    Ok(())
}

/// How many records wait for detection.
pub fn len(conn: &dyn Sql) -> Result<usize, DbError> {
    let n: i64 = conn.query_value("SELECT count(*) FROM review_queue", &[])?;
    Ok(n.max(0) as usize)
}

/// Runs detection for up to `limit` queued records (oldest first) and removes them from the
/// queue, in `tx`. Returns how many were taken and what detection did.
///
/// On PostgreSQL the chunk's queue rows are locked (`FOR UPDATE SKIP LOCKED`): the workers of
/// several nodes take different chunks, and a record is detected by one of them.
pub fn drain_chunk(
    tx: &dyn Sql,
    limit: usize,
    now_ms: i64,
    cache: Option<&DocCache>,
) -> anyhow::Result<(usize, DetectStats)> {
    let lock = match tx.dialect() {
        crate::db::Dialect::Sqlite => "",
        crate::db::Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let ids: Vec<String> = tx
        .query(
            &format!("SELECT record FROM review_queue ORDER BY queued_ms, record LIMIT ?1{lock}"),
            &[&(limit as i64)],
        )?
        .into_iter()
        .map(|r| r.get(0))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok((0, DetectStats::default()));
    }
    let records: Vec<Uuid> = ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect();
    let stats = detect::detect_cached(tx, &records, now_ms, cache)?;
    for id in &ids {
        tx.execute("DELETE FROM review_queue WHERE record = ?1", &[id])?;
    }
    Ok((ids.len(), stats))
}

/// Drains the whole queue in write transactions of `store` (`ferry review scan`).
pub fn drain_all(store: &Store, now_ms: i64) -> anyhow::Result<(usize, DetectStats)> {
    let mut total = (0, DetectStats::default());
    loop {
        let (n, s) = crate::writer::retrying(|| {
            store.write_serializable(|tx| drain_chunk(tx, CHUNK * 8, now_ms, None))
        })?;
        if n == 0 {
            return Ok(total);
        }
        total.0 += n;
        total.1.opened += s.opened;
        total.1.refreshed += s.refreshed;
        total.1.closed += s.closed;
    }
}

/// Starts the background worker; `wake` is notified after every commit that queued records.
pub fn spawn_worker(
    writer: Writer,
    store: Store,
    cache: Arc<DocCache>,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
) {
    tokio::spawn(async move {
        loop {
            loop {
                let cache = cache.clone();
                let taken = writer
                    // SERIALIZABLE on PostgreSQL: detection on two nodes must not each miss
                    // the other's uncommitted index row (module `detect`).
                    .run_serializable(move |tx| {
                        drain_chunk(tx, CHUNK, crate::now_ms(), Some(&cache))
                    })
                    .await;
                match taken {
                    Ok((0, _)) => break,
                    Ok(_) => {}
                    Err(e) => {
                        // Left queued; tried again after a pause.
                        tracing::warn!(error = %e, "review detection failed; will retry");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                }
            }
            let s = store.clone();
            if let Ok(Ok(n)) = tokio::task::spawn_blocking(move || s.read(len)).await {
                metrics.review_queue_len(n);
            }
            let _ = tokio::time::timeout(IDLE, wake.notified()).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{self, Caller};
    use automerge::ActorId;
    use serde_bytes::ByteBuf;
    use sync_core::doc::{Author, RecordDoc, encode_change};
    use sync_core::model::{Fields, Kind, Record, Role};
    use sync_core::protocol::PushRecord;

    fn numbered_citizen(actor: &[u8; 16]) -> PushRecord {
        let mut fields = Fields::new();
        fields.insert("full_name".into(), "Trần Văn Bình".into());
        fields.insert("status".into(), "active".into());
        fields.insert("id_number".into(), "001090012345".into());
        let record = Record {
            id: Uuid::now_v7(),
            kind: Kind::Citizen,
            unit: "07132".into(),
            fields,
        };
        let (_, mut change) = RecordDoc::create(&record, &Author::new(actor, 1)).unwrap();
        PushRecord {
            record: record.id,
            kind: "citizen".into(),
            unit: String::new(),
            changes: vec![ByteBuf::from(encode_change(&mut change))],
        }
    }

    fn open_items(store: &Store) -> u64 {
        store
            .read(|c| super::super::count_items(c, &super::super::Filter::default(), 1))
            .unwrap()
            .total
    }

    #[test]
    fn records_queued_when_the_server_stopped_are_detected_by_the_worker_after_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config {
            data_dir: dir.path().to_owned(),
            admin_password: Some("correct horse battery".into()),
            ..crate::Config::default()
        };
        let (state, _) = crate::open_state(config.clone()).unwrap();
        let actor = [7u8; 16];
        let caller = Caller {
            role: Role::Staff,
            scopes: ["07132".to_owned()].into(),
            device_id: Uuid::now_v7(),
            actor: ActorId::from(&actor[..]),
        };
        // Two citizens with one ID number, committed; no detection worker runs (as when the
        // process dies right after the commit).
        let pushes = [numbered_citizen(&actor), numbered_citizen(&actor)];
        state
            .store
            .write(|tx| sync::push(tx, &caller, &pushes, crate::now_ms(), None))
            .unwrap();
        assert_eq!(state.store.read(len).unwrap(), 2);
        assert_eq!(open_items(&state.store), 0, "nothing detected yet");
        drop(state);

        // The next start serves at once: the records are still queued, and the review
        // worker detects them in the background.
        let (state, _) = crate::open_state(config).unwrap();
        assert_eq!(state.store.read(len).unwrap(), 2, "start does not detect");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            spawn_worker(
                state.writer.clone(),
                state.store.clone(),
                state.cache.clone(),
                state.metrics.clone(),
                state.review_wake.clone(),
            );
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while state.store.read(len).unwrap() > 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the worker drained the queue within 30 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        assert_eq!(open_items(&state.store), 1, "the duplicate is found");
    }

    #[test]
    fn draining_a_chunk_takes_the_oldest_records_and_leaves_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::open_pool(&crate::Config {
            data_dir: dir.path().to_owned(),
            ..crate::Config::default()
        })
        .unwrap();
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        pool.write(|tx| -> anyhow::Result<()> {
            for (i, id) in ids.iter().enumerate() {
                enqueue(tx, &[*id], i as i64)?;
            }
            // Queuing a record again keeps its place.
            enqueue(tx, &[ids[0]], 99)?;
            Ok(())
        })
        .unwrap();
        let (n, _) = pool.write(|tx| drain_chunk(tx, 3, 100, None)).unwrap();
        assert_eq!(n, 3);
        let left: Vec<String> = pool
            .read(|c| -> rusqlite::Result<Vec<String>> {
                c.prepare("SELECT record FROM review_queue ORDER BY record")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .unwrap();
        assert_eq!(left, [ids[3].to_string(), ids[4].to_string()]);
    }
}
