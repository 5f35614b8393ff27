//! Leadership transfer without openraft support for it (0.9 has no `transfer_leader`).
//!
//! A voter in openraft 0.9 refuses to vote while its leader lease (`election_timeout_max`
//! since the last append it accepted) is valid, and starts an election of its own only after
//! the lease plus a randomised election timeout (`election_timeout_min..max`). So the leader
//! (1) checks the target voter is reachable and has every entry, (2) closes its
//! [`TransferGate`] so no proposal, read index or membership change makes it send appends,
//! and stops heartbeats, (3) stays quiet a little longer than the lease, and (4) tells the
//! target to start an election at once. Every voter's lease has expired but none has started
//! its own election yet, and the target's log is as long as anyone's, so it wins.
//!
//! Safety never rests on this timing: elections are decided by Raft's votes and log checks,
//! and read indexes are confirmed by a quorum. If the timing is off, the worst outcome is an
//! ordinary election that another voter wins, or the old leader keeping its leadership.

use std::time::Duration;

use crate::node::node_core::NodeCore;
use crate::transport::{ForwardError, RpcRequest, RpcResponse};
use crate::type_config::{NodeId, Raft};

/// How long the target may take to have every entry the leader has.
const TRANSFER_CATCH_UP_TIMEOUT_MS: u64 = 5_000;
/// How long the start-election request to the target may take.
const START_ELECTION_RPC_TIMEOUT_MS: u64 = 2_000;

/// Heartbeats are off while this lives. Dropping it turns them back on, also when the
/// transfer's future is dropped half-way (its caller went away).
struct HeartbeatPause<'a> {
    raft: &'a Raft,
}

impl<'a> HeartbeatPause<'a> {
    fn begin(raft: &'a Raft) -> Self {
        raft.runtime_config().heartbeat(false);
        Self { raft }
    }
}

impl Drop for HeartbeatPause<'_> {
    fn drop(&mut self) {
        self.raft.runtime_config().heartbeat(true);
    }
}

impl NodeCore {
    /// Upper bound on one transfer, for work that waits behind the gate.
    pub(crate) fn transfer_timeout(&self) -> Duration {
        Duration::from_millis(
            TRANSFER_CATCH_UP_TIMEOUT_MS
                + START_ELECTION_RPC_TIMEOUT_MS
                + self.quiet_before_election_ms()
                + self.election_wait_ms(),
        )
    }

    /// Longer than every voter's leader lease (`election_timeout_max`), shorter than the
    /// earliest election a voter starts on its own (lease plus `election_timeout_min`).
    fn quiet_before_election_ms(&self) -> u64 {
        self.election_timeout_max_ms + self.election_timeout_min_ms / 4
    }

    fn election_wait_ms(&self) -> u64 {
        self.election_timeout_max_ms * 2
    }

    /// Hand leadership to voter `target` (this node must lead). Returns once `target` leads.
    pub async fn transfer_leadership_local(&self, target: NodeId) -> Result<(), ForwardError> {
        if self.leader_id() != Some(self.node_id) {
            return Err(self.not_leader());
        }
        if target == self.node_id {
            return Ok(());
        }
        if !self.is_voter(target) {
            return Err(ForwardError::Refused(format!(
                "node {target} is not a voter; only a voter can lead"
            )));
        }
        let Some(permit) = self.transfer_gate.try_begin() else {
            return Err(ForwardError::Unavailable(
                "another leadership transfer is in progress".to_string(),
            ));
        };
        tracing::info!(
            from = self.node_id,
            to = target,
            "leadership transfer begins"
        );
        let heartbeats = HeartbeatPause::begin(&self.raft);
        let result = self.hand_over(target).await;
        drop(heartbeats);
        drop(permit);
        match &result {
            Ok(()) => tracing::info!(from = self.node_id, to = target, "leadership transferred"),
            Err(error) => tracing::warn!(to = target, %error, "leadership transfer failed"),
        }
        result
    }

    async fn hand_over(&self, target: NodeId) -> Result<(), ForwardError> {
        self.wait_caught_up(target, Duration::from_millis(TRANSFER_CATCH_UP_TIMEOUT_MS))
            .await?;
        let term = self.metrics().current_term;
        tokio::time::sleep(Duration::from_millis(self.quiet_before_election_ms())).await;
        if self.leader_id() != Some(self.node_id) {
            return Err(self.not_leader());
        }
        let info = self
            .member_info(target)
            .ok_or_else(|| ForwardError::Refused(format!("node {target} left the membership")))?;
        let request = RpcRequest::StartElection {
            leader: self.node_id,
        };
        let timeout = Duration::from_millis(START_ELECTION_RPC_TIMEOUT_MS);
        match self
            .transport
            .call(target, &info.raft_addr, &request, timeout)
            .await
        {
            Ok(RpcResponse::StartElection(answer)) => answer?,
            Ok(RpcResponse::Refused(reason)) => return Err(ForwardError::Refused(reason)),
            Ok(other) => {
                return Err(ForwardError::Unavailable(format!(
                    "node {target} answered a start-election request with {}",
                    other.kind()
                )))
            }
            Err(error) => {
                return Err(ForwardError::Unavailable(format!(
                    "ask node {target} to start an election: {error}"
                )))
            }
        }
        let wait = Duration::from_millis(self.election_wait_ms());
        let settled = self
            .raft
            .wait(Some(wait))
            .metrics(
                |m| m.current_term > term && m.current_leader.is_some(),
                "a leader in a later term",
            )
            .await;
        match settled {
            Ok(metrics) if metrics.current_leader == Some(target) => Ok(()),
            Ok(metrics) => Err(ForwardError::Unavailable(format!(
                "node {target} did not win the election; node {:?} leads",
                metrics.current_leader
            ))),
            Err(error) => Err(ForwardError::Unavailable(format!(
                "no new leader after asking node {target} to take over: {error}"
            ))),
        }
    }

    /// The leader asks this node to take over: start an election now if the request really
    /// comes from the leader this node follows and this node may vote.
    pub async fn start_election_local(&self, leader: NodeId) -> Result<(), ForwardError> {
        if self.leader_id() != Some(leader) || leader == self.node_id {
            return Err(ForwardError::Refused(format!(
                "node {leader} is not the leader node {} follows",
                self.node_id
            )));
        }
        if !self.is_voter(self.node_id)
            || self
                .votes_withheld
                .load(std::sync::atomic::Ordering::Acquire)
        {
            return Err(ForwardError::Refused(format!(
                "node {} is not a voter that may stand for election",
                self.node_id
            )));
        }
        tracing::info!(
            node = self.node_id,
            leader,
            "starting an election on the leader's request"
        );
        self.raft
            .trigger()
            .elect()
            .await
            .map_err(|fatal| ForwardError::Unavailable(fatal.to_string()))
    }
}
