//! Hand-rolled Prometheus counters and a latency histogram, rendered as text format 0.0.4.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sync_core::protocol::RejectCode;

const REJECT_CODES: [RejectCode; 7] = [
    RejectCode::OutOfScope,
    RejectCode::Forbidden,
    RejectCode::FrozenField,
    RejectCode::Invalid,
    RejectCode::MissingDeps,
    RejectCode::WrongActor,
    RejectCode::Malformed,
];

/// Upper bounds (seconds) of the sync latency histogram buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Process-wide counters.
#[derive(Debug, Default)]
pub struct Metrics {
    sync_requests: AtomicU64,
    sync_errors: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    changes_accepted: AtomicU64,
    records_sent: AtomicU64,
    rejections: [AtomicU64; 7],
    logins_ok: AtomicU64,
    logins_failed: AtomicU64,
    latency_buckets: [AtomicU64; 10],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

impl Metrics {
    /// Counts a finished sync exchange.
    pub fn sync_done(&self, bytes_in: usize, bytes_out: usize, elapsed: Duration) {
        self.sync_requests.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes_in as u64, Ordering::Relaxed);
        self.bytes_out
            .fetch_add(bytes_out as u64, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts a sync request answered with an error status.
    pub fn sync_failed(&self, bytes_in: usize) {
        self.sync_errors.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes_in as u64, Ordering::Relaxed);
    }

    /// Counts newly stored changes.
    pub fn accepted(&self, changes: usize) {
        self.changes_accepted
            .fetch_add(changes as u64, Ordering::Relaxed);
    }

    /// Counts records sent in pull entries.
    pub fn sent(&self, records: usize) {
        self.records_sent
            .fetch_add(records as u64, Ordering::Relaxed);
    }

    /// Counts a rejected record push.
    pub fn rejected(&self, code: RejectCode) {
        if let Some(i) = REJECT_CODES.iter().position(|c| *c == code) {
            self.rejections[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a login attempt.
    pub fn login(&self, ok: bool) {
        if ok {
            self.logins_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.logins_failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "ferry_sync_requests_total",
            "Sync exchanges answered with 200.",
            get(&self.sync_requests),
        );
        counter(
            "ferry_sync_errors_total",
            "Sync requests answered with an error status.",
            get(&self.sync_errors),
        );
        counter(
            "ferry_sync_bytes_in_total",
            "Sync request body bytes received (as sent, compressed).",
            get(&self.bytes_in),
        );
        counter(
            "ferry_sync_bytes_out_total",
            "Sync reply body bytes sent (as sent, compressed).",
            get(&self.bytes_out),
        );
        counter(
            "ferry_changes_accepted_total",
            "Changes newly stored in the change log.",
            get(&self.changes_accepted),
        );
        counter(
            "ferry_records_sent_total",
            "Pull entries sent to devices.",
            get(&self.records_sent),
        );
        let _ = writeln!(
            out,
            "# HELP ferry_rejections_total Record pushes refused, by code.\n# TYPE ferry_rejections_total counter"
        );
        for (i, code) in REJECT_CODES.iter().enumerate() {
            let _ = writeln!(
                out,
                "ferry_rejections_total{{code=\"{}\"}} {}",
                code.as_str(),
                get(&self.rejections[i])
            );
        }
        let _ = writeln!(
            out,
            "# HELP ferry_logins_total Login attempts, by result.\n# TYPE ferry_logins_total counter\nferry_logins_total{{result=\"ok\"}} {}\nferry_logins_total{{result=\"failed\"}} {}",
            get(&self.logins_ok),
            get(&self.logins_failed)
        );
        let _ = writeln!(
            out,
            "# HELP ferry_sync_duration_seconds Time to answer a sync exchange.\n# TYPE ferry_sync_duration_seconds histogram"
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "ferry_sync_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                get(&self.latency_buckets[i])
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "ferry_sync_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nferry_sync_duration_seconds_sum {}\nferry_sync_duration_seconds_count {count}",
            get(&self.latency_sum_us) as f64 / 1e6
        );
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
        assert!(text.contains("ferry_sync_bytes_out_total 40"));
    }
}
