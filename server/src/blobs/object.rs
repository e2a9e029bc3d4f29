//! Blobs in an object store through the `object_store` crate (Apache Arrow project: S3,
//! GCS, Azure, local files, memory), for several nodes sharing one bucket.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{BlobError, BlobStore};

/// Blobs as objects: `blobs/<hash>` and `partial/<hash>/<index>`.
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

fn blob_path(hash: &str) -> Path {
    Path::from(format!("blobs/{hash}"))
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
        let prefix = Path::from(format!("partial/{hash}"));
        let metas: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(err)?;
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
        for index in self.chunks(hash).await? {
            match self.store.delete(&chunk_path(hash, index)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(err(e)),
            }
        }
        Ok(())
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
        match self.store.delete(&blob_path(hash)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }
}
