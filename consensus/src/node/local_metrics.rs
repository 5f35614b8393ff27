//! What this node knows of Raft without asking anyone: its term, the leader it follows,
//! its log, commit and applied indexes, and (on the leader) how far each peer's log matches.
//! Read by `/metrics` on every scrape, so it never waits on the network.

use std::sync::atomic::Ordering;

use super::ConsensusNode;
use crate::type_config::NodeId;

/// One peer's replication as the leader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReplication {
    pub id: NodeId,
    /// The highest index known to match the leader's log (None: not yet known).
    pub matched_index: Option<u64>,
    /// Entries the peer is behind the leader's last log index.
    pub lag_entries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRaftMetrics {
    pub node_id: NodeId,
    pub term: u64,
    pub leader_id: Option<NodeId>,
    pub is_leader: bool,
    pub is_voter: bool,
    pub voters: usize,
    pub last_log_index: u64,
    pub committed_index: u64,
    pub applied_index: u64,
    /// Milliseconds since the leader last heard from a quorum (the leader only).
    pub millis_since_quorum_ack: Option<u64>,
    /// Every other member, when this node leads; empty otherwise.
    pub peers: Vec<PeerReplication>,
}

impl ConsensusNode {
    pub fn local_metrics(&self) -> LocalRaftMetrics {
        let core = self.core();
        let metrics = core.metrics();
        let last_log_index = metrics.last_log_index.unwrap_or(0);
        let membership = metrics.membership_config.membership();
        let peers = metrics
            .replication
            .as_ref()
            .map(|replication| {
                replication
                    .iter()
                    .filter(|(id, _)| **id != core.node_id)
                    .map(|(id, matched)| {
                        let matched_index = matched.as_ref().map(|log_id| log_id.index);
                        PeerReplication {
                            id: *id,
                            matched_index,
                            lag_entries: last_log_index.saturating_sub(matched_index.unwrap_or(0)),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        LocalRaftMetrics {
            node_id: core.node_id,
            term: metrics.current_term,
            leader_id: metrics.current_leader,
            is_leader: metrics.current_leader == Some(core.node_id),
            is_voter: membership.voter_ids().any(|id| id == core.node_id),
            voters: membership.voter_ids().count(),
            last_log_index,
            committed_index: core.committed_index.load(Ordering::Relaxed),
            applied_index: core.applied_index(),
            millis_since_quorum_ack: metrics.millis_since_quorum_ack,
            peers,
        }
    }
}
