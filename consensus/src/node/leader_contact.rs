//! When this node last heard from the current leader, for bounded-staleness reads.
//!
//! A follower or learner records the instant it accepted an append-entries (or snapshot)
//! request from the leader. The leader records the instant of its last quorum acknowledgement
//! (openraft's `millis_since_quorum_ack`), since it is only sure it still leads when a quorum
//! has answered it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::ServerState;

use crate::node::node_core::NodeCore;

/// The last leader contact, as milliseconds since a fixed base instant (0: never).
pub(crate) struct LeaderContact {
    base: Instant,
    /// Milliseconds after `base`, plus one so that 0 can mean "never".
    heard_ms: AtomicU64,
}

impl LeaderContact {
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
            heard_ms: AtomicU64::new(0),
        }
    }

    /// Record contact at `at`; an older instant than one already recorded is ignored.
    pub fn record(&self, at: Instant) {
        let since_base = at.saturating_duration_since(self.base).as_millis();
        let encoded = u64::try_from(since_base)
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1);
        self.heard_ms.fetch_max(encoded, Ordering::AcqRel);
    }

    /// Milliseconds between the last contact and `now`; `None` if there was none.
    pub fn millis_since(&self, now: Instant) -> Option<u64> {
        let encoded = self.heard_ms.load(Ordering::Acquire);
        if encoded == 0 {
            return None;
        }
        let now_ms =
            u64::try_from(now.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX);
        Some(now_ms.saturating_sub(encoded - 1))
    }
}

/// While this node leads, record every quorum acknowledgement openraft reports. Runs until
/// Raft stops or the task is aborted.
pub(crate) async fn watch_quorum_acks(core: Arc<NodeCore>) {
    let mut metrics = core.raft.metrics();
    loop {
        let acked = {
            let current = metrics.borrow_and_update();
            (current.state == ServerState::Leader)
                .then_some(current.millis_since_quorum_ack)
                .flatten()
        };
        if let Some(millis) = acked {
            let now = Instant::now();
            core.leader_contact.record(
                now.checked_sub(Duration::from_millis(millis))
                    .unwrap_or(now),
            );
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_the_latest_contact_only() {
        let contact = LeaderContact::new();
        let start = Instant::now();
        assert_eq!(contact.millis_since(start), None);
        contact.record(start + Duration::from_millis(100));
        contact.record(start + Duration::from_millis(40));
        let now = start + Duration::from_millis(350);
        let since = contact.millis_since(now).expect("recorded");
        assert!((249..=251).contains(&since), "since {since}");
    }
}
