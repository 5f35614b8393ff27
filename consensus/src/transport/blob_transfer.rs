//! Blobs between nodes, on the same authenticated QUIC connections as Raft: a request frame,
//! then the blob's bytes raw on the same stream (never a frame, never in the log), in
//! bounded chunks. Every transfer is bounded in time by its size.

use std::time::Duration;

use edgebase_blobs::{BlobId, BlobWriter, StoredBlob};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::transport::frame::{decode_payload, encode_frame, read_frame, write_frame};
use crate::transport::{QuicTransport, RpcRequest, RpcResponse, TransportError};
use crate::type_config::NodeId;

/// Bytes moved per read while streaming a blob.
pub const BLOB_CHUNK_BYTES: usize = 64 * 1024;
/// Time for a stream to open and a small answer to come back.
const BLOB_RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// The slowest transfer tolerated: a blob must move at least this fast, past a fixed
/// allowance, or its transfer is stopped.
const BLOB_TRANSFER_MIN_BYTES_PER_SEC: u64 = 256 * 1024;
const BLOB_TRANSFER_ALLOWANCE: Duration = Duration::from_secs(30);

/// How long moving `size_bytes` of one blob may take, on either side.
pub fn blob_transfer_deadline(size_bytes: u64) -> Duration {
    BLOB_TRANSFER_ALLOWANCE + Duration::from_secs(size_bytes / BLOB_TRANSFER_MIN_BYTES_PER_SEC)
}

/// Read exactly `size_bytes` from `body` into `writer`, in bounded chunks. A body that ends
/// early, or carries more, is an error (and the writer, dropped, keeps nothing).
pub async fn read_blob_body<R: AsyncRead + Unpin>(
    body: &mut R,
    size_bytes: u64,
    writer: &mut BlobWriter,
) -> Result<(), String> {
    let mut buffer = vec![0u8; BLOB_CHUNK_BYTES];
    let mut left = size_bytes;
    while left > 0 {
        let want = usize::try_from(left.min(BLOB_CHUNK_BYTES as u64)).unwrap_or(BLOB_CHUNK_BYTES);
        let read = body
            .read(&mut buffer[..want])
            .await
            .map_err(|error| format!("read blob body: {error}"))?;
        if read == 0 {
            return Err(format!(
                "blob body ended after {} of {size_bytes} bytes",
                size_bytes - left
            ));
        }
        writer
            .write(&buffer[..read])
            .await
            .map_err(|error| error.to_string())?;
        left -= read as u64;
    }
    let mut probe = [0u8; 1];
    match body.read(&mut probe).await {
        Ok(0) => Ok(()),
        Ok(_) => Err(format!("blob body longer than {size_bytes} bytes")),
        Err(error) => Err(format!("read blob body: {error}")),
    }
}

impl QuicTransport {
    /// Whether node `target` holds `blob`.
    pub async fn blob_held(
        &self,
        target: NodeId,
        addr: &str,
        blob: BlobId,
    ) -> Result<bool, TransportError> {
        let request = RpcRequest::BlobHas {
            blob: *blob.as_bytes(),
        };
        match self.call(target, addr, &request, BLOB_RPC_TIMEOUT).await? {
            RpcResponse::BlobHeld(held) => Ok(held),
            other => Err(unexpected(addr, &other)),
        }
    }

    /// Stream `size_bytes` of `blob` from `source` to node `target`; returns once the peer
    /// holds it durably.
    pub async fn push_blob<R: AsyncRead + Unpin>(
        &self,
        target: NodeId,
        addr: &str,
        blob: BlobId,
        size_bytes: u64,
        source: &mut R,
    ) -> Result<(), TransportError> {
        let (mut send, mut recv) = self.open_stream_to(target, addr, BLOB_RPC_TIMEOUT).await?;
        let frame = encode_frame(&RpcRequest::BlobPush {
            blob: *blob.as_bytes(),
            size_bytes,
        })?;
        let lost = |reason: String| TransportError::Lost {
            peer: addr.to_string(),
            reason,
        };
        let transfer = async {
            write_frame(&mut send, &frame)
                .await
                .map_err(|error| lost(error.to_string()))?;
            let mut body = source.take(size_bytes);
            let copied = tokio::io::copy(&mut body, &mut send)
                .await
                .map_err(|error| lost(error.to_string()))?;
            if copied != size_bytes {
                return Err(lost(format!(
                    "blob source gave {copied} of {size_bytes} bytes"
                )));
            }
            send.flush()
                .await
                .map_err(|error| lost(error.to_string()))?;
            let _ = send.finish();
            let payload = read_frame(&mut recv)
                .await
                .map_err(|error| lost(error.to_string()))?;
            decode_payload::<RpcResponse>(&payload)
        };
        let deadline = blob_transfer_deadline(size_bytes);
        let response = tokio::time::timeout(deadline, transfer)
            .await
            .map_err(|_| timed_out(addr, deadline))??;
        match response {
            RpcResponse::BlobStored => Ok(()),
            other => Err(unexpected(addr, &other)),
        }
    }

    /// Fetch `blob` from node `target` into `writer` (which checks the hash); `None` when
    /// the peer does not hold it.
    pub async fn fetch_blob(
        &self,
        target: NodeId,
        addr: &str,
        blob: BlobId,
        mut writer: BlobWriter,
        size_bytes_max: u64,
    ) -> Result<Option<StoredBlob>, TransportError> {
        let (mut send, mut recv) = self.open_stream_to(target, addr, BLOB_RPC_TIMEOUT).await?;
        let lost = |reason: String| TransportError::Lost {
            peer: addr.to_string(),
            reason,
        };
        let frame = encode_frame(&RpcRequest::BlobFetch {
            blob: *blob.as_bytes(),
        })?;
        let header = async {
            write_frame(&mut send, &frame)
                .await
                .map_err(|error| lost(error.to_string()))?;
            let _ = send.finish();
            let payload = read_frame(&mut recv)
                .await
                .map_err(|error| lost(error.to_string()))?;
            decode_payload::<RpcResponse>(&payload)
        };
        let response = tokio::time::timeout(BLOB_RPC_TIMEOUT, header)
            .await
            .map_err(|_| timed_out(addr, BLOB_RPC_TIMEOUT))??;
        let size_bytes = match response {
            RpcResponse::BlobMissing => return Ok(None),
            RpcResponse::BlobFound { size_bytes } if size_bytes <= size_bytes_max => size_bytes,
            RpcResponse::BlobFound { size_bytes } => {
                return Err(lost(format!(
                    "peer offers {size_bytes} bytes, more than the {size_bytes_max} allowed"
                )))
            }
            other => return Err(unexpected(addr, &other)),
        };
        let deadline = blob_transfer_deadline(size_bytes);
        tokio::time::timeout(deadline, read_blob_body(&mut recv, size_bytes, &mut writer))
            .await
            .map_err(|_| timed_out(addr, deadline))?
            .map_err(lost)?;
        let stored = writer
            .finish()
            .await
            .map_err(|error| lost(error.to_string()))?;
        Ok(Some(stored))
    }
}

/// A transfer that did not finish within `deadline`, after its request was sent.
fn timed_out(addr: &str, deadline: Duration) -> TransportError {
    TransportError::Timeout {
        peer: addr.to_string(),
        timeout_ms: u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
        sent: true,
    }
}

fn unexpected(addr: &str, response: &RpcResponse) -> TransportError {
    match response {
        RpcResponse::Refused(reason) => TransportError::Lost {
            peer: addr.to_string(),
            reason: format!("refused: {reason}"),
        },
        other => TransportError::Lost {
            peer: addr.to_string(),
            reason: format!("unexpected answer {}", other.kind()),
        },
    }
}
