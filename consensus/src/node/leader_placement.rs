//! Region-preferred leader placement: a leader outside the preferred regions hands
//! leadership to a reachable, caught-up voter in one of them.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;

use crate::node::node_core::NodeCore;
use crate::transport::{RpcRequest, RpcResponse};
use crate::type_config::NodeId;

/// How long a reachability probe of a candidate may take.
const PROBE_TIMEOUT_MS: u64 = 1_000;

/// A voter the leader could hand over to, as the leader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlacementCandidate {
    pub id: NodeId,
    pub region: String,
    /// The highest log index the leader knows this voter has.
    pub matched_index: Option<u64>,
}

/// The preferred regions, most preferred first, and how often the leader checks them.
#[derive(Debug, Clone)]
pub(crate) struct LeaderPlacement {
    preferred_regions: Vec<String>,
    check_interval: Duration,
}

impl LeaderPlacement {
    /// `None` when no region is preferred (nothing to do).
    pub fn new(preferred_regions: &[String], check_interval_ms: u64) -> Option<Self> {
        let preferred_regions: Vec<String> = preferred_regions
            .iter()
            .map(|region| region.trim().to_string())
            .filter(|region| !region.is_empty())
            .collect();
        if preferred_regions.is_empty() {
            return None;
        }
        Some(Self {
            preferred_regions,
            check_interval: Duration::from_millis(check_interval_ms.max(1)),
        })
    }

    fn rank(&self, region: &str) -> Option<usize> {
        self.preferred_regions.iter().position(|r| r == region)
    }

    /// Whether a leader in `region` should stay.
    pub fn is_preferred(&self, region: &str) -> bool {
        self.rank(region).is_some()
    }

    /// The voters worth handing over to, best first: in a preferred region (earlier in the
    /// list first), with every entry up to `last_log_index`; ties by lowest id.
    pub fn ranked_targets(
        &self,
        last_log_index: u64,
        candidates: &[PlacementCandidate],
    ) -> Vec<NodeId> {
        let mut ranked: Vec<(usize, NodeId)> = candidates
            .iter()
            .filter(|c| c.matched_index.is_some_and(|m| m >= last_log_index))
            .filter_map(|c| self.rank(&c.region).map(|rank| (rank, c.id)))
            .collect();
        ranked.sort_unstable();
        ranked.into_iter().map(|(_, id)| id).collect()
    }

    /// Check every interval until the task is aborted.
    pub async fn run(self, core: Arc<NodeCore>) {
        let mut ticks = tokio::time::interval(self.check_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.check_once(&core).await;
        }
    }

    /// One bounded check: if this node leads from outside the preferred regions, hand over
    /// to the best reachable, caught-up preferred voter.
    async fn check_once(&self, core: &NodeCore) {
        if core.leader_id() != Some(core.node_id) || self.is_preferred(&core.info.region) {
            return;
        }
        let metrics = core.metrics();
        let last_log_index = metrics.last_log_index.unwrap_or(0);
        let membership = metrics.membership_config.membership();
        let candidates: Vec<PlacementCandidate> = membership
            .voter_ids()
            .filter(|id| *id != core.node_id)
            .filter_map(|id| {
                let info = membership.get_node(&id)?;
                let matched_index = metrics
                    .replication
                    .as_ref()
                    .and_then(|replication| replication.get(&id))
                    .and_then(|matched| matched.as_ref())
                    .map(|log_id| log_id.index);
                Some(PlacementCandidate {
                    id,
                    region: info.region.clone(),
                    matched_index,
                })
            })
            .collect();
        let targets = self.ranked_targets(last_log_index, &candidates);
        if targets.is_empty() {
            return;
        }
        let reachable = join_all(targets.iter().map(|id| probe(core, *id))).await;
        let Some(target) = targets
            .iter()
            .zip(reachable)
            .find_map(|(id, reachable)| reachable.then_some(*id))
        else {
            return;
        };
        tracing::info!(
            leader = core.node_id,
            region = %core.info.region,
            target,
            "leader is outside the preferred regions; handing over"
        );
        if let Err(error) = core.transfer_leadership_local(target).await {
            tracing::info!(%error, target, "leader placement: hand-over not done, will retry");
        }
    }
}

/// Whether voter `id` answers a status probe in time and follows this leader.
async fn probe(core: &NodeCore, id: NodeId) -> bool {
    let Some(info) = core.member_info(id) else {
        return false;
    };
    let timeout = Duration::from_millis(PROBE_TIMEOUT_MS);
    match core
        .transport
        .call(id, &info.raft_addr, &RpcRequest::NodeStatus, timeout)
        .await
    {
        Ok(RpcResponse::NodeStatus(status)) => status.leader_id == Some(core.node_id),
        Ok(_) | Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: NodeId, region: &str, matched_index: Option<u64>) -> PlacementCandidate {
        PlacementCandidate {
            id,
            region: region.to_string(),
            matched_index,
        }
    }

    #[test]
    fn no_preferred_regions_means_no_placement() {
        assert!(LeaderPlacement::new(&[], 1000).is_none());
        assert!(LeaderPlacement::new(&[" ".to_string()], 1000).is_none());
    }

    #[test]
    fn ranks_caught_up_voters_in_preferred_regions() {
        let placement = LeaderPlacement::new(&["eu".to_string(), "us".to_string()], 1000)
            .expect("regions given");
        assert!(placement.is_preferred("us"));
        assert!(!placement.is_preferred("ap"));
        let check = |last: u64, candidates: &[PlacementCandidate], expected: &[NodeId]| {
            assert_eq!(
                placement.ranked_targets(last, candidates),
                expected,
                "last {last} candidates {candidates:?}"
            );
        };
        check(10, &[], &[]);
        check(10, &[candidate(2, "ap", Some(10))], &[]);
        check(10, &[candidate(2, "eu", Some(9))], &[]);
        check(10, &[candidate(2, "eu", None)], &[]);
        check(10, &[candidate(2, "eu", Some(10))], &[2]);
        check(
            10,
            &[
                candidate(4, "us", Some(10)),
                candidate(3, "eu", Some(11)),
                candidate(2, "eu", Some(10)),
                candidate(5, "ap", Some(10)),
            ],
            &[2, 3, 4],
        );
    }
}
