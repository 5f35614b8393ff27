//! Why a resumable upload request failed; `edgebase-api` maps each to tus's status.

#[derive(Debug, thiserror::Error)]
pub enum ResumableError {
    /// No upload by that id on this node (never made, terminated or expired).
    #[error("The requested upload wasn't found.")]
    NotFound,
    /// The request's `Upload-Offset` is not where the upload stands.
    #[error("Upload-Offset is {sent}, but the upload is at {offset}.")]
    OffsetMismatch { sent: u64, offset: u64 },
    /// Another request is writing to the upload right now.
    #[error("Another request is writing to this upload.")]
    Busy,
    /// More bytes than the upload was created for, or than one request may carry.
    #[error("{0}")]
    TooLarge(String),
    /// The bytes of this request do not match its `Upload-Checksum`; none were kept.
    #[error("The upload checksum doesn't match the received data.")]
    ChecksumMismatch,
    /// The body broke off; the bytes that arrived are kept (without a checksum).
    #[error("The upload body could not be read: {0}")]
    BodyCut(String),
    /// This node holds as many unfinished uploads as it may.
    #[error("Too many uploads are in progress on this node; try again later.")]
    TooMany,
    #[error("{action}: {source}")]
    Io {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Blob(#[from] edgebase_blobs::BlobError),
}

impl ResumableError {
    pub(crate) fn io(action: &'static str) -> impl FnOnce(std::io::Error) -> ResumableError {
        move |source| ResumableError::Io { action, source }
    }
}
