//! Errors from the QUIC transport, classified by whether the request may have been delivered.

/// A failed RPC. The variants say whether the peer can have acted on the request:
/// `Unreachable`, `Handshake`, `Encode` and `FrameTooLarge` while sending mean it did not;
/// `Lost` and `Timeout { sent: true }` mean it may have.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// No connection or stream could be opened; nothing was sent.
    #[error("peer {peer} unreachable: {reason}")]
    Unreachable { peer: String, reason: String },
    /// The TLS handshake was rejected (certificate from another CA, wrong node name, no client
    /// certificate); nothing was processed.
    #[error("TLS handshake with {peer} failed: {reason}")]
    Handshake { peer: String, reason: String },
    /// The connection or stream failed after the request started to go out.
    #[error("connection to {peer} lost after sending: {reason}")]
    Lost { peer: String, reason: String },
    #[error("RPC to {peer} timed out after {timeout_ms} ms (request sent: {sent})")]
    Timeout {
        peer: String,
        timeout_ms: u64,
        sent: bool,
    },
    #[error("frame of {len_bytes} bytes exceeds the limit of {max_bytes} bytes")]
    FrameTooLarge { len_bytes: u64, max_bytes: u64 },
    #[error("encode message: {0}")]
    Encode(String),
    #[error("decode message: {0}")]
    Decode(String),
    #[error("bad peer address {addr}: {reason}")]
    BadAddress { addr: String, reason: String },
    #[error("QUIC endpoint: {0}")]
    Endpoint(String),
    /// The peer runs an older release whose protocol lacks this request; nothing was sent.
    #[error("peer {peer} speaks protocol {peer_version}; `{request}` needs {needed}")]
    PeerTooOld {
        peer: String,
        request: &'static str,
        peer_version: u16,
        needed: u16,
    },
}

impl TransportError {
    /// Whether the peer may have received and acted on the request.
    pub fn maybe_delivered(&self) -> bool {
        match self {
            TransportError::Lost { .. } | TransportError::Decode(_) => true,
            TransportError::Timeout { sent, .. } => *sent,
            TransportError::Unreachable { .. }
            | TransportError::Handshake { .. }
            | TransportError::FrameTooLarge { .. }
            | TransportError::Encode(_)
            | TransportError::BadAddress { .. }
            | TransportError::Endpoint(_)
            | TransportError::PeerTooOld { .. } => false,
        }
    }
}
