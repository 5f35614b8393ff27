//! A snapshot of the cluster's membership with each member's live status.

use crate::type_config::{NodeId, NodeInfo};

/// One member as seen from the node that was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    pub id: NodeId,
    pub info: NodeInfo,
    pub is_voter: bool,
    pub is_leader: bool,
    /// Whether the member answered a status probe in time; the fields below are `None` when
    /// it did not.
    pub reachable: bool,
    pub term: Option<u64>,
    pub last_applied_index: Option<u64>,
    pub last_log_index: Option<u64>,
    /// How long the status probe took there and back (0 for the asked node itself).
    pub probe_rtt_ms: Option<u64>,
    /// Milliseconds since the member last heard from its leader.
    pub leader_contact_ms: Option<u64>,
    /// QUIC's round-trip estimates from the member to each member it is connected to.
    pub peer_rtts_ms: Vec<(NodeId, u64)>,
    /// The release the member runs, when it answered.
    pub release: Option<Release>,
    /// How long ago the asked node applied the first entry the member has not applied (0:
    /// the member is not behind the asked node; `None`: longer ago than the asked node
    /// remembers).
    pub lag_ms: Option<u64>,
}

/// Which release a member runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its package version; empty for a release before 0.2.0, which does not say.
    pub package_version: String,
    /// The newest peer protocol it speaks (see [`crate::wire_version`]).
    pub wire_version: u16,
    /// Its status notes (see `ConsensusNode::set_status_note`).
    pub notes: Vec<(String, String)>,
}

/// The cluster as seen from `node_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterState {
    pub node_id: NodeId,
    pub leader_id: Option<NodeId>,
    pub term: u64,
    /// Ordered by id.
    pub members: Vec<MemberState>,
}
