//! Blob storage for attachments, behind one small trait ([`BlobStore`]).
//!
//! - [`fs::FsBlobs`], the embedded default: files named by hash under `<data-dir>/blobs`
//!   (directories 0700, files 0600, written to a temporary name, synced, then renamed, so a
//!   blob or chunk is either whole or absent).
//! - [`object::ObjectBlobs`]: any [`object_store`] backend, for several nodes sharing one
//!   bucket (`--blob-store`); tested here with its in-memory and local-filesystem stores.
//!
//! An upload in progress is a set of chunk objects (`partial/<hash>/<index>`), and at most one
//! part of a chunk whose request was cut (`partial/<hash>/<index>.part`); the finished
//! blob (`<hash>`) is written only once its bytes hash to its name, and is never changed.
//! Garbage collection ([`gc`]) deletes blobs no record refers to any more and unfinished
//! uploads, each after a grace period; its only state is a mark per unreferenced blob
//! (`unreferenced/<hash>`, holding when it was first found unreferenced), kept in the store
//! beside the blobs, so nodes sharing an object store share it too.

pub mod fs;
pub mod gc;
pub mod object;
pub mod upload;

use std::sync::Arc;

use bytes::Bytes;

/// A failure of the blob store (never holds blob contents).
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The file system failed.
    #[error("blob store i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The object store failed.
    #[error("object store: {0}")]
    Object(String),
}

/// Where blobs and chunks of uploads in progress are kept.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores chunk `index` of the upload of `hash` (replacing a copy sent before).
    async fn put_chunk(&self, hash: &str, index: u64, bytes: Bytes) -> Result<(), BlobError>;
    /// The indexes of the chunks held for `hash`, in any order.
    async fn chunks(&self, hash: &str) -> Result<Vec<u64>, BlobError>;
    /// Chunk `index` of `hash`.
    async fn get_chunk(&self, hash: &str, index: u64) -> Result<Bytes, BlobError>;
    /// Drops every chunk of `hash` (and the part of one, if any).
    async fn drop_chunks(&self, hash: &str) -> Result<(), BlobError>;
    /// Keeps `bytes`, the start of chunk `index` of `hash` that arrived before its request
    /// was cut (replacing the part kept before).
    async fn put_part(&self, hash: &str, index: u64, bytes: Bytes) -> Result<(), BlobError>;
    /// The start of chunk `index` kept from a cut request, if any.
    async fn get_part(&self, hash: &str, index: u64) -> Result<Option<Bytes>, BlobError>;
    /// Drops the part of chunk `index`, if any.
    async fn drop_part(&self, hash: &str, index: u64) -> Result<(), BlobError>;
    /// Stores the verified blob.
    async fn put_blob(&self, hash: &str, bytes: Bytes) -> Result<(), BlobError>;
    /// The size of the blob, when it is stored.
    async fn blob_size(&self, hash: &str) -> Result<Option<u64>, BlobError>;
    /// Bytes `from..to` of the blob.
    async fn get_range(&self, hash: &str, from: u64, to: u64) -> Result<Bytes, BlobError>;
    /// Deletes the blob (garbage collection).
    async fn delete_blob(&self, hash: &str) -> Result<(), BlobError>;
    /// Every stored blob: its size and when it was written.
    async fn list_blobs(&self) -> Result<Vec<Held>, BlobError>;
    /// Every unfinished upload: the bytes of its chunks and when the newest was written.
    async fn list_uploads(&self) -> Result<Vec<Held>, BlobError>;
    /// The garbage collector's marks: each hash found unreferenced, with since when (ms).
    async fn marks(&self) -> Result<Vec<(String, i64)>, BlobError>;
    /// Marks `hash` unreferenced since `since_ms`, unless it is marked already (the first
    /// mark stands).
    async fn mark(&self, hash: &str, since_ms: i64) -> Result<(), BlobError>;
    /// Removes the mark of `hash`, if any.
    async fn unmark(&self, hash: &str) -> Result<(), BlobError>;
}

/// A blob or an unfinished upload, as garbage collection lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The blob's hash.
    pub hash: String,
    /// Bytes held (a blob's size; the sum of an upload's chunks).
    pub bytes: u64,
    /// When it was last written, ms since the epoch (an upload: its newest chunk).
    pub written_ms: i64,
}

/// Reads a mark's content: the decimal ms it was made for (none when unreadable).
fn mark_since(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

/// The configured store: `--blob-store` (`memory:` or `file:///abs/path` through
/// `object_store`), else the file store under the data directory.
pub fn open(config: &crate::Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    match config.blob_store.as_deref() {
        None | Some("") => Ok(Arc::new(fs::FsBlobs::open(&config.data_dir.join("blobs"))?)),
        Some(url) => Ok(Arc::new(object::ObjectBlobs::from_url(url)?)),
    }
}
