//! Writing one blob: chunks go to a file under `incoming/` and into the hash; `finish` syncs
//! the file, moves it to its content address and syncs the directory, so a blob that can be
//! opened by address is whole and survives a crash. A writer dropped unfinished removes its
//! partial file.

use std::path::{Path, PathBuf};

use rand::Rng;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{BlobError, BlobId, BlobStore, StoredBlob};

pub struct BlobWriter {
    store: BlobStore,
    file: tokio::fs::File,
    partial_path: PathBuf,
    hasher: Sha256,
    written_bytes: u64,
    bytes_max: u64,
    expected: Option<BlobId>,
    /// Set once the partial file is moved to its address (or removed).
    settled: bool,
}

impl BlobWriter {
    pub(crate) async fn create(
        store: BlobStore,
        bytes_max: u64,
        expected: Option<BlobId>,
    ) -> Result<BlobWriter, BlobError> {
        let suffix: u64 = rand::thread_rng().gen();
        let partial_path = store.incoming_dir().join(format!("{suffix:016x}.part"));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial_path)
            .await
            .map_err(|source| BlobError::io("create blob", &partial_path, source))?;
        Ok(BlobWriter {
            store,
            file,
            partial_path,
            hasher: Sha256::new(),
            written_bytes: 0,
            bytes_max,
            expected,
            settled: false,
        })
    }

    /// Append `chunk`; past `bytes_max` in total, an error (and nothing more is written).
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        let total = self.written_bytes.saturating_add(chunk.len() as u64);
        if total > self.bytes_max {
            return Err(BlobError::TooLarge {
                bytes_max: self.bytes_max,
            });
        }
        self.file
            .write_all(chunk)
            .await
            .map_err(|source| BlobError::io("write blob", &self.partial_path, source))?;
        self.hasher.update(chunk);
        self.written_bytes = total;
        Ok(())
    }

    pub fn written_bytes(&self) -> u64 {
        self.written_bytes
    }

    /// Make the blob durable under its address.
    pub async fn finish(mut self) -> Result<StoredBlob, BlobError> {
        self.file
            .flush()
            .await
            .map_err(|source| BlobError::io("write blob", &self.partial_path, source))?;
        self.file
            .sync_all()
            .await
            .map_err(|source| BlobError::io("sync blob", &self.partial_path, source))?;
        let id = BlobId::from_digest(self.hasher.clone().finalize().into());
        if let Some(expected) = self.expected {
            if expected != id {
                return Err(BlobError::HashMismatch {
                    expected: expected.to_hex(),
                    actual: id.to_hex(),
                });
            }
        }
        let target = self.store.path_of(&id);
        let shard = target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.store.addressed_dir());
        let partial = self.partial_path.clone();
        let addressed = self.store.addressed_dir();
        let size_bytes = self.written_bytes;
        tokio::task::spawn_blocking(move || settle(&partial, &target, &shard, &addressed))
            .await
            .map_err(|error| {
                BlobError::io("store blob", PathBuf::new(), std::io::Error::other(error))
            })??;
        self.settled = true;
        Ok(StoredBlob { id, size_bytes })
    }
}

/// Move the synced partial file to its address (a blob already there has the same bytes:
/// drop the copy) and sync the directories the move changed.
fn settle(partial: &Path, target: &Path, shard: &Path, addressed: &Path) -> Result<(), BlobError> {
    let new_shard = !shard.exists();
    std::fs::create_dir_all(shard)
        .map_err(|source| BlobError::io("create blob directory", shard, source))?;
    if target.exists() {
        std::fs::remove_file(partial)
            .map_err(|source| BlobError::io("drop duplicate blob", partial, source))?;
        // Stored again: its age restarts, so a collector's grace period covers this write
        // as it covers a new blob.
        std::fs::File::options()
            .write(true)
            .open(target)
            .and_then(|file| file.set_modified(std::time::SystemTime::now()))
            .map_err(|source| BlobError::io("touch blob", target, source))?;
        return Ok(());
    }
    std::fs::rename(partial, target)
        .map_err(|source| BlobError::io("store blob", target, source))?;
    sync_dir(shard)?;
    if new_shard {
        sync_dir(addressed)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    std::fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|source| BlobError::io("sync blob directory", dir, source))
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.settled {
            // An unfinished or refused blob leaves nothing behind.
            let _ = std::fs::remove_file(&self.partial_path);
        }
    }
}
