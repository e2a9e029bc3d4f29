//! The embedded blob store: one file per blob and per chunk under a private directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{BlobError, BlobStore};

/// Blobs as files: `<root>/<hh>/<hash>` and `<root>/partial/<hash>/<index>`.
#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    /// Opens (creating, 0700) the store at `root`.
    pub fn open(root: &Path) -> std::io::Result<FsBlobs> {
        private_dir(root)?;
        Ok(FsBlobs {
            root: root.to_owned(),
        })
    }

    fn blob_path(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(hash)
    }

    fn partial_dir(&self, hash: &str) -> PathBuf {
        self.root.join("partial").join(hash)
    }
}

/// Creates `dir` and its missing parents 0700.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Writes `bytes` to `path` whole or not at all: a 0600 temporary file in the same
/// directory, synced, renamed over `path`.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(bytes)?;
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, path)?;
    Ok(())
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}", uuid::Uuid::new_v4());
    let path = dir.join(name);
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let f = o.open(&path)?;
    Ok((path, f))
}

/// Runs file work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e.to_string())))?
        .map_err(BlobError::Io)
}

#[async_trait::async_trait]
impl BlobStore for FsBlobs {
    async fn put_chunk(&self, hash: &str, index: u64, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.partial_dir(hash).join(index.to_string());
        blocking(move || write_whole(&path, &bytes)).await
    }

    async fn chunks(&self, hash: &str) -> Result<Vec<u64>, BlobError> {
        let dir = self.partial_dir(hash);
        blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            let mut out = Vec::new();
            for e in entries {
                if let Some(i) = e?.file_name().to_str().and_then(|n| n.parse().ok()) {
                    out.push(i);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn get_chunk(&self, hash: &str, index: u64) -> Result<Bytes, BlobError> {
        let path = self.partial_dir(hash).join(index.to_string());
        blocking(move || std::fs::read(path).map(Bytes::from)).await
    }

    async fn drop_chunks(&self, hash: &str) -> Result<(), BlobError> {
        let dir = self.partial_dir(hash);
        blocking(move || match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
    }

    async fn put_blob(&self, hash: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.blob_path(hash);
        blocking(move || write_whole(&path, &bytes)).await
    }

    async fn blob_size(&self, hash: &str) -> Result<Option<u64>, BlobError> {
        let path = self.blob_path(hash);
        blocking(move || match std::fs::metadata(path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn get_range(&self, hash: &str, from: u64, to: u64) -> Result<Bytes, BlobError> {
        let path = self.blob_path(hash);
        blocking(move || {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = std::fs::File::open(path)?;
            f.seek(SeekFrom::Start(from))?;
            let mut buf = Vec::with_capacity(to.saturating_sub(from) as usize);
            f.take(to.saturating_sub(from)).read_to_end(&mut buf)?;
            Ok(Bytes::from(buf))
        })
        .await
    }

    async fn delete_blob(&self, hash: &str) -> Result<(), BlobError> {
        let path = self.blob_path(hash);
        blocking(move || match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
    }
}
