//! Node-to-node RPC over QUIC (quinn) with mutual TLS: framing, messages, the endpoint and
//! connection cache, the accept loop, and openraft's network traits on top.

mod blob_transfer;
mod error;
pub mod frame;
mod message;
mod network;
mod quic;
mod server;

pub use blob_transfer::{blob_transfer_deadline, read_blob_body, BLOB_CHUNK_BYTES};
pub use error::TransportError;
pub use frame::{encoded_len, MAX_FRAME_BYTES};
pub use message::{
    ForwardError, JoinRequest, JoinRole, MembershipChange, NodeDescription, NodeStatus, RpcRequest,
    RpcResponse, WriteReply,
};
pub use network::{PeerNetwork, RaftNetworkClients};
pub use quic::{peer_node_id, PeerTarget, QuicTransport, MAX_STREAMS_PER_CONNECTION};
pub use server::{serve, RpcService, MAX_INCOMING_CONNECTIONS};
