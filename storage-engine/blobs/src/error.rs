//! Why a blob operation failed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// More bytes than the writer was opened for.
    #[error("blob larger than {bytes_max} bytes")]
    TooLarge { bytes_max: u64 },
    #[error("not a blob id: {0:?}")]
    InvalidId(String),
    /// Finished with a different hash than the one the writer was told to expect (a
    /// transfer that was cut or corrupted).
    #[error("blob content hashes to {actual}, expected {expected}")]
    HashMismatch { expected: String, actual: String },
}

impl BlobError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        BlobError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
