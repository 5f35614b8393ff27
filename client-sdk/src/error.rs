//! `ClientError`: everything a call through the SDK can fail with.

use crate::wire::ErrorEnvelope;

/// The error of one SDK call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with PocketBase's error envelope (`{"status","message","data"}`).
    #[error("api error {}: {}", .0.status, .0.message)]
    Api(ErrorEnvelope),
    /// The server answered with a non-success status and a body that is not an error envelope.
    #[error("unexpected status {status}: {body}")]
    UnexpectedStatus { status: u16, body: String },
    /// Connecting, sending or receiving failed, or a timeout elapsed.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// A success response whose body does not have the expected shape.
    #[error("decode response body: {0}")]
    Decode(#[from] serde_json::Error),
    /// A response body longer than the client accepts.
    #[error("response body exceeds {limit_bytes} bytes")]
    BodyTooLarge { limit_bytes: usize },
    /// A realtime stream broke or did not start as PocketBase's does.
    #[error("realtime stream: {reason}")]
    Stream { reason: String },
    /// The base URL given to the client cannot be used.
    #[error("invalid base url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

impl ClientError {
    /// The HTTP status of an answer the server gave, if it gave one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api(envelope) => Some(envelope.status),
            ClientError::UnexpectedStatus { status, .. } => Some(*status),
            ClientError::Transport(error) => error.status().map(|status| status.as_u16()),
            _ => None,
        }
    }

    /// True when retrying the same call later may succeed: the request did not reach a
    /// server that answered it, or the server said it is temporarily unable (502, 503, 504).
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Transport(_) | ClientError::Stream { .. } => true,
            other => matches!(other.status(), Some(502..=504)),
        }
    }
}
