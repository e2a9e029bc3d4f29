//! The server's Prometheus metrics, kept with `prometheus-client` (typed label sets, one
//! registry) and rendered in the Prometheus text format 0.0.4 at `GET /metrics`.
//!
//! Counter names keep their `_total` suffix on the wire (`prometheus-client` appends it to
//! the registered name).

use std::fmt;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sync_core::protocol::RejectCode;

const REJECT_CODES: [RejectCode; 8] = [
    RejectCode::OutOfScope,
    RejectCode::Forbidden,
    RejectCode::FrozenField,
    RejectCode::Invalid,
    RejectCode::MissingDeps,
    RejectCode::WrongActor,
    RejectCode::Malformed,
    RejectCode::LineageReplaced,
];

/// Upper bounds (seconds) of the sync latency and writer-wait histogram buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Upper bounds of the group-commit batch size histogram (exchanges per transaction).
const BATCH_BUCKETS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

/// The `code` label of `ferry_rejections_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Code(RejectCode);

impl EncodeLabelValue for Code {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), fmt::Error> {
        fmt::Write::write_str(encoder, self.0.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CodeLabel {
    code: Code,
}

/// The `result` label of `ferry_logins_total` and `ferry_doc_cache_lookups_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    Ok,
    Failed,
    Hit,
    Miss,
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), fmt::Error> {
        let s = match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
        };
        fmt::Write::write_str(encoder, s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabel {
    result: Outcome,
}

/// Process-wide metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    sync_requests: Counter,
    sync_errors: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    changes_accepted: Counter,
    records_sent: Counter,
    rejections: Family<CodeLabel, Counter>,
    logins: Family<ResultLabel, Counter>,
    sync_duration: Histogram,
    writer_wait: Histogram,
    batch_size: Histogram,
    cache: Family<ResultLabel, Counter>,
    cache_bytes: Gauge,
    review_queue: Gauge,
    devices: Family<StateLabel, Gauge>,
    gc_blobs_deleted: Counter,
    gc_uploads_dropped: Counter,
    gc_bytes_freed: Counter,
    uploads_refused: Family<ReasonLabel, Counter>,
    blobs_completed: Counter,
}

/// The reasons of `ferry_attachment_uploads_refused_total`: the refusals for good an
/// upload can meet (`docs/protocol.md` §11.3).
pub const UPLOAD_REFUSALS: [&str; 3] = ["too_large", "hash_mismatch", "wrong_type"];

/// The `reason` label of `ferry_attachment_uploads_refused_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The `state` label of `ferry_devices` (`ok`, `stale`, `stalled`, `revoked`, `wiped`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let histogram = |b: &[f64]| Histogram::new(b.iter().copied());
        let m = Metrics {
            registry: Registry::default(),
            sync_requests: Counter::default(),
            sync_errors: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            changes_accepted: Counter::default(),
            records_sent: Counter::default(),
            rejections: Family::default(),
            logins: Family::default(),
            sync_duration: histogram(&BUCKETS),
            writer_wait: histogram(&BUCKETS),
            batch_size: histogram(&BATCH_BUCKETS),
            cache: Family::default(),
            cache_bytes: Gauge::default(),
            review_queue: Gauge::default(),
            devices: Family::default(),
            gc_blobs_deleted: Counter::default(),
            gc_uploads_dropped: Counter::default(),
            gc_bytes_freed: Counter::default(),
            uploads_refused: Family::default(),
            blobs_completed: Counter::default(),
        };
        let r = &mut registry;
        r.register(
            "ferry_sync_requests",
            "Sync exchanges answered with 200",
            m.sync_requests.clone(),
        );
        r.register(
            "ferry_sync_errors",
            "Sync requests answered with an error status",
            m.sync_errors.clone(),
        );
        r.register(
            "ferry_sync_bytes_in",
            "Sync request body bytes received (as sent, compressed)",
            m.bytes_in.clone(),
        );
        r.register(
            "ferry_sync_bytes_out",
            "Sync reply body bytes sent (as sent, compressed)",
            m.bytes_out.clone(),
        );
        r.register(
            "ferry_changes_accepted",
            "Changes newly stored in the change log",
            m.changes_accepted.clone(),
        );
        r.register(
            "ferry_records_sent",
            "Pull entries sent to devices",
            m.records_sent.clone(),
        );
        r.register(
            "ferry_rejections",
            "Record pushes refused, by code",
            m.rejections.clone(),
        );
        r.register(
            "ferry_logins",
            "Login attempts, by result",
            m.logins.clone(),
        );
        r.register(
            "ferry_sync_duration_seconds",
            "Time to answer a sync exchange",
            m.sync_duration.clone(),
        );
        r.register(
            "ferry_writer_wait_seconds",
            "Time a write job waited in the group-commit queue before its batch started",
            m.writer_wait.clone(),
        );
        r.register(
            "ferry_writer_batch_size",
            "Write jobs committed together in one group-commit transaction",
            m.batch_size.clone(),
        );
        r.register(
            "ferry_doc_cache_lookups",
            "Loaded-document cache lookups, by result (hit or miss)",
            m.cache.clone(),
        );
        r.register(
            "ferry_doc_cache_bytes",
            "Estimated bytes held by the loaded-document cache",
            m.cache_bytes.clone(),
        );
        r.register(
            "ferry_review_queue_records",
            "Records waiting for review detection (as last seen by the worker)",
            m.review_queue.clone(),
        );
        r.register(
            "ferry_devices",
            "Registered devices per sync health state (ok, stale, stalled, revoked, wiped), as of the last scrape",
            m.devices.clone(),
        );
        r.register(
            "ferry_attachment_gc_blobs_deleted",
            "Attachment blobs deleted by the scheduled garbage collection (unreferenced past the grace period)",
            m.gc_blobs_deleted.clone(),
        );
        r.register(
            "ferry_attachment_gc_uploads_dropped",
            "Unfinished attachment uploads dropped by the scheduled garbage collection",
            m.gc_uploads_dropped.clone(),
        );
        r.register(
            "ferry_attachment_gc_bytes_freed",
            "Bytes of blobs and chunks the scheduled garbage collection deleted",
            m.gc_bytes_freed.clone(),
        );
        r.register(
            "ferry_attachment_uploads_refused",
            "Attachment uploads refused for good, by reason (too_large, hash_mismatch, wrong_type)",
            m.uploads_refused.clone(),
        );
        r.register(
            "ferry_attachment_blobs_completed",
            "Attachment uploads completed: every chunk received, hash and type checked, blob kept",
            m.blobs_completed.clone(),
        );
        // Every code and result shows from the start (as 0), so dashboards see the series.
        for reason in UPLOAD_REFUSALS {
            drop(m.uploads_refused.get_or_create(&ReasonLabel { reason }));
        }
        for code in REJECT_CODES {
            drop(m.rejections.get_or_create(&CodeLabel { code: Code(code) }));
        }
        for result in [Outcome::Ok, Outcome::Failed] {
            drop(m.logins.get_or_create(&ResultLabel { result }));
        }
        for result in [Outcome::Hit, Outcome::Miss] {
            drop(m.cache.get_or_create(&ResultLabel { result }));
        }
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Counts what a scheduled attachment garbage collection deleted.
    pub fn attachment_gc(&self, r: &crate::blobs::gc::Report) {
        self.gc_blobs_deleted.inc_by(r.deleted);
        self.gc_uploads_dropped.inc_by(r.uploads_dropped);
        self.gc_bytes_freed
            .inc_by(r.deleted_bytes + r.upload_bytes_dropped);
    }

    /// Counts an attachment upload refused with error code `code`; codes other than
    /// [`UPLOAD_REFUSALS`] (a malformed chunk, an unknown attachment) are not refusals of
    /// the blob and are not counted.
    pub fn upload_refused(&self, code: &str) {
        if let Some(reason) = UPLOAD_REFUSALS.iter().find(|r| **r == code) {
            self.uploads_refused
                .get_or_create(&ReasonLabel { reason })
                .inc();
        }
    }

    /// Counts an attachment upload completed (its blob verified and kept).
    pub fn blob_completed(&self) {
        self.blobs_completed.inc();
    }

    /// Counts a finished sync exchange.
    pub fn sync_done(&self, bytes_in: usize, bytes_out: usize, elapsed: Duration) {
        self.sync_requests.inc();
        self.bytes_in.inc_by(bytes_in as u64);
        self.bytes_out.inc_by(bytes_out as u64);
        self.sync_duration.observe(elapsed.as_secs_f64());
    }

    /// Counts a sync request answered with an error status.
    pub fn sync_failed(&self, bytes_in: usize) {
        self.sync_errors.inc();
        self.bytes_in.inc_by(bytes_in as u64);
    }

    /// Counts newly stored changes.
    pub fn accepted(&self, changes: usize) {
        self.changes_accepted.inc_by(changes as u64);
    }

    /// Counts records sent in pull entries.
    pub fn sent(&self, records: usize) {
        self.records_sent.inc_by(records as u64);
    }

    /// Counts a rejected record push.
    pub fn rejected(&self, code: RejectCode) {
        self.rejections
            .get_or_create(&CodeLabel { code: Code(code) })
            .inc();
    }

    /// Counts a login attempt.
    pub fn login(&self, ok: bool) {
        let result = if ok { Outcome::Ok } else { Outcome::Failed };
        self.logins.get_or_create(&ResultLabel { result }).inc();
    }

    /// Records how long a write job queued before its batch began.
    pub fn writer_waited(&self, wait: Duration) {
        self.writer_wait.observe(wait.as_secs_f64());
    }

    /// Records the size of one committed group-commit batch.
    pub fn batch_committed(&self, jobs: usize) {
        self.batch_size.observe(jobs as f64);
    }

    /// Counts a document-cache lookup.
    pub fn cache_lookup(&self, hit: bool) {
        let result = if hit { Outcome::Hit } else { Outcome::Miss };
        self.cache.get_or_create(&ResultLabel { result }).inc();
    }

    /// Sets the document cache's current size.
    pub fn cache_size(&self, bytes: usize) {
        self.cache_bytes.set(bytes as i64);
    }

    /// Sets the review queue's length.
    pub fn review_queue_len(&self, records: usize) {
        self.review_queue.set(records as i64);
    }

    /// Sets the device count of each sync health state.
    pub fn device_states(&self, counts: &std::collections::BTreeMap<&'static str, u64>) {
        for (state, n) in counts {
            let label = StateLabel {
                state: (*state).to_owned(),
            };
            self.devices.get_or_create(&label).set(*n as i64);
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_and_counts_match() {
        let m = Metrics::default();
        m.sync_done(10, 20, Duration::from_millis(3));
        m.sync_done(10, 20, Duration::from_millis(300));
        m.rejected(RejectCode::Forbidden);
        let text = m.render();
        assert!(text.contains("ferry_sync_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("ferry_sync_duration_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("ferry_sync_duration_seconds_count 2"));
        assert!(text.contains("ferry_rejections_total{code=\"forbidden\"} 1"));
        assert!(text.contains("ferry_rejections_total{code=\"malformed\"} 0"));
        assert!(text.contains("ferry_sync_bytes_out_total 40"), "{text}");
    }

    #[test]
    fn cache_lookups_and_writer_figures_are_exposed() {
        let m = Metrics::default();
        m.cache_lookup(true);
        m.cache_lookup(true);
        m.cache_lookup(false);
        m.batch_committed(5);
        m.writer_waited(Duration::from_millis(2));
        let text = m.render();
        assert!(
            text.contains("ferry_doc_cache_lookups_total{result=\"hit\"} 2"),
            "{text}"
        );
        assert!(text.contains("ferry_doc_cache_lookups_total{result=\"miss\"} 1"));
        assert!(
            text.contains("ferry_writer_batch_size_bucket{le=\"8\"} 1"),
            "{text}"
        );
        assert!(text.contains("ferry_writer_wait_seconds_count 1"));
        assert!(text.contains("ferry_logins_total{result=\"ok\"} 0"));
    }

    #[test]
    fn attachment_refusals_are_counted_by_reason_and_completions_apart() {
        let m = Metrics::default();
        m.upload_refused("too_large");
        m.upload_refused("too_large");
        m.upload_refused("wrong_type");
        m.upload_refused("bad_chunk");
        m.blob_completed();
        let text = m.render();
        for (reason, n) in [("too_large", 2), ("hash_mismatch", 0), ("wrong_type", 1)] {
            let line = format!("ferry_attachment_uploads_refused_total{{reason=\"{reason}\"}} {n}");
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(!text.contains("bad_chunk"));
        assert!(
            text.contains("ferry_attachment_blobs_completed_total 1"),
            "{text}"
        );
    }
}
