//! The RPCs nodes send each other, and their answers.

use edgebase_storage::{Command, CommandResult};
use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::ServerState;
use serde::{Deserialize, Serialize};

use crate::type_config::{LogId, NodeId, NodeInfo, TypeConfig};

/// One request on one bidirectional stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RpcRequest {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    /// One chunk of openraft's chunked snapshot transfer.
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// Propose a command through the leader.
    ClientWrite(Command),
    /// Ask the leader for a linearizable read index.
    ReadIndex,
    /// A node asks to become a member.
    Join(JoinRequest),
    /// A member asks the leader to change membership on an operator's behalf.
    ChangeMembership {
        requested_by: NodeId,
        change: MembershipChange,
    },
    NodeStatus,
    /// A member asks the leader to hand leadership to `target` on an operator's behalf.
    TransferLeader {
        requested_by: NodeId,
        target: NodeId,
    },
    /// The leader, having gone quiet so that the other voters' leases expire, tells a
    /// caught-up voter to start an election now.
    StartElection {
        leader: NodeId,
    },
    /// Whether the receiver holds a blob (by its SHA-256).
    BlobHas {
        blob: [u8; 32],
    },
    /// The sender streams a blob of `size_bytes` right after this frame, raw, on the same
    /// stream; the receiver answers once it holds the blob durably (or refuses).
    BlobPush {
        blob: [u8; 32],
        size_bytes: u64,
    },
    /// Send me this blob: a [`RpcResponse::BlobFound`] frame then its bytes, raw, on the same
    /// stream, or [`RpcResponse::BlobMissing`].
    BlobFetch {
        blob: [u8; 32],
    },
    /// A call for the layer above consensus on the receiving node (see
    /// `crate::node::RelayHandler`): opaque bytes, at most `RELAY_BYTES_MAX`.
    Relay {
        call: Vec<u8>,
    },
    /// Wire version 2: the receiver's status with its release
    /// ([`RpcResponse::Described`]).
    Describe,
}

impl RpcRequest {
    /// The node this request claims to come from, which must be the node its TLS client
    /// certificate names. `None` for requests that name no sender.
    pub fn named_sender(&self) -> Option<NodeId> {
        match self {
            RpcRequest::AppendEntries(req) => Some(req.vote.leader_id().node_id),
            RpcRequest::Vote(req) => Some(req.vote.leader_id().node_id),
            RpcRequest::InstallSnapshot(req) => Some(req.vote.leader_id().node_id),
            RpcRequest::Join(join) => Some(join.relayed_by.unwrap_or(join.node_id)),
            RpcRequest::ChangeMembership { requested_by, .. } => Some(*requested_by),
            RpcRequest::TransferLeader { requested_by, .. } => Some(*requested_by),
            RpcRequest::StartElection { leader } => Some(*leader),
            RpcRequest::ClientWrite(_)
            | RpcRequest::ReadIndex
            | RpcRequest::NodeStatus
            | RpcRequest::BlobHas { .. }
            | RpcRequest::BlobPush { .. }
            | RpcRequest::BlobFetch { .. } => None,
            // The sender is the certificate's node; the receiver checks it is a member.
            RpcRequest::Relay { .. } => None,
            RpcRequest::Describe => None,
        }
    }

    /// The first peer protocol version that knows this request: it is sent only on a
    /// connection agreed at that version or later (see [`crate::wire_version`]).
    pub fn wire_version(&self) -> u16 {
        match self {
            RpcRequest::AppendEntries(_)
            | RpcRequest::Vote(_)
            | RpcRequest::InstallSnapshot(_)
            | RpcRequest::ReadIndex
            | RpcRequest::Join(_)
            | RpcRequest::ChangeMembership { .. }
            | RpcRequest::NodeStatus
            | RpcRequest::TransferLeader { .. }
            | RpcRequest::StartElection { .. }
            | RpcRequest::BlobHas { .. }
            | RpcRequest::BlobPush { .. }
            | RpcRequest::BlobFetch { .. }
            | RpcRequest::Relay { .. } => 1,
            RpcRequest::Describe => 2,
            // The leader must be able to read the command it is asked to propose.
            RpcRequest::ClientWrite(command) => command.wire_version(),
        }
    }

    /// Short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            RpcRequest::AppendEntries(_) => "append_entries",
            RpcRequest::Vote(_) => "vote",
            RpcRequest::InstallSnapshot(_) => "install_snapshot",
            RpcRequest::ClientWrite(_) => "client_write",
            RpcRequest::ReadIndex => "read_index",
            RpcRequest::Join(_) => "join",
            RpcRequest::ChangeMembership { .. } => "change_membership",
            RpcRequest::NodeStatus => "node_status",
            RpcRequest::TransferLeader { .. } => "transfer_leader",
            RpcRequest::StartElection { .. } => "start_election",
            RpcRequest::BlobHas { .. } => "blob_has",
            RpcRequest::BlobPush { .. } => "blob_push",
            RpcRequest::BlobFetch { .. } => "blob_fetch",
            RpcRequest::Relay { .. } => "relay",
            RpcRequest::Describe => "describe",
        }
    }
}

/// Whether a joining node stays a non-voting learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinRole {
    Voter,
    Learner,
}

/// "Add me": sent by the joining node itself (`relayed_by: None`) or relayed to the leader by
/// a member (`relayed_by: Some(member)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    pub node_id: NodeId,
    pub info: NodeInfo,
    pub role: JoinRole,
    pub relayed_by: Option<NodeId>,
}

/// Operator membership changes, executed by the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    AddLearner { id: NodeId, info: NodeInfo },
    Promote { id: NodeId },
    Remove { id: NodeId },
}

/// Why a forwarded request (write, read index, join, membership change) was not served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ForwardError {
    /// The receiver is not the leader; the command was certainly not proposed.
    #[error("not the leader (leader: {leader_id:?} at {leader_raft_addr:?})")]
    NotLeader {
        leader_id: Option<NodeId>,
        leader_raft_addr: Option<String>,
    },
    /// The leader could not serve it now (no quorum, shutting down before proposing);
    /// nothing was written.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The command was proposed but its fate is unknown (leader stopped while waiting).
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The request is not allowed (unknown relaying node, bad membership change).
    #[error("refused: {0}")]
    Refused(String),
}

/// Answer to a forwarded write: the entry's log index and what applying it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteReply {
    pub index: u64,
    pub result: CommandResult,
    /// The entry's log id, committed: the forwarding node uses it to learn of the commit
    /// from this answer instead of waiting for the leader's next append
    /// (`ConsensusNode::learn_commit`).
    pub entry: Option<LogId>,
}

/// A node's live Raft status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node_id: NodeId,
    pub term: u64,
    pub state: ServerState,
    pub leader_id: Option<NodeId>,
    pub last_applied_index: Option<u64>,
    pub last_log_index: Option<u64>,
    /// Milliseconds since this node last heard from its leader (None: no leader heard).
    pub leader_contact_ms: Option<u64>,
    /// QUIC's round-trip estimate to each member this node has a connection to, in ms.
    pub peer_rtts_ms: Vec<(NodeId, u64)>,
}

/// A node's status with the release it runs (wire version 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDescription {
    pub status: NodeStatus,
    /// The package version of its binary (`edgebase --version`).
    pub package_version: String,
    /// The newest peer protocol it speaks.
    pub wire_version: u16,
    /// What the layer above reports (`ConsensusNode::set_status_note`), by name.
    pub notes: Vec<(String, String)>,
}

/// The answer on the same stream as the request.
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcResponse {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    ClientWrite(Result<WriteReply, ForwardError>),
    ReadIndex(Result<u64, ForwardError>),
    Join(Result<(), ForwardError>),
    ChangeMembership(Result<(), ForwardError>),
    NodeStatus(NodeStatus),
    TransferLeader(Result<(), ForwardError>),
    StartElection(Result<(), ForwardError>),
    BlobHeld(bool),
    /// The pushed blob is held durably.
    BlobStored,
    /// The fetched blob follows, `size_bytes` raw bytes.
    BlobFound {
        size_bytes: u64,
    },
    BlobMissing,
    /// The relay handler's answer to [`RpcRequest::Relay`].
    Relay(Vec<u8>),
    /// The request was refused before it was looked at: the named sender is not the
    /// certificate's node, or the stream carried something undecodable.
    Refused(String),
    /// The answer to [`RpcRequest::Describe`].
    Described(NodeDescription),
}

impl RpcResponse {
    /// Short name for logs and "unexpected answer" errors.
    pub fn kind(&self) -> &'static str {
        match self {
            RpcResponse::AppendEntries(_) => "append_entries",
            RpcResponse::Vote(_) => "vote",
            RpcResponse::InstallSnapshot(_) => "install_snapshot",
            RpcResponse::ClientWrite(_) => "client_write",
            RpcResponse::ReadIndex(_) => "read_index",
            RpcResponse::Join(_) => "join",
            RpcResponse::ChangeMembership(_) => "change_membership",
            RpcResponse::NodeStatus(_) => "node_status",
            RpcResponse::TransferLeader(_) => "transfer_leader",
            RpcResponse::StartElection(_) => "start_election",
            RpcResponse::BlobHeld(_) => "blob_held",
            RpcResponse::BlobStored => "blob_stored",
            RpcResponse::BlobFound { .. } => "blob_found",
            RpcResponse::BlobMissing => "blob_missing",
            RpcResponse::Relay(_) => "relay",
            RpcResponse::Refused(_) => "refused",
            RpcResponse::Described(_) => "described",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::frame::encode_frame;

    /// Peers of the previous release decode these bytes: a variant that moved, or a field
    /// that changed, breaks a mixed cluster (see `crate::wire_version`).
    #[test]
    fn messages_keep_their_encoding_across_releases() {
        let payload = |request: &RpcRequest| encode_frame(request).expect("encode")[4..].to_vec();
        assert_eq!(payload(&RpcRequest::ReadIndex), [4]);
        assert_eq!(payload(&RpcRequest::NodeStatus), [7]);
        assert_eq!(payload(&RpcRequest::StartElection { leader: 3 }), [9, 3]);
        assert_eq!(
            payload(&RpcRequest::Relay { call: vec![1, 2] }),
            [13, 2, 1, 2]
        );
        assert_eq!(payload(&RpcRequest::Describe), [14]);
        let answer = |response: &RpcResponse| encode_frame(response).expect("encode")[4..].to_vec();
        assert_eq!(answer(&RpcResponse::BlobHeld(true)), [10, 1]);
        assert_eq!(answer(&RpcResponse::Refused("x".into())), [15, 1, b'x']);
    }

    #[test]
    fn requests_name_the_protocol_that_knows_them() {
        assert_eq!(RpcRequest::NodeStatus.wire_version(), 1);
        assert_eq!(RpcRequest::Describe.wire_version(), 2);
        let write = RpcRequest::ClientWrite(Command::PutSetting {
            key: "k".into(),
            value_json: "1".into(),
        });
        assert_eq!(write.wire_version(), 1);
        assert!(RpcRequest::Describe.wire_version() <= crate::wire_version::WIRE_VERSION);
    }
}
