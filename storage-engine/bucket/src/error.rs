//! Why a bucket operation failed.

#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// A request to the bucket failed (after its retries).
    #[error("{action}: {source}")]
    Request {
        action: &'static str,
        #[source]
        source: object_store::Error,
    },
    /// The local side of a transfer: reading the blob to send, or keeping the copy.
    #[error(transparent)]
    Local(#[from] edgebase_blobs::BlobError),
    /// The local store does not hold the blob it was asked to send.
    #[error("blob {id} is not held here")]
    Missing { id: String },
    /// An object name that is not one plain path segment.
    #[error("{name:?} is not a plain object name")]
    BadName { name: String },
    #[error("read blob {id}: {source}")]
    Read {
        id: String,
        #[source]
        source: std::io::Error,
    },
}

impl BucketError {
    pub(crate) fn request(action: &'static str, source: object_store::Error) -> Self {
        BucketError::Request { action, source }
    }
}
