//! SQLite persistence of a replica: records, outbox, cursors, rejected edits, metadata.
//!
//! [`Pool`] gives one writer and several readers over a WAL database; [`schema`] holds the
//! migrations; [`tables`] the queries, each taking a `&Connection` (reads) or a
//! `&Transaction` (writes) so that callers batch work in one transaction.
//!
//! With the `sqlcipher` feature and a 32-byte key the file is encrypted at rest.

mod pool;
pub mod schema;
pub mod sensitive;
pub mod tables;

pub use pool::{DEFAULT_READERS, Pool};

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An SQLite error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The key does not open this encrypted database.
    #[error("the key does not open this database")]
    WrongKey,
    /// The file is not a database (or is encrypted and no key was given).
    #[error("the file is not a database, or it is encrypted and no key was given")]
    NotADatabase,
    /// The file is a database, but not an encrypted one (a plain SQLite file, for example
    /// another app's or an unencrypted copy): it is not this store, and no key will open it.
    #[error("the file is an unencrypted SQLite database, not an encrypted store")]
    Foreign,
    /// The file cannot be an encrypted store: its size or content is impossible for one
    /// (truncated, zero-filled). A wrong key cannot cause this.
    #[error("the file is damaged: {0}")]
    Damaged(&'static str),
    /// A key of the wrong length.
    #[error("an encryption key has 32 bytes; got {0}")]
    BadKeyLength(usize),
    /// A key was given but this build has no SQLCipher.
    #[error("this build cannot encrypt: enable the `sqlcipher` feature")]
    EncryptionUnavailable,
    /// The database was written by a newer version of Ferry.
    #[error("database schema version {found} is newer than this app knows ({known})")]
    SchemaTooNew {
        /// The version found in the file.
        found: i64,
        /// The newest version this code knows.
        known: i64,
    },
    /// Stored data that does not decode (a bug or tampering).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
        let err = Pool::open(&path, None, schema::REPLICA_MIGRATIONS, 1).unwrap_err();
        assert!(matches!(err, StoreError::NotADatabase), "{err:?}");
    }

    #[cfg(feature = "sqlcipher")]
    #[test]
    fn an_encrypted_store_refuses_a_wrong_key_with_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enc.db");
        drop(Pool::open(&path, Some(&[7u8; 32]), schema::REPLICA_MIGRATIONS, 1).unwrap());
        let err = Pool::open(&path, Some(&[8u8; 32]), schema::REPLICA_MIGRATIONS, 1).unwrap_err();
        assert!(matches!(err, StoreError::WrongKey), "{err:?}");
        let err = Pool::open(&path, None, schema::REPLICA_MIGRATIONS, 1).unwrap_err();
        assert!(matches!(err, StoreError::NotADatabase), "{err:?}");
        assert!(Pool::open(&path, Some(&[7u8; 32]), schema::REPLICA_MIGRATIONS, 1).is_ok());
    }
}
