//! The audit chain's secret key and its signed checkpoints, both kept outside the database.
//!
//! - The key (32 bytes) comes from `FERRY_AUDIT_KEY` (64 hex characters) or a key file
//!   (`FERRY_AUDIT_KEY_FILE`, default `<data-dir>.audit-key` beside the data directory,
//!   created 0600 with a random key on first start). Someone who can write the database but
//!   not read the key cannot compute a row's MAC, so cannot forge, edit or re-chain rows.
//! - Checkpoints are lines appended to a file beside the key (`<key file>.checkpoints`):
//!   `{"rows","head","legacy","ts_ms","mac"}`, HMAC-signed. They record how long the chain
//!   was and its head hash, so that deleting the newest rows (or all of them) shows. Before
//!   writing one, the rows since the previous checkpoint are verified, so a checkpoint never
//!   blesses a tampered chain.
//!
//! The key is installed once per process ([`install`]) by [`crate::open_pool`], so that
//! [`crate::audit::append`] needs no new argument at its many call sites.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{self, Head};
use crate::config::Config;
use crate::db::{DbError, Store};

/// The audit chain's HMAC-SHA256 key.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> AuditKey {
        AuditKey(bytes)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> anyhow::Result<AuditKey> {
        let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32);
        let bytes = bytes.context("an audit key is 64 hex characters (32 bytes)")?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(AuditKey(key))
    }

    fn hmac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length: this cannot fail for 32 bytes.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }

    /// HMAC-SHA256 of the concatenated parts.
    pub fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut m = self.hmac();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }

    /// Whether `tag` is the MAC of the parts (constant time).
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut m = self.hmac();
        for p in parts {
            m.update(p);
        }
        m.verify_slice(tag).is_ok()
    }

    /// A short public fingerprint (to tell keys apart in messages).
    pub fn fingerprint(&self) -> String {
        hex::encode(&Sha256::digest(self.mac(&[b"ferry-audit-key-fingerprint"]))[..4])
    }
}

/// Where the key came from and where checkpoints go.
#[derive(Debug, Clone)]
pub struct AuditFiles {
    /// The key.
    pub key: Arc<AuditKey>,
    /// `FERRY_AUDIT_KEY` or the key file's path.
    pub key_source: String,
    /// The checkpoint file.
    pub checkpoints: PathBuf,
    /// The key file was created just now.
    pub created: bool,
}

static CURRENT: RwLock<Option<Arc<AuditFiles>>> = RwLock::new(None);

/// Makes `files` the process's audit key and checkpoint file.
pub fn install(files: AuditFiles) -> Arc<AuditFiles> {
    let files = Arc::new(files);
    if let Ok(mut current) = CURRENT.write() {
        *current = Some(files.clone());
    }
    files
}

/// The installed key and files, if any.
pub fn current() -> Option<Arc<AuditFiles>> {
    CURRENT.read().ok().and_then(|c| c.clone())
}

/// What a node on PostgreSQL is told when it has no audit key.
pub const PG_KEY_REQUIRED: &str = "with --database every node needs the same audit key: \
     create it once with `(umask 077; openssl rand -hex 32 > /etc/ferry/audit-key)`, copy it to \
     every node, and pass --audit-key-file /etc/ferry/audit-key (or FERRY_AUDIT_KEY_FILE, or \
     the key itself in FERRY_AUDIT_KEY)";

/// Loads (or on first use creates) the key the configuration names.
///
/// On PostgreSQL (`--database`) several nodes append to one chain, so they must share one
/// key: it is never generated there. The key (`FERRY_AUDIT_KEY`) or an existing key file
/// (`--audit-key-file`) is required, and [`check_against_chain`] refuses a key other than
/// the one the chain was written with.
pub fn load(config: &Config) -> anyhow::Result<AuditFiles> {
    let shared = config.database.is_some();
    if shared
        && config
            .audit_key
            .as_deref()
            .is_none_or(|t| t.trim().is_empty())
        && config.audit_key_file.is_none()
    {
        anyhow::bail!("{PG_KEY_REQUIRED}");
    }
    if let Some(text) = config.audit_key.as_deref().filter(|t| !t.trim().is_empty()) {
        let key = AuditKey::from_hex(text).context("FERRY_AUDIT_KEY")?;
        let checkpoints = match &config.audit_checkpoint_file {
            Some(p) => p.clone(),
            None => config.beside_data_dir(".audit-checkpoints")?,
        };
        return Ok(AuditFiles {
            key: Arc::new(key),
            key_source: "FERRY_AUDIT_KEY".into(),
            checkpoints,
            created: false,
        });
    }
    let path = match &config.audit_key_file {
        Some(p) => p.clone(),
        None => config.beside_data_dir(".audit-key")?,
    };
    if let (Ok(file), Ok(dir)) = (
        std::path::absolute(&path),
        std::path::absolute(&config.data_dir),
    ) && file.starts_with(&dir)
    {
        tracing::warn!(
            "the audit key file is inside the data directory: whoever has the database has the key"
        );
    }
    let (key, created) = if shared {
        match std::fs::read_to_string(&path) {
            Ok(text) => (
                AuditKey::from_hex(&text)
                    .with_context(|| format!("the audit key file {}", path.display()))?,
                false,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
                "the audit key file {} does not exist; {PG_KEY_REQUIRED}",
                path.display()
            ),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the audit key file {}", path.display()));
            }
        }
    } else {
        read_or_create(&path)?
    };
    let checkpoints = match &config.audit_checkpoint_file {
        Some(p) => p.clone(),
        None => {
            let mut name = path.clone().into_os_string();
            name.push(".checkpoints");
            PathBuf::from(name)
        }
    };
    Ok(AuditFiles {
        key: Arc::new(key),
        key_source: path.display().to_string(),
        checkpoints,
        created,
    })
}

fn read_or_create(path: &Path) -> anyhow::Result<(AuditKey, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = AuditKey::from_hex(&text)
                .with_context(|| format!("the audit key file {}", path.display()))?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let mut file = private_file(path, true)
                .with_context(|| format!("cannot create the audit key file {}", path.display()))?;
            writeln!(file, "{}", hex::encode(bytes))?;
            file.sync_all()?;
            Ok((AuditKey(bytes), true))
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the audit key file {}", path.display()))
        }
    }
}

/// Opens a file readable and writable by its owner only (new) or for appending.
fn private_file(path: &Path, create_new: bool) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    if create_new {
        opts.write(true).create_new(true);
    } else {
        opts.append(true).create(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// One signed checkpoint line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Rows in the chain (the id of its last row).
    pub rows: i64,
    /// Hex of the last row's hash.
    pub head: String,
    /// Rows written before the audit key existed (verified as the legacy SHA-256 chain).
    pub legacy: i64,
    /// When it was written (ms).
    pub ts_ms: i64,
    /// Hex HMAC over the fields above.
    pub mac: String,
}

impl Checkpoint {
    fn message(rows: i64, head: &str, legacy: i64, ts_ms: i64) -> String {
        format!("ferry-audit-checkpoint-v1\n{rows}\n{head}\n{legacy}\n{ts_ms}")
    }

    /// A checkpoint of `head`, signed with `key`.
    pub fn sign(key: &AuditKey, head: &Head, ts_ms: i64) -> Checkpoint {
        let head_hex = hex::encode(&head.hash);
        let mac = key.mac(&[Self::message(head.rows, &head_hex, head.legacy, ts_ms).as_bytes()]);
        Checkpoint {
            rows: head.rows,
            head: head_hex,
            legacy: head.legacy,
            ts_ms,
            mac: hex::encode(mac),
        }
    }

    /// Whether the signature is `key`'s.
    pub fn valid(&self, key: &AuditKey) -> bool {
        let msg = Self::message(self.rows, &self.head, self.legacy, self.ts_ms);
        hex::decode(&self.mac).is_ok_and(|tag| key.verify(&[msg.as_bytes()], &tag))
    }

    /// The head it records.
    pub fn as_head(&self) -> Head {
        Head {
            rows: self.rows,
            hash: hex::decode(&self.head).unwrap_or_default(),
            legacy: self.legacy,
        }
    }
}

/// Reads every checkpoint; `Err(text)` names the first line that is not a valid signed one.
pub fn read_checkpoints(
    path: &Path,
    key: &AuditKey,
) -> anyhow::Result<Result<Vec<Checkpoint>, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(Vec::new())),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<Checkpoint>(line) {
            Ok(cp) if cp.valid(key) => out.push(cp),
            _ => {
                return Ok(Err(format!(
                    "checkpoint line {} is not signed with this audit key",
                    n + 1
                )));
            }
        }
    }
    Ok(Ok(out))
}

/// Bytes read from the end of the checkpoint file by [`read_recent`].
const RECENT_BYTES: u64 = 64 * 1024;

/// The first checkpoint and those in the file's last 64 KiB: enough to continue the chain
/// without reading a file that grows by a line a minute. `Err(text)` as [`read_checkpoints`].
pub fn read_recent(path: &Path, key: &AuditKey) -> anyhow::Result<Result<Vec<Checkpoint>, String>> {
    use std::io::{BufRead, Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(Vec::new())),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let len = file.metadata()?.len();
    if len <= RECENT_BYTES {
        return read_checkpoints(path, key);
    }
    let mut first = String::new();
    std::io::BufReader::new(&mut file).read_line(&mut first)?;
    file.seek(SeekFrom::Start(len - RECENT_BYTES))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)?;
    // The first tail line is probably cut: skip it.
    let lines = std::iter::once(first.as_str()).chain(tail.lines().skip(1));
    let mut out = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Checkpoint>(line) {
            Ok(cp) if cp.valid(key) => out.push(cp),
            _ => {
                return Ok(Err(
                    "a recent checkpoint line is not signed with this audit key".into(),
                ));
            }
        }
    }
    Ok(Ok(out))
}

/// The checkpoint with the most rows.
pub fn latest(checkpoints: &[Checkpoint]) -> Option<&Checkpoint> {
    checkpoints.iter().max_by_key(|c| (c.rows, c.ts_ms))
}

/// What [`checkpoint`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A new checkpoint of this many rows.
    Yes(i64),
    /// The chain did not grow since the last one.
    Unchanged,
    /// The chain does not continue the last checkpoint (rows deleted or altered): nothing
    /// written; the text says what is wrong.
    Refused(String),
}

/// Verifies the rows since the last checkpoint and appends a checkpoint of the new head.
pub fn checkpoint(store: &Store, files: &AuditFiles) -> anyhow::Result<Written> {
    let checkpoints = match read_recent(&files.checkpoints, &files.key)? {
        Ok(c) => c,
        Err(why) => return Ok(Written::Refused(why)),
    };
    let last = latest(&checkpoints);
    let from = last.map_or_else(Head::genesis, Checkpoint::as_head);
    let legacy_limit = checkpoints.iter().map(|c| c.legacy).min();
    let walked = store.read(|c| audit::walk(c, &files.key, &from, legacy_limit, &[]))?;
    let head = match walked {
        Ok(head) => head,
        Err(broken) => return Ok(Written::Refused(broken.to_string())),
    };
    if last.is_some() && head.rows == from.rows {
        return Ok(Written::Unchanged);
    }
    let cp = Checkpoint::sign(&files.key, &head, crate::now_ms());
    let mut file = private_file(&files.checkpoints, false)
        .with_context(|| format!("cannot open {}", files.checkpoints.display()))?;
    writeln!(file, "{}", serde_json::to_string(&cp)?)?;
    file.sync_data()?;
    Ok(Written::Yes(cp.rows))
}

/// Writes a checkpoint if a key is installed, logging (not failing) when it cannot.
pub fn checkpoint_quietly(store: &Store) {
    let Some(files) = current() else { return };
    match checkpoint(store, &files) {
        Ok(Written::Refused(why)) => {
            tracing::error!(%why, "audit trail does not continue its last checkpoint: run `ferry audit verify`");
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot write an audit checkpoint"),
    }
}

/// Fails when the chain's newest keyed row was not written with `files.key`: a node started
/// with another deployment's key (or a fresh one) would append rows that `ferry audit verify`
/// rejects. An empty chain, or one without keyed rows yet, accepts any key.
pub fn check_against_chain(store: &Store, files: &AuditFiles) -> anyhow::Result<()> {
    let last = store.read(|c| {
        c.query_opt(
            "SELECT id, ts_ms, \"user\", device, action, records, details, prev_hash, hash
             FROM audit WHERE keyed ORDER BY id DESC LIMIT 1",
            &[],
        )
    })?;
    let Some(r) = last else { return Ok(()) };
    let canon = audit::canonical(
        r.get(0)?,
        r.get(1)?,
        &r.get::<String>(2)?,
        &r.get::<String>(3)?,
        &r.get::<String>(4)?,
        &r.get::<String>(5)?,
        &r.get::<String>(6)?,
    );
    let prev: Vec<u8> = r.get(7)?;
    let hash: Vec<u8> = r.get(8)?;
    if !files.key.verify(&[&prev, canon.as_bytes()], &hash) {
        anyhow::bail!(
            "the audit key {} (fingerprint {}) is not the key the audit trail was written with: \
             every node must use the same key",
            files.key_source,
            files.key.fingerprint()
        );
    }
    Ok(())
}

/// A warning for the start banner when the chain is shorter than (or differs from) the last
/// checkpoint.
pub fn startup_warning(store: &Store, files: &AuditFiles) -> anyhow::Result<Option<String>> {
    let checkpoints = match read_recent(&files.checkpoints, &files.key)? {
        Ok(c) => c,
        Err(why) => {
            return Ok(Some(format!(
                "the audit checkpoints cannot be trusted: {why}"
            )));
        }
    };
    // A checkpoint of the empty chain (a first start; on PostgreSQL another node starting at
    // the same moment) has no row to compare.
    let Some(last) = latest(&checkpoints).filter(|c| c.rows > 0) else {
        return Ok(None);
    };
    let (rows, hash_at): (i64, Option<Vec<u8>>) = store.read(|c| -> Result<_, DbError> {
        let rows = c.query_value(
            "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM audit",
            &[],
        )?;
        let hash = c
            .query_opt("SELECT hash FROM audit WHERE id = ?1", &[&last.rows])?
            .map(|r| r.get(0))
            .transpose()?;
        Ok((rows, hash))
    })?;
    if rows < last.rows {
        return Ok(Some(format!(
            "the audit trail has {rows} rows but the checkpoint of {} recorded {}: rows were deleted",
            crate::cli::format_time(last.ts_ms),
            last.rows
        )));
    }
    if hash_at.map(hex::encode).as_deref() != Some(last.head.as_str()) {
        return Ok(Some(format!(
            "audit row {} differs from the checkpoint of {}: the trail was rewritten",
            last.rows,
            crate::cli::format_time(last.ts_ms)
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Entry;

    fn setup() -> (tempfile::TempDir, Store, AuditFiles) {
        let dir = tempfile::tempdir().unwrap();
        let pool = Store::Sqlite(Arc::new(
            sync_core::store::Pool::open(
                &dir.path().join("a.db"),
                None,
                crate::schema::SERVER_MIGRATIONS,
                1,
            )
            .unwrap(),
        ));
        let (key, created) = read_or_create(&dir.path().join("k")).unwrap();
        assert!(created);
        let files = AuditFiles {
            key: Arc::new(key),
            key_source: "test".into(),
            checkpoints: dir.path().join("k.checkpoints"),
            created,
        };
        (dir, pool, files)
    }

    fn add(pool: &Store, files: &AuditFiles, n: usize) {
        pool.write(|tx| -> anyhow::Result<()> {
            for _ in 0..n {
                audit::append_with(tx, Some(&files.key), 1, &Entry::default())?;
            }
            Ok(())
        })
        .unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_new_key_file_is_private_and_reads_back_as_the_same_key() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, _pool, files) = setup();
        let path = dir.path().join("k");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, created) = read_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.fingerprint(), files.key.fingerprint());
    }

    #[test]
    fn checkpoints_follow_the_chain_and_refuse_to_bless_a_truncated_one() {
        let (_dir, pool, files) = setup();
        add(&pool, &files, 3);
        assert_eq!(checkpoint(&pool, &files).unwrap(), Written::Yes(3));
        assert_eq!(checkpoint(&pool, &files).unwrap(), Written::Unchanged);
        add(&pool, &files, 2);
        assert_eq!(checkpoint(&pool, &files).unwrap(), Written::Yes(5));
        pool.write(|tx| -> anyhow::Result<u64> {
            Ok(tx.execute("DELETE FROM audit WHERE id > 2", &[])?)
        })
        .unwrap();
        assert!(matches!(
            checkpoint(&pool, &files).unwrap(),
            Written::Refused(_)
        ));
        assert!(startup_warning(&pool, &files).unwrap().is_some());
        let cps = read_checkpoints(&files.checkpoints, &files.key)
            .unwrap()
            .unwrap();
        assert_eq!(cps.iter().map(|c| c.rows).collect::<Vec<_>>(), vec![3, 5]);
    }

    #[test]
    fn a_long_checkpoint_file_is_continued_from_its_first_and_last_lines() {
        let (_dir, pool, files) = setup();
        for _ in 0..400 {
            add(&pool, &files, 1);
            checkpoint(&pool, &files).unwrap();
        }
        let len = std::fs::metadata(&files.checkpoints).unwrap().len();
        assert!(len > RECENT_BYTES, "{len}");
        let recent = read_recent(&files.checkpoints, &files.key)
            .unwrap()
            .unwrap();
        assert_eq!(recent[0].rows, 1);
        assert_eq!(latest(&recent).unwrap().rows, 400);
        add(&pool, &files, 1);
        assert_eq!(checkpoint(&pool, &files).unwrap(), Written::Yes(401));
    }

    #[test]
    fn a_checkpoint_line_not_signed_with_the_key_is_reported() {
        let (_dir, pool, files) = setup();
        add(&pool, &files, 1);
        checkpoint(&pool, &files).unwrap();
        let other = AuditKey::from_bytes([1u8; 32]);
        assert!(
            read_checkpoints(&files.checkpoints, &other)
                .unwrap()
                .is_err()
        );
    }
}
