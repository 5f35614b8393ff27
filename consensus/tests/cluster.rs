//! Three in-process nodes on loopback: initialise, join, write through a follower, read back
//! everywhere, snapshot and purge, then a fourth node catches up through the snapshot.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context};
use common::{put_setting, start_node, three_voters, wait_until, Ca, TestNode};
use edgebase_consensus::{ConsensusError, JoinRole};
use edgebase_storage::CommandResult;

const WRITES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_replicates_and_a_new_node_catches_up_by_snapshot() -> anyhow::Result<()> {
    common::bounded(scenario()).await
}

async fn scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;

    let n1 = start_node(dir.path(), &ca, 1).await?;
    ensure!(
        !n1.node.is_initialized().await?,
        "fresh node is not initialised"
    );
    n1.node.initialize_single().await?;
    ensure!(
        n1.node.leader_id() == Some(1),
        "node 1 leads after initialising"
    );
    // Initialising twice is a no-op.
    n1.node.initialize_single().await?;

    let seed = n1.node.info().raft_addr.clone();
    let n2 = start_node(dir.path(), &ca, 2).await?;
    n2.node.join(&seed, JoinRole::Voter).await?;
    let n3 = start_node(dir.path(), &ca, 3).await?;
    // Join through a follower: node 2 relays to the leader.
    let follower_seed = n2.node.info().raft_addr.clone();
    n3.node.join(&follower_seed, JoinRole::Voter).await?;
    // Joining again is harmless.
    n3.node.join(&seed, JoinRole::Voter).await?;

    let state = n3.node.cluster_state().await?;
    ensure!(state.members.len() == 3, "three members: {state:?}");
    ensure!(
        state.members.iter().all(|m| m.is_voter && m.reachable),
        "all voters and reachable: {state:?}"
    );
    ensure!(state.leader_id == Some(1), "node 1 leads: {state:?}");
    ensure!(
        state.members.iter().filter(|m| m.is_leader).count() == 1,
        "exactly one leader flagged: {state:?}"
    );

    // Writes through a follower are forwarded, and readable on that follower at once.
    let mut last_index = 0;
    for i in 0..WRITES {
        let key = format!("key-{i}");
        let outcome = n2.node.write(put_setting(&key, &format!("v{i}"))).await?;
        ensure!(
            matches!(outcome.result, CommandResult::Applied { .. }),
            "write {i} applied: {outcome:?}"
        );
        ensure!(outcome.index > last_index, "indexes grow");
        last_index = outcome.index;
        ensure!(
            n2.node.applied_index() >= outcome.index,
            "the writing node has applied its write"
        );
        let value = n2.state.setting(&key)?;
        ensure!(
            value.as_deref() == Some(format!("\"v{i}\"").as_str()),
            "read-your-write on node 2"
        );
    }

    for node in [&n1, &n2, &n3] {
        node.node
            .wait_applied(last_index, Duration::from_secs(10))
            .await?;
        check_all_settings(node)?;
    }
    let barrier = n3.node.linearizable_barrier().await?;
    ensure!(
        barrier >= last_index,
        "read index {barrier} covers {last_index}"
    );
    let leader_barrier = n1.node.linearizable_barrier().await?;
    ensure!(
        leader_barrier >= last_index,
        "leader read index covers the writes"
    );

    // A command too big to replicate is refused before it reaches the log.
    let huge = "x".repeat(edgebase_consensus::MAX_COMMAND_BYTES + 1);
    let applied_before = n1.node.applied_index();
    match n2.node.write(put_setting("huge", &huge)).await {
        Err(ConsensusError::CommandTooLarge { .. }) => {}
        other => anyhow::bail!("expected CommandTooLarge, got {:?}", other.map(|o| o.index)),
    }
    ensure!(
        n1.node.applied_index() == applied_before,
        "nothing was proposed"
    );

    // A bounded wait that cannot be met reports a timeout.
    let far = n1.node.applied_index() + 1_000;
    match n1.node.wait_applied(far, Duration::from_millis(200)).await {
        Err(ConsensusError::Timeout { .. }) => {}
        other => anyhow::bail!("expected a timeout, got {other:?}"),
    }

    // Snapshot and purge on the leader, so a new node cannot be fed from the log.
    let snapshot_index = n1.node.snapshot_and_purge().await?;
    ensure!(snapshot_index >= last_index, "snapshot covers the writes");
    let purged = n1.node.raft().metrics().borrow().purged;
    ensure!(
        purged.is_some_and(|p| p.index >= snapshot_index),
        "leader log purged up to {snapshot_index}: {purged:?}"
    );

    // A fourth node joins as a learner through a follower and catches up via the snapshot.
    let n4 = start_node(dir.path(), &ca, 4).await?;
    n4.node.join(&follower_seed, JoinRole::Learner).await?;
    n4.node
        .wait_applied(last_index, Duration::from_secs(30))
        .await?;
    check_all_settings(&n4)?;
    let installed = n4.node.raft().metrics().borrow().snapshot;
    ensure!(
        installed.is_some_and(|s| s.index >= snapshot_index),
        "node 4 installed the snapshot: {installed:?}"
    );

    let state = n1.node.cluster_state().await?;
    let learner = state
        .members
        .iter()
        .find(|m| m.id == 4)
        .context("node 4 is a member")?;
    ensure!(!learner.is_voter, "node 4 is a learner: {state:?}");

    // A learner's write is forwarded too, and replicated to every node.
    let outcome = n4.node.write(put_setting("from-learner", "yes")).await?;
    for node in [&n1, &n2, &n3, &n4] {
        node.node
            .wait_applied(outcome.index, Duration::from_secs(10))
            .await?;
        ensure!(
            node.state.setting("from-learner")?.as_deref() == Some("\"yes\""),
            "learner's write on node {}",
            node.node.node_id()
        );
    }

    // Promote the learner from a follower (forwarded to the leader), then remove it.
    n3.node.promote(4).await?;
    wait_until("node 4 is a voter", Duration::from_secs(10), || {
        n1.node
            .raft()
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .any(|id| id == 4)
    })
    .await?;
    n2.node.remove(4).await?;
    wait_until("node 4 is removed", Duration::from_secs(10), || {
        n1.node
            .raft()
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .get_node(&4)
            .is_none()
    })
    .await?;

    for node in [&n4, &n3, &n2, &n1] {
        node.node.shutdown().await?;
    }
    // Shutting down twice is fine.
    n1.node.shutdown().await?;
    Ok(())
}

fn check_all_settings(node: &TestNode) -> anyhow::Result<()> {
    for i in 0..WRITES {
        let key = format!("key-{i}");
        let value = node.state.setting(&key)?;
        ensure!(
            value.as_deref() == Some(format!("\"v{i}\"").as_str()),
            "node {} has {key}: {value:?}",
            node.node.node_id()
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_continue_after_the_leader_stops_and_it_catches_up_on_restart() -> anyhow::Result<()>
{
    common::bounded(failover_scenario()).await
}

async fn failover_scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let (n1, n2, n3) = three_voters(dir.path(), &ca).await?;
    let seed = n1.node.info().raft_addr.clone();

    let before = n3.node.write(put_setting("before", "1")).await?;
    n2.node
        .wait_applied(before.index, Duration::from_secs(10))
        .await?;

    // Stop the leader; a new one is elected among the survivors.
    let n1_addr = n1.node.local_raft_addr();
    let n1_data = n1.data_dir.clone();
    n1.node.shutdown().await?;
    drop(n1);
    wait_until("a new leader", Duration::from_secs(15), || {
        matches!(n2.node.leader_id(), Some(id) if id != 1)
            && n2.node.leader_id() == n3.node.leader_id()
    })
    .await?;

    // Writes continue through either survivor.
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let writer = if i % 2 == 0 { &n2 } else { &n3 };
        let key = format!("after-{i}");
        let outcome = writer.node.write(put_setting(&key, "1")).await?;
        acknowledged.push((key, outcome.index));
    }
    let last_index = acknowledged.last().map(|(_, index)| *index).unwrap_or(0);

    // The old leader restarts from its data on the same address and catches up.
    let tls = edgebase_consensus::TlsPaths::in_dir(n1_data.join("certs"));
    let n1 = common::start_node_on(&n1_data, 1, tls, n1_addr).await?;
    ensure!(
        n1.node.is_initialized().await?,
        "restarted node keeps its membership"
    );
    n1.node.join(&seed, JoinRole::Voter).await?;
    n1.node
        .wait_applied(last_index, Duration::from_secs(20))
        .await?;
    for node in [&n1, &n2, &n3] {
        node.node
            .wait_applied(last_index, Duration::from_secs(10))
            .await?;
        ensure!(
            node.state.setting("before")?.is_some(),
            "node {} has the write from before the failover",
            node.node.node_id()
        );
        for (key, _) in &acknowledged {
            ensure!(
                node.state.setting(key)?.is_some(),
                "node {} has acknowledged write {key}",
                node.node.node_id()
            );
        }
    }
    for node in [&n1, &n2, &n3] {
        node.node.shutdown().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wiped_voter_rejoins_and_catches_up_by_snapshot() -> anyhow::Result<()> {
    common::bounded(wiped_voter_scenario()).await
}

async fn wiped_voter_scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let (n1, n2, n3) = three_voters(dir.path(), &ca).await?;
    let seed = n1.node.info().raft_addr.clone();

    let mut last_index = 0;
    for i in 0..WRITES {
        let outcome = n3
            .node
            .write(put_setting(&format!("key-{i}"), &format!("v{i}")))
            .await?;
        last_index = outcome.index;
    }
    n1.node
        .wait_applied(last_index, Duration::from_secs(10))
        .await?;
    let snapshot_index = n1.node.snapshot_and_purge().await?;

    // Node 3 loses its disk (certificates survive) and comes back on the same address.
    let n3_addr = n3.node.local_raft_addr();
    let n3_data = n3.data_dir.clone();
    n3.node.shutdown().await?;
    drop(n3);
    for wiped in ["db", "snapshots"] {
        let path = n3_data.join(wiped);
        if path.exists() {
            std::fs::remove_dir_all(&path).with_context(|| format!("wipe {}", path.display()))?;
        }
    }
    let tls = edgebase_consensus::TlsPaths::in_dir(n3_data.join("certs"));
    let n3 = common::start_node_on(&n3_data, 3, tls, n3_addr).await?;
    ensure!(
        !n3.node.is_initialized().await?,
        "a wiped node starts uninitialised"
    );
    n3.node.join(&seed, JoinRole::Voter).await?;
    n3.node
        .wait_applied(last_index, Duration::from_secs(30))
        .await?;
    check_all_settings(&n3)?;
    let installed = n3.node.raft().metrics().borrow().snapshot;
    ensure!(
        installed.is_some_and(|s| s.index >= snapshot_index),
        "the wiped node installed the snapshot: {installed:?}"
    );

    // And it takes part again: a write through it reaches everyone.
    let outcome = n3.node.write(put_setting("after-wipe", "1")).await?;
    for node in [&n1, &n2, &n3] {
        node.node
            .wait_applied(outcome.index, Duration::from_secs(10))
            .await?;
        ensure!(
            node.state.setting("after-wipe")?.is_some(),
            "write after wipe"
        );
    }
    for node in [&n3, &n2, &n1] {
        node.node.shutdown().await?;
    }
    Ok(())
}
