//! The embedded blob store: one file per blob and per chunk under a private directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{BlobError, BlobStore, Held, mark_since};

/// Blobs as files: `<root>/<hh>/<hash>`, `<root>/partial/<hash>/<index>` (and
/// `<index>.part`, the start of a chunk whose request was cut), and the garbage
/// collector's marks `<root>/unreferenced/<hash>`.
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

    fn mark_path(&self, hash: &str) -> PathBuf {
        self.root.join("unreferenced").join(hash)
    }
}

/// The entries of `dir` (none when it does not exist).
fn entries(dir: &Path) -> std::io::Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(e) => e.collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The entries of `dir` named by a blob hash, with their names.
fn hash_entries(dir: &Path) -> std::io::Result<Vec<(String, std::fs::DirEntry)>> {
    Ok(entries(dir)?
        .into_iter()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            sync_core::attachment::is_hash(&name).then_some((name, e))
        })
        .collect())
}

/// When a file was last written, ms since the epoch.
fn written_ms(meta: &std::fs::Metadata) -> std::io::Result<i64> {
    let since = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

/// An entry's metadata, `None` when it went in the meantime (an upload finished, a blob
/// was collected).
fn meta_if_there(e: &std::fs::DirEntry) -> std::io::Result<Option<std::fs::Metadata>> {
    match e.metadata() {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a file, `None` when it does not exist.
fn read_if_there(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes a file that may already be gone.
fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
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
            Ok(entries(&dir)?
                .iter()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
                .collect())
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

    async fn put_part(&self, hash: &str, index: u64, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.partial_dir(hash).join(format!("{index}.part"));
        blocking(move || write_whole(&path, &bytes)).await
    }

    async fn get_part(&self, hash: &str, index: u64) -> Result<Option<Bytes>, BlobError> {
        let path = self.partial_dir(hash).join(format!("{index}.part"));
        blocking(move || Ok(read_if_there(&path)?.map(Bytes::from))).await
    }

    async fn drop_part(&self, hash: &str, index: u64) -> Result<(), BlobError> {
        let path = self.partial_dir(hash).join(format!("{index}.part"));
        blocking(move || remove_if_there(&path)).await
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
        blocking(move || remove_if_there(&path)).await
    }

    async fn list_blobs(&self) -> Result<Vec<Held>, BlobError> {
        let root = self.root.clone();
        blocking(move || {
            let mut out = Vec::new();
            for dir in entries(&root)? {
                let name = dir.file_name();
                let Some(prefix) = name.to_str() else {
                    continue;
                };
                if prefix.len() != 2 || !dir.file_type()?.is_dir() {
                    continue;
                }
                for (hash, e) in hash_entries(&dir.path())? {
                    let Some(meta) = meta_if_there(&e)? else {
                        continue;
                    };
                    out.push(Held {
                        hash,
                        bytes: meta.len(),
                        written_ms: written_ms(&meta)?,
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list_uploads(&self) -> Result<Vec<Held>, BlobError> {
        let partial = self.root.join("partial");
        blocking(move || {
            let mut out = Vec::new();
            for (hash, dir) in hash_entries(&partial)? {
                // Every file counts, a temporary one left by a crash mid-write too.
                let Some(meta) = meta_if_there(&dir)? else {
                    continue;
                };
                let (mut bytes, mut newest) = (0, written_ms(&meta)?);
                for chunk in entries(&dir.path())? {
                    let Some(meta) = meta_if_there(&chunk)? else {
                        continue;
                    };
                    bytes += meta.len();
                    newest = newest.max(written_ms(&meta)?);
                }
                out.push(Held {
                    hash,
                    bytes,
                    written_ms: newest,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn marks(&self) -> Result<Vec<(String, i64)>, BlobError> {
        let dir = self.root.join("unreferenced");
        blocking(move || {
            let mut out = Vec::new();
            for (hash, e) in hash_entries(&dir)? {
                if let Some(since) = read_if_there(&e.path())?.as_deref().and_then(mark_since) {
                    out.push((hash, since));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn mark(&self, hash: &str, since_ms: i64) -> Result<(), BlobError> {
        let path = self.mark_path(hash);
        blocking(move || {
            if read_if_there(&path)?
                .as_deref()
                .and_then(mark_since)
                .is_some()
            {
                return Ok(());
            }
            write_whole(&path, since_ms.to_string().as_bytes())
        })
        .await
    }

    async fn unmark(&self, hash: &str) -> Result<(), BlobError> {
        let path = self.mark_path(hash);
        blocking(move || remove_if_there(&path)).await
    }
}
