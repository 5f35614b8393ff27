//! Per-request read consistency (DESIGN.md section 5): what a read may ask for, and the
//! barrier that makes this node's state as fresh as asked before the read.

use crate::app::App;
use crate::error::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Read this node's applied state as it is.
    Local,
    /// Linearizable: a read index from the leader, applied here before reading.
    Strong,
}

/// What a bounded-staleness read does when this node has not heard from the leader within
/// the bound (`X-Edgebase-Stale-Fallback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleFallback {
    /// Read through the leader's read index instead (the default).
    Strong,
    /// Answer 503.
    Refuse,
}

/// A request's bounded-staleness demand (`X-Edgebase-Max-Staleness-Ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StalenessBound {
    pub max_staleness_ms: u64,
    pub fallback: StaleFallback,
}

/// How a bounded-staleness read is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StalenessDecision {
    /// The leader was heard within the bound: read local state.
    ServeLocal,
    /// Too stale: read through the leader's read index.
    Strong,
    /// Too stale and the request refuses a fallback.
    Refuse,
}

/// Decide from how long ago this node heard from its leader (`None`: no leader known, or
/// never heard).
pub fn staleness_decision(
    millis_since_leader: Option<u64>,
    bound: StalenessBound,
) -> StalenessDecision {
    match millis_since_leader {
        Some(millis) if millis <= bound.max_staleness_ms => StalenessDecision::ServeLocal,
        _ => match bound.fallback {
            StaleFallback::Strong => StalenessDecision::Strong,
            StaleFallback::Refuse => StalenessDecision::Refuse,
        },
    }
}

/// What one read asks of this node's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadDemand {
    /// Wait until at least this index is applied here (`X-Edgebase-After`).
    pub after: Option<u64>,
    pub consistency: Consistency,
    pub staleness: Option<StalenessBound>,
}

impl ReadDemand {
    /// A read of this node's state as it is.
    pub const LOCAL: ReadDemand = ReadDemand {
        after: None,
        consistency: Consistency::Local,
        staleness: None,
    };
}

/// Wait until this node's state is as fresh as `demand` asks: at least its `after` index,
/// and past a leader read index for strong reads (or stale bounded ones). Bounded by the
/// node's read wait limit. Returns the applied index the read will see (at least).
pub async fn read_barrier(app: &App, demand: ReadDemand) -> Result<u64, ServiceError> {
    let consensus = app.consensus();
    let mut seen = consensus.applied_index();
    if let Some(after) = demand.after.filter(|after| *after > seen) {
        seen = consensus
            .wait_applied(after, app.limits().read_wait_max)
            .await?;
    }
    let strong = match (demand.consistency, demand.staleness) {
        (Consistency::Strong, _) => true,
        (Consistency::Local, None) => false,
        (Consistency::Local, Some(bound)) => {
            let millis_since_leader = consensus.millis_since_leader_contact();
            match staleness_decision(millis_since_leader, bound) {
                StalenessDecision::ServeLocal => false,
                StalenessDecision::Strong => true,
                StalenessDecision::Refuse => {
                    let heard = millis_since_leader
                        .map_or("has not heard from a leader".to_string(), |millis| {
                            format!("last heard from the leader {millis} ms ago")
                        });
                    return Err(ServiceError::unavailable(format!(
                        "This node {heard}, more than the {} ms the request allows, and the \
                         request refuses a fallback to a strong read.",
                        bound.max_staleness_ms
                    )));
                }
            }
        }
    };
    if strong && !app.limits().planted_stale_strong_reads {
        seen = seen.max(consensus.linearizable_barrier().await?);
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_decision_table() {
        let bound = |max_staleness_ms, fallback| StalenessBound {
            max_staleness_ms,
            fallback,
        };
        let check = |since: Option<u64>, bound: StalenessBound, expected: StalenessDecision| {
            assert_eq!(
                staleness_decision(since, bound),
                expected,
                "since {since:?}, bound {bound:?}"
            );
        };
        use StaleFallback::{Refuse, Strong};
        check(Some(0), bound(0, Refuse), StalenessDecision::ServeLocal);
        check(Some(100), bound(500, Strong), StalenessDecision::ServeLocal);
        check(Some(500), bound(500, Refuse), StalenessDecision::ServeLocal);
        check(Some(501), bound(500, Strong), StalenessDecision::Strong);
        check(Some(501), bound(500, Refuse), StalenessDecision::Refuse);
        check(None, bound(u64::MAX, Strong), StalenessDecision::Strong);
        check(None, bound(500, Refuse), StalenessDecision::Refuse);
    }
}
