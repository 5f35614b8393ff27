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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The node that answered.
    #[serde(rename = "nodeId")]
    pub node_id: u64,
    #[serde(rename = "leaderId")]
    pub leader_id: Option<u64>,
    pub term: u64,
    pub members: Vec<MemberStatus>,
    /// What the answering node proposed while it led: the log entries its writes went in
    /// and how many writes those held (concurrent writes share an entry).
    #[serde(default)]
    pub proposals: ProposalCounts,
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
