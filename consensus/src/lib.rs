//! EdgeBase's consensus layer: openraft over QUIC with mutual TLS, the Raft storage adapters,
//! and [`ConsensusNode`], the API the HTTP layer codes against.
//!
//! It knows nothing of HTTP, records' meaning or access rules: commands are opaque
//! [`edgebase_storage::Command`]s proposed through the leader and applied on every replica.

pub mod config;
pub mod error;
pub mod node;
pub mod storage;
pub mod tls;
pub mod transport;
pub mod type_config;
pub mod wire_version;

pub use config::ConsensusConfig;
pub use error::ConsensusError;
pub use node::{
    BlobReplication, ClusterState, ConsensusNode, JoinRole, LocalRaftMetrics, MemberState,
    PeerReplication, ProposalStats, RelayFuture, RelayHandler, Release, WriteOutcome,
    BLOB_BYTES_MAX, MAX_COMMAND_BYTES, RELAY_BYTES_MAX,
};
pub use tls::{generate_ca, generate_node_cert, node_id_from_cert, TlsPaths};
pub use type_config::{NodeId, NodeInfo, Raft, TypeConfig};
