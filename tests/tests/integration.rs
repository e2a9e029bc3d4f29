//! Ferry's integration tests: the real `ferry` binary on `127.0.0.1:0` with a temporary data
//! directory, real sync-core replicas, and a fault-injecting proxy.
//!
//! Run with `cargo test -p ferry-tests`.

mod integration {
    pub mod acceptance;
    pub mod accounts_hardening;
    pub mod activity_reports;
    pub mod actor_directory;
    pub mod attachment_bindings;
    pub mod attachments;
    pub mod convergence;
    pub mod coverage_report;
    pub mod db_seam;
    pub mod device_health;
    pub mod everyday_review;
    pub mod faults;
    pub mod generated_reports;
    pub mod hostile;
    pub mod import;
    pub mod multi_node_feed;
    pub mod pg_sync_path;
    pub mod postgres_accounts;
    pub mod postgres_schema;
    pub mod python_bindings;
    pub mod quality_report;
    pub mod redaction;
    pub mod reports;
    pub mod review;
    pub mod review_ranking;
    pub mod rights;
    pub mod schema_contract;
    pub mod security;
    pub mod sensitive_fields;
    pub mod sync;
    pub mod unit_adjust;
}

use std::path::Path;

/// The `ferry` executable built by this crate.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferry"))
}
