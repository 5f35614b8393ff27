//! State shared by the public node handle and the RPC service, and the operations a leader
//! performs for itself or on behalf of a forwarding peer.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use edgebase_storage::Command;
use openraft::error::{ChangeMembershipError, CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{ChangeMembers, RaftMetrics};

use crate::error::ConsensusError;
use crate::node::leader_contact::LeaderContact;
use crate::node::transfer_gate::TransferGate;
use crate::transport::{
    ForwardError, JoinRequest, JoinRole, MembershipChange, NodeDescription, NodeStatus,
    QuicTransport, WriteReply,
};
use crate::type_config::{NodeId, NodeInfo, Raft};
use crate::wire_version;

/// How long the leader waits for its own proposal to commit and apply.
pub(crate) const PROPOSE_TIMEOUT_MS: u64 = 10_000;
/// How long the leader may take to confirm its leadership for a read index.
pub(crate) const READ_INDEX_TIMEOUT_MS: u64 = 5_000;
/// How long a joining learner may take to catch up before the join is answered "retry".
pub(crate) const JOIN_CATCH_UP_TIMEOUT_MS: u64 = 60_000;
/// How long a membership change (joint + uniform config) may take to commit.
pub(crate) const MEMBERSHIP_CHANGE_TIMEOUT_MS: u64 = 30_000;

/// How often a route (or a forwarded request) looks again at the leader's last contact.
const ROUTE_RECHECK_MS: u64 = 50;

/// Where requests that need the leader go.
pub(crate) enum Route {
    Local,
    Remote { id: NodeId, raft_addr: String },
}

pub(crate) struct NodeCore {
    pub node_id: NodeId,
    pub info: NodeInfo,
    pub raft: Raft,
    pub transport: QuicTransport,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// True while this node must not grant votes: it started with an empty store, or a join
    /// is unfinished (see [`crate::node::join_guard`]). A node that lost its disk may not
    /// vote until the leader has given it back every entry it had acknowledged.
    pub votes_withheld: std::sync::atomic::AtomicBool,
    /// Closed while this leader hands leadership over; leader work waits behind it.
    pub transfer_gate: TransferGate,
    /// When this node last heard from the leader (bounded-staleness reads).
    pub leader_contact: LeaderContact,
    /// File contents by hash (`DATA_DIR/blobs`), pushed and fetched between nodes.
    pub blobs: edgebase_blobs::BlobStore,
    /// Blobs being received from peers at once; further pushes wait.
    pub blob_receives: tokio::sync::Semaphore,
    /// Where calls relayed by other members go (the layer above consensus).
    pub relay: crate::node::relay::RelayDesk,
    /// Writes to propose as leader, packed into entries (`proposals.rs`).
    pub proposals: crate::node::proposals::Proposals,
    /// The commit index the log last saved (metrics).
    pub committed_index: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// When this node applied its recent entries (how far behind a member is, in time).
    pub apply_times: crate::node::apply_times::ApplyTimes,
    /// Short facts the layer above reports in this node's status (say, the hooks bundle it
    /// runs), by name; at most [`STATUS_NOTES_MAX`].
    pub status_notes: std::sync::Mutex<BTreeMap<String, String>>,
}

/// Most status notes a node keeps, and the longest name or value.
pub const STATUS_NOTES_MAX: usize = 16;
pub const STATUS_NOTE_CHARS_MAX: usize = 256;

impl NodeCore {
    pub fn metrics(&self) -> RaftMetrics<NodeId, NodeInfo> {
        self.raft.metrics().borrow().clone()
    }

    pub fn leader_id(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    pub fn applied_index(&self) -> u64 {
        self.raft
            .metrics()
            .borrow()
            .last_applied
            .as_ref()
            .map(|log_id| log_id.index)
            .unwrap_or(0)
    }

    pub fn member_info(&self, id: NodeId) -> Option<NodeInfo> {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&id)
            .cloned()
    }

    pub fn is_member(&self, id: NodeId) -> bool {
        self.member_info(id).is_some()
    }

    pub fn is_voter(&self, id: NodeId) -> bool {
        self.raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .any(|voter| voter == id)
    }

    /// "Not the leader", naming the leader this node knows of.
    pub fn not_leader(&self) -> ForwardError {
        let leader_id = self.leader_id();
        ForwardError::NotLeader {
            leader_id,
            leader_raft_addr: leader_id
                .and_then(|id| self.member_info(id))
                .map(|info| info.raft_addr),
        }
    }

    /// This node's status with its release.
    pub fn describe(&self) -> NodeDescription {
        NodeDescription {
            status: self.status(),
            package_version: env!("CARGO_PKG_VERSION").to_owned(),
            wire_version: crate::wire_version::WIRE_VERSION,
            notes: self
                .status_notes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        }
    }

    pub fn status(&self) -> NodeStatus {
        let metrics = self.metrics();
        NodeStatus {
            node_id: self.node_id,
            term: metrics.current_term,
            state: metrics.state,
            leader_id: metrics.current_leader,
            last_applied_index: metrics.last_applied.as_ref().map(|log_id| log_id.index),
            last_log_index: metrics.last_log_index,
            leader_contact_ms: self.millis_since_leader_contact(),
            peer_rtts_ms: self
                .transport
                .peer_rtts()
                .into_iter()
                .map(|(peer, rtt)| (peer, rtt.as_millis().try_into().unwrap_or(u64::MAX)))
                .collect(),
        }
    }

    /// The leader to send a request to, waiting up to `wait` for one to be known. A remote
    /// leader this node has not heard from for a leader lease is not trusted: it is
    /// likely dead or cut off, and a request sent to it would wait out the transport's idle
    /// timeout; the route waits for a leader that is heard from (a new one, or the old one
    /// coming back) instead.
    pub async fn route(&self, wait: Duration) -> Result<Route, ConsensusError> {
        let mut metrics = self.raft.metrics();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let leader = metrics.borrow().current_leader;
            match leader {
                Some(id) if id == self.node_id => return Ok(Route::Local),
                Some(id) if self.leader_heard_recently() => {
                    return match self.member_info(id) {
                        Some(info) => Ok(Route::Remote {
                            id,
                            raft_addr: info.raft_addr,
                        }),
                        None => Err(ConsensusError::Unavailable {
                            reason: format!("leader {id} is not in the membership this node knows"),
                        }),
                    };
                }
                _ => {}
            }
            // Leader contact is not in the metrics: look again every so often as well.
            let recheck = tokio::time::Instant::now() + Duration::from_millis(ROUTE_RECHECK_MS);
            tokio::select! {
                changed = metrics.changed() => {
                    if changed.is_err() {
                        return Err(ConsensusError::Fatal {
                            reason: "raft stopped".to_string(),
                        });
                    }
                }
                _ = tokio::time::sleep_until(recheck.min(deadline)) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ConsensusError::NoLeader);
            }
        }
    }

    /// Milliseconds since this node last heard from the current leader: for a follower or
    /// learner, its last accepted append from the leader; for the leader, its last quorum
    /// acknowledgement (always 0 for a lone voter). `None` when no leader is known or it has
    /// not been heard from.
    pub fn millis_since_leader_contact(&self) -> Option<u64> {
        let metrics = self.raft.metrics();
        let (leader, lone_voter) = {
            let current = metrics.borrow();
            (
                current.current_leader,
                current.membership_config.membership().voter_ids().count() == 1,
            )
        };
        let leader = leader?;
        if leader == self.node_id && lone_voter {
            return Some(0);
        }
        self.leader_contact.millis_since(std::time::Instant::now())
    }

    /// Whether this node heard from the leader within a leader lease (openraft's: the
    /// longest election timeout), four heartbeats with the default timings.
    pub fn leader_heard_recently(&self) -> bool {
        self.leader_contact
            .millis_since(std::time::Instant::now())
            .is_some_and(|millis| millis <= self.election_timeout_max_ms)
    }

    /// Resolves once leader `id` is no longer the leader this node trusts (another leader,
    /// none, or silence longer than a leader lease): a request forwarded to it should
    /// stop waiting for its answer.
    pub async fn leader_lost(&self, id: NodeId) {
        let mut metrics = self.raft.metrics();
        loop {
            let current = metrics.borrow().current_leader;
            let silent_ms = self.leader_contact.millis_since(std::time::Instant::now());
            let lease_left_ms = match silent_ms {
                Some(silent) if silent <= self.election_timeout_max_ms => {
                    self.election_timeout_max_ms - silent
                }
                _ => return,
            };
            if current != Some(id) {
                return;
            }
            // Nothing can change the answer before the lease runs out but a new leader;
            // look again then (contact heard meanwhile moves the end further).
            let recheck = Duration::from_millis(lease_left_ms.max(ROUTE_RECHECK_MS));
            tokio::select! {
                changed = metrics.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = tokio::time::sleep(recheck) => {}
            }
        }
    }

    /// Propose `command` on this node (the leader) and wait until it is applied here.
    pub async fn propose_local(&self, command: Command) -> Result<WriteReply, ForwardError> {
        // A leadership transfer under way holds proposals back; the wait counts against the
        // proposal's own bound, so a forwarding peer's timeout still covers the whole.
        self.check_members_can_apply(&command)?;
        let started = tokio::time::Instant::now();
        let total = Duration::from_millis(PROPOSE_TIMEOUT_MS);
        self.transfer_gate.wait_open(total / 2).await?;
        let timeout = total.saturating_sub(started.elapsed());
        let bytes = crate::transport::encoded_len(&command);
        match tokio::time::timeout(timeout, self.proposals.propose(command, bytes)).await {
            Err(_) => Err(ForwardError::OutcomeUnknown(format!(
                "not applied within {PROPOSE_TIMEOUT_MS} ms"
            ))),
            Ok(answer) => answer,
        }
    }

    /// Refuse a command some member's release could not apply: one added in a newer peer
    /// protocol than every member is known to speak (see [`crate::wire_version`]).
    fn check_members_can_apply(&self, command: &Command) -> Result<(), ForwardError> {
        let needed = command.wire_version();
        if needed <= wire_version::OLDEST_WIRE_VERSION {
            return Ok(());
        }
        let members: Vec<NodeId> = self
            .metrics()
            .membership_config
            .membership()
            .nodes()
            .map(|(id, _)| *id)
            .collect();
        let known = self.transport.peer_wire_versions();
        match wire_version::cluster_wire_version(self.node_id, members, &known) {
            Ok(version) if version >= needed => Ok(()),
            Ok(version) => Err(ForwardError::Refused(format!(
                "a member runs an older release (peer protocol {version}) that cannot apply \
                 this write (protocol {needed}); finish the rolling upgrade first"
            ))),
            Err(member) => Err(ForwardError::Unavailable(format!(
                "node {member}'s release is not known (not seen since this node started); this write \
                 (peer protocol {needed}) waits until every member is known to apply it"
            ))),
        }
    }

    /// The read index for a linearizable read, if this node is the leader.
    pub async fn read_index_local(&self) -> Result<u64, ForwardError> {
        let started = tokio::time::Instant::now();
        let total = Duration::from_millis(READ_INDEX_TIMEOUT_MS);
        self.transfer_gate.wait_open(total / 2).await?;
        let timeout = total.saturating_sub(started.elapsed());
        match tokio::time::timeout(timeout, self.raft.get_read_log_id()).await {
            Err(_) => Err(ForwardError::Unavailable(format!(
                "leadership not confirmed within {READ_INDEX_TIMEOUT_MS} ms"
            ))),
            Ok(Ok((read_log_id, _applied))) => Ok(read_log_id.map(|l| l.index).unwrap_or(0)),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(forward)))) => {
                Err(ForwardError::NotLeader {
                    leader_id: forward.leader_id,
                    leader_raft_addr: forward.leader_node.map(|node| node.raft_addr),
                })
            }
            Ok(Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(quorum)))) => {
                Err(ForwardError::Unavailable(quorum.to_string()))
            }
            Ok(Err(RaftError::Fatal(fatal))) => Err(ForwardError::Unavailable(fatal.to_string())),
        }
    }

    /// Add the joining node as a learner (waiting until it has caught up), then promote it
    /// unless it asked to stay a learner. Joining again is harmless.
    pub async fn join_local(&self, request: &JoinRequest) -> Result<(), ForwardError> {
        self.transfer_gate
            .wait_open(self.transfer_timeout())
            .await?;
        let id = request.node_id;
        match self.member_info(id) {
            Some(known) if known != request.info => {
                tracing::info!(node = id, info = %request.info, "member rejoins with new address");
                let mut nodes = BTreeMap::new();
                nodes.insert(id, request.info.clone());
                self.change_membership_timed(ChangeMembers::SetNodes(nodes), true)
                    .await?;
            }
            _ => {}
        }
        if self.is_voter(id) {
            // Only a node without state asks to join (one with state already knows it is a
            // member), so a voter asking again lost its disk. An empty voter must not count
            // towards a quorum: demote it to a learner until it has caught up again.
            tracing::warn!(
                node = id,
                "a voter rejoins without its state; demoting it until it catches up"
            );
            let mut ids = BTreeSet::new();
            ids.insert(id);
            self.change_membership_timed(ChangeMembers::RemoveVoters(ids), true)
                .await?;
        }
        let already_voter = self.is_voter(id);
        if !already_voter {
            tracing::info!(node = id, info = %request.info, "adding learner, waiting for catch-up");
            let timeout = Duration::from_millis(JOIN_CATCH_UP_TIMEOUT_MS);
            let added = tokio::time::timeout(
                timeout,
                self.raft.add_learner(id, request.info.clone(), true),
            )
            .await;
            match added {
                Err(_) => {
                    return Err(ForwardError::Unavailable(format!(
                        "node {id} was added as a learner but did not catch up within \
                         {JOIN_CATCH_UP_TIMEOUT_MS} ms; ask again"
                    )))
                }
                Ok(Err(error)) => return Err(map_client_write_error(error)),
                Ok(Ok(_)) => {}
            }
        }
        if !already_voter {
            self.wait_caught_up(id, Duration::from_millis(JOIN_CATCH_UP_TIMEOUT_MS))
                .await?;
        }
        if request.role == JoinRole::Voter && !already_voter {
            tracing::info!(node = id, "promoting learner to voter");
            let mut voters = BTreeSet::new();
            voters.insert(id);
            self.change_membership_timed(ChangeMembers::AddVoterIds(voters), false)
                .await?;
        }
        Ok(())
    }

    /// Wait until this leader has replicated to `id` everything it had logged when called.
    /// Stricter than openraft's blocking `add_learner`, which accepts a lag of up to
    /// `replication_lag_threshold` entries and may read a matched index reported before the
    /// node lost its disk.
    pub(crate) async fn wait_caught_up(
        &self,
        id: NodeId,
        timeout: Duration,
    ) -> Result<(), ForwardError> {
        let target = self.metrics().last_log_index.unwrap_or(0);
        let caught_up = self
            .raft
            .wait(Some(timeout))
            .metrics(
                |m| {
                    m.replication
                        .as_ref()
                        .and_then(|replication| replication.get(&id))
                        .and_then(|matched| matched.as_ref())
                        .is_some_and(|matched| matched.index >= target)
                },
                "joining node caught up",
            )
            .await;
        match caught_up {
            Ok(_) => Ok(()),
            Err(error) => Err(ForwardError::Unavailable(format!(
                "node {id} did not catch up to index {target}: {error}; ask again"
            ))),
        }
    }

    /// Apply an operator's membership change on this node (the leader).
    pub async fn change_membership_local(
        &self,
        change: &MembershipChange,
    ) -> Result<(), ForwardError> {
        self.transfer_gate
            .wait_open(self.transfer_timeout())
            .await?;
        match change {
            MembershipChange::AddLearner { id, info } => {
                if self.is_voter(*id) {
                    return Err(ForwardError::Refused(format!(
                        "node {id} is already a voter"
                    )));
                }
                let timeout = Duration::from_millis(MEMBERSHIP_CHANGE_TIMEOUT_MS);
                match tokio::time::timeout(timeout, self.raft.add_learner(*id, info.clone(), false))
                    .await
                {
                    Err(_) => Err(ForwardError::OutcomeUnknown(format!(
                        "adding learner {id} did not commit within {MEMBERSHIP_CHANGE_TIMEOUT_MS} ms"
                    ))),
                    Ok(Err(error)) => Err(map_client_write_error(error)),
                    Ok(Ok(_)) => Ok(()),
                }
            }
            MembershipChange::Promote { id } => {
                if self.is_voter(*id) {
                    return Ok(());
                }
                if !self.is_member(*id) {
                    return Err(ForwardError::Refused(format!(
                        "node {id} is not a learner; add it first"
                    )));
                }
                let mut voters = BTreeSet::new();
                voters.insert(*id);
                self.change_membership_timed(ChangeMembers::AddVoterIds(voters), false)
                    .await
            }
            MembershipChange::Remove { id } => {
                let mut ids = BTreeSet::new();
                ids.insert(*id);
                let voters = self
                    .metrics()
                    .membership_config
                    .membership()
                    .voter_ids()
                    .count();
                if *id == self.node_id {
                    return Err(ForwardError::Refused(format!(
                        "node {id} is the leader; transfer leadership to another voter first"
                    )));
                }
                if self.is_voter(*id) && voters <= 1 {
                    return Err(ForwardError::Refused(format!(
                        "node {id} is the last voter; the cluster cannot lose it"
                    )));
                }
                if self.is_voter(*id) {
                    self.change_membership_timed(ChangeMembers::RemoveVoters(ids), false)
                        .await
                } else if self.is_member(*id) {
                    self.change_membership_timed(ChangeMembers::RemoveNodes(ids), false)
                        .await
                } else {
                    Ok(())
                }
            }
        }
    }

    async fn change_membership_timed(
        &self,
        changes: ChangeMembers<NodeId, NodeInfo>,
        retain: bool,
    ) -> Result<(), ForwardError> {
        let timeout = Duration::from_millis(MEMBERSHIP_CHANGE_TIMEOUT_MS);
        match tokio::time::timeout(timeout, self.raft.change_membership(changes, retain)).await {
            Err(_) => Err(ForwardError::OutcomeUnknown(format!(
                "membership change did not commit within {MEMBERSHIP_CHANGE_TIMEOUT_MS} ms"
            ))),
            Ok(Err(error)) => Err(map_client_write_error(error)),
            Ok(Ok(_)) => Ok(()),
        }
    }
}

/// openraft's write errors as a forwarding answer. `ForwardToLeader` is only sent for entries
/// that were never appended or were truncated, so it means "not written".
pub(crate) fn map_client_write_error(
    error: RaftError<NodeId, ClientWriteError<NodeId, NodeInfo>>,
) -> ForwardError {
    match error {
        RaftError::APIError(ClientWriteError::ForwardToLeader(forward)) => {
            ForwardError::NotLeader {
                leader_id: forward.leader_id,
                leader_raft_addr: forward.leader_node.map(|node| node.raft_addr),
            }
        }
        RaftError::APIError(ClientWriteError::ChangeMembershipError(change)) => match change {
            ChangeMembershipError::InProgress(in_progress) => {
                ForwardError::Unavailable(in_progress.to_string())
            }
            ChangeMembershipError::EmptyMembership(_)
            | ChangeMembershipError::LearnerNotFound(_) => {
                ForwardError::Refused(change.to_string())
            }
        },
        RaftError::Fatal(fatal) => ForwardError::OutcomeUnknown(fatal.to_string()),
    }
}

/// A forwarding answer as the caller's error.
pub(crate) fn forward_error_to_consensus(error: ForwardError) -> ConsensusError {
    match error {
        ForwardError::NotLeader {
            leader_id: None, ..
        } => ConsensusError::NoLeader,
        ForwardError::NotLeader {
            leader_id: Some(leader),
            ..
        } => ConsensusError::Unavailable {
            reason: format!("leadership moved to node {leader}"),
        },
        ForwardError::Unavailable(reason) => ConsensusError::Unavailable { reason },
        ForwardError::OutcomeUnknown(reason) => ConsensusError::OutcomeUnknown { reason },
        ForwardError::Refused(reason) => ConsensusError::Refused { reason },
    }
}
