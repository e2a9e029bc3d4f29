//! A bounded LRU cache of loaded Automerge documents, so that the push checks and review
//! detection of a record written again and again do not load (parse, inflate) its stored
//! document every time.
//!
//! The bound is in bytes: each entry is charged an estimate of its in-memory size
//! ([`cost`]), and the least recently used entries are dropped while the total is over the
//! budget. An entry is keyed by record id and remembers the heads of the document it holds;
//! a lookup passes the heads of the stored row and misses when they differ, so a document
//! written elsewhere (an admin's resolution, the CLI in another process, a rolled-back batch)
//! is never served stale.
//!
//! An entry may also hold the document's reading ([`Record`]), put there by the push that
//! built the document: the next push's checks and review detection of the same version then
//! do not read (walk and hydrate) it again. The reading is a function of the document, so it
//! is as fresh as the document it sits beside; it is charged in [`COST_BASE`].

use std::sync::{Arc, Mutex};

use lru::LruCache;
use sync_core::doc::RecordDoc;
use sync_core::model::Record;
use uuid::Uuid;

use crate::metrics::Metrics;

/// In-memory bytes charged per byte of a document's saved form (uncompressed), with
/// [`COST_BASE`] calibrated by `bench-doc-cost` (`BENCHMARKS.md`, "What a cached document
/// costs"): a loaded document of generated records measured ≈ 4.9 KiB + 15 bytes per saved
/// byte, a document forked and changed as a push builds it no more, and its reading
/// ≈ 3.4 KiB whatever the size.
pub const COST_PER_SAVED_BYTE: usize = 16;
/// Fixed in-memory bytes charged per cached document: the document's own fixed part and
/// the reading kept beside it.
pub const COST_BASE: usize = 8 * 1024;

/// In-memory bytes charged for a reading kept without its document
/// ([`DocCache::reading_only`]): ≈ 4.2–4.8 KiB measured, whatever the document's size.
pub const COST_READING: usize = 6 * 1024;

/// The thread that frees what the cache let go of; it ends when its cache is dropped. `None`
/// when no thread can be started (then entries are freed where they are let go).
fn spawn_freer() -> Option<std::sync::mpsc::Sender<Vec<Entry>>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<Entry>>();
    std::thread::Builder::new()
        .name("ferry-cache-free".into())
        .spawn(move || rx.into_iter().for_each(drop))
        .ok()?;
    Some(tx)
}

/// The estimated in-memory size of a loaded document whose saved form is `saved_len` bytes.
pub fn cost(saved_len: usize) -> usize {
    COST_BASE + saved_len.saturating_mul(COST_PER_SAVED_BYTE)
}

struct Entry {
    heads: Vec<u8>,
    /// `None` for a reading kept alone ([`DocCache::reading_only`]).
    doc: Option<Arc<RecordDoc>>,
    record: Option<Arc<Record>>,
    cost: usize,
}

struct Inner {
    lru: LruCache<Uuid, Entry>,
    used: usize,
}

/// The cache (shared by the writer thread and the review worker).
pub struct DocCache {
    inner: Mutex<Inner>,
    budget: usize,
    metrics: Arc<Metrics>,
    /// Replaced and evicted entries go to a thread of their own to be freed: freeing a
    /// document is ≈ 3% of the server's CPU under a sync load, and most replacements happen
    /// on the one writer thread, which every exchange waits for.
    freer: Option<std::sync::mpsc::Sender<Vec<Entry>>>,
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocCache")
            .field("budget", &self.budget)
            .field("used", &self.used())
            .finish()
    }
}

impl DocCache {
    /// A cache holding at most `budget` estimated bytes (0 disables it).
    pub fn new(budget: usize, metrics: Arc<Metrics>) -> DocCache {
        DocCache {
            inner: Mutex::new(Inner {
                lru: LruCache::unbounded(),
                used: 0,
            }),
            budget,
            metrics,
            freer: spawn_freer(),
        }
    }

    /// Frees `entries` on the freeing thread (here when it is gone).
    fn free(&self, entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        if let Some(Err(std::sync::mpsc::SendError(entries))) =
            self.freer.as_ref().map(|s| s.send(entries))
        {
            drop(entries);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Estimated bytes held.
    pub fn used(&self) -> usize {
        self.lock().used
    }

    /// The cached document of `id` when it is the one whose heads are `heads`.
    pub fn get(&self, id: Uuid, heads: &[u8]) -> Option<Arc<RecordDoc>> {
        let hit = {
            let mut inner = self.lock();
            match inner.lru.get(&id) {
                Some(e) if e.heads == heads => e.doc.clone(),
                _ => None,
            }
        };
        self.metrics.cache_lookup(hit.is_some());
        hit
    }

    /// The document of `id` with `heads`: from the cache, else loaded from `saved` (and
    /// cached).
    pub fn load(
        &self,
        id: Uuid,
        heads: &[u8],
        saved: &[u8],
    ) -> Result<Arc<RecordDoc>, sync_core::doc::DocError> {
        if let Some(doc) = self.get(id, heads) {
            return Ok(doc);
        }
        let doc = Arc::new(RecordDoc::load(saved)?);
        self.put(id, heads.to_vec(), doc.clone(), saved.len());
        Ok(doc)
    }

    /// Caches `doc` (whose saved form is `saved_len` bytes) as the document of `id` with
    /// `heads`, then drops least recently used entries while over the budget.
    pub fn put(&self, id: Uuid, heads: Vec<u8>, doc: Arc<RecordDoc>, saved_len: usize) {
        self.put_entry(id, heads, Some(doc), None, cost(saved_len));
    }

    /// [`Self::put`] with the document's reading (`doc.read()`), served by [`Self::record`].
    pub fn put_read(
        &self,
        id: Uuid,
        heads: Vec<u8>,
        doc: Arc<RecordDoc>,
        record: Arc<Record>,
        saved_len: usize,
    ) {
        self.put_entry(id, heads, Some(doc), Some(record), cost(saved_len));
    }

    /// The reading of the cached document of `id` when it has these `heads` and a reading
    /// was put with it (not counted as a lookup: it follows one).
    pub fn record(&self, id: Uuid, heads: &[u8]) -> Option<Arc<Record>> {
        match self.lock().lru.peek(&id) {
            Some(e) if e.heads == heads => e.record.clone(),
            _ => None,
        }
    }

    /// The document of `id` with `heads` and its reading: the cached reading, else read
    /// from the cached (or loaded) document and kept beside it.
    pub fn reading(
        &self,
        id: Uuid,
        heads: &[u8],
        saved: &[u8],
    ) -> Result<(Arc<RecordDoc>, Arc<Record>), sync_core::doc::DocError> {
        let doc = self.load(id, heads, saved)?;
        if let Some(r) = self.record(id, heads) {
            return Ok((doc, r));
        }
        // A stored document passed the shape walk when it was stored (`sync::evaluate`).
        let read = Arc::new(doc.read_known_shape()?);
        self.put_read(id, heads.to_vec(), doc.clone(), read.clone(), saved.len());
        Ok((doc, read))
    }

    /// The reading of the document of `id` with `heads`, for a caller that needs no
    /// document (review detection reading the records a rule names): the cached reading;
    /// else read from the cached document and kept beside it; else loaded from `saved`,
    /// read, and only the reading kept ([`COST_READING`], a fraction of a document), so that
    /// the records rules look at crowd out fewer of the documents pushes work on.
    pub fn reading_only(
        &self,
        id: Uuid,
        heads: &[u8],
        saved: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Result<Option<Arc<Record>>, sync_core::doc::DocError> {
        let (doc, record) = {
            let mut inner = self.lock();
            match inner.lru.get(&id) {
                Some(e) if e.heads == heads => (e.doc.clone(), e.record.clone()),
                _ => (None, None),
            }
        };
        self.metrics.cache_lookup(record.is_some() || doc.is_some());
        if let Some(r) = record {
            return Ok(Some(r));
        }
        if let Some(doc) = doc {
            // Kept beside its document; the entry's cost already counts a reading.
            let read = Arc::new(doc.read_known_shape()?);
            if let Some(e) = self.lock().lru.peek_mut(&id)
                && e.heads == heads
            {
                e.record = Some(read.clone());
            }
            return Ok(Some(read));
        }
        let Some(saved) = saved() else {
            return Ok(None);
        };
        // A stored document passed the shape walk when it was stored (`sync::evaluate`).
        let read = Arc::new(RecordDoc::load(&saved)?.read_known_shape()?);
        self.put_entry(id, heads.to_vec(), None, Some(read.clone()), COST_READING);
        Ok(Some(read))
    }

    fn put_entry(
        &self,
        id: Uuid,
        heads: Vec<u8>,
        doc: Option<Arc<RecordDoc>>,
        record: Option<Arc<Record>>,
        cost: usize,
    ) {
        if cost > self.budget {
            self.remove(id);
            return;
        }
        // Dropped entries are freed after the lock is released.
        let mut dropped = Vec::new();
        let used = {
            let mut inner = self.lock();
            let entry = Entry {
                heads,
                doc,
                record,
                cost,
            };
            if let Some(old) = inner.lru.put(id, entry) {
                inner.used -= old.cost;
                dropped.push(old);
            }
            inner.used += cost;
            while inner.used > self.budget {
                match inner.lru.pop_lru() {
                    Some((_, e)) => {
                        inner.used -= e.cost;
                        dropped.push(e);
                    }
                    None => break,
                }
            }
            inner.used
        };
        self.free(dropped);
        self.metrics.cache_size(used);
    }

    /// Forgets `id`.
    pub fn remove(&self, id: Uuid) {
        let gone = {
            let mut inner = self.lock();
            let gone = inner.lru.pop(&id);
            if let Some(e) = &gone {
                inner.used -= e.cost;
            }
            gone
        };
        self.free(gone.into_iter().collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Arc<RecordDoc> {
        Arc::new(RecordDoc::empty())
    }

    #[test]
    fn a_reading_is_served_only_beside_the_document_version_it_was_put_with() {
        let cache = DocCache::new(1 << 20, Arc::new(Metrics::default()));
        let id = Uuid::now_v7();
        let record = Arc::new(Record {
            id,
            kind: sync_core::model::Kind::Household,
            unit: "07132".into(),
            fields: Default::default(),
        });
        cache.put(id, vec![1], doc(), 100);
        assert!(cache.record(id, &[1]).is_none(), "put without a reading");
        cache.put_read(id, vec![2], doc(), record.clone(), 100);
        assert_eq!(cache.record(id, &[2]).as_deref(), Some(&*record));
        assert!(cache.record(id, &[1]).is_none(), "other heads: no reading");
        cache.put(id, vec![3], doc(), 100);
        assert!(
            cache.record(id, &[3]).is_none(),
            "a new version without a reading drops the old one"
        );
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget_dropping_the_least_recently_used() {
        let cache = DocCache::new(3 * cost(100), Arc::new(Metrics::default()));
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        for id in &ids[..3] {
            cache.put(*id, vec![1], doc(), 100);
        }
        // Touch the first so that the second is the least recently used.
        assert!(cache.get(ids[0], &[1]).is_some());
        cache.put(ids[3], vec![1], doc(), 100);
        assert!(cache.used() <= 3 * cost(100));
        assert!(
            cache.get(ids[1], &[1]).is_none(),
            "least recently used dropped"
        );
        assert!(cache.get(ids[0], &[1]).is_some());
        assert!(cache.get(ids[3], &[1]).is_some());
    }

    #[test]
    fn documents_the_cache_lets_go_of_are_freed_and_the_rest_are_kept() {
        let cache = DocCache::new(2 * cost(100), Arc::new(Metrics::default()));
        let (replaced, evicted, removed, kept) = (doc(), doc(), doc(), doc());
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        cache.put(ids[0], vec![1], replaced.clone(), 100);
        cache.put(ids[0], vec![2], kept.clone(), 100);
        cache.put(ids[1], vec![1], evicted.clone(), 100);
        // Touched, so that the next put evicts the other one.
        assert!(cache.get(ids[0], &[2]).is_some());
        cache.put(ids[2], vec![1], removed.clone(), 100);
        cache.remove(ids[2]);
        // The freeing thread drops the cache's copies; only the test's remain.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while [&replaced, &evicted, &removed]
            .iter()
            .any(|d| Arc::strong_count(d) > 1)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "a document the cache let go of was never freed"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(Arc::strong_count(&kept), 2, "the cached document is kept");
        assert!(cache.get(ids[0], &[2]).is_some());
    }

    #[test]
    fn a_lookup_with_other_heads_misses_and_both_outcomes_are_counted() {
        let metrics = Arc::new(Metrics::default());
        let cache = DocCache::new(1 << 20, metrics.clone());
        let id = Uuid::now_v7();
        cache.put(id, vec![1, 2], doc(), 10);
        assert!(cache.get(id, &[9]).is_none(), "stale heads never served");
        assert!(cache.get(id, &[1, 2]).is_some());
        let text = metrics.render();
        assert!(text.contains("ferry_doc_cache_lookups_total{result=\"hit\"} 1"));
        assert!(text.contains("ferry_doc_cache_lookups_total{result=\"miss\"} 1"));
    }

    #[test]
    fn a_reading_kept_alone_costs_less_than_a_document_and_serves_no_document() {
        let cache = DocCache::new(1 << 20, Arc::new(Metrics::default()));
        let (doc, _) = RecordDoc::create(
            &Record {
                id: Uuid::now_v7(),
                kind: sync_core::model::Kind::Household,
                unit: "07132".into(),
                fields: Default::default(),
            },
            &sync_core::doc::Author::new(&[1; 16], 1),
        )
        .unwrap();
        let saved = doc.save_uncompressed();
        let id = Uuid::now_v7();
        let read = cache
            .reading_only(id, &[1], || Some(saved.clone()))
            .unwrap();
        assert_eq!(read.as_deref(), Some(&doc.read().unwrap()));
        assert_eq!(cache.used(), COST_READING);
        assert!(COST_READING < cost(saved.len()));
        assert!(cache.get(id, &[1]).is_none(), "no document was kept");
        let again = cache
            .reading_only(id, &[1], || panic!("served from the cache"))
            .unwrap();
        assert_eq!(again, read);
        assert_eq!(
            cache.reading_only(id, &[2], || None).unwrap(),
            None,
            "other heads: the stored row is read, and here it is gone"
        );
    }

    #[test]
    fn a_zero_budget_caches_nothing() {
        let cache = DocCache::new(0, Arc::new(Metrics::default()));
        let id = Uuid::now_v7();
        cache.put(id, vec![1], doc(), 10);
        assert_eq!(cache.used(), 0);
        assert!(cache.get(id, &[1]).is_none());
    }
}
