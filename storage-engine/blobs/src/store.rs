//! Where blobs live: `ROOT/sha256/ab/abcd…` (the first two hex digits shard the directory),
//! and `ROOT/incoming/` for writes not yet finished (removed when the store opens: a crash
//! leaves only partial writes there, never a partial blob under its address).

use std::path::{Path, PathBuf};

use crate::{BlobError, BlobId, BlobWriter};

/// A blob held durably: its address and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBlob {
    pub id: BlobId,
    pub size_bytes: u64,
}

/// A blob found on disk by [`BlobStore::list`], with when it was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldBlob {
    pub id: BlobId,
    pub size_bytes: u64,
    pub stored_at: std::time::SystemTime,
}

/// The blob directory of one node; cheap to clone.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

const ADDRESSED_DIR: &str = "sha256";
const INCOMING_DIR: &str = "incoming";

impl BlobStore {
    /// Open (creating) the store at `root`, dropping unfinished writes a crash left behind.
    pub fn open(root: impl Into<PathBuf>) -> Result<BlobStore, BlobError> {
        let root = root.into();
        let store = BlobStore { root };
        for dir in [store.addressed_dir(), store.incoming_dir()] {
            std::fs::create_dir_all(&dir)
                .map_err(|source| BlobError::io("create blob directory", &dir, source))?;
        }
        let incoming = store.incoming_dir();
        let entries = std::fs::read_dir(&incoming)
            .map_err(|source| BlobError::io("list unfinished blobs", &incoming, source))?;
        let mut dropped = 0u64;
        for entry in entries.flatten() {
            if std::fs::remove_file(entry.path()).is_ok() {
                dropped += 1;
            }
        }
        if dropped > 0 {
            tracing::info!(dropped, "removed unfinished blob writes left by a crash");
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A writer for a new blob of at most `bytes_max` bytes.
    pub async fn writer(&self, bytes_max: u64) -> Result<BlobWriter, BlobError> {
        BlobWriter::create(self.clone(), bytes_max, None).await
    }

    /// A writer for a blob whose address is known (a copy from a peer): finishing fails, and
    /// stores nothing, unless the bytes hash to `id`.
    pub async fn writer_expecting(
        &self,
        id: BlobId,
        bytes_max: u64,
    ) -> Result<BlobWriter, BlobError> {
        BlobWriter::create(self.clone(), bytes_max, Some(id)).await
    }

    /// The file a blob is (or would be) stored in.
    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        let hex = id.to_hex();
        self.addressed_dir().join(&hex[..2]).join(hex)
    }

    /// The blob's size, if this node holds it.
    pub async fn size_of(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
        let path = self.path_of(id);
        match tokio::fs::metadata(&path).await {
            Ok(metadata) => Ok(Some(metadata.len())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(BlobError::io("read blob metadata", path, source)),
        }
    }

    /// The blob opened for reading, with its size; `None` if this node does not hold it.
    pub async fn open_blob(
        &self,
        id: &BlobId,
    ) -> Result<Option<(tokio::fs::File, u64)>, BlobError> {
        let path = self.path_of(id);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(BlobError::io("open blob", path, source)),
        };
        let size = file
            .metadata()
            .await
            .map_err(|source| BlobError::io("read blob metadata", &path, source))?
            .len();
        Ok(Some((file, size)))
    }

    /// Restart a held blob's age (a peer confirmed it needs this copy); whether it is held.
    pub async fn touch(&self, id: &BlobId) -> Result<bool, BlobError> {
        let path = self.path_of(id);
        let touched = path.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            std::fs::File::options()
                .write(true)
                .open(&touched)
                .and_then(|file| file.set_modified(std::time::SystemTime::now()))
        })
        .await
        .map_err(|error| BlobError::io("touch blob", &path, std::io::Error::other(error)))?;
        match outcome {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(BlobError::io("touch blob", path, source)),
        }
    }

    /// Remove a blob; whether it was there.
    pub async fn remove(&self, id: &BlobId) -> Result<bool, BlobError> {
        let path = self.path_of(id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(BlobError::io("remove blob", path, source)),
        }
    }

    /// Every blob this node holds (for garbage collection and catching up), in id order.
    pub async fn list(&self) -> Result<Vec<HeldBlob>, BlobError> {
        let dir = self.addressed_dir();
        let listed = tokio::task::spawn_blocking(move || list_addressed(&dir))
            .await
            .map_err(|error| {
                BlobError::io("list blobs", PathBuf::new(), std::io::Error::other(error))
            })??;
        Ok(listed)
    }

    pub(crate) fn addressed_dir(&self) -> PathBuf {
        self.root.join(ADDRESSED_DIR)
    }

    pub(crate) fn incoming_dir(&self) -> PathBuf {
        self.root.join(INCOMING_DIR)
    }
}

fn list_addressed(dir: &Path) -> Result<Vec<HeldBlob>, BlobError> {
    let mut blobs = Vec::new();
    let shards =
        std::fs::read_dir(dir).map_err(|source| BlobError::io("list blobs", dir, source))?;
    for shard in shards.flatten() {
        let Ok(entries) = std::fs::read_dir(shard.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|name| name.parse::<BlobId>().ok()) else {
                continue;
            };
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            blobs.push(HeldBlob {
                id,
                size_bytes: metadata.len(),
                stored_at: metadata
                    .modified()
                    .unwrap_or(std::time::SystemTime::UNIX_EPOCH),
            });
        }
    }
    blobs.sort_by_key(|blob| blob.id);
    Ok(blobs)
}
