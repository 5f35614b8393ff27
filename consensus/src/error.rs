//! The consensus layer's error type, shaped so a caller can tell "nothing was written, retry"
//! from "it may have been written" from "give up".

use crate::tls::TlsError;
use crate::transport::TransportError;

/// Why a [`crate::ConsensusNode`] operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// No leader is known right now. Nothing was written; retry later.
    #[error("no leader is known; nothing was written")]
    NoLeader,
    /// The leader could not be reached or could not serve the request (leadership moved, no
    /// quorum). Nothing was written; retry later.
    #[error("unavailable, nothing was written: {reason}")]
    Unavailable { reason: String },
    /// The request reached the leader but the answer was lost (connection dropped, leader
    /// stopped): the write may or may not be applied.
    #[error("outcome unknown, the write may or may not be applied: {reason}")]
    OutcomeUnknown { reason: String },
    /// The operation did not finish in time. For a write this means its outcome is unknown.
    #[error("timed out after {timeout_ms} ms: {action}")]
    Timeout {
        action: &'static str,
        timeout_ms: u64,
    },
    /// The write committed at `index`, but this node had not applied it within the wait.
    #[error("write committed at index {index} but this node has only applied {applied}")]
    NotYetApplied { index: u64, applied: u64 },
    /// The command is too big to ever be replicated in one frame; nothing was written.
    #[error("command of {len_bytes} bytes exceeds the limit of {max_bytes} bytes")]
    CommandTooLarge { len_bytes: u64, max_bytes: u64 },
    /// The cluster refused to add this node (certificate from another CA, identity mismatch).
    #[error("join refused: {reason}")]
    JoinRefused { reason: String },
    /// A peer refused the request (sender not allowed, bad membership change).
    #[error("refused: {reason}")]
    Refused { reason: String },
    /// The cluster is not initialised (no membership yet).
    #[error("this node is not part of an initialised cluster")]
    NotInitialized,
    #[error("tls: {0}")]
    Tls(#[from] TlsError),
    #[error("config: {reason}")]
    Config { reason: String },
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// Raft stopped (shut down, or a storage failure that stops the node).
    #[error("raft stopped: {reason}")]
    Fatal { reason: String },
}

impl ConsensusError {
    /// Whether the caller may simply retry: nothing was written.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConsensusError::NoLeader | ConsensusError::Unavailable { .. }
        )
    }

    pub(crate) fn fatal(error: impl std::fmt::Display) -> Self {
        ConsensusError::Fatal {
            reason: error.to_string(),
        }
    }

    pub(crate) fn timeout(action: &'static str, timeout: std::time::Duration) -> Self {
        ConsensusError::Timeout {
            action,
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }
}
