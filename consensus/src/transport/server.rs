//! The accept loop: authenticates each connection by its client certificate, reads one
//! request per stream, checks the sender it names, and hands it to an [`RpcService`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::transport::frame::{
    decode_payload, encode_frame, read_frame, write_frame, FrameReadError,
};
use crate::transport::quic::peer_node_id;
use crate::transport::{RpcRequest, RpcResponse};
use crate::type_config::NodeId;
use crate::wire_version;

/// Connections served at once; further connection attempts are refused.
pub const MAX_INCOMING_CONNECTIONS: usize = 512;
const HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// How long a peer may take to send its request once it opened a stream.
const REQUEST_READ_TIMEOUT_MS: u64 = 30_000;

/// What a node does with an authenticated request.
pub trait RpcService: Send + Sync + 'static {
    /// Answer `request` from the node `peer` (as named by its certificate). The sender the
    /// request names has already been checked against `peer`.
    fn handle(&self, peer: NodeId, request: RpcRequest)
        -> impl Future<Output = RpcResponse> + Send;

    /// Take the `size_bytes` of a pushed blob from `body` and answer once it is held durably
    /// ([`RpcResponse::BlobStored`]) or why not.
    fn receive_blob(
        &self,
        peer: NodeId,
        blob: [u8; 32],
        size_bytes: u64,
        body: &mut quinn::RecvStream,
    ) -> impl Future<Output = RpcResponse> + Send;

    /// A held blob opened for reading, with its size (`None` when not held).
    fn open_blob(
        &self,
        blob: [u8; 32],
    ) -> impl Future<Output = Option<(tokio::fs::File, u64)>> + Send;
}

/// Accept connections on `endpoint` until it is closed.
pub async fn serve<S: RpcService>(endpoint: quinn::Endpoint, service: Arc<S>) {
    let connection_permits = Arc::new(Semaphore::new(MAX_INCOMING_CONNECTIONS));
    while let Some(incoming) = endpoint.accept().await {
        let Ok(permit) = connection_permits.clone().try_acquire_owned() else {
            tracing::warn!(
                remote = %incoming.remote_address(),
                "refusing connection: too many connections"
            );
            incoming.refuse();
            continue;
        };
        let service = service.clone();
        tokio::spawn(async move {
            serve_connection(incoming, service).await;
            drop(permit);
        });
    }
    tracing::debug!("QUIC accept loop stopped");
}

async fn serve_connection<S: RpcService>(incoming: quinn::Incoming, service: Arc<S>) {
    let remote = incoming.remote_address();
    let connecting = match incoming.accept() {
        Ok(connecting) => connecting,
        Err(e) => {
            tracing::debug!(%remote, error = %e, "accept connection");
            return;
        }
    };
    let connection =
        match tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), connecting).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(e)) => {
                tracing::warn!(%remote, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::warn!(%remote, "TLS handshake timed out");
                return;
            }
        };
    let Some(peer) = peer_node_id(&connection) else {
        tracing::warn!(%remote, "client certificate names no node; closing");
        connection.close(quinn::VarInt::from_u32(1), b"certificate names no node");
        return;
    };
    let wire_version = wire_version::negotiated(&connection);
    tracing::debug!(%remote, peer, wire_version, "peer connected");
    loop {
        // At most MAX_STREAMS_PER_CONNECTION streams are open at once: the transport config
        // grants the peer no more stream credit than that.
        let (send, recv) = match connection.accept_bi().await {
            Ok(streams) => streams,
            Err(e) => {
                tracing::debug!(%remote, peer, error = %e, "connection ended");
                return;
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            serve_stream(peer, wire_version, send, recv, service).await;
        });
    }
}

async fn serve_stream<S: RpcService>(
    peer: NodeId,
    wire_version: u16,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    service: Arc<S>,
) {
    let read = tokio::time::timeout(
        Duration::from_millis(REQUEST_READ_TIMEOUT_MS),
        read_frame(&mut recv),
    )
    .await;
    let payload = match read {
        Ok(Ok(payload)) => payload,
        Ok(Err(FrameReadError::Invalid(e))) => {
            tracing::warn!(peer, error = %e, "refusing request frame");
            let refusal = RpcResponse::Refused(format!("bad request frame: {e}"));
            if let Ok(frame) = encode_frame(&refusal) {
                if write_frame(&mut send, &frame).await.is_ok() {
                    let _ = send.finish();
                }
            }
            return;
        }
        Ok(Err(FrameReadError::Io(e))) => {
            tracing::debug!(peer, error = %e, "read request");
            return;
        }
        Err(_) => {
            tracing::debug!(peer, "request not received in time");
            return;
        }
    };
    let response = match decode_payload::<RpcRequest>(&payload) {
        Err(e) => {
            tracing::warn!(peer, error = %e, "undecodable request");
            RpcResponse::Refused(format!("undecodable request: {e}"))
        }
        Ok(request) => match request.named_sender() {
            Some(named) if named != peer => {
                tracing::warn!(
                    peer,
                    named,
                    kind = request.kind(),
                    "refusing request naming another node than its certificate"
                );
                RpcResponse::Refused(format!(
                    "request names node {named} but the certificate names node {peer}"
                ))
            }
            _ if request.wire_version() > wire_version => {
                tracing::warn!(
                    peer,
                    wire_version,
                    kind = request.kind(),
                    "refusing a request newer than the connection's protocol"
                );
                RpcResponse::Refused(format!(
                    "`{}` needs protocol {}; this connection agreed on {wire_version}",
                    request.kind(),
                    request.wire_version()
                ))
            }
            _ => match request {
                RpcRequest::BlobPush { blob, size_bytes } => {
                    service
                        .receive_blob(peer, blob, size_bytes, &mut recv)
                        .await
                }
                RpcRequest::BlobFetch { blob } => {
                    send_blob(peer, blob, &mut send, &*service).await;
                    return;
                }
                request => service.handle(peer, request).await,
            },
        },
    };
    let frame = match encode_frame(&response) {
        Ok(frame) => frame,
        Err(e) => {
            tracing::error!(peer, error = %e, kind = response.kind(), "encode response");
            match encode_frame(&RpcResponse::Refused(format!("encode response: {e}"))) {
                Ok(frame) => frame,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = write_frame(&mut send, &frame).await {
        tracing::debug!(peer, error = %e, "write response");
        return;
    }
    let _ = send.finish();
}

/// Answer a fetch: the `BlobFound` frame then the blob's bytes, or `BlobMissing`; bounded by
/// [`crate::transport::blob_transfer_deadline`] so a peer that stops reading cannot hold the
/// stream.
async fn send_blob<S: RpcService>(
    peer: NodeId,
    blob: [u8; 32],
    send: &mut quinn::SendStream,
    service: &S,
) {
    let Some((file, size_bytes)) = service.open_blob(blob).await else {
        if let Ok(frame) = encode_frame(&RpcResponse::BlobMissing) {
            if write_frame(send, &frame).await.is_ok() {
                let _ = send.finish();
            }
        }
        return;
    };
    let Ok(frame) = encode_frame(&RpcResponse::BlobFound { size_bytes }) else {
        return;
    };
    let transfer = async {
        write_frame(send, &frame).await?;
        let mut body = tokio::io::AsyncReadExt::take(file, size_bytes);
        let copied = tokio::io::copy(&mut body, send).await?;
        if copied != size_bytes {
            return Err(std::io::Error::other(format!(
                "blob shrank to {copied} of {size_bytes} bytes while sent"
            )));
        }
        Ok::<(), std::io::Error>(())
    };
    let deadline = crate::transport::blob_transfer_deadline(size_bytes);
    match tokio::time::timeout(deadline, transfer).await {
        Ok(Ok(())) => {
            let _ = send.finish();
            tracing::debug!(peer, size_bytes, "sent a blob");
        }
        Ok(Err(error)) => {
            tracing::debug!(peer, %error, "send blob");
            let _ = send.reset(quinn::VarInt::from_u32(3));
        }
        Err(_) => {
            tracing::info!(peer, size_bytes, "blob send too slow; stopped");
            let _ = send.reset(quinn::VarInt::from_u32(3));
        }
    }
}
