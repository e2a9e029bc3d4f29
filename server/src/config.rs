//! Server configuration: command-line flags with environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Everything the server and the CLI need to know. Every flag can also be set through the
/// environment variable named after it.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(
        long,
        env = "FERRY_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Directory holding the database (`ferry.db`); created if missing.
    #[arg(
        long,
        env = "FERRY_DATA_DIR",
        default_value = "./ferry-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Lifetime of a login token, in hours.
    #[arg(
        long,
        env = "FERRY_TOKEN_TTL_HOURS",
        default_value_t = 720,
        global = true
    )]
    pub token_ttl_hours: u64,

    /// Largest sync reply (encoded CBOR, before compression) the server sends; a device's
    /// request for more is lowered to this.
    #[arg(
        long,
        env = "FERRY_MAX_REPLY_BYTES",
        default_value_t = 4 * 1024 * 1024,
        global = true
    )]
    pub max_reply_bytes: u64,

    /// Log format: `text` or `json`.
    #[arg(
        long,
        env = "FERRY_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Password for the `admin` account created on first start; a random one is generated
    /// and printed once when unset. Ignored once the account exists.
    #[arg(
        long,
        env = "FERRY_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub admin_password: Option<String>,

    /// Failed logins in a row that lock an account.
    #[arg(
        long,
        env = "FERRY_LOCKOUT_ATTEMPTS",
        default_value_t = 5,
        global = true
    )]
    pub lockout_attempts: u32,

    /// How long a locked account stays locked, in minutes.
    #[arg(
        long,
        env = "FERRY_LOCKOUT_MINUTES",
        default_value_t = 15,
        global = true
    )]
    pub lockout_minutes: u64,

    /// Seconds a request may take before it is answered with 408.
    #[arg(
        long,
        env = "FERRY_REQUEST_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub request_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./ferry-data"),
            token_ttl_hours: 720,
            max_reply_bytes: 4 * 1024 * 1024,
            log_format: LogFormat::Text,
            admin_password: None,
            lockout_attempts: 5,
            lockout_minutes: 15,
            request_timeout_secs: 60,
        }
    }
}

/// Largest request body accepted on the wire (compressed), in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest request body once decompressed, in bytes: 64 times the reference replica's push
/// budget (256 KiB), and room for [`sync_core::check::limits::MAX_OPS_PER_PUSH`] operations.
pub const MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;
/// A sync body above this size (declared or read so far) needs one of
/// [`LARGE_BODY_PERMITS`] permits to be read, decompressed and handled, so a burst of large
/// bodies cannot hold more than `LARGE_BODY_PERMITS × MAX_DECOMPRESSED_BYTES` at once.
pub const LARGE_BODY_BYTES: usize = 1024 * 1024;
/// Large sync bodies handled at once (one per core of the reference machine).
pub const LARGE_BODY_PERMITS: usize = 2;
/// Most records one sync request may push.
pub const MAX_PUSH_RECORDS: usize = 5_000;
/// Most changes one sync request may push (over all records).
pub const MAX_PUSH_CHANGES: usize = 100_000;
/// Most ids one sync request may list in `resync`.
pub const MAX_RESYNC: usize = 5_000;

impl Config {
    /// The database file inside the data directory.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("ferry.db")
    }

    /// Token lifetime.
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_hours.saturating_mul(3600))
    }

    /// Lockout duration.
    pub fn lockout(&self) -> Duration {
        Duration::from_secs(self.lockout_minutes.saturating_mul(60))
    }
}
