//! Blobs in an object store through the `object_store` crate (Apache Arrow project: S3,
//! GCS, Azure, local files, memory), for several nodes sharing one bucket.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutPayload};

use super::{BlobError, BlobStore, Held, mark_since};

/// Blobs as objects: `blobs/<hash>`, `partial/<hash>/<index>` (and `<index>.part`, the start
/// of a chunk whose request was cut), and the garbage collector's
/// marks `unreferenced/<hash>`.
#[derive(Debug, Clone)]
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
}

fn err(e: object_store::Error) -> BlobError {
    BlobError::Object(e.to_string())
}

impl ObjectBlobs {
    /// Over any object store.
    pub fn new(store: Arc<dyn ObjectStore>) -> ObjectBlobs {
        ObjectBlobs { store }
    }

    /// From `--blob-store`: `memory:` (tests; lost at exit) or `file:///abs/dir` (the crate's
    /// local-filesystem store; the directory must exist).
    pub fn from_url(url: &str) -> anyhow::Result<ObjectBlobs> {
        let store: Arc<dyn ObjectStore> = if url == "memory:" {
            Arc::new(object_store::memory::InMemory::new())
        } else if let Some(dir) = url.strip_prefix("file://") {
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?)
        } else {
            anyhow::bail!("--blob-store takes `memory:` or `file:///absolute/dir`");
        };
        Ok(ObjectBlobs::new(store))
    }
}

fn chunk_path(hash: &str, index: u64) -> Path {
    Path::from(format!("partial/{hash}/{index}"))
}

fn part_path(hash: &str, index: u64) -> Path {
    Path::from(format!("partial/{hash}/{index}.part"))
}

fn blob_path(hash: &str) -> Path {
    Path::from(format!("blobs/{hash}"))
}

fn mark_path(hash: &str) -> Path {
    Path::from(format!("unreferenced/{hash}"))
}

/// `Ok` also when the object was already gone.
fn gone(r: object_store::Result<()>) -> Result<(), BlobError> {
    match r {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(err(e)),
    }
}

impl ObjectBlobs {
    /// Every object under `prefix`.
    async fn list_under(&self, prefix: &str) -> Result<Vec<ObjectMeta>, BlobError> {
        self.store
            .list(Some(&Path::from(prefix)))
            .try_collect()
            .await
            .map_err(err)
    }
}

/// The hash an object's path names at segment `at` (`blobs/<hash>`: 1), if it is one.
fn hash_at(m: &ObjectMeta, at: usize) -> Option<String> {
    let name = m.location.parts().nth(at)?;
    sync_core::attachment::is_hash(name.as_ref()).then(|| name.as_ref().to_owned())
}

#[async_trait::async_trait]
impl BlobStore for ObjectBlobs {
    async fn put_chunk(&self, hash: &str, index: u64, bytes: Bytes) -> Result<(), BlobError> {
        self.store
            .put(&chunk_path(hash, index), PutPayload::from(bytes))
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn chunks(&self, hash: &str) -> Result<Vec<u64>, BlobError> {
        let metas = self.list_under(&format!("partial/{hash}")).await?;
        Ok(metas
            .iter()
            .filter_map(|m| m.location.filename().and_then(|n| n.parse().ok()))
            .collect())
    }

    async fn get_chunk(&self, hash: &str, index: u64) -> Result<Bytes, BlobError> {
        let got = self
            .store
            .get(&chunk_path(hash, index))
            .await
            .map_err(err)?;
        got.bytes().await.map_err(err)
    }

    async fn drop_chunks(&self, hash: &str) -> Result<(), BlobError> {
        // Every object of the upload, not only the numbered chunks.
        for m in self.list_under(&format!("partial/{hash}")).await? {
            gone(self.store.delete(&m.location).await)?;
        }
        Ok(())
    }

    async fn put_part(&self, hash: &str, index: u64, bytes: Bytes) -> Result<(), BlobError> {
        self.store
            .put(&part_path(hash, index), PutPayload::from(bytes))
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn get_part(&self, hash: &str, index: u64) -> Result<Option<Bytes>, BlobError> {
        match self.store.get(&part_path(hash, index)).await {
            Ok(got) => Ok(Some(got.bytes().await.map_err(err)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn drop_part(&self, hash: &str, index: u64) -> Result<(), BlobError> {
        gone(self.store.delete(&part_path(hash, index)).await)
    }

    async fn put_blob(&self, hash: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.store
            .put(&blob_path(hash), PutPayload::from(bytes))
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn blob_size(&self, hash: &str) -> Result<Option<u64>, BlobError> {
        match self.store.head(&blob_path(hash)).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn get_range(&self, hash: &str, from: u64, to: u64) -> Result<Bytes, BlobError> {
        self.store
            .get_range(&blob_path(hash), from..to)
            .await
            .map_err(err)
    }

    async fn delete_blob(&self, hash: &str) -> Result<(), BlobError> {
        gone(self.store.delete(&blob_path(hash)).await)
    }

    async fn list_blobs(&self) -> Result<Vec<Held>, BlobError> {
        Ok(self
            .list_under("blobs")
            .await?
            .iter()
            .filter_map(|m| {
                Some(Held {
                    hash: hash_at(m, 1)?,
                    bytes: m.size,
                    written_ms: m.last_modified.timestamp_millis(),
                })
            })
            .collect())
    }

    async fn list_uploads(&self) -> Result<Vec<Held>, BlobError> {
        let mut by_hash = std::collections::BTreeMap::<String, Held>::new();
        for m in self.list_under("partial").await? {
            let Some(hash) = hash_at(&m, 1) else { continue };
            let at = m.last_modified.timestamp_millis();
            let held = by_hash.entry(hash.clone()).or_insert(Held {
                hash,
                bytes: 0,
                written_ms: at,
            });
            held.bytes += m.size;
            held.written_ms = held.written_ms.max(at);
        }
        Ok(by_hash.into_values().collect())
    }

    async fn marks(&self) -> Result<Vec<(String, i64)>, BlobError> {
        let mut out = Vec::new();
        for m in self.list_under("unreferenced").await? {
            let Some(hash) = hash_at(&m, 1) else { continue };
            match self.store.get(&m.location).await {
                Ok(got) => {
                    if let Some(since) = mark_since(&got.bytes().await.map_err(err)?) {
                        out.push((hash, since));
                    }
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(err(e)),
            }
        }
        Ok(out)
    }

    async fn mark(&self, hash: &str, since_ms: i64) -> Result<(), BlobError> {
        // Create only: when several nodes mark at once, the first mark stands.
        let payload = PutPayload::from(since_ms.to_string().into_bytes());
        match self
            .store
            .put_opts(&mark_path(hash), payload, PutMode::Create.into())
            .await
        {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }

    async fn unmark(&self, hash: &str) -> Result<(), BlobError> {
        gone(self.store.delete(&mark_path(hash)).await)
    }
}
