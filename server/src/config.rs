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

    /// A PostgreSQL database (`postgres://user:password@host:port/db`) instead of the SQLite
    /// file under `--data-dir`, shared by every node. Needs the deployment's audit key
    /// (`--audit-key-file` or `FERRY_AUDIT_KEY`), the same on every node.
    #[arg(
        long,
        env = "FERRY_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database: Option<String>,

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

    /// Memory for loaded Automerge documents kept between exchanges, in MiB (an estimate of
    /// their in-memory size; least recently used documents are dropped past it; 0 disables
    /// the cache). The default holds the documents of ≈ 11,000 records (a generated record's
    /// document and reading are estimated at ≈ 22 KiB).
    #[arg(
        long,
        env = "FERRY_DOC_CACHE_MIB",
        default_value_t = 256,
        global = true
    )]
    pub doc_cache_mib: u64,
    /// Login attempts (`/v1/login` and the console sign-in) one client address may make per
    /// minute (burst and refill); beyond it 429 with `Retry-After`.
    #[arg(
        long,
        env = "FERRY_LOGIN_PER_ADDRESS_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub login_per_address_per_minute: u32,

    /// Login attempts one account name may receive per minute, from all addresses together.
    #[arg(
        long,
        env = "FERRY_LOGIN_PER_ACCOUNT_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub login_per_account_per_minute: u32,

    /// Take the client address from the last `X-Forwarded-For` entry (only behind a reverse
    /// proxy that sets it; otherwise clients could choose their address).
    #[arg(long, env = "FERRY_TRUST_PROXY_HEADERS", global = true)]
    pub trust_proxy_headers: bool,

    /// The URL clients reach the server at, e.g. `https://ferry.example.vn`. With `https://`
    /// (or `--behind-tls`) cookies get `Secure` and responses `Strict-Transport-Security`.
    #[arg(long, env = "FERRY_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// The server is reached only through a TLS-terminating proxy (same effect as an
    /// `https://` public URL).
    #[arg(long, env = "FERRY_BEHIND_TLS", global = true)]
    pub behind_tls: bool,

    /// Address of the separate `/metrics` listener (`off` disables it). Keep it private.
    /// Default `127.0.0.1:9898`; when that default is taken the server starts without
    /// metrics (and says so), while an address given here must be free.
    #[arg(long, env = "FERRY_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<String>,

    /// File holding the audit chain's HMAC key (64 hex characters). Default: beside the data
    /// directory, `<data-dir>.audit-key`, created 0600 on first start. Keep it outside the
    /// data directory and its backups.
    #[arg(long, env = "FERRY_AUDIT_KEY_FILE", global = true)]
    pub audit_key_file: Option<PathBuf>,

    /// The audit key itself (64 hex characters), instead of a key file.
    #[arg(long, env = "FERRY_AUDIT_KEY", hide_env_values = true, global = true)]
    pub audit_key: Option<String>,

    /// Append-only file of signed audit checkpoints. Default: `<key file>.checkpoints` with
    /// a key file, else `<data-dir>.audit-checkpoints`.
    #[arg(long, env = "FERRY_AUDIT_CHECKPOINT_FILE", global = true)]
    pub audit_checkpoint_file: Option<PathBuf>,

    /// Seconds between two audit checkpoints (written only when the chain grew).
    #[arg(
        long,
        env = "FERRY_AUDIT_CHECKPOINT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub audit_checkpoint_secs: u64,

    /// Device sync health thresholds (`--device-stale-days`, `--device-stall-hours`,
    /// `--device-stall-failures`).
    #[command(flatten)]
    pub device_health: crate::reports::devices::HealthConfig,

    /// The data-use inspection's threshold (`--report-large-pull`).
    #[command(flatten)]
    pub large_pull: crate::reports::officers::LargePull,
    /// Retention rules (`ferry retention`, [`crate::rights::retention`]).
    #[command(flatten)]
    pub retention: crate::rights::retention::RetentionConfig,

    /// Where attachment blobs are kept: unset for files under `<data-dir>/blobs`; for
    /// several nodes an object store shared by all (`file:///abs/dir` or `memory:` for
    /// tests).
    #[arg(long, env = "FERRY_BLOB_STORE", global = true)]
    pub blob_store: Option<String>,

    /// A size limit for one attachment kind, `KIND=BYTES` (e.g. `portrait=2097152`);
    /// repeat for several kinds. Kinds not named keep their default (signature 512 KiB,
    /// portrait 4 MiB, others 16 MiB).
    #[arg(
        long,
        env = "FERRY_ATTACHMENT_MAX_BYTES",
        value_delimiter = ',',
        global = true
    )]
    pub attachment_max_bytes: Vec<String>,

    /// Garbage collection of attachment blobs (`--attachment-gc-grace-days`,
    /// `--attachment-gc-every-hours`; `ferry attachments gc`, [`crate::blobs::gc`]).
    #[command(flatten)]
    pub attachment_gc: crate::blobs::gc::GcConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./ferry-data"),
            database: None,
            token_ttl_hours: 720,
            max_reply_bytes: 4 * 1024 * 1024,
            log_format: LogFormat::Text,
            admin_password: None,
            lockout_attempts: 5,
            lockout_minutes: 15,
            request_timeout_secs: 60,
            doc_cache_mib: 256,
            login_per_address_per_minute: 30,
            login_per_account_per_minute: 10,
            trust_proxy_headers: false,
            public_url: None,
            behind_tls: false,
            metrics_listen: None,
            audit_key_file: None,
            audit_key: None,
            audit_checkpoint_file: None,
            audit_checkpoint_secs: 60,
            device_health: Default::default(),
            large_pull: Default::default(),
            retention: Default::default(),
            blob_store: None,
            attachment_max_bytes: Vec::new(),
            attachment_gc: Default::default(),
        }
    }
}

/// Where `/metrics` is served unless `--metrics-listen` says otherwise.
pub const DEFAULT_METRICS_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9898);

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
    /// The size limit of attachment `kind`: `--attachment-max-bytes`, else the default.
    pub fn attachment_limit(&self, kind: &str) -> u64 {
        self.attachment_max_bytes
            .iter()
            .filter_map(|s| s.split_once('='))
            .filter(|(k, _)| k.trim() == kind)
            .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or_else(|| sync_core::attachment::default_max_bytes(kind))
            .min(sync_core::attachment::HARD_MAX_BYTES)
    }

    /// The database file inside the data directory.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("ferry.db")
    }

    /// Fails unless the database is the SQLite file under `--data-dir` (what opens that file
    /// checks it): silently using SQLite instead of the PostgreSQL database asked for would
    /// split a deployment's data.
    pub fn require_sqlite(&self) -> anyhow::Result<()> {
        if self.database.is_some() {
            anyhow::bail!(
                "--database is set: the SQLite file under --data-dir is not this deployment's \
                 database"
            );
        }
        Ok(())
    }

    /// Token lifetime.
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_hours.saturating_mul(3600))
    }

    /// The document cache's budget in bytes.
    pub fn doc_cache_bytes(&self) -> usize {
        usize::try_from(self.doc_cache_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }

    /// Lockout duration.
    pub fn lockout(&self) -> Duration {
        Duration::from_secs(self.lockout_minutes.saturating_mul(60))
    }

    /// Whether clients reach the server over HTTPS (cookies `Secure`, HSTS sent).
    pub fn served_over_https(&self) -> bool {
        self.behind_tls
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }

    /// The metrics listener's address and whether it was given explicitly; `None` when
    /// disabled.
    pub fn metrics_addr(&self) -> anyhow::Result<Option<(SocketAddr, bool)>> {
        let Some(v) = self.metrics_listen.as_deref().map(str::trim) else {
            return Ok(Some((DEFAULT_METRICS_ADDR, false)));
        };
        if v.is_empty() || v.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        v.parse()
            .map(|a| Some((a, true)))
            .map_err(|_| anyhow::anyhow!("--metrics-listen `{v}` is not an address or `off`"))
    }

    /// `<parent of the data dir>/<its name><suffix>`: beside the data directory, not in it.
    pub fn beside_data_dir(&self, suffix: &str) -> anyhow::Result<PathBuf> {
        let dir = std::path::absolute(&self.data_dir)?;
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            anyhow::bail!(
                "the data directory {} has no parent: set FERRY_AUDIT_KEY_FILE",
                dir.display()
            );
        };
        let mut file = name.to_owned();
        file.push(suffix);
        Ok(parent.join(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_default_to_loopback_and_can_be_turned_off() {
        let mut c = Config::default();
        assert_eq!(
            c.metrics_addr().unwrap(),
            Some((DEFAULT_METRICS_ADDR, false))
        );
        c.metrics_listen = Some("off".into());
        assert_eq!(c.metrics_addr().unwrap(), None);
        c.metrics_listen = Some("10.0.0.2:9100".into());
        assert_eq!(
            c.metrics_addr().unwrap(),
            Some(("10.0.0.2:9100".parse().unwrap(), true))
        );
        c.metrics_listen = Some("nonsense".into());
        assert!(c.metrics_addr().is_err());
    }

    #[test]
    fn https_is_an_https_public_url_or_behind_tls() {
        let mut c = Config::default();
        assert!(!c.served_over_https());
        c.public_url = Some("http://ferry.example.vn".into());
        assert!(!c.served_over_https());
        c.public_url = Some("HTTPS://ferry.example.vn".into());
        assert!(c.served_over_https());
        c.public_url = None;
        c.behind_tls = true;
        assert!(c.served_over_https());
    }

    #[test]
    fn the_audit_key_goes_beside_the_data_dir_not_in_it() {
        let c = Config {
            data_dir: PathBuf::from("/srv/ferry/data"),
            ..Config::default()
        };
        assert_eq!(
            c.beside_data_dir(".audit-key").unwrap(),
            PathBuf::from("/srv/ferry/data.audit-key")
        );
    }
}
