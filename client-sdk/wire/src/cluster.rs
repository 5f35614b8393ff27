//! `GET /api/cluster/status`: every member of the Raft cluster as one node sees it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    Voter,
    Learner,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: u64,
    pub region: String,
    #[serde(rename = "raftAddr")]
    pub raft_addr: String,
    #[serde(rename = "httpAddr")]
    pub http_addr: String,
    pub role: MemberRole,
    #[serde(rename = "isLeader")]
    pub is_leader: bool,
    /// False when the member did not answer the status probe; the fields below are then empty.
    pub reachable: bool,
    pub term: Option<u64>,
    #[serde(rename = "lastAppliedIndex")]
    pub last_applied_index: Option<u64>,
    /// How many entries the member's applied index is behind the leader's last log index.
    pub lag: Option<u64>,
    /// How long ago the answering node applied the first entry this member has not (0: not
    /// behind it); empty when unknown.
    #[serde(rename = "lagMs", default)]
    pub lag_ms: Option<u64>,
    /// Milliseconds since the member last heard from its leader (its own count).
    #[serde(rename = "lastContactMs", default)]
    pub last_contact_ms: Option<u64>,
    /// The status probe's round trip from the answering node, in ms.
    #[serde(rename = "rttMs", default)]
    pub rtt_ms: Option<u64>,
    /// The member's EdgeBase package version; empty when it did not answer or runs a
    /// release before 0.2.0 (which does not say).
    #[serde(default)]
    pub version: Option<String>,
    /// The newest peer protocol the member speaks; empty when it did not answer.
    #[serde(rename = "wireVersion", default)]
    pub wire_version: Option<u16>,
    /// The hooks bundle the member runs (its hash) and where it came from (`deployed`, or
    /// `folder`: the node's own `pb_hooks`); empty when it did not say.
    #[serde(rename = "hooksHash", default)]
    pub hooks_hash: Option<String>,
    #[serde(rename = "hooksSource", default)]
    pub hooks_source: Option<String>,
}

/// The round trip between two regions, as the nodes' QUIC connections estimate it (the
/// shortest between any two of their members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRtt {
    pub from: String,
    pub to: String,
    pub ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The node that answered.
    #[serde(rename = "nodeId")]
    pub node_id: u64,
    #[serde(rename = "leaderId")]
    pub leader_id: Option<u64>,
    pub term: u64,
    /// Voting members, the votes a quorum needs, and how many more voters can be lost now
    /// (voters answering the status probe beyond a quorum).
    #[serde(default)]
    pub voters: u64,
    #[serde(default)]
    pub quorum: u64,
    #[serde(rename = "faultTolerance", default)]
    pub fault_tolerance: u64,
    pub members: Vec<MemberStatus>,
    #[serde(rename = "regionRtts", default)]
    pub region_rtts: Vec<RegionRtt>,
    /// What the answering node proposed while it led: the log entries its writes went in
    /// and how many writes those held (concurrent writes share an entry).
    #[serde(default)]
    pub proposals: ProposalCounts,
    /// The peer protocol every answering member speaks (the lowest of theirs): below the
    /// newest member's during a rolling upgrade, when writes that need the new protocol are
    /// refused.
    #[serde(rename = "wireVersion", default)]
    pub wire_version: Option<u16>,
}

/// Writes a node proposed as leader, and the log entries they shared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalCounts {
    pub entries: u64,
    pub writes: u64,
    /// The most writes one entry held.
    #[serde(rename = "largestEntry")]
    pub largest_entry: u64,
}
