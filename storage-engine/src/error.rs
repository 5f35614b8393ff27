//! The storage engine's error type.

use std::path::PathBuf;

/// Everything that can go wrong below the Raft layer. Rejections of commands are not errors:
/// they are deterministic results ([`crate::Rejection`]).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt {what}: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("invalid snapshot: {0}")]
    Snapshot(String),
    #[error("encode {what}: {detail}")]
    Encode { what: &'static str, detail: String },
    #[error("{what} is {bytes} bytes, more than the limit of {max_bytes}")]
    TooLarge {
        what: &'static str,
        bytes: u64,
        max_bytes: u64,
    },
    #[error("sync write-ahead log: {0}")]
    Sync(String),
    #[error("the write-ahead log sync thread has stopped")]
    SyncStopped,
    #[error("applied index must grow: last applied {last}, got {next}")]
    ApplyOutOfOrder { last: u64, next: u64 },
    #[error("the generation counter is exhausted")]
    GenerationExhausted,
    #[error("a lock was poisoned by a panic: {0}")]
    Poisoned(&'static str),
    #[error(
        "this data dir was written by a newer EdgeBase (data format {found}); this build reads \
         formats up to {supported}: run the newer binary, or restore a backup into a new dir"
    )]
    NewerDataFormat { found: u64, supported: u64 },
    #[error("the state restore at index {index} was applied without its snapshot file")]
    RestoreWithoutFile { index: u64 },
}

impl StorageError {
    pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        StorageError::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }

    pub(crate) fn io(
        context: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> Self {
        StorageError::Io {
            context,
            path: path.to_path_buf(),
            source,
        }
    }
}
