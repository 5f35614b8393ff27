//! `edgebase restore BACKUP --dir DIR`: a new data dir seeded from a backup archive, so
//! the node started on it founds a new cluster holding the backup's state. The state is
//! installed without the old cluster's applied log id and membership (the new cluster's
//! log starts afresh) and without the backup catalog (the new cluster has no backups yet);
//! every blob is copied in and checked against its hash.

use std::path::{Path, PathBuf};

use edgebase_blobs::{BlobError, BlobId, BlobStore, BlobWriter};
use edgebase_consensus::BLOB_BYTES_MAX;
use edgebase_storage::{StorageError, Store};

use super::archive::{ArchiveError, ArchiveReader, Manifest};
use super::catalog::CATALOG_KEY;

/// Why a data dir could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("install the state: {0}")]
    Storage(#[from] StorageError),
    #[error("copy a file blob: {0}")]
    Blob(#[from] BlobError),
    #[error("{0} is not empty: restore seeds a new data dir")]
    NotEmpty(PathBuf),
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// What seeding did, step by step, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum SeedProgress {
    /// The archive's manifest was read: the state's size and the number of blobs.
    Opened { state_bytes: u64, blobs: u64 },
    /// Bytes of the state copied out and checked.
    StateBytes(u64),
    /// The state is installed.
    StateInstalled,
    /// One more blob was copied in (its size).
    Blob(u64),
}

/// Where a node keeps its RocksDB store and its blobs, inside its data dir.
pub struct DataDirLayout {
    pub db_dir: PathBuf,
    pub blobs_dir: PathBuf,
}

/// Seed the empty data dir `dir` from the archive at `archive`; the archive's manifest.
pub async fn seed_data_dir(
    archive: &Path,
    dir: &Path,
    layout: &DataDirLayout,
    progress: &(dyn Fn(SeedProgress) + Send + Sync),
) -> Result<Manifest, SeedError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|source| SeedError::Io {
            context: "read the data dir",
            source,
        })?;
        if entries.next().is_some() {
            return Err(SeedError::NotEmpty(dir.to_path_buf()));
        }
    }
    // The whole archive is checked before anything is written: a damaged one leaves the
    // data dir as it was.
    let mut reader = ArchiveReader::open(archive)?;
    reader.verify()?;
    let manifest = reader.manifest().clone();
    std::fs::create_dir_all(dir).map_err(|source| SeedError::Io {
        context: "create the data dir",
        source,
    })?;
    progress(SeedProgress::Opened {
        state_bytes: manifest.state_bytes,
        blobs: manifest.blobs,
    });
    let work = tempfile::Builder::new()
        .prefix("restore-")
        .tempdir_in(dir)
        .map_err(|source| SeedError::Io {
            context: "create a work dir",
            source,
        })?;
    let snapshot = work.path().join("state.snapshot");
    reader.extract_state(&snapshot, &|bytes| {
        progress(SeedProgress::StateBytes(bytes))
    })?;
    let store = Store::open(&layout.db_dir)?;
    store
        .state()
        .seed_from_snapshot(&snapshot, &[CATALOG_KEY])?;
    drop(store);
    progress(SeedProgress::StateInstalled);
    copy_blobs(reader, &BlobStore::open(&layout.blobs_dir)?, progress).await?;
    drop(work);
    Ok(manifest)
}

/// What the archive-reading thread hands the blob-writing task.
enum BlobChunk {
    Start(BlobId),
    Bytes(Vec<u8>),
    End,
}

/// Copy every blob of the archive into `blobs`: a blocking thread reads the archive and
/// sends chunks through a channel of 4, so memory stays at a few chunks; each blob's writer
/// checks its hash before it is stored.
pub(super) async fn copy_blobs(
    mut reader: ArchiveReader,
    blobs: &BlobStore,
    progress: &(dyn Fn(SeedProgress) + Send + Sync),
) -> Result<(), SeedError> {
    let ids = reader.blob_ids();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<BlobChunk, ArchiveError>>(4);
    let producer = tokio::task::spawn_blocking(move || {
        let stopped = || ArchiveError::Damaged("the copy stopped".into());
        for blob in ids {
            if sender.blocking_send(Ok(BlobChunk::Start(blob))).is_err() {
                return;
            }
            let read = reader.read_blob(&blob, &mut |chunk| {
                sender
                    .blocking_send(Ok(BlobChunk::Bytes(chunk.to_vec())))
                    .map_err(|_| stopped())
            });
            let next = read.map(|_| BlobChunk::End);
            let failed = next.is_err();
            if sender.blocking_send(next).is_err() || failed {
                return;
            }
        }
    });
    let mut current: Option<(BlobWriter, u64)> = None;
    while let Some(message) = receiver.recv().await {
        match message? {
            BlobChunk::Start(blob) => {
                current = Some((blobs.writer_expecting(blob, BLOB_BYTES_MAX).await?, 0));
            }
            BlobChunk::Bytes(bytes) => {
                if let Some((writer, size)) = current.as_mut() {
                    writer.write(&bytes).await?;
                    *size += bytes.len() as u64;
                }
            }
            BlobChunk::End => {
                if let Some((writer, size)) = current.take() {
                    writer.finish().await?;
                    progress(SeedProgress::Blob(size));
                }
            }
        }
    }
    producer.await.map_err(|error| SeedError::Io {
        context: "read the archive's blobs",
        source: std::io::Error::other(error),
    })?;
    Ok(())
}
