//! What a node does when asked to stop (SIGTERM, Ctrl-C), before its listeners close: it
//! says it is not ready (`/api/health/ready` answers 503, new realtime streams are refused),
//! hands leadership to the most caught-up reachable voter if it leads, and ends its realtime
//! streams so their clients reconnect elsewhere. Then the HTTP server stops accepting and
//! lets the requests in flight finish (bounded), and consensus shuts down. Each step is
//! bounded, so a stop never hangs on an unreachable peer.

use std::time::Duration;

use edgebase_realtime::Hub;
use edgebase_service::app::App;

/// Longest the leadership hand-off may take before the node stops anyway (an election then
/// picks the next leader, as after a crash).
const HAND_OFF_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepare to stop; see the module documentation.
pub async fn step_down(app: &App, hub: &Hub) {
    app.begin_draining();
    tracing::info!("stopping: no longer ready; handing off leadership if held");
    if let Err(reason) = tokio::time::timeout(HAND_OFF_TIMEOUT, hand_off_leadership(app))
        .await
        .unwrap_or_else(|_| Err("the hand-off did not finish in time".into()))
    {
        tracing::warn!(%reason, "leadership not handed off; the others will elect a leader");
    }
    hub.disconnect_all("the node is stopping");
}

/// If this node leads and another voter is reachable, make the voter with the longest log
/// the leader; returns once it leads.
async fn hand_off_leadership(app: &App) -> Result<(), String> {
    let consensus = app.consensus();
    if consensus.leader_id() != Some(consensus.node_id()) {
        return Ok(());
    }
    let state = consensus
        .cluster_state()
        .await
        .map_err(|error| format!("read the cluster: {error}"))?;
    let target = state
        .members
        .iter()
        .filter(|member| member.id != consensus.node_id() && member.is_voter && member.reachable)
        .max_by_key(|member| member.last_log_index.unwrap_or(0))
        .map(|member| member.id);
    let Some(target) = target else {
        return Ok(());
    };
    consensus
        .transfer_leader(target)
        .await
        .map_err(|error| format!("transfer to node {target}: {error}"))?;
    tracing::info!(to = target, "leadership handed off");
    Ok(())
}
