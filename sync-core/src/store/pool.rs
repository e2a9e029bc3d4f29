//! One writer connection and a few reader connections over one SQLite file (WAL).
//!
//! Writes are serialised through the single writer and always run inside a transaction;
//! readers never block the writer (WAL). The server and the phone both use this.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use super::StoreError;
use super::schema::Migration;

/// How many reader connections a pool opens.
pub const DEFAULT_READERS: usize = 3;

/// A writer and its readers over one database file.
#[derive(Debug)]
pub struct Pool {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Pool {
    /// Opens (creating if needed) the database at `path`, applies `migrations`, and opens
    /// `readers` reader connections. With `key`, the file is encrypted with SQLCipher (the
    /// crate must be built with the `sqlcipher` feature); a wrong key is
    /// [`StoreError::WrongKey`].
    pub fn open(
        path: &Path,
        key: Option<&[u8]>,
        migrations: &[Migration],
        readers: usize,
    ) -> Result<Pool, StoreError> {
        // The key is tried on a read-only connection first, so that a wrong key never
        // writes to the files (no WAL checkpoint on close, no journal-mode change).
        if key.is_some() && path.exists() {
            drop(open_connection(path, key, true)?);
        }
        let writer = open_connection(path, key, false)?;
        super::schema::migrate(&writer, migrations)?;
        let readers = (0..readers.max(1))
            .map(|_| open_connection(path, key, true).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pool {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one immediate write transaction, committed when `f` returns `Ok`.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs `f` on the writer connection outside any transaction (for settings SQLite
    /// refuses inside one, such as `PRAGMA synchronous`).
    pub fn configure_writer<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&conn)?)
    }

    /// Runs `f` on a reader connection (a consistent snapshot for the statement).
    ///
    /// A free reader is taken when there is one; only when every reader is busy does the
    /// caller wait, on the next one in turn. (Waiting on a fixed turn while other readers
    /// sat idle left a server's cores idle under concurrent pulls.)
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        for k in 0..n {
            match self.readers[(start + k) % n].try_lock() {
                Ok(conn) => return f(&conn),
                Err(std::sync::TryLockError::Poisoned(p)) => return f(&p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        let conn = self.readers[start]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }
}

fn open_connection(
    path: &Path,
    key: Option<&[u8]>,
    read_only: bool,
) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    if read_only {
        // A read-only connection is the last one open on a crashed store's WAL when a key is
        // tried: closing it must not checkpoint.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
    }
    if let Some(key) = key {
        apply_key(&conn, key)?;
    }
    conn.busy_timeout(Duration::from_secs(10))?;
    // The first real read tells a wrong key (or a file that is not a database) apart.
    if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        return Err(match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) if key.is_some() => classify_unreadable(path),
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase,
            _ => StoreError::Sqlite(e),
        });
    }
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    if !read_only {
        // Freed pages and deleted cells are overwritten with zeros, not left in the file:
        // every stored document holds its record's whole history, so an old version left in
        // a free page would keep a value after an admin redacted it (`docs/protocol.md` §13).
        // The cost is one write of the freed page, the one already dirty in most cases.
        conn.pragma_update(None, "secure_delete", "ON")?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Why an encrypted store did not open: a wrong key, unless the file shows it cannot be an
/// encrypted store at all. An SQLCipher file is whole 4 KiB pages of ciphertext (its first
/// 16 bytes a random salt); a plain SQLite file starts with the SQLite header.
fn classify_unreadable(path: &Path) -> StoreError {
    use std::io::Read;
    const PAGE: u64 = 4096;
    let Ok(mut file) = std::fs::File::open(path) else {
        return StoreError::WrongKey;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut first = vec![0u8; PAGE as usize];
    let read = file.read(&mut first).unwrap_or(0);
    if first.starts_with(b"SQLite format 3\0") {
        return StoreError::Foreign;
    }
    if len < PAGE || len % PAGE != 0 || read < PAGE as usize {
        return StoreError::Damaged("its size is not a whole number of pages");
    }
    if first[..16].iter().all(|b| *b == first[0]) {
        return StoreError::Damaged("its first page is blank");
    }
    StoreError::WrongKey
}

#[cfg(feature = "sqlcipher")]
fn apply_key(conn: &Connection, key: &[u8]) -> Result<(), StoreError> {
    if key.len() != 32 {
        return Err(StoreError::BadKeyLength(key.len()));
    }
    // A wrong key makes SQLCipher print to stderr; the typed error is enough.
    conn.pragma_update(None, "cipher_log_level", "NONE")?;
    // A raw 256-bit key in SQLCipher's blob-literal form skips its own key derivation.
    conn.pragma_update(None, "key", format!("x'{}'", hex::encode(key)))?;
    Ok(())
}

#[cfg(not(feature = "sqlcipher"))]
fn apply_key(_conn: &Connection, _key: &[u8]) -> Result<(), StoreError> {
    Err(StoreError::EncryptionUnavailable)
}
