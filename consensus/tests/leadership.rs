//! Leadership on purpose: operator transfers, region-preferred placement (the leader moves
//! into a preferred region, and back after a failover), refused removals, and how long ago
//! each node heard from its leader (bounded-staleness reads).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use common::{
    put_setting, start_node, start_node_configured, three_voters, wait_until, Ca, TestNode,
};
use edgebase_consensus::{ConsensusError, JoinRole, NodeId, TlsPaths};

const LEADER_REGIONS: [&str; 2] = ["eu", "us"];

fn leader_of(nodes: &[&TestNode]) -> Option<NodeId> {
    let first = nodes.first()?.node.leader_id()?;
    nodes
        .iter()
        .all(|n| n.node.leader_id() == Some(first))
        .then_some(first)
}

async fn wait_for_leader(
    what: &str,
    nodes: &[&TestNode],
    within: Duration,
    accept: impl Fn(NodeId) -> bool,
) -> anyhow::Result<NodeId> {
    wait_until(what, within, || leader_of(nodes).is_some_and(&accept)).await?;
    leader_of(nodes).context("leader changed again")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_transfers_leadership_and_unsafe_removals_are_refused() -> anyhow::Result<()> {
    common::bounded(transfer_scenario()).await
}

async fn transfer_scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let (n1, n2, n3) = three_voters(dir.path(), &ca).await?;
    let all = [&n1, &n2, &n3];
    ensure!(leader_of(&all) == Some(1), "node 1 leads after setup");

    // Asked through a follower, the request is forwarded to the leader.
    n3.node.transfer_leader(2).await?;
    wait_for_leader("node 2 leads", &all, Duration::from_secs(10), |id| id == 2).await?;
    let outcome = n1.node.write(put_setting("after-transfer", "1")).await?;
    for node in all {
        node.node
            .wait_applied(outcome.index, Duration::from_secs(10))
            .await?;
    }

    // Asked at the leader itself; and to itself, a no-op.
    n2.node.transfer_leader(3).await?;
    wait_for_leader("node 3 leads", &all, Duration::from_secs(10), |id| id == 3).await?;
    n3.node.transfer_leader(3).await?;
    ensure!(leader_of(&all) == Some(3), "still node 3");

    // Not a voter: refused.
    match n1.node.transfer_leader(9).await {
        Err(ConsensusError::Refused { .. }) => {}
        other => bail!("transfer to a non-member: expected Refused, got {other:?}"),
    }
    // Removing the leader: refused, leadership must move first.
    match n1.node.remove(3).await {
        Err(ConsensusError::Refused { reason }) => {
            ensure!(reason.contains("leader"), "names the leader: {reason}")
        }
        other => bail!("removing the leader: expected Refused, got {other:?}"),
    }
    ensure!(
        n1.node
            .raft()
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .count()
            == 3,
        "nothing removed"
    );
    // Removing a follower is fine.
    n1.node.remove(2).await?;
    wait_until("node 2 removed", Duration::from_secs(10), || {
        n3.node
            .raft()
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&2)
            .is_none()
    })
    .await?;
    for node in all {
        node.node.shutdown().await?;
    }

    // A lone voter can neither remove itself nor be left without a voter.
    let lone_dir = dir.path().join("lone");
    let lone = start_node(&lone_dir, &ca, 7).await?;
    lone.node.initialize_single().await?;
    match lone.node.remove(7).await {
        Err(ConsensusError::Refused { .. }) => {}
        other => bail!("removing the last voter: expected Refused, got {other:?}"),
    }
    lone.node.shutdown().await?;
    Ok(())
}

struct RegionNode {
    node: TestNode,
    addr: SocketAddr,
    region: &'static str,
}

async fn start_in_region(
    root: &Path,
    ca: &Ca,
    node_id: NodeId,
    region: &'static str,
    listen: SocketAddr,
) -> anyhow::Result<RegionNode> {
    let data_dir = root.join(format!("node{node_id}"));
    let tls = if data_dir.join("certs").exists() {
        TlsPaths::in_dir(data_dir.join("certs"))
    } else {
        ca.issue(node_id, &data_dir.join("certs"))?
    };
    let node = start_node_configured(&data_dir, node_id, tls, listen, |config| {
        config.info.region = region.to_string();
        config.leader_regions = LEADER_REGIONS.iter().map(|r| r.to_string()).collect();
        config.leader_placement_check_ms = 300;
    })
    .await?;
    let addr = node.node.local_raft_addr();
    Ok(RegionNode { node, addr, region })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leadership_moves_into_a_preferred_region_and_returns_after_a_failover(
) -> anyhow::Result<()> {
    common::bounded(placement_scenario()).await
}

async fn placement_scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let any_port: SocketAddr = "127.0.0.1:0".parse()?;
    // Node 1 (ap, not preferred) starts the cluster and leads; node 3 is the only voter in a
    // preferred region.
    let n1 = start_in_region(dir.path(), &ca, 1, "ap", any_port).await?;
    n1.node.node.initialize_single().await?;
    let seed = n1.addr.to_string();
    let n2 = start_in_region(dir.path(), &ca, 2, "ap", any_port).await?;
    n2.node.node.join(&seed, JoinRole::Voter).await?;
    let n3 = start_in_region(dir.path(), &ca, 3, "eu", any_port).await?;
    n3.node.node.join(&seed, JoinRole::Voter).await?;
    ensure!(n3.region == "eu" && n1.region == "ap", "regions as set up");

    wait_for_leader(
        "leadership moves to node 3 (eu)",
        &[&n1.node, &n2.node, &n3.node],
        Duration::from_secs(20),
        |id| id == 3,
    )
    .await?;
    let outcome = n2.node.node.write(put_setting("placed", "1")).await?;

    // The preferred leader dies: an ap voter takes over (no preferred voter is left).
    let n3_addr = n3.addr;
    n3.node.node.shutdown().await?;
    drop(n3);
    let survivor_leader = wait_for_leader(
        "an ap voter takes over",
        &[&n1.node, &n2.node],
        Duration::from_secs(20),
        |id| id != 3,
    )
    .await?;
    ensure!(
        survivor_leader == 1 || survivor_leader == 2,
        "leader {survivor_leader}"
    );
    let during = n1
        .node
        .node
        .write(put_setting("during-failover", "1"))
        .await?;

    // Node 3 comes back on its address with its data, catches up, and leadership returns.
    let n3 = start_in_region(dir.path(), &ca, 3, "eu", n3_addr).await?;
    n3.node.node.join(&seed, JoinRole::Voter).await?;
    n3.node
        .node
        .wait_applied(during.index.max(outcome.index), Duration::from_secs(20))
        .await?;
    wait_for_leader(
        "leadership returns to node 3 (eu)",
        &[&n1.node, &n2.node, &n3.node],
        Duration::from_secs(30),
        |id| id == 3,
    )
    .await?;
    let last = n1.node.node.write(put_setting("after-return", "1")).await?;
    n3.node
        .node
        .wait_applied(last.index, Duration::from_secs(10))
        .await?;
    ensure!(
        n3.node.state.setting("after-return")?.is_some(),
        "writes work after the return"
    );
    for node in [&n1, &n2, &n3] {
        node.node.node.shutdown().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_cut_off_from_the_leader_reports_growing_staleness() -> anyhow::Result<()> {
    common::bounded(staleness_scenario()).await
}

async fn staleness_scenario() -> anyhow::Result<()> {
    const BOUND_MS: u64 = 600;
    let fresh = |node: &TestNode| {
        node.node
            .millis_since_leader_contact()
            .is_some_and(|ms| ms < BOUND_MS)
    };
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let (n1, n2, n3) = three_voters(dir.path(), &ca).await?;
    // Heartbeats every 150 ms keep every node, leader included, within the bound.
    wait_until(
        "every node heard its leader lately",
        Duration::from_secs(10),
        || fresh(&n1) && fresh(&n2) && fresh(&n3),
    )
    .await?;

    // With the leader and the other follower gone, node 2 can hear no leader: its staleness
    // passes the bound and stays past it.
    n1.node.shutdown().await?;
    n3.node.shutdown().await?;
    wait_until(
        "node 2 is staler than the bound",
        Duration::from_secs(10),
        || !fresh(&n2),
    )
    .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2 * BOUND_MS);
    while tokio::time::Instant::now() < deadline {
        ensure!(
            !fresh(&n2),
            "node 2 reports {:?} ms with no leader",
            n2.node.millis_since_leader_contact()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    n2.node.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_adds_a_waiting_node_as_a_learner_and_promotes_it() -> anyhow::Result<()> {
    common::bounded(operator_add_scenario()).await
}

async fn operator_add_scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let (n1, n2, n3) = three_voters(dir.path(), &ca).await?;
    let before = n1.node.write(put_setting("before-add", "1")).await?;

    // Node 4 starts and waits; an operator adds it through a follower.
    let n4 = start_node(dir.path(), &ca, 4).await?;
    let waiting = {
        let node = n4.node.clone();
        tokio::spawn(async move { node.await_membership().await })
    };
    let info = n4.node.info().clone();
    n2.node.add_learner(4, info).await?;
    waiting.await.context("await task")??;
    ensure!(!n4.node.join_pending(), "the join finished");
    n4.node
        .wait_applied(before.index, Duration::from_secs(10))
        .await?;
    ensure!(
        n4.state.setting("before-add")?.is_some(),
        "the learner caught up"
    );
    let is_voter = |node: &TestNode, id: NodeId| {
        node.node
            .raft()
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .any(|voter| voter == id)
    };
    ensure!(!is_voter(&n1, 4), "node 4 is a learner");
    n3.node.promote(4).await?;
    wait_until("node 4 is a voter", Duration::from_secs(10), || {
        is_voter(&n1, 4)
    })
    .await?;
    // The promoted node can lead.
    n1.node.transfer_leader(4).await?;
    wait_for_leader(
        "node 4 leads",
        &[&n1, &n2, &n3, &n4],
        Duration::from_secs(10),
        |id| id == 4,
    )
    .await?;
    for node in [&n1, &n2, &n3, &n4] {
        node.node.shutdown().await?;
    }
    Ok(())
}
