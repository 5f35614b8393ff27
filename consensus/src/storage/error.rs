//! Errors of the storage adapters before they become openraft `StorageError`s.

use std::path::PathBuf;

/// Why a storage adapter operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageAdapterError {
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("encode {what}: {detail}")]
    Encode { what: &'static str, detail: String },
    #[error("decode {what}: {detail}")]
    Decode { what: &'static str, detail: String },
    #[error(transparent)]
    Storage(#[from] edgebase_storage::StorageError),
    #[error("installed snapshot holds last log id {found}, its meta says {expected}")]
    SnapshotMismatch { expected: String, found: String },
    #[error("a blocking storage task failed: {0}")]
    Task(String),
    #[error("a lock was poisoned by a panic: {0}")]
    Poisoned(&'static str),
    #[error("a state restore's snapshot: {0}")]
    RestoreBlob(String),
}

impl StorageAdapterError {
    pub(crate) fn io(
        context: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> Self {
        StorageAdapterError::Io {
            context,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<tokio::task::JoinError> for StorageAdapterError {
    fn from(error: tokio::task::JoinError) -> Self {
        StorageAdapterError::Task(error.to_string())
    }
}
